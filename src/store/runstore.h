/* The run store: every run's configuration, versions, timings, hardware and
 * every metric with its standard error, in one SQLite file
 * ($XDG_DATA_HOME/llm-eval/runs.sqlite), so runs can be listed, shown,
 * reported and compared long after their result files are gone.
 *
 * Schema (user_version 1, application_id 'LLER'):
 *   runs(id, uid UNIQUE, date, source, model, model_args, config, versions,
 *        hardware, total_seconds, file, shard, imported)
 *   results(run, model, task, metric, filter, value, stderr, n,
 *           higher_is_better, category, parent, is_group, alias, n_shot)
 *   samples(run, model, task, filter, metric, doc_id, doc_hash, value)
 *        one per-document score each, from the samples files of a run, for
 *        paired comparisons
 * A shard of a run is stored as its own run with `shard` set ("i/N"); a merge
 * writes the merged run as another. Not here: reading results JSON (results.h)
 * or formatting (report.h). */
#ifndef LLE_STORE_RUNSTORE_H
#define LLE_STORE_RUNSTORE_H

#include "store/results.h"
#include "util/err.h"

struct lle_runstore;

/* $XDG_DATA_HOME/llm-eval/runs.sqlite, malloc()ed. */
char *lle_runstore_default_path(struct lle_err *err);
struct lle_runstore *lle_runstore_open(const char *path, int readonly, struct lle_err *err);
void lle_runstore_close(struct lle_runstore *rs);

/* Store a run and its rows in one transaction. When a run with the same uid
 * is already there nothing is written, *existed is set and *id is that run's. */
int lle_runstore_add(struct lle_runstore *rs, const struct lle_run_record *rec, long long *id,
		     int *existed, struct lle_err *err);
/* The same, also storing the per-document scores of the samples files given
 * (JSON lines with doc_id, filter, doc_hash, "metrics": [names] and each
 * metric's value; a value that is not a number is skipped), all in the one
 * transaction. *n_scores counts the scores stored. */
int lle_runstore_add_with_samples(struct lle_runstore *rs, const struct lle_run_record *rec,
				  const struct lle_sample_file *files, size_t n_files, long long *id,
				  int *existed, long long *n_scores, struct lle_err *err);
/* Paired statistics of metric (task, filter) between two runs over the
 * documents both scored (same doc_id, and same doc_hash when both have one):
 * *n documents, *mean of b - a, *se = sd(b - a) / sqrt(n) (0 when n < 2). */
int lle_runstore_paired(struct lle_runstore *rs, long long run_a, const char *model_a, long long run_b,
			const char *model_b, const char *task, const char *filter, const char *metric,
			long long *n, double *mean, double *se, struct lle_err *err);
/* The documents whose score differs between two runs (same task, filter,
 * metric and doc_id, and doc_hash when both have one; same model too unless
 * each run scored one model, as compare pairs two models), ordered by
 * task, metric, filter and doc_id: fn is called for the first max of them
 * (a negative return is out of memory); *n counts all of them. */
int lle_runstore_flips(struct lle_runstore *rs, long long run_a, long long run_b, long long max,
		       int (*fn)(void *arg, const char *task, const char *metric, const char *filter,
				 long long doc_id, double a, double b),
		       void *arg, long long *n, struct lle_err *err);
/* A run by reference: its id ("3"), "last", or a unique prefix of its uid (4+ digits). */
int lle_runstore_resolve(struct lle_runstore *rs, const char *ref, long long *id, struct lle_err *err);
/* Load a run with its rows (free with lle_run_record_free). */
int lle_runstore_get(struct lle_runstore *rs, long long id, struct lle_run_record *rec, struct lle_err *err);
/* All runs, oldest first, without their rows; *n records (free each, then the array). */
int lle_runstore_list(struct lle_runstore *rs, struct lle_run_record **recs, size_t *n,
		      long long **n_results, struct lle_err *err);
/* How many per-document scores the run has (from its samples files). */
int lle_runstore_sample_count(struct lle_runstore *rs, long long id, long long *n, struct lle_err *err);
/* Remove a run and its rows. */
int lle_runstore_delete(struct lle_runstore *rs, long long id, struct lle_err *err);

#endif
