/* The progress of a run on stderr, never silent on a terminal:
 *
 *   - opening a model: the plugin's own figure ("loading model: 37%") when
 *     it reports one, with the seconds spent;
 *   - building a task's prompts (the journal's pass): prompts built so far;
 *   - evaluating a task: one line, redrawn in place, with documents done,
 *     request and token rates (generated tokens counted as the backend
 *     reports them, before their request completes), the time spent, the
 *     time left and the resource monitor's latest sample; work answered from
 *     the response cache says "cached" rather than a rate of nothing.
 *
 * On a terminal a ticker thread redraws the current line every second, so
 * the line moves at least that often even while one long submission runs;
 * events (a token, a request, a chunk) redraw it at most every 0.2 s. Off a
 * terminal (a log file, CI) a plain line is printed after a chunk at most
 * every 5 s and one when the task ends, as before; no ticker.
 *
 * Every field is guarded by pr->mu: the ticker, the plugin's threads (host
 * progress and generated-token reports) and the engine all update or draw.
 *
 * Not here: what counts as done (task_run.c, chunk.c call these functions),
 * the monitor's sampling (src/monitor/). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "monitor/monitor.h"
#include "run/task_run.h"
#include "util/buf.h"

#define TICK_S 1.0        /* the ticker redraws a line not drawn for this long */
#define EVENT_S 0.2       /* an event redraws a terminal line at most this often */
#define PLAIN_S 5.0       /* off a terminal: at most one line per this */

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

/* The loading line: the plugin's figure when it gave one, and the seconds. */
static void draw_load(struct progress *pr, double t, int final)
{
	char el[32] = "";
	if (t - pr->load_start >= 1.0)
		fmt_eta(el, sizeof(el), t - pr->load_start);
	if (pr->load_total > 0)
		fprintf(stderr, "\r\033[K%s: %3.0f%%%s%s%s", pr->what, 100.0 * pr->load_done / pr->load_total,
			el[0] ? "  " : "", el, final ? "\n" : "");
	else
		fprintf(stderr, "\r\033[K%s%s%s%s", pr->what, el[0] ? "  " : "", el, final ? "\n" : "");
}

/* The task's line (pr->mu held). */
static void draw_task(struct progress *pr, double t, int final)
{
	double el = t - pr->start;
	uint64_t tokens = pr->tokens + pr->partial;
	double rate = el > 0 ? (double)pr->requests / el : 0;
	double trate = el > 0 ? (double)tokens / el : 0;
	double eta = pr->done > 0 ? el * (double)(pr->total - pr->done) / (double)pr->done : -1;
	char etas[32], els[32], rates[96];
	fmt_eta(etas, sizeof(etas), eta);
	fmt_eta(els, sizeof(els), el);
	const char *sep = pr->tty ? "  " : ", ";
	/* Nothing sent yet and something answered from the cache: say so
	 * rather than a rate of nothing. */
	if (pr->requests == 0 && tokens == 0 && pr->cached > 0)
		snprintf(rates, sizeof(rates), "cached");
	else if (pr->requests == 0 && tokens == 0 && !final)
		snprintf(rates, sizeof(rates), "starting"); /* no figure yet, not a rate of 0 */
	else if (pr->cached > 0)
		snprintf(rates, sizeof(rates), "%.1f req/s%s%.0f tok/s%s%llu cached", rate, sep, trate, sep,
			 (unsigned long long)pr->cached);
	else
		snprintf(rates, sizeof(rates), "%.1f req/s%s%.0f tok/s", rate, sep, trate);
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
		fprintf(stderr, "\r\033[K%s %s [%s] %ld/%ld  %s  %s  ETA %s%s%s%s", pr->model, pr->task, bar,
			pr->done, pr->total, rates, els, etas, mon.n ? "  " : "", lle_buf_str(&mon),
			final ? "\n" : "");
	} else {
		fprintf(stderr, "%s %s: %ld/%ld documents, %s, ETA %s%s%s\n", pr->model, pr->task, pr->done,
			pr->total, rates, etas, mon.n ? ", " : "", lle_buf_str(&mon));
	}
	lle_buf_free(&mon);
}

