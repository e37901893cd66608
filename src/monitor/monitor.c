/* The sampler thread, its statistics, and the formatters: see monitor.h.
 *
 * The thread owns the NVML handle and the previous readings; everything the
 * callers read (latest sample, statistics) is guarded by one mutex and copied
 * out. The progress counters are atomics so the run engine never takes a
 * lock to count a token. Samples are scheduled on a fixed grid (start +
 * k * interval) so a slow NVML call does not make the interval drift. */
#include "monitor/monitor.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "monitor/proc.h"
#include "util/diag.h"

struct gpu_acc {
	uint64_t mem_peak, mem_total, nmem;
	double mem_sum;
	double util_peak, util_sum;
	uint64_t nutil;
	char name[LLE_GPU_NAME_MAX];
};

struct rate_point {
	double t;
	uint64_t prompt, generated;
};

struct lle_monitor {
	/* Set at start, read-only afterwards. */
	unsigned interval_ms;
	long pid;
	int want_gpu;
	char *nvml_path;
	struct timespec t0;
	pthread_t thread;
	int thread_started;

	/* Sampler thread only (and stop, after the join). */
	struct lle_nvml *nv;
	int nvml_tried;
	int have_prev;
	double prev_t, prev_cpu_s;
	struct lle_sys_cpu prev_sys;
	int have_prev_sys;
	int proc_err_said, sys_err_said;

	/* Guarded by mu. */
	pthread_mutex_t mu;
	pthread_cond_t cond;      /* signalled on a new sample and on stop */
	int stopping;
	struct lle_mon_sample latest;
	uint64_t nsamples;
	double first_t, first_cpu_s, last_t, last_cpu_s;
	int have_cpu_range;
	uint64_t rss_peak;
	unsigned ngpu;
	struct gpu_acc gpu[LLE_MON_MAX_GPUS];
	struct rate_point ring[LLE_MON_RATE_WINDOW];
	unsigned ring_n, ring_next;
	struct lle_phase_summary phase[LLE_MON_MAX_PHASES];
	unsigned nphases;
	int phase_open;           /* the last phase has not ended */
	int phases_said;          /* the overflow was said */

	/* Fed by the run engine. */
	atomic_uint_least64_t prompt_tokens, generated_tokens, requests_done, requests_total;
	atomic_int_least64_t progress_start_ns; /* ns since t0, plus 1; 0: nothing fed yet */
};

static double ts_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static double since_start(const struct lle_monitor *m)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return ts_diff(&m->t0, &now);
}

int lle_monitor_enabled(void)
{
	const char *e = getenv("LLM_EVAL_MONITOR");
	return !(e && strcmp(e, "0") == 0);
}

/* Mark that a run fed the counters; the first call starts the progress clock. */
static void progress_touch(struct lle_monitor *m)
{
	if (atomic_load_explicit(&m->progress_start_ns, memory_order_relaxed) != 0)
		return;
	int_least64_t expected = 0;
	int_least64_t now = (int_least64_t)(since_start(m) * 1e9) + 1;
	atomic_compare_exchange_strong(&m->progress_start_ns, &expected, now);
}

void lle_monitor_add_tokens(struct lle_monitor *m, uint64_t prompt, uint64_t generated)
{
	if (!m)
		return;
	progress_touch(m);
	atomic_fetch_add_explicit(&m->prompt_tokens, prompt, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->generated_tokens, generated, memory_order_relaxed);
}

void lle_monitor_add_requests_total(struct lle_monitor *m, uint64_t n)
{
	if (!m)
		return;
	progress_touch(m);
	atomic_fetch_add_explicit(&m->requests_total, n, memory_order_relaxed);
}

void lle_monitor_add_requests_done(struct lle_monitor *m, uint64_t n)
{
	if (!m)
		return;
	progress_touch(m);
	atomic_fetch_add_explicit(&m->requests_done, n, memory_order_relaxed);
}

