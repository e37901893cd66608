/* Reports and comparisons: see report.h for what is shown and why.
 *
 * Everything is built in memory first (a small matrix of pointers into the run
 * records), then written by one function per format, so all formats show the
 * same numbers. Numbers are written with 4 decimals in the text formats and in
 * full precision (the shortest decimal that reads back exactly) in JSON and CSV. */
#include "store/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

struct col {
	const char *task, *metric, *filter, *category, *top; /* top: the group of a member, else task */
	int is_sub, hib;
};

struct cell {
	const struct lle_result_row *r;
	long long run;
};

struct avg {
	int ok, has_se, k;
	double v, se;
};

struct matrix {
	const char **models;
	size_t nm;
	struct col *cols;
	size_t nt;
	const char **cats;
	size_t nc;
	struct cell *cells; /* nm x nt */
	struct avg *avgs;   /* nm x nc */
};

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
			lle_err_set(err, LLE_EXIT_USAGE, "the selected runs have no results");
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

/* "acc" or "exact_match,strict-match" (the filter only when there is one). */
static void metric_label(const struct col *c, char *buf, size_t n)
{
	if (strcmp(c->filter, "none") == 0)
		snprintf(buf, n, "%s", c->metric);
	else
		snprintf(buf, n, "%s,%s", c->metric, c->filter);
}

static void fmt_vse(char *buf, size_t n, int has, double v, int has_se, double se)
{
	if (!has)
		snprintf(buf, n, "-");
	else if (has_se)
		snprintf(buf, n, "%.4f \u00b1 %.4f", v, se);
	else
		snprintf(buf, n, "%.4f", v);
}

static void fmt_cell(const struct cell *c, char *buf, size_t n)
{
	const struct lle_result_row *r = c->r;
	fmt_vse(buf, n, r != NULL, r ? r->value : 0, r && r->has_stderr, r ? r->stderr_ : 0);
}

static void fmt_avg(const struct avg *a, char *buf, size_t n)
{
	fmt_vse(buf, n, a->ok, a->v, a->has_se, a->se);
}

static void pad(struct lle_buf *o, const char *s, size_t width, int right)
{
	size_t w = lle_utf8_len(s);
	if (right)
		for (size_t i = w; i < width; i++)
			lle_buf_addc(o, ' ');
	lle_buf_adds(o, s);
	if (!right)
		for (size_t i = w; i < width; i++)
			lle_buf_addc(o, ' ');
}

/* One row of the comparison as text: the model column first when there is
 * one, numbers (columns 2 to 6) right-aligned, no trailing spaces. Cells and
 * widths are in compare's column order, the model last (index 9). */
static void compare_text_row(struct lle_buf *o, const char *const *cells, const size_t *w, int by_model)
{
	enum { MODEL = 9 };
	struct lle_buf line = LLE_BUF_INIT;
	if (by_model) {
		pad(&line, cells[MODEL], w[MODEL], 0);
		lle_buf_adds(&line, "  ");
	}
	for (int c = 0; c < MODEL; c++) {
		pad(&line, cells[c], w[c], c >= 2 && c <= 6);
		lle_buf_adds(&line, c < MODEL - 1 ? "  " : "");
	}
	while (line.n && line.p[line.n - 1] == ' ')
		line.p[--line.n] = '\0';
	lle_buf_adds(o, lle_buf_str(&line));
	lle_buf_addc(o, '\n');
	if (line.oom)
		o->oom = 1;
	lle_buf_free(&line);
}

/* --- table --- */

