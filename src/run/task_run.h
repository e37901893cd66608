/* The engine's parts and what they share (internal to src/run/):
 *
 *   engine.c     the whole run: host services for the plugin, each model
 *                opened and its tasks run in turn
 *   task_run.c   one task: documents read in chunks (this shard's), the
 *                journal's pass, progress, aggregation
 *   chunk.c      one chunk: requests built, cached ones filled, the rest
 *                sent to the backend, documents scored and logged
 *   progress.c   the progress line
 *
 * Not here: planning (plan.h), results files (output.h), the response cache
 * (cache_glue.h). */
#ifndef LLE_RUN_TASK_RUN_H
#define LLE_RUN_TASK_RUN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "run/cache_glue.h"
#include "run/plan.h"

struct lle_monitor;
struct lle_gen_args;
struct task_output;

/* Seconds on the monotonic clock. */
double run_now_s(void);

/* The progress of the current model's current task. */
struct progress {
	int tty, quiet;
	double start, last;
	const char *model, *task;
	long done, total;
	long shown;               /* `done` when a line was last printed, -1: none yet */
	uint64_t requests, tokens;
	struct lle_monitor *mon;
};

/* Print the line if it is due (final: the task's last line, always due on a
 * terminal). Nothing when quiet. */
void progress_show(struct progress *pr, int final);

/* One task of one model, as run_task runs it. */
struct task_run {
	const struct lle_plan *plan;
	struct plan_task *pt;
	const struct plan_model *pm;
	const struct lle_run_opts *o;
	const struct lle_backend *be;
	struct lle_model *model;
	struct lle_gen_args *ga;
	struct task_output *out;
	struct progress *pr;
	long failed;
	/* the response cache and sharding (chunk.c's "cache" part, task_run.c's journal) */
	struct run_cache *cache;
	size_t jbase;              /* journal index of the chunk's first request */
	unsigned char (*keys)[RUN_KEY_LEN];
	size_t nkeys, capkeys;
	size_t next_doc;           /* the document after the last one built (for shards) */
};

/* Evaluate the task: every document, aggregated, its results given to
 * tr->out (which output_task takes). 0, or -1 with err set. */
int run_task(struct task_run *tr, struct lle_err *err);

/* One chunk of the run: build, send, score (documents' failures are
 * counted in tr->failed). 0, or -1 with err set. */
int run_chunk(struct task_run *tr, struct lle_task_agg *agg, json_t **docs, size_t *doc_ids, size_t ndocs,
	      struct lle_fewshot *fs, struct lle_err *err);
/* One chunk of the journal's pass: build the requests as run_chunk does and
 * keep their cache keys in tr->keys; nothing is sent. */
int journal_chunk(struct task_run *tr, json_t **docs, size_t *doc_ids, size_t ndocs, struct lle_fewshot *fs,
		  struct lle_err *err);

#endif