void lle_monitor_phase(struct lle_monitor *m, const char *name)
{
	if (!m)
		return;
	double now = since_start(m);
	pthread_mutex_lock(&m->mu);
	if (m->phase_open) {
		struct lle_phase_summary *p = &m->phase[m->nphases - 1];
		p->seconds = now - p->start_s;
		m->phase_open = 0;
	}
	if (name && m->nphases < LLE_MON_MAX_PHASES) {
		struct lle_phase_summary *p = &m->phase[m->nphases++];
		snprintf(p->name, sizeof(p->name), "%s", name);
		p->start_s = now;
		p->seconds = 0;
		m->phase_open = 1;
	} else if (name && !m->phases_said) {
		m->phases_said = 1;
		lle_debugf("monitor: more than %d phases; '%s' and later ones are not recorded",
			   LLE_MON_MAX_PHASES, name);
	}
	pthread_mutex_unlock(&m->mu);
}

/* Read everything for one sample into s (no lock held), then publish it and
 * update the statistics under the lock. */
static void take_sample(struct lle_monitor *m)
{
	struct lle_mon_sample s;
	struct lle_err err = { 0 };
	memset(&s, 0, sizeof(s));
	s.t = since_start(m);
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	s.unix_time = (double)wall.tv_sec + (double)wall.tv_nsec / 1e9;
	s.pid = m->pid ? m->pid : (long)getpid();
	s.cpu_percent = s.sys_cpu_percent = -1;
	s.load[0] = s.load[1] = s.load[2] = -1;
	s.prompt_tok_s = s.generated_tok_s = s.eta_s = -1;

	struct lle_proc_stat ps;
	if (lle_proc_read((pid_t)m->pid, &ps, &err) == 0) {
		s.proc_ok = 1;
		s.cpu_s = ps.cpu_s;
		s.rss_bytes = ps.rss_bytes;
		if (m->have_prev && s.t > m->prev_t && ps.cpu_s >= m->prev_cpu_s)
			s.cpu_percent = 100.0 * (ps.cpu_s - m->prev_cpu_s) / (s.t - m->prev_t);
		m->have_prev = 1;
		m->prev_t = s.t;
		m->prev_cpu_s = ps.cpu_s;
	} else if (!m->proc_err_said) {
		m->proc_err_said = 1;
		lle_debugf("monitor: process %ld: %s", s.pid, err.msg);
	}

	s.ncpu = lle_sys_ncpu();
	/* Each reader on its own: one failing leaves the others' figures. The
	 * first failure is said once. */
	struct lle_sys_cpu sc;
	struct lle_sys_mem sm;
	struct lle_err serr = { 0 };
	if (lle_sys_cpu_read(&sc, &serr) == 0) {
		if (m->have_prev_sys)
			s.sys_cpu_percent = lle_sys_cpu_percent(&m->prev_sys, &sc);
		m->prev_sys = sc;
		m->have_prev_sys = 1;
	}
	if (lle_sys_mem_read(&sm, serr.code ? NULL : &serr) == 0) {
		s.mem_total = sm.total;
		s.mem_available = sm.available;
	}
	if (lle_sys_loadavg(s.load, serr.code ? NULL : &serr) < 0)
		s.load[0] = s.load[1] = s.load[2] = -1;
	if (serr.code && !m->sys_err_said) {
		m->sys_err_said = 1;
		lle_debugf("monitor: %s", serr.msg);
	}

	if (m->want_gpu && !m->nvml_tried) {
		m->nvml_tried = 1;
		struct lle_err nerr = { 0 };
		m->nv = lle_nvml_open(m->nvml_path, &nerr);
		if (!m->nv)
			lle_debugf("monitor: no GPU figures: %s", nerr.msg);
		else if (lle_nvml_count(m->nv) > LLE_MON_MAX_GPUS)
			lle_debugf("monitor: %u GPUs, only the first %d are shown",
				   lle_nvml_count(m->nv), LLE_MON_MAX_GPUS);
	}
	if (m->nv) {
		unsigned n = lle_nvml_count(m->nv);
		s.ngpu = n > LLE_MON_MAX_GPUS ? LLE_MON_MAX_GPUS : n;
		for (unsigned i = 0; i < s.ngpu; i++)
			lle_nvml_sample(m->nv, i, &s.gpu[i]);
	}

	int_least64_t pstart = atomic_load(&m->progress_start_ns);
	s.has_progress = pstart != 0;
	s.prompt_tokens = atomic_load(&m->prompt_tokens);
	s.generated_tokens = atomic_load(&m->generated_tokens);
	s.requests_done = atomic_load(&m->requests_done);
	s.requests_total = atomic_load(&m->requests_total);
	if (s.has_progress && s.requests_total > 0) {
		double elapsed = s.t - (double)(pstart - 1) / 1e9;
		if (s.requests_done >= s.requests_total)
			s.eta_s = 0;
		else if (s.requests_done > 0 && elapsed > 0)
			s.eta_s = (double)(s.requests_total - s.requests_done) * elapsed /
				  (double)s.requests_done;
	}

	pthread_mutex_lock(&m->mu);
	s.seq = ++m->nsamples;
	/* Token rates over the window of recent samples. */
	struct rate_point *rp = &m->ring[m->ring_next];
	rp->t = s.t;
	rp->prompt = s.prompt_tokens;
	rp->generated = s.generated_tokens;
	m->ring_next = (m->ring_next + 1) % LLE_MON_RATE_WINDOW;
	if (m->ring_n < LLE_MON_RATE_WINDOW)
		m->ring_n++;
	if (s.has_progress && m->ring_n >= 2) {
		unsigned oldest = (m->ring_next + LLE_MON_RATE_WINDOW - m->ring_n) % LLE_MON_RATE_WINDOW;
		const struct rate_point *o = &m->ring[oldest];
		double dt = s.t - o->t;
		if (dt > 0) {
			s.prompt_tok_s = (double)(s.prompt_tokens - o->prompt) / dt;
			s.generated_tok_s = (double)(s.generated_tokens - o->generated) / dt;
		}
	}
	if (s.proc_ok) {
		if (!m->have_cpu_range) {
			m->have_cpu_range = 1;
			m->first_t = s.t;
			m->first_cpu_s = s.cpu_s;
		}
		m->last_t = s.t;
		m->last_cpu_s = s.cpu_s;
		if (s.rss_bytes > m->rss_peak)
			m->rss_peak = s.rss_bytes;
	}
	if (s.ngpu > m->ngpu)
		m->ngpu = s.ngpu;
	for (unsigned i = 0; i < s.ngpu; i++) {
		struct gpu_acc *a = &m->gpu[i];
		const struct lle_gpu_sample *g = &s.gpu[i];
		memcpy(a->name, g->name, sizeof(a->name));
		if (g->mem_ok) {
			a->nmem++;
			a->mem_sum += (double)g->mem_used;
			a->mem_total = g->mem_total;
			if (g->mem_used > a->mem_peak)
				a->mem_peak = g->mem_used;
		}
		if (g->util_percent >= 0) {
			a->nutil++;
			a->util_sum += g->util_percent;
			if (g->util_percent > a->util_peak)
				a->util_peak = g->util_percent;
		}
	}
	m->latest = s;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->mu);
}