/* The prompts line of the journal's pass (terminal only). */
static void draw_prompts(struct progress *pr, double t)
{
	char els[32];
	fmt_eta(els, sizeof(els), t - pr->start);
	fprintf(stderr, "\r\033[K%s %s: building prompts %ld/%ld  %s", pr->model, pr->task, pr->built, pr->total,
		els);
}

/* Draw the current stage's line (pr->mu held, on a terminal). */
static void draw(struct progress *pr, double t)
{
	switch (pr->stage) {
	case PR_LOAD: draw_load(pr, t, 0); pr->load_drawn = 1; break;
	case PR_PROMPTS: draw_prompts(pr, t); break;
	case PR_TASK: draw_task(pr, t, 0); break;
	default: return;
	}
	pr->last = t;
	fflush(stderr);
}

static void *ticker(void *arg)
{
	struct progress *pr = arg;
	pthread_mutex_lock(&pr->mu);
	while (!pr->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&pr->cv, &pr->mu, &ts);
		double t = run_now_s();
		if (!pr->stop && t - pr->last >= TICK_S)
			draw(pr, t);
	}
	pthread_mutex_unlock(&pr->mu);
	return NULL;
}

void progress_init(struct progress *pr, const char *model, struct lle_monitor *mon, int quiet)
{
	memset(pr, 0, sizeof(*pr));
	pthread_mutex_init(&pr->mu, NULL);
	pthread_cond_init(&pr->cv, NULL);
	pr->tty = isatty(2);
	pr->quiet = quiet;
	pr->model = model;
	pr->mon = mon;
	pr->shown = -1;
	/* Without a thread the lines still come with each event: not fatal. */
	if (pr->tty && !quiet && pthread_create(&pr->thread, NULL, ticker, pr) == 0)
		pr->ticking = 1;
}

void progress_fini(struct progress *pr)
{
	if (pr->ticking) {
		pthread_mutex_lock(&pr->mu);
		pr->stop = 1;
		pthread_cond_signal(&pr->cv);
		pthread_mutex_unlock(&pr->mu);
		pthread_join(pr->thread, NULL);
		pr->ticking = 0;
	}
	pthread_cond_destroy(&pr->cv);
	pthread_mutex_destroy(&pr->mu);
}

void progress_load(struct progress *pr, const char *what, double done, double total)
{
	if (!pr->tty || pr->quiet)
		return;
	pthread_mutex_lock(&pr->mu);
	double t = run_now_s();
	/* a plugin that reports its (finished) load again from submit: the
	 * task's line stays */
	if (pr->stage == PR_TASK || pr->stage == PR_PROMPTS) {
		pthread_mutex_unlock(&pr->mu);
		return;
	}
	if (pr->stage != PR_LOAD) {
		pr->stage = PR_LOAD;
		pr->load_start = t;
		pr->load_drawn = 0;
		pr->last = t; /* the ticker's first line after TICK_S: a quick load prints nothing */
	}
	snprintf(pr->what, sizeof(pr->what), "%s", what);
	pr->load_done = done;
	pr->load_total = total;
	if (total > 0 && done >= total) {
		draw_load(pr, t, 1);
		fflush(stderr);
		pr->stage = PR_IDLE;
		pr->last = t;
	} else if (total > 0 && t - pr->last >= 0.1) {
		draw(pr, t);
	}
	pthread_mutex_unlock(&pr->mu);
}

void progress_load_end(struct progress *pr)
{
	pthread_mutex_lock(&pr->mu);
	if (pr->stage == PR_LOAD) {
		/* a line only the ticker drew (no figure from the plugin): end it */
		if (pr->load_drawn) {
			draw_load(pr, run_now_s(), 1);
			fflush(stderr);
		}
		pr->stage = PR_IDLE;
	}
	pthread_mutex_unlock(&pr->mu);
}

void progress_task(struct progress *pr, const char *task, long total)
{
	pthread_mutex_lock(&pr->mu);
	pr->task = task;
	pr->done = 0;
	pr->built = 0;
	pr->total = total;
	pr->start = run_now_s();
	pr->requests = pr->tokens = pr->partial = pr->cached = 0;
	pr->shown = -1;
	pr->stage = PR_IDLE;
	pthread_mutex_unlock(&pr->mu);
}

