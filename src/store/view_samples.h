/* Paging through a samples file (samples_TASK_DATE.jsonl, one JSON object per
 * line, as llm-eval and lm-evaluation-harness write with --log-samples) for
 * the viewer, without loading it whole.
 *
 * The first time a file is asked for, one pass records each line's offset,
 * length, doc_id, filter chain and metric values (a scanner that walks only
 * the top-level keys of each line; nothing is allocated per line), so a
 * 14,042-document MMLU file costs a few hundred kilobytes of memory. Later
 * pages read only their own lines (pread) and parse them with jansson. Text
 * search reads the candidate lines and looks for the query as the line holds
 * it (JSON-escaped, ASCII letters case-insensitive). An index is rebuilt when
 * the file's size or time changes; a few are kept (least recently used).
 *
 * Not here: which file belongs to which run (view_api.c), HTTP (cmd_view.c). */
#ifndef LLE_STORE_VIEW_SAMPLES_H
#define LLE_STORE_VIEW_SAMPLES_H

#include <jansson.h>
#include <stddef.h>

#include "util/err.h"

struct lle_view_files;

struct lle_view_query {
	const char *filter;    /* a filter chain's name, or NULL for every one */
	const char *metric;    /* the metric that says correct/incorrect; NULL: the file's first */
	int result;            /* -1 any, 1 correct (metric > 0), 0 incorrect (metric is 0) */
	const char *text;      /* text search, or NULL */
	long long doc_id;      /* only this document, or -1 */
	size_t offset, limit;  /* the page, in matching lines */
};

struct lle_view_files *lle_view_files_new(void);
void lle_view_files_free(struct lle_view_files *vf);

/* One page of the file's lines matching q: {"total": lines, "matched": N,
 * "offset", "limit", "filters": [...], "metrics": [...], "metric": "acc",
 * "samples": [{"line", "doc_id", "filter", "metrics": {...}, "target",
 * "filtered_resps", "prompt_tail", "response" (a generation's first 200
 * bytes) for a generation, and "choices" (the continuations) for a
 * multiple-choice document; "error" for a line that is not JSON}]}.
 * *out is a new reference. */
int lle_view_samples_page(struct lle_view_files *vf, const char *path, const struct lle_view_query *q,
			  json_t **out, struct lle_err *err);
/* Line number `line` (0-based) of the file, parsed whole. */
int lle_view_samples_line(struct lle_view_files *vf, const char *path, size_t line, json_t **out,
			  struct lle_err *err);

#endif
