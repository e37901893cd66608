/* The comparison of two stored runs (lle_compare_write, see report.h): every
 * result they share, B - A against its standard error (paired over shared
 * documents when the caller's paired function finds them, else combined),
 * written as a text table, Markdown, CSV or JSON.
 *
 * Not here: reading runs or per-document scores (the caller's paired
 * function), the models x tasks report (report.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/report_int.h"
#include "util/utf8.h"

/* One row of the comparison as text: the model column first when there is
 * one, numbers (columns 2 to 6) right-aligned, no trailing spaces. Cells and
 * widths are in compare's column order, the model last (index 9). */
static void compare_text_row(struct lle_buf *o, const char *const *cells, const size_t *w, int by_model)
{
	enum { MODEL = 9 };
	struct lle_buf line = LLE_BUF_INIT;
	if (by_model) {
		lle_report_pad(&line, cells[MODEL], w[MODEL], 0);
		lle_buf_adds(&line, "  ");
	}
	for (int c = 0; c < MODEL; c++) {
		lle_report_pad(&line, cells[c], w[c], c >= 2 && c <= 6);
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
			lle_report_fmt_vse(f[2], 160, 1, ra->value, ra->has_stderr, ra->stderr_);
			lle_report_fmt_vse(f[3], 160, 1, rb->value, rb->has_stderr, rb->stderr_);
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
				lle_report_json_num(o, 1, ra->value);
				lle_buf_adds(o, ", \"a_stderr\": ");
				lle_report_json_num(o, ra->has_stderr, ra->stderr_);
				lle_buf_adds(o, ", \"b\": ");
				lle_report_json_num(o, 1, rb->value);
				lle_buf_adds(o, ", \"b_stderr\": ");
				lle_report_json_num(o, rb->has_stderr, rb->stderr_);
				lle_buf_adds(o, ", \"diff\": ");
				lle_report_json_num(o, 1, q->d);
				lle_buf_adds(o, ", \"stderr\": ");
				lle_report_json_num(o, q->has_se, q->se);
				lle_buf_adds(o, ", \"z\": ");
				lle_report_json_num(o, q->has_se && q->se > 0, q->se > 0 ? q->d / q->se : 0);
				lle_buf_printf(o, ", \"exceeds\": %s, \"paired_docs\": %lld}",
					       !q->has_se ? "null" : ex ? "true" : "false", q->n_paired);
			} else if (csv) {
				if (by_model) {
					lle_report_csv_field(o, ra->model);
					lle_buf_addc(o, ',');
				}
				lle_report_csv_field(o, ra->task);
				lle_buf_addc(o, ',');
				lle_report_csv_field(o, ra->metric);
				lle_buf_addc(o, ',');
				lle_report_csv_field(o, ra->filter);
				lle_report_csv_num(o, 1, ra->value);
				lle_report_csv_num(o, ra->has_stderr, ra->stderr_);
				lle_report_csv_num(o, 1, rb->value);
				lle_report_csv_num(o, rb->has_stderr, rb->stderr_);
				lle_report_csv_num(o, 1, q->d);
				lle_report_csv_num(o, q->has_se, q->se);
				lle_report_csv_num(o, q->has_se && q->se > 0, q->se > 0 ? q->d / q->se : 0);
				lle_buf_printf(o, ",%s,%lld\r\n", !q->has_se ? "" : ex ? "yes" : "no", q->n_paired);
			} else if (md) {
				if (by_model) {
					lle_buf_adds(o, "| ");
					lle_report_md_text(o, f[MODEL]);
					lle_buf_adds(o, " ");
				}
				for (int c = 0; c < MODEL; c++) {
					lle_buf_adds(o, "| ");
					lle_report_md_text(o, f[c]);
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
	if (np == 0) {
		/* a run whose rows all lack a value is a predict-only one (store/results.c) */
		const struct lle_run_record *po = NULL;
		for (int k = 0; k < 2 && !po; k++) {
			const struct lle_run_record *r = k ? b : a;
			size_t nv = 0;
			for (size_t i = 0; i < r->n_rows; i++)
				nv += r->rows[i].has_value != 0;
			if (r->n_rows && !nv)
				po = r;
		}
		if (po)
			return lle_err_set(err, LLE_EXIT_USAGE, "runs %lld and %lld share no task and metric to compare "
					   "(run %lld was --predict-only: it has predictions, no scores)", a->id, b->id,
					   po->id);
		return lle_err_set(err, LLE_EXIT_USAGE, "runs %lld and %lld share no task and metric to compare",
				   a->id, b->id);
	}
	if (o->oom)
		return lle_err_oom(err);
	return 0;
}
