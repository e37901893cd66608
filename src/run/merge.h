/* Merging the shards of a run: `llm-eval run --shard i/N` writes, per model,
 * a results file with "shard", "shard_plan" and "shard_items" (the items
 * files); merging gathers shards 0..N-1 of each model from the directories
 * given, checks they are one run (naming the first difference otherwise),
 * recomputes every task's figures from the items in document order, and the
 * groups as a run does, then writes one results file per model under
 * OUTDIR/<model>/ and adds it to the run store when one is given.
 *
 * For `llm-eval merge` (src/cli/engine/cmd_merge.c), which parses the
 * command line and prints; the logic is all here.
 *
 * Not here: running shards (engine.c). */
#ifndef LLE_RUN_MERGE_H
#define LLE_RUN_MERGE_H

#include <stddef.h>

#include "util/err.h"

struct lle_runstore;

/* One model's merged results, handed to the caller once written. */
struct lle_merged {
	const char *model;
	const char *path;   /* the results file written */
	const char *text;   /* its contents */
	long nshards;
	long long run_id;   /* in the run store; 0 when none */
};
/* 0, or -1 with err set (the merge stops there). */
typedef int (*lle_merge_done_fn)(void *user, const struct lle_merged *m, struct lle_err *err);

/* The shards found in the directories: every results_*.json in each and
 * one level below it that is a shard. NULL with err naming the directory or
 * file when there is none or one is broken. */
struct lle_merge_set;
struct lle_merge_set *lle_merge_find(const char *const *dirs, size_t ndirs, struct lle_err *err);
/* Merge them model by model, in the order first found; done is called after
 * each model's file is written (and stored, when rs is not NULL). 0, or -1
 * with err naming the file and what is wrong. */
int lle_merge_write(struct lle_merge_set *set, const char *outdir, struct lle_runstore *rs,
		    lle_merge_done_fn done, void *user, struct lle_err *err);
void lle_merge_free(struct lle_merge_set *set);

#endif
