/* Reports over stored runs: a models x tasks matrix (one metric per task, with
 * its standard error) plus category averages, written as a terminal table,
 * Markdown, CSV, JSON or one self-contained HTML page with SVG bar charts; and
 * the comparison of two runs, task by task, against the combined standard error.
 *
 * Which metric a task shows: the one named by opts.metric when the task has it
 * ("acc", or "exact_match,flexible-extract"), else the first one its first run
 * lists. When several runs hold the same model and task, the later run wins.
 * Members of a group (MMLU subjects) are left out unless opts.subtasks; the
 * group itself is shown. A member whose group has no score of its own (no
 * aggregate_metric_list) is shown as a task of its own. A category average is the unweighted mean over the
 * category's shown top-level tasks whose metric is not lower-is-better (a
 * perplexity does not average with accuracies), given only when the model has
 * all of them; its standard error is sqrt(sum se_i^2) / k (tasks taken as
 * independent).
 *
 * Not here: reading runs (runstore.h) or choosing which runs. */
#ifndef LLE_STORE_REPORT_H
#define LLE_STORE_REPORT_H

#include <stddef.h>

#include "store/results.h"
#include "util/buf.h"
#include "util/err.h"

enum lle_report_format {
	LLE_REPORT_TABLE,
	LLE_REPORT_MARKDOWN,
	LLE_REPORT_CSV,
	LLE_REPORT_JSON,
	LLE_REPORT_HTML,
};

struct lle_report_opts {
	const char *category;   /* only tasks of this category, or NULL */
	const char *metric;     /* preferred metric, or NULL */
	int subtasks;           /* also show the members of groups */
};

/* "table", "markdown" (or "md"), "csv", "json", "html" -> format; -1 if unknown. */
int lle_report_format_parse(const char *s);
int lle_report_write(struct lle_buf *out, const struct lle_run_record *runs, size_t n_runs,
		     const struct lle_report_opts *opts, int format, struct lle_err *err);

/* Paired statistics for one compared metric, from per-document scores: n
 * shared documents (0: none, compare unpaired), mean of b - a and its standard
 * error. Returns -1 with err set on failure. */
typedef int (*lle_paired_fn)(void *arg, const struct lle_result_row *a, const struct lle_result_row *b,
			     long long *n, double *mean, double *se, struct lle_err *err);

/* Compare run b against run a: every (task, metric, filter) they share (and
 * model, when either run holds several models), b - a, its standard error,
 * z = diff / se and whether |diff| > se. The standard error is the paired one
 * over shared documents when paired (may be NULL) finds at least two, else the
 * combined sqrt(se_a^2 + se_b^2).
 * format is LLE_REPORT_TABLE, LLE_REPORT_MARKDOWN, LLE_REPORT_CSV or LLE_REPORT_JSON. */
int lle_compare_write(struct lle_buf *out, const struct lle_run_record *a, const struct lle_run_record *b,
		      int format, lle_paired_fn paired, void *paired_arg, struct lle_err *err);

/* The shortest decimal that reads back as the same double (at most 17 digits). */
void lle_fmt_double(char *buf, size_t n, double v);

#endif
