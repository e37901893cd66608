/* Helpers the task layer's files share (task.c, task_doc.c, task_prompt.c,
 * task_score.c); not for use outside src/tasks/. */
#ifndef LLE_TASKS_TASK_INT_H
#define LLE_TASKS_TASK_INT_H

#include <jansson.h>
#include <stddef.h>

struct lle_task;
struct lle_err;

/* "task 'x': doc N: column" into b (n bytes); returns b. */
const char *lle_task_who_doc(char *b, size_t n, const struct lle_task *t, size_t doc_id, const char *col);
/* Whether s is one or more ASCII digits and nothing else. */
int lle_task_digits_only(const char *s);
/* A few-shot example's text and target as the prompt shows them
 * (fewshot_config's doc_to_* when given). malloc()ed; NULL on error. */
char *lle_task_example_text(const struct lle_task *t, const json_t *doc, size_t doc_id, struct lle_err *err);
char *lle_task_example_target(const struct lle_task *t, const json_t *doc, size_t doc_id, struct lle_err *err);
/* doc_to_text's value (a string, or an integer: an index into the choices). */
json_t *lle_task_doc_text_value(const struct lle_task *t, const json_t *doc, size_t doc_id, struct lle_err *err);
/* gen_prefix rendered for a document (call only when t->has_gen_prefix). */
char *lle_task_doc_prefix(const struct lle_task *t, const json_t *doc, size_t doc_id, struct lle_err *err);

/* Python hooks (task_hooks.c). */
struct lle_docfn;
struct lle_node;
/* The `!function` reference written at n (its module file must be
 * readable); errors name n's file:line:col, the task and label. */
struct lle_hookref *lle_task_hookref(const struct lle_task *t, const struct lle_node *n, const char *label,
				     struct lle_err *err);
int lle_task_hooks_init(struct lle_task *t, struct lle_err *err);
void lle_task_hooks_free(struct lle_task *t);
/* A doc_to_* hook's value for a document (a new reference; NULL with err
 * naming task, document and col). */
json_t *lle_task_hook_docfn(const struct lle_task *t, const struct lle_docfn *f, const json_t *doc,
			    size_t doc_id, const char *col, struct lle_err *err);
/* The harness's metrics of an output type when metric_list is absent (task.c). */
int lle_task_default_metrics(struct lle_task *t, struct lle_err *err);
/* The data file of `split` after process_docs: `path` (freed) read, the
 * hook run (or its earlier output found in the cache), the file of its
 * output returned. */
char *lle_task_hook_split(const struct lle_task *t, const char *split, char *path, struct lle_err *err);
/* A custom-aggregated metric's value kept for its aggregation; *idx is
 * where (the item's w). The values of n items, as a new array. */
struct lle_item;
int lle_task_hook_keep(const struct lle_task *t, json_t *v, size_t *idx, struct lle_err *err);
json_t *lle_task_hook_values(const struct lle_task *t, const struct lle_item *col, size_t n, struct lle_err *err);

struct lle_requests;
/* A class task's requests of one document from its construct_requests
 * (task_class.c): rq->context is the prompt built, replaced by the
 * requests' own. */
int lle_task_class_requests(const struct lle_task *t, const json_t *doc, size_t doc_id,
			    struct lle_requests *rq, struct lle_err *err);

/* fewshot_config.samples' function called: the documents (new reference). */
json_t *lle_task_hook_samples(const struct lle_task *t, struct lle_err *err);

/* process_results and custom aggregations (task_results.c). */
struct lle_node;
struct lle_requests;
int lle_task_hook_process_results(struct lle_task *t, const struct lle_node *root, struct lle_err *err);
/* metric_list of a task with process_results (list may be NULL: the defaults) */
int lle_task_hook_metrics(struct lle_task *t, const struct lle_node *list, struct lle_err *err);
/* items[0 .. nmetrics) of one filter from process_results(doc, results) */
int lle_task_hook_score(const struct lle_task *t, const struct lle_requests *rq, json_t *results,
			struct lle_item *items, struct lle_err *err);
/* a metric_list entry naming a '!function' metric or aggregation (no
 * process_results), compiled into mt (the task's metric at index `at` of
 * `cap`) */
int lle_task_hook_entry_is(const struct lle_node *e);
struct lle_metric;
int lle_task_hook_metric_entry(struct lle_task *t, struct lle_metric *mt, const struct lle_node *e, size_t at,
			       size_t cap, struct lle_err *err);
/* a '!function' metric of one generated document */
int lle_task_hook_metric(const struct lle_task *t, size_t m, const char *pred, const json_t *gold,
			 const struct lle_requests *rq, struct lle_item *item, struct lle_err *err);
int lle_task_hook_aggregate(const struct lle_task *t, size_t m, const struct lle_item *col, size_t n,
			    double *value, struct lle_err *err);

/* Built-in process_results (results_builtin.c): `process_results: NAME`
 * without a tag selects one (an error for any other name); checked against
 * the output type and metric_list once they are parsed; a document's
 * items[0 .. nmetrics) from its log-likelihoods (rq->doc is set). */
int lle_task_results_builtin_parse(struct lle_task *t, const struct lle_node *n, struct lle_err *err);
int lle_task_results_builtin_check(const struct lle_task *t, const struct lle_node *root, struct lle_err *err);
int lle_task_results_builtin_score(const struct lle_task *t, const struct lle_requests *rq, const double *ll,
				   struct lle_item *items, struct lle_err *err);
/* the same for a generate_until response (after its filter) */
int lle_task_results_builtin_generated(const struct lle_task *t, const struct lle_requests *rq, const char *pred,
				       struct lle_item *items, struct lle_err *err);

/* process_docs gpqa_shuffle on one document, in place (docs_builtin.c) */
int lle_task_gpqa_doc(const struct lle_task *t, json_t *doc, size_t doc_id, struct lle_err *err);
/* DROP (drop.c): process_docs drop_answers on one document, in place; the
 * em and f1 of a response against the `answers` it made. */
int lle_task_drop_doc(const struct lle_task *t, json_t *doc, size_t doc_id, struct lle_err *err);
int lle_drop_score(const char *pred, const json_t *answers, double *em, double *f1);

#endif