static void *sampler_main(void *arg)
{
	struct lle_monitor *m = arg;
	take_sample(m);
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&m->mu);
	while (!m->stopping) {
		next.tv_sec += m->interval_ms / 1000;
		next.tv_nsec += (long)(m->interval_ms % 1000) * 1000000L;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		/* Behind schedule (a slow sample, a suspended process): start the
		 * grid again from now rather than sampling in a burst. */
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (ts_diff(&now, &next) < 0)
			next = now;
		int rc = 0;
		while (!m->stopping && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&m->cond, &m->mu, &next);
		if (m->stopping)
			break;
		pthread_mutex_unlock(&m->mu);
		take_sample(m);
		pthread_mutex_lock(&m->mu);
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

struct lle_monitor *lle_monitor_start(unsigned interval_ms, struct lle_err *err)
{
	struct lle_mon_opts o = { .interval_ms = interval_ms };
	return lle_monitor_start_opts(&o, err);
}

struct lle_monitor *lle_monitor_start_opts(const struct lle_mon_opts *o, struct lle_err *err)
{
	if (err)
		lle_err_clear(err);
	if (!o->ignore_env && !lle_monitor_enabled()) {
		lle_debugf("monitor: off (LLM_EVAL_MONITOR=0)");
		return NULL;
	}
	struct lle_monitor *m = calloc(1, sizeof(*m));
	if (!m) {
		lle_err_oom(err);
		return NULL;
	}
	m->interval_ms = o->interval_ms ? o->interval_ms : LLE_MON_DEFAULT_INTERVAL_MS;
	m->pid = o->pid;
	m->want_gpu = !o->no_gpu;
	if (o->nvml_path && !(m->nvml_path = lle_strdup(o->nvml_path))) {
		free(m);
		lle_err_oom(err);
		return NULL;
	}
	atomic_init(&m->prompt_tokens, 0);
	atomic_init(&m->generated_tokens, 0);
	atomic_init(&m->requests_done, 0);
	atomic_init(&m->requests_total, 0);
	atomic_init(&m->progress_start_ns, 0);
	clock_gettime(CLOCK_MONOTONIC, &m->t0);

	pthread_condattr_t ca;
	int rc = pthread_mutex_init(&m->mu, NULL);
	if (rc == 0) {
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		rc = pthread_cond_init(&m->cond, &ca);
		pthread_condattr_destroy(&ca);
		if (rc != 0)
			pthread_mutex_destroy(&m->mu);
	}
	if (rc != 0) {
		free(m->nvml_path);
		free(m);
		lle_err_set(err, LLE_EXIT_INTERNAL, "monitor: cannot create a lock: %s", strerror(rc));
		return NULL;
	}
	/* The sampler never handles signals: block them all on its thread so
	 * SIGINT and SIGTERM reach the threads that act on them. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&m->thread, NULL, sampler_main, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&m->cond);
		pthread_mutex_destroy(&m->mu);
		free(m->nvml_path);
		free(m);
		lle_err_set(err, LLE_EXIT_INTERNAL, "monitor: cannot start the sampler thread: %s",
			    strerror(rc));
		return NULL;
	}
	m->thread_started = 1;
	return m;
}

void lle_monitor_latest(struct lle_monitor *m, struct lle_mon_sample *out)
{
	if (!m) {
		memset(out, 0, sizeof(*out));
		return;
	}
	pthread_mutex_lock(&m->mu);
	*out = m->latest;
	pthread_mutex_unlock(&m->mu);
}

int lle_monitor_wait(struct lle_monitor *m, uint64_t after_seq, unsigned timeout_ms,
		     struct lle_mon_sample *out)
{
	if (!m) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&m->mu);
	int rc = 0;
	while (m->latest.seq <= after_seq && !m->stopping && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&m->cond, &m->mu, &until);
	*out = m->latest;
	pthread_mutex_unlock(&m->mu);
	return out->seq > after_seq;
}

static void summary_unknown(struct lle_mon_summary *out)
{
	memset(out, 0, sizeof(*out));
	out->cpu_mean_percent = out->prompt_tok_s = out->generated_tok_s = -1;
}

/* Fill out from the statistics; the caller holds mu. */
static void summarise(struct lle_monitor *m, struct lle_mon_summary *out)
{
	summary_unknown(out);
	out->nsamples = m->nsamples;
	out->wall_s = since_start(m);
	out->rss_peak = m->rss_peak;
	if (m->have_cpu_range) {
		out->cpu_s = m->last_cpu_s - m->first_cpu_s;
		if (m->last_t > m->first_t)
			out->cpu_mean_percent = 100.0 * out->cpu_s / (m->last_t - m->first_t);
	}
	out->ngpu = m->ngpu;
	for (unsigned i = 0; i < m->ngpu; i++) {
		const struct gpu_acc *a = &m->gpu[i];
		struct lle_gpu_summary *g = &out->gpu[i];
		g->index = i;
		memcpy(g->name, a->name, sizeof(g->name));
		g->nsamples = a->nmem;
		g->mem_total = a->mem_total;
		g->mem_peak = a->mem_peak;
		g->mem_mean = a->nmem ? a->mem_sum / (double)a->nmem : -1;
		g->util_peak = a->nutil ? a->util_peak : -1;
		g->util_mean = a->nutil ? a->util_sum / (double)a->nutil : -1;
	}
	out->nphases = m->nphases;
	memcpy(out->phase, m->phase, sizeof(out->phase[0]) * m->nphases);
	if (m->phase_open)
		out->phase[m->nphases - 1].seconds = out->wall_s - m->phase[m->nphases - 1].start_s;
	int_least64_t pstart = atomic_load(&m->progress_start_ns);
	out->has_progress = pstart != 0;
	out->prompt_tokens = atomic_load(&m->prompt_tokens);
	out->generated_tokens = atomic_load(&m->generated_tokens);
	out->requests_done = atomic_load(&m->requests_done);
	out->requests_total = atomic_load(&m->requests_total);
	if (out->has_progress) {
		out->progress_s = out->wall_s - (double)(pstart - 1) / 1e9;
		if (out->progress_s > 0) {
			out->prompt_tok_s = (double)out->prompt_tokens / out->progress_s;
			out->generated_tok_s = (double)out->generated_tokens / out->progress_s;
		}
	}
}

void lle_monitor_summary(struct lle_monitor *m, struct lle_mon_summary *out)
{
	if (!m) {
		summary_unknown(out);
		return;
	}
	pthread_mutex_lock(&m->mu);
	summarise(m, out);
	pthread_mutex_unlock(&m->mu);
}

void lle_monitor_stop(struct lle_monitor *m, struct lle_mon_summary *summary)
{
	if (!m) {
		if (summary)
			summary_unknown(summary);
		return;
	}
	pthread_mutex_lock(&m->mu);
	m->stopping = 1;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->mu);
	if (m->thread_started)
		pthread_join(m->thread, NULL);
	/* A last sample, so the summary ends where the work ended. The thread is
	 * gone: this thread now owns the thread-side state. */
	take_sample(m);
	if (summary) {
		pthread_mutex_lock(&m->mu);
		summarise(m, summary);
		pthread_mutex_unlock(&m->mu);
		uint64_t hwm;
		if (lle_proc_peak_rss((pid_t)m->pid, &hwm, NULL) == 0 && hwm > summary->rss_peak)
			summary->rss_peak = hwm;
	}
	lle_nvml_close(m->nv);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->mu);
	free(m->nvml_path);
	free(m);
}

