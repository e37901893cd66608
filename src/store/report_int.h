/* Internals the report files share (report.c, report_text.c, report_html.c,
 * report_compare.c): the report matrix and the formatting helpers of its
 * writers. Not for use outside src/store/report*.c. */
#ifndef LLE_STORE_REPORT_INT_H
#define LLE_STORE_REPORT_INT_H

#include <stddef.h>

#include "store/report.h"
#include "store/results.h"
#include "util/buf.h"

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

/* The writers of the matrix, one per format (report_text.c, report_html.c). */
void lle_report_table(struct lle_buf *o, const struct matrix *m);
void lle_report_markdown(struct lle_buf *o, const struct matrix *m);
void lle_report_csv(struct lle_buf *o, const struct matrix *m);
void lle_report_json(struct lle_buf *o, const struct matrix *m);
void lle_report_html(struct lle_buf *o, const struct matrix *m, const struct lle_run_record *runs,
		     size_t n_runs, const struct lle_report_opts *opts);

/* Cell formatting and escaping (report_text.c). */
/* "acc" or "exact_match,strict-match" (the filter only when there is one). */
void lle_report_metric_label(const struct col *c, char *buf, size_t n);
/* "v", "v +- se" (a plus-minus sign) with 4 decimals, or "-" when !has. */
void lle_report_fmt_vse(char *buf, size_t n, int has, double v, int has_se, double se);
void lle_report_fmt_cell(const struct cell *c, char *buf, size_t n);
void lle_report_fmt_avg(const struct avg *a, char *buf, size_t n);
/* s padded with spaces to width code points, on the left when right. */
void lle_report_pad(struct lle_buf *o, const char *s, size_t width, int right);
/* s with Markdown's special characters escaped. */
void lle_report_md_text(struct lle_buf *o, const char *s);
/* s as one CSV field, quoted when it needs to be. */
void lle_report_csv_field(struct lle_buf *o, const char *s);
/* ",v" in full precision, or "," alone when !has. */
void lle_report_csv_num(struct lle_buf *o, int has, double v);
/* v in full precision, or null when !has or not finite. */
void lle_report_json_num(struct lle_buf *o, int has, double v);

#endif