static void write_table(struct lle_buf *o, const struct matrix *m)
{
	size_t ncol = 1 + m->nt + m->nc, nrow = 2 + m->nm;
	char(*cell)[160] = calloc(ncol * nrow, sizeof(*cell));
	size_t *w = calloc(ncol, sizeof(*w));
	if (!cell || !w) {
		free(cell);
		free(w);
		o->oom = 1;
		return;
	}
#define CELL(r, c) cell[(r) * ncol + (c)]
	snprintf(CELL(0, 0), 160, "model");
	for (size_t t = 0; t < m->nt; t++) {
		snprintf(CELL(0, 1 + t), 160, "%s", m->cols[t].task);
		metric_label(&m->cols[t], CELL(1, 1 + t), 160);
	}
	for (size_t c = 0; c < m->nc; c++) {
		snprintf(CELL(0, 1 + m->nt + c), 160, "%s", m->cats[c]);
		snprintf(CELL(1, 1 + m->nt + c), 160, "average");
	}
	for (size_t k = 0; k < m->nm; k++) {
		snprintf(CELL(2 + k, 0), 160, "%s", m->models[k]);
		for (size_t t = 0; t < m->nt; t++)
			fmt_cell(&m->cells[k * m->nt + t], CELL(2 + k, 1 + t), 160);
		for (size_t c = 0; c < m->nc; c++)
			fmt_avg(&m->avgs[k * m->nc + c], CELL(2 + k, 1 + m->nt + c), 160);
	}
	for (size_t r = 0; r < nrow; r++)
		for (size_t c = 0; c < ncol; c++)
			if (lle_utf8_len(CELL(r, c)) > w[c])
				w[c] = lle_utf8_len(CELL(r, c));
	for (size_t r = 0; r < nrow; r++) {
		if (r == 2) {
			for (size_t c = 0; c < ncol; c++) {
				if (c)
					lle_buf_adds(o, c == 1 + m->nt ? "  |  " : "  ");
				for (size_t i = 0; i < w[c]; i++)
					lle_buf_addc(o, '-');
			}
			lle_buf_addc(o, '\n');
		}
		struct lle_buf line = LLE_BUF_INIT;
		for (size_t c = 0; c < ncol; c++) {
			if (c)
				lle_buf_adds(&line, c == 1 + m->nt ? "  |  " : "  ");
			pad(&line, CELL(r, c), w[c], c > 0 && r >= 2);
		}
		while (line.n && line.p[line.n - 1] == ' ')
			line.p[--line.n] = '\0';
		lle_buf_adds(o, lle_buf_str(&line));
		if (line.oom)
			o->oom = 1;
		lle_buf_free(&line);
		lle_buf_addc(o, '\n');
	}
#undef CELL
	free(cell);
	free(w);
}

/* --- markdown --- */

static void md_text(struct lle_buf *o, const char *s)
{
	for (; *s; s++) {
		if (*s == '|' || *s == '*' || *s == '_' || *s == '`' || *s == '\\' || *s == '<')
			lle_buf_addc(o, '\\');
		lle_buf_addc(o, *s);
	}
}

static void write_markdown(struct lle_buf *o, const struct matrix *m)
{
	char buf[160];
	lle_buf_adds(o, "| model |");
	for (size_t t = 0; t < m->nt; t++) {
		metric_label(&m->cols[t], buf, sizeof(buf));
		lle_buf_addc(o, ' ');
		md_text(o, m->cols[t].task);
		lle_buf_adds(o, " (");
		md_text(o, buf);
		lle_buf_adds(o, ") |");
	}
	for (size_t c = 0; c < m->nc; c++) {
		lle_buf_adds(o, " ");
		md_text(o, m->cats[c]);
		lle_buf_adds(o, " (average) |");
	}
	lle_buf_adds(o, "\n|---|");
	for (size_t i = 0; i < m->nt + m->nc; i++)
		lle_buf_adds(o, "---:|");
	lle_buf_addc(o, '\n');
	for (size_t k = 0; k < m->nm; k++) {
		lle_buf_adds(o, "| ");
		md_text(o, m->models[k]);
		lle_buf_adds(o, " |");
		for (size_t t = 0; t < m->nt; t++) {
			fmt_cell(&m->cells[k * m->nt + t], buf, sizeof(buf));
			lle_buf_printf(o, " %s |", buf);
		}
		for (size_t c = 0; c < m->nc; c++) {
			fmt_avg(&m->avgs[k * m->nc + c], buf, sizeof(buf));
			lle_buf_printf(o, " %s |", buf);
		}
		lle_buf_addc(o, '\n');
	}
}

/* --- CSV (RFC 4180) --- */

static void csv_field(struct lle_buf *o, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		lle_buf_adds(o, s);
		return;
	}
	lle_buf_addc(o, '"');
	for (; *s; s++) {
		if (*s == '"')
			lle_buf_addc(o, '"');
		lle_buf_addc(o, *s);
	}
	lle_buf_addc(o, '"');
}

static void csv_num(struct lle_buf *o, int has, double v)
{
	char b[40];
	lle_buf_addc(o, ',');
	if (has) {
		lle_fmt_double(b, sizeof(b), v);
		lle_buf_adds(o, b);
	}
}

static void write_csv(struct lle_buf *o, const struct matrix *m)
{
	char buf[400], lab[160];
	lle_buf_adds(o, "model");
	for (size_t t = 0; t < m->nt; t++) {
		metric_label(&m->cols[t], lab, sizeof(lab));
		snprintf(buf, sizeof(buf), "%s:%s", m->cols[t].task, lab);
		lle_buf_addc(o, ',');
		csv_field(o, buf);
		lle_buf_addc(o, ',');
		snprintf(buf, sizeof(buf), "%s:%s:stderr", m->cols[t].task, lab);
		csv_field(o, buf);
	}
	for (size_t c = 0; c < m->nc; c++) {
		snprintf(buf, sizeof(buf), "%s:average", m->cats[c]);
		lle_buf_addc(o, ',');
		csv_field(o, buf);
		snprintf(buf, sizeof(buf), "%s:average:stderr", m->cats[c]);
		lle_buf_addc(o, ',');
		csv_field(o, buf);
	}
	lle_buf_adds(o, "\r\n");
	for (size_t k = 0; k < m->nm; k++) {
		csv_field(o, m->models[k]);
		for (size_t t = 0; t < m->nt; t++) {
			const struct lle_result_row *r = m->cells[k * m->nt + t].r;
			csv_num(o, r != NULL, r ? r->value : 0);
			csv_num(o, r && r->has_stderr, r ? r->stderr_ : 0);
		}
		for (size_t c = 0; c < m->nc; c++) {
			const struct avg *a = &m->avgs[k * m->nc + c];
			csv_num(o, a->ok, a->v);
			csv_num(o, a->ok && a->has_se, a->se);
		}
		lle_buf_adds(o, "\r\n");
	}
}