/* ---- formatting ---- */

#define GIB (1024.0 * 1024.0 * 1024.0)
#define MIB (1024.0 * 1024.0)

static int add_size(struct lle_buf *b, uint64_t bytes)
{
	if ((double)bytes >= GIB)
		return lle_buf_printf(b, "%.1fG", (double)bytes / GIB);
	return lle_buf_printf(b, "%.0fM", (double)bytes / MIB);
}

static int add_duration(struct lle_buf *b, double s)
{
	if (s < 0)
		return lle_buf_adds(b, "--");
	unsigned long long t = (unsigned long long)(s + 0.5);
	if (t >= 3600)
		return lle_buf_printf(b, "%lluh%02llum", t / 3600, t / 60 % 60);
	if (t >= 60)
		return lle_buf_printf(b, "%llum%02llus", t / 60, t % 60);
	return lle_buf_printf(b, "%llus", t);
}

int lle_monitor_format_line(struct lle_buf *b, const struct lle_mon_sample *s, unsigned flags)
{
	if (s->seq == 0)
		return 0;
	for (unsigned i = 0; i < s->ngpu; i++) {
		const struct lle_gpu_sample *g = &s->gpu[i];
		lle_buf_printf(b, "GPU%u ", g->index);
		if (g->util_percent >= 0)
			lle_buf_printf(b, "%.0f%%", g->util_percent);
		else
			lle_buf_adds(b, "--%");
		if (g->mem_ok)
			lle_buf_printf(b, " %.1f/%.1fG", (double)g->mem_used / GIB,
				       (double)g->mem_total / GIB);
		lle_buf_adds(b, " | ");
	}
	if (s->cpu_percent >= 0)
		lle_buf_printf(b, "CPU %.0f%%", s->cpu_percent);
	else
		lle_buf_adds(b, "CPU --%");
	lle_buf_adds(b, " | RSS ");
	if (s->proc_ok)
		add_size(b, s->rss_bytes);
	else
		lle_buf_adds(b, "--");
	if ((flags & LLE_MON_FMT_RATES) && s->has_progress) {
		if (s->generated_tok_s >= 0)
			lle_buf_printf(b, " | %.1f tok/s", s->generated_tok_s);
		else
			lle_buf_adds(b, " | -- tok/s");
		lle_buf_adds(b, " | ETA ");
		add_duration(b, s->eta_s);
	}
	return b->oom ? -1 : 0;
}

