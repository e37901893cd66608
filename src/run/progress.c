/* The progress line of a run: one per task on stderr, redrawn in place on a
 * terminal (at most every 0.2 s) and printed every 5 s off one; documents
 * done, request and token rates, the time left and the resource monitor's
 * latest sample.
 *
 * Not here: what counts as done (task_run.c, chunk.c update the counters),
 * the monitor's sampling (src/monitor/). */
#include <stdio.h>
#include <time.h>

#include "monitor/monitor.h"
#include "run/task_run.h"
#include "util/buf.h"

double run_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fmt_eta(char *buf, size_t n, double s)
{
	if (!(s >= 0) || s > 360000)
		snprintf(buf, n, "--");
	else if (s >= 3600)
		snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
	else if (s >= 60)
		snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
	else
		snprintf(buf, n, "%ds", (int)s);
}

void progress_show(struct progress *pr, int final)
{
	if (pr->quiet)
		return;
	double t = run_now_s();
	if (!final && t - pr->last < (pr->tty ? 0.2 : 5.0))
		return;
	if (final && !pr->tty && pr->shown == pr->done)
		return; /* off a terminal the last line already says it */
	pr->shown = pr->done;
	pr->last = t;
	double el = t - pr->start;
	double rate = el > 0 ? (double)pr->requests / el : 0;
	double trate = el > 0 ? (double)pr->tokens / el : 0;
	double eta = pr->done > 0 ? el * (double)(pr->total - pr->done) / (double)pr->done : -1;
	char etas[32];
	fmt_eta(etas, sizeof(etas), eta);
	struct lle_buf mon = LLE_BUF_INIT;
	if (pr->mon) {
		struct lle_mon_sample s;
		lle_monitor_latest(pr->mon, &s);
		if (s.seq)
			lle_monitor_format_line(&mon, &s, 0);
	}
	if (pr->tty) {
		int width = 20, fill = pr->total ? (int)((double)width * (double)pr->done / (double)pr->total) : 0;
		char bar[64];
		for (int i = 0; i < width; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[width] = '\0';
		fprintf(stderr, "\r\033[K%s %s [%s] %ld/%ld  %.1f req/s  %.0f tok/s  ETA %s%s%s%s", pr->model,
			pr->task, bar, pr->done, pr->total, rate, trate, etas, mon.n ? "  " : "",
			lle_buf_str(&mon), final ? "\n" : "");
	} else {
		fprintf(stderr, "%s %s: %ld/%ld documents, %.1f req/s, %.0f tok/s, ETA %s%s%s\n", pr->model,
			pr->task, pr->done, pr->total, rate, trate, etas, mon.n ? ", " : "", lle_buf_str(&mon));
	}
	fflush(stderr);
	lle_buf_free(&mon);
}
