/* Reports: see report.h for what is shown and why.
 *
 * Everything is built in memory first (a small matrix of pointers into the run
 * records), then written by one function per format, so all formats show the
 * same numbers. This file builds the matrix (which tasks, metrics, models and
 * category averages are shown) and hands it to a writer. Not here: the writers
 * (report_text.c: table, Markdown, CSV, JSON; report_html.c: the HTML page with
 * its SVG charts) and the comparison of two runs (report_compare.c). */
#include "store/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/report_int.h"

static void matrix_free(struct matrix *m)
{
	free(m->models);
	free(m->cols);
	free(m->cats);
	free(m->cells);
	free(m->avgs);
	memset(m, 0, sizeof(*m));
}

static int streq0(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static int metric_matches(const struct lle_result_row *r, const char *want)
{
	size_t ml = strlen(r->metric);
	if (strcmp(r->metric, want) == 0)
		return 1;
	return strncmp(want, r->metric, ml) == 0 && want[ml] == ',' && strcmp(want + ml + 1, r->filter) == 0;
}

static int col_matches(const struct col *c, const char *want)
{
	struct lle_result_row r = { .metric = (char *)c->metric, .filter = (char *)c->filter };
	return metric_matches(&r, want);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_col(const void *pa, const void *pb)
{
	const struct col *a = pa, *b = pb;
	if (!a->category != !b->category)
		return a->category ? -1 : 1; /* uncategorised last */
	int c = a->category ? strcmp(a->category, b->category) : 0;
	if (c)
		return c;
	if ((c = strcmp(a->top, b->top)))
		return c;
	if (a->is_sub != b->is_sub)
		return a->is_sub - b->is_sub;
	return strcmp(a->task, b->task);
}

static int build(struct matrix *m, const struct lle_run_record *runs, size_t n_runs,
		 const struct lle_report_opts *o, struct lle_err *err)
{
	memset(m, 0, sizeof(*m));
	size_t nrows = 0;
	for (size_t i = 0; i < n_runs; i++)
		nrows += runs[i].n_rows;
	m->models = calloc(nrows + 1, sizeof(*m->models));
	m->cols = calloc(nrows + 1, sizeof(*m->cols));
	m->cats = calloc(nrows + 1, sizeof(*m->cats));
	if (!m->models || !m->cols || !m->cats)
		goto oom;
	/* Tasks, in first-seen order; their metric, category and group. */
	for (size_t i = 0; i < n_runs; i++) {
		for (size_t j = 0; j < runs[i].n_rows; j++) {
			const struct lle_result_row *r = &runs[i].rows[j];
			size_t t;
			if (!r->has_value)
				continue; /* no score: a predict-only run's bypass (store/results.c) */
			for (t = 0; t < m->nt && strcmp(m->cols[t].task, r->task) != 0; t++)
				;
			if (t == m->nt) {
				m->cols[t] = (struct col){ .task = r->task, .metric = r->metric, .filter = r->filter,
							   .hib = r->higher_is_better };
				m->nt++;
			} else if (o->metric && !col_matches(&m->cols[t], o->metric) && metric_matches(r, o->metric)) {
				/* The preferred metric, seen later than the task's first one. */
				m->cols[t].metric = r->metric;
				m->cols[t].filter = r->filter;
				m->cols[t].hib = r->higher_is_better;
			}
			struct col *c = &m->cols[t];
			if (!c->category && r->category)
				c->category = r->category;
			if (r->parent && !c->is_sub) {
				c->is_sub = 1;
				c->top = r->parent;
			}
		}
	}
	/* A member stands for itself when its group has no score of its own (a
	 * group without aggregate_metric_list, as the demo group): hiding it
	 * behind a group that is never shown would leave nothing of the run, and
	 * its model would have no task scored and no category average. */
	for (size_t t = 0; t < m->nt; t++) {
		struct col *c = &m->cols[t];
		size_t u;
		for (u = 0; c->is_sub && u < m->nt && strcmp(m->cols[u].task, c->top) != 0; u++)
			;
		if (c->is_sub && u == m->nt) {
			c->is_sub = 0;
			c->top = NULL;
		}
	}
	for (size_t t = 0; t < m->nt; t++)
		if (!m->cols[t].top)
			m->cols[t].top = m->cols[t].task;
	/* Members of a group take its category when they have none. */
	for (size_t t = 0; t < m->nt; t++) {
		struct col *c = &m->cols[t];
		for (size_t u = 0; u < m->nt && c->is_sub && !c->category; u++)
			if (strcmp(m->cols[u].task, c->top) == 0)
				c->category = m->cols[u].category;
	}
	size_t keep = 0;
	for (size_t t = 0; t < m->nt; t++) {
		struct col *c = &m->cols[t];
		if (c->is_sub && !o->subtasks)
			continue;
		if (o->category && !streq0(c->category, o->category))
			continue;
		m->cols[keep++] = *c;
	}
	m->nt = keep;
	if (m->nt == 0) {
		if (o->category)
			lle_err_set(err, LLE_EXIT_USAGE, "no task of category '%s' in the selected runs", o->category);
		else
			lle_err_set(err, LLE_EXIT_USAGE, "the selected runs have no results (a --predict-only run "
				    "has predictions, no scores)");
		goto fail;
	}
	qsort(m->cols, m->nt, sizeof(*m->cols), cmp_col);
	/* Models, in run order. */
	for (size_t i = 0; i < n_runs; i++)
		for (size_t j = 0; j < runs[i].n_rows; j++) {
			const char *md = runs[i].rows[j].model;
			size_t k;
			for (k = 0; k < m->nm && strcmp(m->models[k], md) != 0; k++)
				;
			if (k == m->nm)
				m->models[m->nm++] = md;
		}
	m->cells = calloc(m->nm * m->nt + 1, sizeof(*m->cells));
	if (!m->cells)
		goto oom;
	for (size_t i = 0; i < n_runs; i++)
		for (size_t j = 0; j < runs[i].n_rows; j++) {
			const struct lle_result_row *r = &runs[i].rows[j];
			if (!r->has_value)
				continue;
			for (size_t t = 0; t < m->nt; t++) {
				struct col *c = &m->cols[t];
				if (strcmp(c->task, r->task) || strcmp(c->metric, r->metric) || strcmp(c->filter, r->filter))
					continue;
				for (size_t k = 0; k < m->nm; k++)
					if (strcmp(m->models[k], r->model) == 0)
						m->cells[k * m->nt + t] = (struct cell){ r, runs[i].id };
			}
		}
	/* Categories and their averages. */
	for (size_t t = 0; t < m->nt; t++) {
		const char *cat = m->cols[t].category;
		size_t k;
		if (!cat || m->cols[t].is_sub)
			continue;
		for (k = 0; k < m->nc && strcmp(m->cats[k], cat) != 0; k++)
			;
		if (k == m->nc)
			m->cats[m->nc++] = cat;
	}
	qsort(m->cats, m->nc, sizeof(*m->cats), cmp_str);
	m->avgs = calloc(m->nm * m->nc + 1, sizeof(*m->avgs));
	if (!m->avgs)
		goto oom;
	for (size_t k = 0; k < m->nm; k++)
		for (size_t c = 0; c < m->nc; c++) {
			struct avg *a = &m->avgs[k * m->nc + c];
			double sum = 0, var = 0;
			int k_tasks = 0, all = 1, all_se = 1;
			for (size_t t = 0; t < m->nt; t++) {
				/* Perplexities and other lower-is-better scores do not average with accuracies. */
				if (m->cols[t].is_sub || m->cols[t].hib == 0 || !streq0(m->cols[t].category, m->cats[c]))
					continue;
				const struct lle_result_row *r = m->cells[k * m->nt + t].r;
				if (!r) {
					all = 0;
					continue;
				}
				k_tasks++;
				sum += r->value;
				if (r->has_stderr)
					var += r->stderr_ * r->stderr_;
				else
					all_se = 0;
			}
			if (all && k_tasks > 0) {
				a->ok = 1;
				a->k = k_tasks;
				a->v = sum / k_tasks;
				a->has_se = all_se;
				a->se = sqrt(var) / k_tasks;
			}
		}
	return 0;
oom:
	lle_err_oom(err);
fail:
	matrix_free(m);
	return -1;
}

void lle_fmt_double(char *buf, size_t n, double v)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, n, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

int lle_report_format_parse(const char *s)
{
	if (strcmp(s, "table") == 0)
		return LLE_REPORT_TABLE;
	if (strcmp(s, "markdown") == 0 || strcmp(s, "md") == 0)
		return LLE_REPORT_MARKDOWN;
	if (strcmp(s, "csv") == 0)
		return LLE_REPORT_CSV;
	if (strcmp(s, "json") == 0)
		return LLE_REPORT_JSON;
	if (strcmp(s, "html") == 0)
		return LLE_REPORT_HTML;
	return -1;
}

int lle_report_write(struct lle_buf *out, const struct lle_run_record *runs, size_t n_runs,
		     const struct lle_report_opts *opts, int format, struct lle_err *err)
{
	struct lle_report_opts none = { 0 };
	if (!opts)
		opts = &none;
	struct matrix m;
	if (build(&m, runs, n_runs, opts, err) < 0)
		return -1;
	switch (format) {
	case LLE_REPORT_TABLE: lle_report_table(out, &m); break;
	case LLE_REPORT_MARKDOWN: lle_report_markdown(out, &m); break;
	case LLE_REPORT_CSV: lle_report_csv(out, &m); break;
	case LLE_REPORT_JSON: lle_report_json(out, &m); break;
	case LLE_REPORT_HTML: lle_report_html(out, &m, runs, n_runs, opts); break;
	default:
		matrix_free(&m);
		return lle_err_set(err, LLE_EXIT_INTERNAL, "unknown report format %d", format);
	}
	matrix_free(&m);
	if (out->oom)
		return lle_err_oom(err);
	return 0;
}