/* --- JSON --- */

static void json_num(struct lle_buf *o, int has, double v)
{
	char b[40];
	if (has && isfinite(v)) {
		lle_fmt_double(b, sizeof(b), v);
		lle_buf_adds(o, b);
	} else
		lle_buf_adds(o, "null");
}

static void write_json(struct lle_buf *o, const struct matrix *m)
{
	lle_buf_adds(o, "{\n  \"tasks\": [");
	for (size_t t = 0; t < m->nt; t++) {
		const struct col *c = &m->cols[t];
		lle_buf_adds(o, t ? ",\n    {\"task\": " : "\n    {\"task\": ");
		lle_buf_add_json_str(o, c->task);
		lle_buf_adds(o, ", \"metric\": ");
		lle_buf_add_json_str(o, c->metric);
		lle_buf_adds(o, ", \"filter\": ");
		lle_buf_add_json_str(o, c->filter);
		lle_buf_adds(o, ", \"category\": ");
		if (c->category)
			lle_buf_add_json_str(o, c->category);
		else
			lle_buf_adds(o, "null");
		lle_buf_adds(o, ", \"group\": ");
		if (c->is_sub)
			lle_buf_add_json_str(o, c->top);
		else
			lle_buf_adds(o, "null");
		lle_buf_printf(o, ", \"higher_is_better\": %s}",
			       c->hib < 0 ? "null" : c->hib ? "true" : "false");
	}
	lle_buf_adds(o, "\n  ],\n  \"categories\": [");
	for (size_t c = 0; c < m->nc; c++) {
		lle_buf_adds(o, c ? ", " : "");
		lle_buf_add_json_str(o, m->cats[c]);
	}
	lle_buf_adds(o, "],\n  \"models\": [");
	for (size_t k = 0; k < m->nm; k++) {
		lle_buf_adds(o, k ? ",\n    {\"model\": " : "\n    {\"model\": ");
		lle_buf_add_json_str(o, m->models[k]);
		lle_buf_adds(o, ",\n     \"scores\": {");
		for (size_t t = 0; t < m->nt; t++) {
			const struct cell *c = &m->cells[k * m->nt + t];
			lle_buf_adds(o, t ? ", " : "");
			lle_buf_add_json_str(o, m->cols[t].task);
			lle_buf_adds(o, ": ");
			if (!c->r) {
				lle_buf_adds(o, "null");
				continue;
			}
			lle_buf_adds(o, "{\"value\": ");
			json_num(o, 1, c->r->value);
			lle_buf_adds(o, ", \"stderr\": ");
			json_num(o, c->r->has_stderr, c->r->stderr_);
			lle_buf_adds(o, ", \"n\": ");
			if (c->r->n >= 0)
				lle_buf_printf(o, "%lld", c->r->n);
			else
				lle_buf_adds(o, "null");
			lle_buf_printf(o, ", \"run\": %lld}", c->run);
		}
		lle_buf_adds(o, "},\n     \"categories\": {");
		for (size_t c = 0; c < m->nc; c++) {
			const struct avg *a = &m->avgs[k * m->nc + c];
			lle_buf_adds(o, c ? ", " : "");
			lle_buf_add_json_str(o, m->cats[c]);
			if (!a->ok) {
				lle_buf_adds(o, ": null");
				continue;
			}
			lle_buf_adds(o, ": {\"value\": ");
			json_num(o, 1, a->v);
			lle_buf_adds(o, ", \"stderr\": ");
			json_num(o, a->has_se, a->se);
			lle_buf_printf(o, ", \"tasks\": %d}", a->k);
		}
		lle_buf_adds(o, "}}");
	}
	lle_buf_adds(o, "\n  ]\n}\n");
}

/* --- HTML --- */

static void html_text(struct lle_buf *o, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': lle_buf_adds(o, "&amp;"); break;
		case '<': lle_buf_adds(o, "&lt;"); break;
		case '>': lle_buf_adds(o, "&gt;"); break;
		case '"': lle_buf_adds(o, "&quot;"); break;
		case '\'': lle_buf_adds(o, "&#39;"); break;
		default: lle_buf_addc(o, *s);
		}
	}
}

