/* Code tasks in the run: after a chunk's generations are in, every
 * completion of every document becomes a program (the task's code_exec
 * template, src/tasks/code_metric.h), all of them run at once on the
 * sandbox's pool (src/tasks/code_exec.h; never more at once than the memory
 * limit allows), and each document's pass@k items and sample-log outcomes
 * are read from the results. Internal to src/run/.
 *
 * Not here: generating (engine.c), the estimator (passk.h), the sandbox. */
#ifndef LLE_RUN_CODE_GLUE_H
#define LLE_RUN_CODE_GLUE_H

#include <jansson.h>
#include <stddef.h>

#include "run/plan.h"
#include "run/run.h"

/* Whether the task has a code_exec metric (a pass@k). */
int code_task_has(const struct lle_task *t);

/* Before any model loads: when a planned task runs code and the sandbox
 * lacks a protection, refuse (naming the task and what is missing) unless
 * --allow-weak-sandbox was given. */
int code_precheck(const struct lle_plan *p, const struct lle_run_opts *o, struct lle_err *err);

struct code_chunk;
/* Run the programs of a chunk: resps[i] is document i's responses (one
 * string per repeat), or NULL when it is not scored. NULL with err set when
 * a program could not be run at all (the sandbox refused, no interpreter). */
struct code_chunk *code_chunk_run(const struct lle_task *t, const struct lle_run_opts *o,
				  json_t *const *docs, const size_t *doc_ids, json_t *const *resps,
				  size_t ndocs, struct lle_err *err);
/* Document i's pass@k items (the task's filter x metric layout; other
 * metrics' items are left alone) and, in *log, one object per filter to add
 * to its sample lines ({"code_exec": [...]}; new reference). */
int code_chunk_score(const struct code_chunk *cc, size_t i, struct lle_item *items, json_t **log,
		     struct lle_err *err);
void code_chunk_free(struct code_chunk *cc);

#endif
