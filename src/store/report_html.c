/* Reports as one self-contained HTML page: a per-model summary, the results
 * matrix, and an SVG bar chart (one bar per model, +-1 standard error) for each
 * category average and each task. No scripts, no outside resources.
 *
 * Not here: which tasks and models are shown (report.c), the text formats
 * (report_text.c, whose cell formatting this page shares). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/report_int.h"
#include "util/utf8.h"

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

/* A tick label of at most about five characters: 0.25, 40, 500k, 1.5M. */
static void tick_label(char *buf, size_t n, double v)
{
	static const char *const si[] = { "", "k", "M", "G", "T", "P" };
	double a = fabs(v);
	int e = 0;
	while (a >= 1000 && e < 5) {
		a /= 1000;
		v /= 1000;
		e++;
	}
	snprintf(buf, n, "%.3g%s", fabs(v) < 1e-12 ? 0.0 : v, si[e]);
}

/* A round step (1, 2, 2.5 or 5 times a power of ten) near span / 4. */
static double nice_step(double span)
{
	double raw = span / 4, mag = pow(10, floor(log10(raw))), r = raw / mag;
	return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 2.5 ? 2.5 : r <= 5 ? 5 : 10) * mag;
}

/* One horizontal bar chart: a bar per model with its error bar (+-1 standard
 * error). The axis has round ticks with short labels, and the value column is
 * as wide as its longest value, so a perplexity of 1017746.6946 ± 731404.6001
 * neither runs its tick labels together nor is cut off. */
static void svg_chart(struct lle_buf *o, const struct matrix *m, const char *title, const char *sub,
		      const struct bar *bars)
{
	const double LW = 190, BW = 220, RH = 24, TOP = 6, AX = 26, CHAR_W = 7.2;
	double VW = 110;
	for (size_t k = 0; k < m->nm; k++) {
		char v[96];
		if (!bars[k].has)
			continue;
		lle_report_fmt_vse(v, sizeof(v), 1, bars[k].v, bars[k].has_se, bars[k].se);
		double w = 8 + CHAR_W * (double)lle_utf8_len(v) + 4;
		if (w > VW)
			VW = w;
	}
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
	double step = nice_step(hi - lo);
	lo = floor(lo / step + 1e-9) * step;
	hi = ceil(hi / step - 1e-9) * step;
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
	int nticks = (int)floor((hi - lo) / step + 0.5);
	for (int i = 0; i <= nticks; i++) {
		double v = lo + step * i, x = X(v);
		char tl[32];
		tick_label(tl, sizeof(tl), v);
		lle_buf_printf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
				  "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">%s</text>\n",
			       x, TOP, x, TOP + RH * (double)m->nm, x, H - 8, tl);
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
		lle_report_fmt_vse(v, sizeof(v), 1, bars[k].v, bars[k].has_se, bars[k].se);
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

void lle_report_html(struct lle_buf *o, const struct matrix *m, const struct lle_run_record *runs,
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
			lle_report_fmt_avg(&m->avgs[k * m->nc + c], buf, sizeof(buf));
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
		lle_report_metric_label(&m->cols[t], buf, sizeof(buf));
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
			lle_report_fmt_cell(&m->cells[k * m->nt + t], buf, sizeof(buf));
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
		lle_report_metric_label(&m->cols[t], buf, sizeof(buf));
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