static const char *const PALETTE[] = { "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
				       "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac" };
#define NPAL (sizeof(PALETTE) / sizeof(PALETTE[0]))

struct bar {
	int has, has_se;
	double v, se;
};

/* One horizontal bar chart: a bar per model with its error bar (+-1 standard error). */
static void svg_chart(struct lle_buf *o, const struct matrix *m, const char *title, const char *sub,
		      const struct bar *bars)
{
	const double LW = 190, BW = 220, VW = 110, RH = 24, TOP = 6, AX = 26;
	double lo = 0, hi = 0;
	for (size_t k = 0; k < m->nm; k++) {
		if (!bars[k].has)
			continue;
		double e = bars[k].has_se ? bars[k].se : 0;
		if (bars[k].v + e > hi)
			hi = bars[k].v + e;
		if (bars[k].v - e < lo)
			lo = bars[k].v - e;
	}
	if (lo >= 0 && hi <= 1)
		hi = 1; /* scores in [0, 1] share one scale */
	else
		hi = hi > 0 ? hi * 1.08 : 0, lo = lo < 0 ? lo * 1.08 : 0;
	if (hi - lo <= 0)
		hi = lo + 1;
	double W = LW + BW + VW, H = TOP + RH * (double)m->nm + AX;
#define X(v) (LW + ((v) - lo) / (hi - lo) * BW)
	lle_buf_adds(o, "<figure class=\"chart\"><figcaption><b>");
	html_text(o, title);
	lle_buf_adds(o, "</b> <span class=\"metric\">");
	html_text(o, sub);
	lle_buf_printf(o, "</span></figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
			  "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"", W, H, W, H);
	html_text(o, title);
	lle_buf_adds(o, ": ");
	html_text(o, sub);
	lle_buf_adds(o, ", one bar per model\">\n");
	for (int i = 0; i <= 4; i++) {
		double v = lo + (hi - lo) * i / 4, x = X(v);
		lle_buf_printf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
				  "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">%.3g</text>\n",
			       x, TOP, x, TOP + RH * (double)m->nm, x, H - 8, v);
	}
	for (size_t k = 0; k < m->nm; k++) {
		double y = TOP + RH * (double)k, cy = y + RH / 2;
		char name[64];
		const char *mn = m->models[k];
		if (lle_utf8_len(mn) > 27) {
			size_t cut = 0, cps = 0;
			while (mn[cut] && cps < 25) {
				size_t l = lle_utf8_valid_prefix((const unsigned char *)mn + cut, strlen(mn + cut));
				cut += l ? l : 1;
				cps++;
			}
			snprintf(name, sizeof(name), "%.*s\u2026", (int)cut, mn);
		} else {
			snprintf(name, sizeof(name), "%s", mn);
		}
		lle_buf_printf(o, "<g><title>");
		html_text(o, mn);
		lle_buf_printf(o, "</title><text x=\"%.1f\" y=\"%.1f\" class=\"label\">", LW - 8, cy + 4);
		html_text(o, name);
		lle_buf_adds(o, "</text>");
		if (!bars[k].has) {
			lle_buf_printf(o, "<text x=\"%.1f\" y=\"%.1f\" class=\"none\">no result</text></g>\n", LW + 4, cy + 4);
			continue;
		}
		double x0 = X(bars[k].v < 0 ? bars[k].v : 0), x1 = X(bars[k].v > 0 ? bars[k].v : 0);
		lle_buf_printf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>", x0,
			       y + 4, x1 - x0 < 0.5 ? 0.5 : x1 - x0, RH - 8, PALETTE[k % NPAL]);
		if (bars[k].has_se && bars[k].se > 0) {
			double a = X(bars[k].v - bars[k].se), b = X(bars[k].v + bars[k].se);
			lle_buf_printf(o, "<path class=\"err\" d=\"M%.1f %.1fH%.1fM%.1f %.1fV%.1fM%.1f %.1fV%.1f\"/>",
				       a, cy, b, a, cy - 5, cy + 5, b, cy - 5, cy + 5);
		}
		char v[96];
		fmt_vse(v, sizeof(v), 1, bars[k].v, bars[k].has_se, bars[k].se);
		lle_buf_printf(o, "<text x=\"%.1f\" y=\"%.1f\" class=\"value\">%s</text></g>\n", LW + BW + 8, cy + 4, v);
	}
	lle_buf_adds(o, "</svg></figure>\n");
#undef X
}

