/* What a run writes: results files in lm-evaluation-harness's layout
 * (results_<date>.json per model, under OUTPUT/<model>/), per-sample logs
 * (samples_<task>_<date>.jsonl, with --log-samples) written as documents are
 * scored, group aggregation, and the table printed at the end of each model.
 * Internal to src/run/. */
#ifndef LLE_RUN_OUTPUT_H
#define LLE_RUN_OUTPUT_H

#include <jansson.h>

#include "llm-eval/backend.h"
#include "run/plan.h"

struct run_output;
struct task_output;
struct lle_monitor;

struct run_output *output_open(const struct lle_run_opts *o, struct lle_err *err);
int output_model_begin(struct run_output *ro, const struct plan_model *pm, double load_s, struct lle_err *err);
struct task_output *output_task_begin(struct run_output *ro, const struct plan_task *pt, struct lle_err *err);
/* One scored document: one sample line per filter. */
int output_sample(struct task_output *to, const struct lle_task *t, size_t doc_id, const json_t *doc,
		  const struct lle_requests *rq, const struct lle_request *reqs, size_t nreqs,
		  const json_t *resps, const json_t *filtered, const struct lle_item *items,
		  struct lle_err *err);
/* The same with `extra` (may be NULL): one object per filter whose keys are
 * added to that filter's line (code tasks: the programs' outcomes). */
int output_sample_ex(struct task_output *to, const struct lle_task *t, size_t doc_id, const json_t *doc,
		     const struct lle_requests *rq, const struct lle_request *reqs, size_t nreqs,
		     const json_t *resps, const json_t *filtered, const struct lle_item *items,
		     const json_t *extra, struct lle_err *err);
/* The task is done (or stopped): aggregate it and close its sample log. */
int output_task(struct task_output *to, const struct plan_task *pt, struct lle_task_agg *agg,
		long bootstrap_iters, double seconds, int interrupted, struct lle_err *err);
/* The task stopped on an error: close its sample log (left as .part). NULL is fine. */
void output_task_abort(struct task_output *to);
/* Groups, the results file and the table of one model. */
int output_model_end(struct run_output *ro, const struct lle_plan *p, const struct lle_run_opts *o,
		     struct lle_monitor *mon, int interrupted, struct lle_err *err);
void output_close(struct run_output *ro);
/* The directory name a model's results go under (OUTPUT/<this>/): its name
 * with '/', ' ' and ':' made '_'. malloc()ed; NULL when out of memory. */
char *output_model_dirname(const char *name);
/* A figure of the results file: a JSON real, or the string "N/A" when it
 * is not a finite number (the harness's spelling; the reason is at the
 * definition). The results table shows such a figure as "N/A" too. New
 * reference; NULL when out of memory. */
json_t *output_number(double x);
/* Write one figure into a results object as the harness does: "metric,filter"
 * and "metric_stderr,filter", each through output_number. The one writer of
 * these keys: runs, groups (figures.c) and `llm-eval merge` use it, so merged
 * files read exactly like a run's. 0, or -1 when out of memory. */
int output_set_metric(json_t *obj, const char *metric, const char *filter, double v, double se);

/* The response cache, the run store and sharding (the parts of output.c below
 * "run store, shards", and the items log in output_log.c): the backend's
 * name and version for backend_versions, the requests sent and found in the
 * cache, the store each model's results go to (NULL: none). With --shard
 * each task also writes items_<task>_<date>.jsonl: per scored document its
 * items (value and weight per filter x metric), which `llm-eval merge`
 * re-aggregates. */
struct lle_runstore;
void output_backend(struct run_output *ro, const char *name, const char *version);
void output_requests(struct run_output *ro, long long sent, long long cached);
void output_store(struct run_output *ro, struct lle_runstore *rs);

#endif