/* JSON numbers: -1 (unknown) becomes null. */
static void json_num(struct lle_buf *b, const char *key, double v, int decimals)
{
	lle_buf_printf(b, "\"%s\":", key);
	if (v < 0)
		lle_buf_adds(b, "null");
	else
		lle_buf_printf(b, "%.*f", decimals, v);
}

static void json_u64(struct lle_buf *b, const char *key, uint64_t v)
{
	lle_buf_printf(b, "\"%s\":%llu", key, (unsigned long long)v);
}

/* The counters of a run's progress, as a sample and a summary both give them,
 * each followed by ','. */
static void json_counts(struct lle_buf *b, uint64_t prompt, uint64_t generated, uint64_t done,
			uint64_t total)
{
	json_u64(b, "prompt_tokens", prompt);
	lle_buf_addc(b, ',');
	json_u64(b, "generated_tokens", generated);
	lle_buf_addc(b, ',');
	json_u64(b, "requests_done", done);
	lle_buf_addc(b, ',');
	json_u64(b, "requests_total", total);
	lle_buf_addc(b, ',');
}

static void json_time(struct lle_buf *b, double unix_time)
{
	time_t sec = (time_t)unix_time;
	struct tm tm;
	gmtime_r(&sec, &tm);
	int ms = (int)((unix_time - (double)sec) * 1000.0);
	if (ms < 0)
		ms = 0;
	if (ms > 999)
		ms = 999;
	lle_buf_printf(b, "\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", tm.tm_year + 1900,
		       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

int lle_monitor_sample_json(struct lle_buf *b, const struct lle_mon_sample *s)
{
	lle_buf_addc(b, '{');
	json_time(b, s->unix_time);
	lle_buf_printf(b, ",\"t\":%.3f,", s->t);
	json_u64(b, "seq", s->seq);

	lle_buf_printf(b, ",\"process\":{\"pid\":%ld,", s->pid);
	if (s->proc_ok) {
		json_num(b, "cpu_seconds", s->cpu_s, 2);
		lle_buf_addc(b, ',');
		json_num(b, "cpu_percent", s->cpu_percent, 1);
		lle_buf_addc(b, ',');
		json_u64(b, "rss_bytes", s->rss_bytes);
	} else {
		lle_buf_adds(b, "\"cpu_seconds\":null,\"cpu_percent\":null,\"rss_bytes\":null");
	}

	lle_buf_printf(b, "},\"system\":{\"cpus\":%u,", s->ncpu);
	json_num(b, "cpu_percent", s->sys_cpu_percent, 1);
	lle_buf_adds(b, ",\"load\":");
	if (s->load[0] >= 0)
		lle_buf_printf(b, "[%.2f,%.2f,%.2f]", s->load[0], s->load[1], s->load[2]);
	else
		lle_buf_adds(b, "null");
	if (s->mem_total) {
		lle_buf_addc(b, ',');
		json_u64(b, "mem_total_bytes", s->mem_total);
		lle_buf_addc(b, ',');
		json_u64(b, "mem_available_bytes", s->mem_available);
	} else {
		lle_buf_adds(b, ",\"mem_total_bytes\":null,\"mem_available_bytes\":null");
	}

	lle_buf_adds(b, "},\"gpus\":[");
	for (unsigned i = 0; i < s->ngpu; i++) {
		const struct lle_gpu_sample *g = &s->gpu[i];
		lle_buf_printf(b, "%s{\"index\":%u,\"name\":", i ? "," : "", g->index);
		lle_buf_add_json_str(b, g->name);
		lle_buf_addc(b, ',');
		json_num(b, "util_percent", g->util_percent, 0);
		lle_buf_addc(b, ',');
		json_num(b, "mem_util_percent", g->mem_util_percent, 0);
		if (g->mem_ok) {
			lle_buf_addc(b, ',');
			json_u64(b, "mem_used_bytes", g->mem_used);
			lle_buf_addc(b, ',');
			json_u64(b, "mem_total_bytes", g->mem_total);
		} else {
			lle_buf_adds(b, ",\"mem_used_bytes\":null,\"mem_total_bytes\":null");
		}
		lle_buf_addc(b, ',');
		json_num(b, "power_w", g->power_w, 1);
		lle_buf_addc(b, ',');
		json_num(b, "temp_c", g->temp_c, 0);
		lle_buf_addc(b, ',');
		json_num(b, "clock_graphics_mhz", g->clock_graphics_mhz, 0);
		lle_buf_addc(b, ',');
		json_num(b, "clock_sm_mhz", g->clock_sm_mhz, 0);
		lle_buf_addc(b, ',');
		json_num(b, "clock_mem_mhz", g->clock_mem_mhz, 0);
		lle_buf_addc(b, '}');
	}
	lle_buf_addc(b, ']');

	if (s->has_progress) {
		lle_buf_adds(b, ",\"progress\":{");
		json_counts(b, s->prompt_tokens, s->generated_tokens, s->requests_done, s->requests_total);
		json_num(b, "prompt_tokens_per_s", s->prompt_tok_s, 1);
		lle_buf_addc(b, ',');
		json_num(b, "generated_tokens_per_s", s->generated_tok_s, 1);
		lle_buf_addc(b, ',');
		json_num(b, "eta_s", s->eta_s, 1);
		lle_buf_addc(b, '}');
	}
	lle_buf_addc(b, '}');
	return b->oom ? -1 : 0;
}

int lle_monitor_summary_json(struct lle_buf *b, const struct lle_mon_summary *s)
{
	lle_buf_addc(b, '{');
	json_num(b, "wall_s", s->wall_s, 3);
	lle_buf_addc(b, ',');
	json_u64(b, "samples", s->nsamples);
	lle_buf_addc(b, ',');
	json_u64(b, "peak_rss_bytes", s->rss_peak);
	lle_buf_addc(b, ',');
	json_num(b, "cpu_seconds", s->cpu_s, 2);
	lle_buf_addc(b, ',');
	json_num(b, "mean_cpu_percent", s->cpu_mean_percent, 1);
	lle_buf_adds(b, ",\"gpus\":[");
	for (unsigned i = 0; i < s->ngpu; i++) {
		const struct lle_gpu_summary *g = &s->gpu[i];
		lle_buf_printf(b, "%s{\"index\":%u,\"name\":", i ? "," : "", g->index);
		lle_buf_add_json_str(b, g->name);
		lle_buf_addc(b, ',');
		json_u64(b, "samples", g->nsamples);
		lle_buf_addc(b, ',');
		if (g->nsamples) {
			json_u64(b, "mem_total_bytes", g->mem_total);
			lle_buf_addc(b, ',');
			json_u64(b, "peak_mem_used_bytes", g->mem_peak);
		} else {
			lle_buf_adds(b, "\"mem_total_bytes\":null,\"peak_mem_used_bytes\":null");
		}
		lle_buf_addc(b, ',');
		json_num(b, "mean_mem_used_bytes", g->mem_mean, 0);
		lle_buf_addc(b, ',');
		json_num(b, "peak_util_percent", g->util_peak, 0);
		lle_buf_addc(b, ',');
		json_num(b, "mean_util_percent", g->util_mean, 1);
		lle_buf_addc(b, '}');
	}
	lle_buf_addc(b, ']');
	if (s->has_progress) {
		lle_buf_adds(b, ",\"progress\":{");
		json_counts(b, s->prompt_tokens, s->generated_tokens, s->requests_done, s->requests_total);
		json_num(b, "seconds", s->progress_s, 3);
		lle_buf_addc(b, ',');
		json_num(b, "prompt_tokens_per_s", s->prompt_tok_s, 1);
		lle_buf_addc(b, ',');
		json_num(b, "generated_tokens_per_s", s->generated_tok_s, 1);
		lle_buf_addc(b, '}');
	}
	lle_buf_adds(b, ",\"phases\":[");
	for (unsigned i = 0; i < s->nphases; i++) {
		lle_buf_adds(b, i ? ",{\"name\":" : "{\"name\":");
		lle_buf_add_json_str(b, s->phase[i].name);
		lle_buf_printf(b, ",\"start_s\":%.3f,\"seconds\":%.3f}", s->phase[i].start_s,
			       s->phase[i].seconds);
	}
	lle_buf_adds(b, "]}");
	return b->oom ? -1 : 0;
}

int lle_monitor_parse_interval(const char *option, const char *text, unsigned *ms,
			       struct lle_err *err)
{
	unsigned long long v = 0;
	const char *p = text;
	if (!p || !*p)
		goto bad;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		v = v * 10 + (unsigned long long)(*p - '0');
		if (v > LLE_MON_MAX_INTERVAL_MS)
			goto bad;
	}
	if (v < LLE_MON_MIN_INTERVAL_MS)
		goto bad;
	*ms = (unsigned)v;
	return 0;
bad:
	return lle_err_set(err, LLE_EXIT_USAGE,
			   "option '%s' takes milliseconds from %d to %d, not '%s'", option,
			   LLE_MON_MIN_INTERVAL_MS, LLE_MON_MAX_INTERVAL_MS, text ? text : "");
}