static const char CSS[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1100px;"
	"padding:0 1em;color:#222;background:#fff}"
	"h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd}"
	"table{border-collapse:collapse;margin:.6em 0}th,td{padding:.25em .6em;border-bottom:1px solid #e4e4e4}"
	"th{text-align:left;background:#f6f6f6;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums;"
	"white-space:nowrap}th .metric{display:block;font-weight:400;color:#666;font-size:.85em}"
	".metric{color:#666}.note{color:#555;font-size:.9em}"
	".charts{display:flex;flex-wrap:wrap;gap:1.2em}figure.chart{margin:0;padding:.6em;border:1px solid #e4e4e4;"
	"border-radius:6px}figcaption{margin-bottom:.3em}"
	"svg text{font:12px system-ui,sans-serif;fill:#333}svg .label{text-anchor:end}svg .tick{text-anchor:middle;"
	"fill:#777;font-size:11px}svg .grid{stroke:#e6e6e6}svg .err{stroke:#222;stroke-width:1.4;fill:none}"
	".scroll{overflow-x:auto}td:first-child{white-space:nowrap}"
	"svg .none{fill:#999;font-style:italic}.swatch{display:inline-block;width:.9em;height:.9em;border-radius:2px;"
	"margin-right:.4em;vertical-align:-.1em}";

static void write_html(struct lle_buf *o, const struct matrix *m, const struct lle_run_record *runs,
		       size_t n_runs, const struct lle_report_opts *opts)
{
	char buf[160];
	lle_buf_adds(o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
			"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
			"<title>llm-eval report</title>\n<style>");
	lle_buf_adds(o, CSS);
	lle_buf_adds(o, "</style>\n</head>\n<body>\n<h1>llm-eval report</h1>\n<p class=\"note\">");
	lle_buf_printf(o, "%zu model%s, %zu task%s", m->nm, m->nm == 1 ? "" : "s", m->nt, m->nt == 1 ? "" : "s");
	if (opts->category) {
		lle_buf_adds(o, ", category ");
		html_text(o, opts->category);
	}
	lle_buf_adds(o, ". Values are shown with their standard error (&plusmn;); error bars span "
			"&plusmn;1 standard error.</p>\n");

	/* Per-model summary. */
	lle_buf_adds(o, "<h2 id=\"summary\">Models</h2>\n<div class=\"scroll\"><table class=\"summary\"><thead><tr><th>model</th>"
			"<th>tasks scored</th><th>mean score</th><th>best task</th><th>weakest task</th>");
	for (size_t c = 0; c < m->nc; c++) {
		lle_buf_adds(o, "<th>");
		html_text(o, m->cats[c]);
		lle_buf_adds(o, "<span class=\"metric\">average</span></th>");
	}
	lle_buf_adds(o, "</tr></thead>\n<tbody>\n");
	for (size_t k = 0; k < m->nm; k++) {
		int n = 0;
		double sum = 0;
		const struct col *best = NULL, *worst = NULL;
		double bv = 0, wv = 0;
		for (size_t t = 0; t < m->nt; t++) {
			const struct lle_result_row *r = m->cells[k * m->nt + t].r;
			/* Only scores where higher is better: a perplexity would swamp the mean. */
			if (!r || m->cols[t].is_sub || m->cols[t].hib == 0)
				continue;
			n++;
			sum += r->value;
			if (!best || r->value > bv)
				best = &m->cols[t], bv = r->value;
			if (!worst || r->value < wv)
				worst = &m->cols[t], wv = r->value;
		}
		lle_buf_printf(o, "<tr><td><span class=\"swatch\" style=\"background:%s\"></span>", PALETTE[k % NPAL]);
		html_text(o, m->models[k]);
		lle_buf_printf(o, "</td><td class=\"num\">%d</td><td class=\"num\">", n);
		if (n)
			lle_buf_printf(o, "%.4f", sum / n);
		else
			lle_buf_adds(o, "-");
		lle_buf_adds(o, "</td><td>");
		if (best) {
			html_text(o, best->task);
			lle_buf_printf(o, " (%.4f)", bv);
		}
		lle_buf_adds(o, "</td><td>");
		if (worst) {
			html_text(o, worst->task);
			lle_buf_printf(o, " (%.4f)", wv);
		}
		lle_buf_adds(o, "</td>");
		for (size_t c = 0; c < m->nc; c++) {
			fmt_avg(&m->avgs[k * m->nc + c], buf, sizeof(buf));
			lle_buf_printf(o, "<td class=\"num\">%s</td>", buf);
		}
		lle_buf_adds(o, "</tr>\n");
	}
	lle_buf_adds(o, "</tbody></table></div>\n<p class=\"note\">Mean score: unweighted mean over the tasks shown "
			"where higher is better (groups count once). Category averages need every such task of the "
			"category.</p>\n");

	/* The matrix. */
	lle_buf_adds(o, "<h2 id=\"results\">Results</h2>\n<div class=\"scroll\"><table class=\"results\"><thead><tr><th>model</th>");
	for (size_t t = 0; t < m->nt; t++) {
		metric_label(&m->cols[t], buf, sizeof(buf));
		lle_buf_adds(o, "<th>");
		html_text(o, m->cols[t].task);
		lle_buf_adds(o, "<span class=\"metric\">");
		html_text(o, buf);
		lle_buf_adds(o, "</span></th>");
	}
	lle_buf_adds(o, "</tr></thead>\n<tbody>\n");
	for (size_t k = 0; k < m->nm; k++) {
		lle_buf_adds(o, "<tr><td>");
		html_text(o, m->models[k]);
		lle_buf_adds(o, "</td>");
		for (size_t t = 0; t < m->nt; t++) {
			fmt_cell(&m->cells[k * m->nt + t], buf, sizeof(buf));
			lle_buf_printf(o, "<td class=\"num\">%s</td>", buf);
		}
		lle_buf_adds(o, "</tr>\n");
	}
	lle_buf_adds(o, "</tbody></table></div>\n");

	struct bar *bars = calloc(m->nm + 1, sizeof(*bars));
	if (!bars) {
		o->oom = 1;
		return;
	}
	if (m->nc) {
		lle_buf_adds(o, "<h2 id=\"categories\">Categories</h2>\n<div class=\"charts\">\n");
		for (size_t c = 0; c < m->nc; c++) {
			for (size_t k = 0; k < m->nm; k++) {
				const struct avg *a = &m->avgs[k * m->nc + c];
				bars[k] = (struct bar){ a->ok, a->ok && a->has_se, a->v, a->se };
			}
			svg_chart(o, m, m->cats[c], "average over its tasks", bars);
		}
		lle_buf_adds(o, "</div>\n");
	}
	lle_buf_adds(o, "<h2 id=\"tasks\">Tasks</h2>\n<div class=\"charts\">\n");
	for (size_t t = 0; t < m->nt; t++) {
		for (size_t k = 0; k < m->nm; k++) {
			const struct lle_result_row *r = m->cells[k * m->nt + t].r;
			bars[k] = (struct bar){ r != NULL, r && r->has_stderr, r ? r->value : 0, r ? r->stderr_ : 0 };
		}
		metric_label(&m->cols[t], buf, sizeof(buf));
		svg_chart(o, m, m->cols[t].task, buf, bars);
	}
	free(bars);
	lle_buf_adds(o, "</div>\n<h2 id=\"runs\">Runs</h2>\n<table class=\"runs\"><thead><tr><th>run</th><th>date</th>"
			"<th>model</th><th>source</th><th>time</th></tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < n_runs; i++) {
		lle_buf_printf(o, "<tr><td class=\"num\">%lld</td><td>", runs[i].id);
		html_text(o, runs[i].date ? runs[i].date : "");
		lle_buf_adds(o, "</td><td>");
		html_text(o, runs[i].model ? runs[i].model : "");
		lle_buf_adds(o, "</td><td>");
		html_text(o, runs[i].source ? runs[i].source : "");
		lle_buf_adds(o, "</td><td class=\"num\">");
		if (runs[i].total_seconds >= 0)
			lle_buf_printf(o, "%.0f s", runs[i].total_seconds);
		lle_buf_adds(o, "</td></tr>\n");
	}
	lle_buf_adds(o, "</tbody></table>\n<p class=\"note\">Written by llm-eval " LLE_VERSION ".</p>\n</body>\n</html>\n");
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
	case LLE_REPORT_TABLE: write_table(out, &m); break;
	case LLE_REPORT_MARKDOWN: write_markdown(out, &m); break;
	case LLE_REPORT_CSV: write_csv(out, &m); break;
	case LLE_REPORT_JSON: write_json(out, &m); break;
	case LLE_REPORT_HTML: write_html(out, &m, runs, n_runs, opts); break;
	default:
		matrix_free(&m);
		return lle_err_set(err, LLE_EXIT_INTERNAL, "unknown report format %d", format);
	}
	matrix_free(&m);
	if (out->oom)
		return lle_err_oom(err);
	return 0;
}