void progress_prompts(struct progress *pr, long built)
{
	pthread_mutex_lock(&pr->mu);
	pr->built = built;
	if (pr->stage != PR_PROMPTS) {
		pr->stage = PR_PROMPTS;
		pr->start = run_now_s();
	}
	pthread_mutex_unlock(&pr->mu);
}

void progress_run(struct progress *pr)
{
	pthread_mutex_lock(&pr->mu);
	double t = run_now_s();
	if (pr->stage == PR_PROMPTS && pr->tty && !pr->quiet && pr->last >= pr->start)
		fprintf(stderr, "\r\033[K"); /* the prompts line gives way to the task's */
	pr->stage = PR_TASK;
	pr->start = t;
	if (pr->tty && !pr->quiet)
		draw(pr, t); /* the task's line from its start, whatever the batch size */
	pthread_mutex_unlock(&pr->mu);
}

void progress_chunk_begin(struct progress *pr, uint32_t *partial, size_t n)
{
	pthread_mutex_lock(&pr->mu);
	pr->partial_of = partial;
	pr->npartial = n;
	pthread_mutex_unlock(&pr->mu);
}

void progress_chunk_end(struct progress *pr)
{
	pthread_mutex_lock(&pr->mu);
	pr->partial_of = NULL;
	pr->npartial = 0;
	pr->partial = 0; /* reports of requests that never completed (cancelled) */
	pthread_mutex_unlock(&pr->mu);
}

/* An event on a terminal: redraw when due (pr->mu held). */
static void event(struct progress *pr)
{
	if (!pr->tty || pr->quiet || pr->stage != PR_TASK)
		return;
	double t = run_now_s();
	if (t - pr->last >= EVENT_S)
		draw(pr, t);
}

void progress_generated(struct progress *pr, uint64_t id, uint32_t n)
{
	pthread_mutex_lock(&pr->mu);
	if (pr->partial_of && id < pr->npartial) {
		pr->partial_of[id] += n;
		pr->partial += n;
		if (pr->mon)
			lle_monitor_add_tokens(pr->mon, 0, n);
		event(pr);
	}
	pthread_mutex_unlock(&pr->mu);
}

void progress_request(struct progress *pr, uint64_t id, int32_t n_tokens, int64_t prompt)
{
	pthread_mutex_lock(&pr->mu);
	uint64_t n = n_tokens > 0 ? (uint64_t)n_tokens : 0, early = 0;
	if (pr->partial_of && id < pr->npartial) {
		early = pr->partial_of[id];
		pr->partial_of[id] = 0;
		pr->partial -= early < pr->partial ? early : pr->partial;
	}
	pr->requests++;
	pr->tokens += n;
	if (pr->mon) {
		lle_monitor_add_requests_done(pr->mon, 1);
		lle_monitor_add_tokens(pr->mon, prompt > 0 ? (uint64_t)prompt : 0, n > early ? n - early : 0);
	}
	event(pr);
	pthread_mutex_unlock(&pr->mu);
}

void progress_cached(struct progress *pr, uint64_t n)
{
	pthread_mutex_lock(&pr->mu);
	pr->cached += n;
	if (pr->mon && n)
		lle_monitor_add_requests_done(pr->mon, n);
	pthread_mutex_unlock(&pr->mu);
}

void progress_docs(struct progress *pr, long done)
{
	pthread_mutex_lock(&pr->mu);
	pr->done = done;
	pthread_mutex_unlock(&pr->mu);
	progress_show(pr, 0);
}

void progress_show(struct progress *pr, int final)
{
	if (pr->quiet)
		return;
	pthread_mutex_lock(&pr->mu);
	double t = run_now_s();
	int due = final || t - pr->last >= (pr->tty ? EVENT_S : PLAIN_S);
	/* off a terminal the last line already says it */
	if (final && !pr->tty && pr->shown == pr->done)
		due = 0;
	if (due) {
		pr->shown = pr->done;
		pr->last = t;
		draw_task(pr, t, final);
		fflush(stderr);
	}
	if (final)
		pr->stage = PR_IDLE;
	pthread_mutex_unlock(&pr->mu);
}
