/* Reports as text: the terminal table, Markdown, CSV (RFC 4180) and JSON
 * writers of the report matrix (report.c builds it), and the cell formatting
 * and escaping that the HTML page (report_html.c) and the comparison
 * (report_compare.c) share. Numbers are written with 4 decimals in the table
 * and Markdown, and in full precision (the shortest decimal that reads back
 * exactly, lle_fmt_double) in JSON and CSV.
 *
 * Not here: which tasks and models are shown (report.c), HTML. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/report_int.h"
#include "util/utf8.h"

/* "acc" or "exact_match,strict-match" (the filter only when there is one). */
void lle_report_metric_label(const struct col *c, char *buf, size_t n)
{
	if (strcmp(c->filter, "none") == 0)
		snprintf(buf, n, "%s", c->metric);
	else
		snprintf(buf, n, "%s,%s", c->metric, c->filter);
}

void lle_report_fmt_vse(char *buf, size_t n, int has, double v, int has_se, double se)
{
	if (!has)
		snprintf(buf, n, "-");
	else if (has_se)
		snprintf(buf, n, "%.4f \u00b1 %.4f", v, se);
	else
		snprintf(buf, n, "%.4f", v);
}

void lle_report_fmt_cell(const struct cell *c, char *buf, size_t n)
{
	const struct lle_result_row *r = c->r;
	lle_report_fmt_vse(buf, n, r != NULL, r ? r->value : 0, r && r->has_stderr, r ? r->stderr_ : 0);
}

void lle_report_fmt_avg(const struct avg *a, char *buf, size_t n)
{
	lle_report_fmt_vse(buf, n, a->ok, a->v, a->has_se, a->se);
}

void lle_report_pad(struct lle_buf *o, const char *s, size_t width, int right)
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

/* --- table --- */