/* --- compare --- */

struct pair {
	const struct lle_result_row *a, *b;
	double d, se;
	int has_se;
	long long n_paired;   /* > 0: d and se are paired over that many documents */
};

static int single_model(const struct lle_run_record *r)
{
	for (size_t i = 1; i < r->n_rows; i++)
		if (strcmp(r->rows[i].model, r->rows[0].model) != 0)
			return 0;
	return 1;
}

int lle_compare_write(struct lle_buf *o, const struct lle_run_record *a, const struct lle_run_record *b,
		      int format, lle_paired_fn paired, void *paired_arg, struct lle_err *err)
{
	int by_model = !(single_model(a) && single_model(b));
	struct pair *p = calloc(a->n_rows + 1, sizeof(*p));
	if (!p)
		return lle_err_oom(err);
	size_t np = 0, only_a = 0, only_b, exceed = 0, known = 0, n_paired = 0;
	for (size_t i = 0; i < a->n_rows; i++) {
		const struct lle_result_row *ra = &a->rows[i];
		const struct lle_result_row *rb = NULL;
		for (size_t j = 0; j < b->n_rows && !rb; j++) {
			const struct lle_result_row *r = &b->rows[j];
			if (!strcmp(r->task, ra->task) && !strcmp(r->metric, ra->metric) &&
			    !strcmp(r->filter, ra->filter) && (!by_model || !strcmp(r->model, ra->model)))
				rb = r;
		}
		if (!rb || !ra->has_value || !rb->has_value) {
			only_a++;
			continue;
		}
		struct pair *q = &p[np++];
		q->a = ra;
		q->b = rb;
		q->d = rb->value - ra->value;
		q->has_se = ra->has_stderr && rb->has_stderr;
		q->se = q->has_se ? sqrt(ra->stderr_ * ra->stderr_ + rb->stderr_ * rb->stderr_) : 0;
		long long n = 0;
		double mean = 0, se = 0;
		if (paired && paired(paired_arg, ra, rb, &n, &mean, &se, err) < 0) {
			free(p);
			return -1;
		}
		if (n >= 2) {
			q->n_paired = n;
			q->d = mean;
			q->se = se;
			q->has_se = 1;
			n_paired++;
		}
	}
	only_b = b->n_rows - np;
	int json = format == LLE_REPORT_JSON, csv = format == LLE_REPORT_CSV, md = format == LLE_REPORT_MARKDOWN;
	if (json) {
		lle_buf_printf(o, "{\n  \"a\": {\"run\": %lld, \"model\": ", a->id);
		lle_buf_add_json_str(o, a->model ? a->model : "");
		lle_buf_printf(o, "},\n  \"b\": {\"run\": %lld, \"model\": ", b->id);
		lle_buf_add_json_str(o, b->model ? b->model : "");
		lle_buf_adds(o, "},\n  \"rows\": [");
	} else if (csv) {
		lle_buf_adds(o, by_model ? "model,task,metric,filter,a,a_stderr,b,b_stderr,diff,stderr,z,exceeds,paired_docs\r\n"
					 : "task,metric,filter,a,a_stderr,b,b_stderr,diff,stderr,z,exceeds,paired_docs\r\n");
	} else {
		lle_buf_printf(o, "%sA: run %lld, %s", md ? "- " : "", a->id, a->model ? a->model : "?");
		if (a->date)
			lle_buf_printf(o, " (%s)", a->date);
		lle_buf_printf(o, "\n%sB: run %lld, %s", md ? "- " : "", b->id, b->model ? b->model : "?");
		if (b->date)
			lle_buf_printf(o, " (%s)", b->date);
		lle_buf_adds(o, "\n\n");
	}
	/* Text tables: widths first (pass 0), then the rows (pass 1). */
	enum { NC = 10, MODEL = 9 };
	static const char *const head[NC] = { "task", "metric", "A", "B", "B-A", "stderr", "z", "exceeds", "basis", "model" };
	size_t w[NC] = { 0 };
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1 && !json && !csv) {
			if (md) {
				lle_buf_adds(o, by_model ? "| model " : "");
				lle_buf_adds(o, "| task | metric | A | B | B-A | stderr | z | exceeds | basis |\n");
				lle_buf_adds(o, by_model ? "|---" : "");
				lle_buf_adds(o, "|---|---|---:|---:|---:|---:|---:|---|---|\n");
			} else {
				compare_text_row(o, head, w, by_model);
			}
		}
		if (pass == 0)
			for (int c = 0; c < NC; c++)
				w[c] = strlen(head[c]);
		exceed = known = 0;
		for (size_t i = 0; i < np; i++) {
			const struct pair *q = &p[i];
			const struct lle_result_row *ra = q->a, *rb = q->b;
			int ex = q->has_se && fabs(q->d) > q->se;
			known += q->has_se;
			exceed += ex;
			char f[NC][160];
			snprintf(f[0], 160, "%s", ra->task);
			if (strcmp(ra->filter, "none") == 0)
				snprintf(f[1], 160, "%s", ra->metric);
			else
				snprintf(f[1], 160, "%s,%s", ra->metric, ra->filter);
			fmt_vse(f[2], 160, 1, ra->value, ra->has_stderr, ra->stderr_);
			fmt_vse(f[3], 160, 1, rb->value, rb->has_stderr, rb->stderr_);
			snprintf(f[4], 160, "%+.4f", q->d);
			snprintf(f[5], 160, q->has_se ? "%.4f" : "-", q->se);
			if (q->has_se && q->se > 0)
				snprintf(f[6], 160, "%+.2f", q->d / q->se);
			else
				snprintf(f[6], 160, "-");
			snprintf(f[7], 160, "%s", !q->has_se ? "unknown" : ex ? "yes" : "no");
			if (q->n_paired)
				snprintf(f[8], 160, "paired, %lld docs", q->n_paired);
			else
				snprintf(f[8], 160, "unpaired");
			snprintf(f[MODEL], 160, "%s", ra->model);
			if (pass == 0) {
				for (int c = 0; c < NC; c++)
					if (lle_utf8_len(f[c]) > w[c])
						w[c] = lle_utf8_len(f[c]);
				continue;
			}
			if (json) {
				lle_buf_adds(o, i ? ",\n    {" : "\n    {");
				if (by_model) {
					lle_buf_adds(o, "\"model\": ");
					lle_buf_add_json_str(o, ra->model);
					lle_buf_adds(o, ", ");
				}
				lle_buf_adds(o, "\"task\": ");
				lle_buf_add_json_str(o, ra->task);
				lle_buf_adds(o, ", \"metric\": ");
				lle_buf_add_json_str(o, ra->metric);
				lle_buf_adds(o, ", \"filter\": ");
				lle_buf_add_json_str(o, ra->filter);
				lle_buf_adds(o, ", \"a\": ");
				json_num(o, 1, ra->value);
				lle_buf_adds(o, ", \"a_stderr\": ");
				json_num(o, ra->has_stderr, ra->stderr_);
				lle_buf_adds(o, ", \"b\": ");
				json_num(o, 1, rb->value);
				lle_buf_adds(o, ", \"b_stderr\": ");
				json_num(o, rb->has_stderr, rb->stderr_);
				lle_buf_adds(o, ", \"diff\": ");
				json_num(o, 1, q->d);
				lle_buf_adds(o, ", \"stderr\": ");
				json_num(o, q->has_se, q->se);
				lle_buf_adds(o, ", \"z\": ");
				json_num(o, q->has_se && q->se > 0, q->se > 0 ? q->d / q->se : 0);
				lle_buf_printf(o, ", \"exceeds\": %s, \"paired_docs\": %lld}",
					       !q->has_se ? "null" : ex ? "true" : "false", q->n_paired);
			} else if (csv) {
				if (by_model) {
					csv_field(o, ra->model);
					lle_buf_addc(o, ',');
				}
				csv_field(o, ra->task);
				lle_buf_addc(o, ',');
				csv_field(o, ra->metric);
				lle_buf_addc(o, ',');
				csv_field(o, ra->filter);
				csv_num(o, 1, ra->value);
				csv_num(o, ra->has_stderr, ra->stderr_);
				csv_num(o, 1, rb->value);
				csv_num(o, rb->has_stderr, rb->stderr_);
				csv_num(o, 1, q->d);
				csv_num(o, q->has_se, q->se);
				csv_num(o, q->has_se && q->se > 0, q->se > 0 ? q->d / q->se : 0);
				lle_buf_printf(o, ",%s,%lld\r\n", !q->has_se ? "" : ex ? "yes" : "no", q->n_paired);
			} else if (md) {
				if (by_model) {
					lle_buf_adds(o, "| ");
					md_text(o, f[MODEL]);
					lle_buf_adds(o, " ");
				}
				for (int c = 0; c < MODEL; c++) {
					lle_buf_adds(o, "| ");
					md_text(o, f[c]);
					lle_buf_adds(o, " ");
				}
				lle_buf_adds(o, "|\n");
			} else {
				const char *fp[NC];
				for (int c = 0; c < NC; c++)
					fp[c] = f[c];
				compare_text_row(o, fp, w, by_model);
			}
		}
	}
	if (json) {
		lle_buf_printf(o, "\n  ],\n  \"compared\": %zu, \"paired\": %zu, \"exceed\": %zu, \"stderr_unknown\": %zu, "
				  "\"only_a\": %zu, \"only_b\": %zu\n}\n", np, n_paired, exceed, np - known, only_a, only_b);
	} else if (!csv) {
		lle_buf_printf(o, "\n%zu of %zu differences exceed their standard error", exceed, known);
		if (np > known)
			lle_buf_printf(o, "; %zu without a standard error", np - known);
		lle_buf_adds(o, ".\n");
		if (only_a || only_b)
			lle_buf_printf(o, "Not compared: %zu result%s only in A, %zu only in B.\n", only_a,
				       only_a == 1 ? "" : "s", only_b);
		if (n_paired < np)
			lle_buf_printf(o, "Unpaired rows use sqrt(se_A^2 + se_B^2), treating the runs as independent: "
					  "import both runs with their samples files to pair them over shared documents.\n");
		if (n_paired)
			lle_buf_adds(o, "Paired rows: B-A is the mean per-document difference over the documents both "
					"runs scored, stderr its standard error.\n");
	}
	free(p);
	if (np == 0)
		return lle_err_set(err, LLE_EXIT_USAGE, "runs %lld and %lld share no task and metric to compare",
				   a->id, b->id);
	if (o->oom)
		return lle_err_oom(err);
	return 0;
}
