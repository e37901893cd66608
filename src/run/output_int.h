/* What output.c (results file, groups, table) and output_log.c (a task's
 * sample log and shard items log) share, and no other file includes: the
 * state behind output.h's opaque structs. */
#ifndef LLE_RUN_OUTPUT_INT_H
#define LLE_RUN_OUTPUT_INT_H

#include <jansson.h>
#include <stdio.h>

#include "run/figures.h"
#include "run/output.h"

struct items_log;

/* What a run writes to, kept from output_open to output_close: the
 * current model's results as they are gathered, and its output folder. */
struct run_output {
	const struct lle_run_opts *o;
	char date[64];        /* file-name date, as the harness: ISO time with ':' -> '-' */
	double unix_start;
	double mono_start;
	/* the current model */
	const struct plan_model *pm;
	double load_s;
	char *dir;            /* OUTPUT/<model> */
	json_t *results, *configs, *versions, *nshot, *hib, *nsamples, *task_seconds;
	struct lle_figures figs;
	/* run store, shards */
	char *be_name, *be_version;
	long long sent, cached;
	struct lle_runstore *store;
	long long run_id;     /* the current model's run in the store, 0 when not stored */
};

/* One task's logs (output_log.c), open while its documents are scored. */
struct task_output {
	struct run_output *ro;
	FILE *samples;
	char *samples_path;
	char *samples_tmp;
	struct items_log *items;   /* --shard: per-document items for merge */
};

/* output_log.c: the name of a task's items file under the model's folder
 * (items_<task>_<date>.jsonl), for the results file's shard_items; NULL
 * out of memory */
char *output_items_name(const struct run_output *ro, const char *task);
/* output_log.c: close the task's logs, renamed from .part when complete,
 * and free `to`; 0, or -1 with err set when a log could not be written */
int output_task_logs_end(struct task_output *to, int complete, struct lle_err *err);

#endif