void lle_report_table(struct lle_buf *o, const struct matrix *m)
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
		lle_report_metric_label(&m->cols[t], CELL(1, 1 + t), 160);
	}
	for (size_t c = 0; c < m->nc; c++) {
		snprintf(CELL(0, 1 + m->nt + c), 160, "%s", m->cats[c]);
		snprintf(CELL(1, 1 + m->nt + c), 160, "average");
	}
	for (size_t k = 0; k < m->nm; k++) {
		snprintf(CELL(2 + k, 0), 160, "%s", m->models[k]);
		for (size_t t = 0; t < m->nt; t++)
			lle_report_fmt_cell(&m->cells[k * m->nt + t], CELL(2 + k, 1 + t), 160);
		for (size_t c = 0; c < m->nc; c++)
			lle_report_fmt_avg(&m->avgs[k * m->nc + c], CELL(2 + k, 1 + m->nt + c), 160);
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
			lle_report_pad(&line, CELL(r, c), w[c], c > 0 && r >= 2);
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

void lle_report_md_text(struct lle_buf *o, const char *s)
{
	for (; *s; s++) {
		if (*s == '|' || *s == '*' || *s == '_' || *s == '`' || *s == '\\' || *s == '<')
			lle_buf_addc(o, '\\');
		lle_buf_addc(o, *s);
	}
}

void lle_report_markdown(struct lle_buf *o, const struct matrix *m)
{
	char buf[160];
	lle_buf_adds(o, "| model |");
	for (size_t t = 0; t < m->nt; t++) {
		lle_report_metric_label(&m->cols[t], buf, sizeof(buf));
		lle_buf_addc(o, ' ');
		lle_report_md_text(o, m->cols[t].task);
		lle_buf_adds(o, " (");
		lle_report_md_text(o, buf);
		lle_buf_adds(o, ") |");
	}
	for (size_t c = 0; c < m->nc; c++) {
		lle_buf_adds(o, " ");
		lle_report_md_text(o, m->cats[c]);
		lle_buf_adds(o, " (average) |");
	}
	lle_buf_adds(o, "\n|---|");
	for (size_t i = 0; i < m->nt + m->nc; i++)
		lle_buf_adds(o, "---:|");
	lle_buf_addc(o, '\n');
	for (size_t k = 0; k < m->nm; k++) {
		lle_buf_adds(o, "| ");
		lle_report_md_text(o, m->models[k]);
		lle_buf_adds(o, " |");
		for (size_t t = 0; t < m->nt; t++) {
			lle_report_fmt_cell(&m->cells[k * m->nt + t], buf, sizeof(buf));
			lle_buf_printf(o, " %s |", buf);
		}
		for (size_t c = 0; c < m->nc; c++) {
			lle_report_fmt_avg(&m->avgs[k * m->nc + c], buf, sizeof(buf));
			lle_buf_printf(o, " %s |", buf);
		}
		lle_buf_addc(o, '\n');
	}
}

/* --- CSV (RFC 4180) --- */

void lle_report_csv_field(struct lle_buf *o, const char *s)
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

void lle_report_csv_num(struct lle_buf *o, int has, double v)
{
	char b[40];
	lle_buf_addc(o, ',');
	if (has) {
		lle_fmt_double(b, sizeof(b), v);
		lle_buf_adds(o, b);
	}
}

void lle_report_csv(struct lle_buf *o, const struct matrix *m)
{
	char buf[400], lab[160];
	lle_buf_adds(o, "model");
	for (size_t t = 0; t < m->nt; t++) {
		lle_report_metric_label(&m->cols[t], lab, sizeof(lab));
		snprintf(buf, sizeof(buf), "%s:%s", m->cols[t].task, lab);
		lle_buf_addc(o, ',');
		lle_report_csv_field(o, buf);
		lle_buf_addc(o, ',');
		snprintf(buf, sizeof(buf), "%s:%s:stderr", m->cols[t].task, lab);
		lle_report_csv_field(o, buf);
	}
	for (size_t c = 0; c < m->nc; c++) {
		snprintf(buf, sizeof(buf), "%s:average", m->cats[c]);
		lle_buf_addc(o, ',');
		lle_report_csv_field(o, buf);
		snprintf(buf, sizeof(buf), "%s:average:stderr", m->cats[c]);
		lle_buf_addc(o, ',');
		lle_report_csv_field(o, buf);
	}
	lle_buf_adds(o, "\r\n");
	for (size_t k = 0; k < m->nm; k++) {
		lle_report_csv_field(o, m->models[k]);
		for (size_t t = 0; t < m->nt; t++) {
			const struct lle_result_row *r = m->cells[k * m->nt + t].r;
			lle_report_csv_num(o, r != NULL, r ? r->value : 0);
			lle_report_csv_num(o, r && r->has_stderr, r ? r->stderr_ : 0);
		}
		for (size_t c = 0; c < m->nc; c++) {
			const struct avg *a = &m->avgs[k * m->nc + c];
			lle_report_csv_num(o, a->ok, a->v);
			lle_report_csv_num(o, a->ok && a->has_se, a->se);
		}
		lle_buf_adds(o, "\r\n");
	}
}

/* --- JSON --- */

void lle_report_json_num(struct lle_buf *o, int has, double v)
{
	char b[40];
	if (has && isfinite(v)) {
		lle_fmt_double(b, sizeof(b), v);
		lle_buf_adds(o, b);
	} else
		lle_buf_adds(o, "null");
}

void lle_report_json(struct lle_buf *o, const struct matrix *m)
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
			lle_report_json_num(o, 1, c->r->value);
			lle_buf_adds(o, ", \"stderr\": ");
			lle_report_json_num(o, c->r->has_stderr, c->r->stderr_);
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
			lle_report_json_num(o, 1, a->v);
			lle_buf_adds(o, ", \"stderr\": ");
			lle_report_json_num(o, a->has_se, a->se);
			lle_buf_printf(o, ", \"tasks\": %d}", a->k);
		}
		lle_buf_adds(o, "}}");
	}
	lle_buf_adds(o, "\n  ]\n}\n");
}
