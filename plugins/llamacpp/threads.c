/* The llama.cpp backend's thread count on a shared machine: when the user
 * gave no n_threads, the plugin measures, while it runs, how much CPU other
 * processes take, and lets llama.cpp use only the cores left to it.
 *
 * Why: inside one graph computation llama.cpp's threads wait for each other
 * at a barrier by spinning (ggml_barrier: no sleep, whatever the pool's poll
 * level). When another process holds a core, one of our threads is often
 * descheduled there and the others spin for whole time slices: on the 2-core
 * test machine at a load of 14, scoring an MMLU subject with the tiny model
 * took 21 CPU-s and 113 s with two threads against 0.55 CPU-s and 5.6 s with
 * one (docs/backends.md, "Threads").
 *
 * How: two samples of /proc/stat's aggregate busy time and of this process's
 * own CPU time; what the machine spent beyond our own, per second of wall
 * time, is the cores others held. Threads = the CPUs not held by others,
 * rounded down with a little slack, at least 1 and at most the default
 * (physical cores). Our own spinning counts as ours, so it never makes the
 * machine look busier to us. The first sample is taken at open, so the
 * first decode that comes LC_ADAPT_MIN_SECONDS later already has a count
 * for the load before the run (it used to wait LC_ADAPT_SECONDS, decoding
 * with all threads meanwhile: on a busy machine half a second of two threads
 * spinning cost GSM8K on 4 documents as much CPU again as the whole run with
 * one). Re-measured every LC_ADAPT_SECONDS of decoding, so the count goes
 * back up when the others finish.
 *
 * The pool: one ggml thread pool for the model's life (instead of the pool
 * llama.cpp otherwise starts and stops for every decode), of exactly the
 * threads in use: a change of count makes a new pool between two decode
 * calls. Its idle threads poll for the next decode (`poll`, default 50 as in
 * llama.cpp's tools) before they sleep. A pool that sleeps at once (poll=0)
 * costs a wake-up at every decode, and on a busy machine the woken thread
 * waits for a CPU while the calling thread spins at the first barrier for
 * it: GSM8K generation with 2 threads under two busy loops took 2.4 to 5.0
 * times the CPU of polling (bench/busy.sh, docs/backends.md "Threads").
 * A pool with more threads than in use would keep its spare threads
 * polling for work they never get, hence the pool of the count in use.
 * Until the first count is decided (the default count), the pool sleeps:
 * after the warm-up decode its threads would otherwise poll while the host
 * builds its requests, on a machine that may turn out to be busy.
 *
 * Not here: the default itself (physical cores, cgroup quota: plugin.c), and
 * anything when n_threads was given: then that count is used as it is. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ggml-backend.h"
#include "llamacpp.h"

/* wall seconds between two measurements */
#define LC_ADAPT_SECONDS 0.5
/* a sample shorter than this is too coarse (jiffies are 10 ms) */
#define LC_ADAPT_MIN_SECONDS 0.2
/* a core counts as free when others hold less than this much of it */
#define LC_ADAPT_SLACK 0.2

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Busy and total seconds of all CPUs since boot from /proc/stat's "cpu"
 * line, and the number of "cpuN" lines. 0, or -1 when unreadable. */
static int read_proc_stat(double *busy, int *ncpu)
{
	FILE *f = fopen("/proc/stat", "r");
	if (!f)
		return -1;
	char line[512];
	unsigned long long v[8] = { 0 };
	int rc = -1, n = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "cpu ", 4) == 0) {
			/* user nice system idle iowait irq softirq steal (guest is in user) */
			if (sscanf(line + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
				   &v[3], &v[4], &v[5], &v[6], &v[7]) >= 4)
				rc = 0;
		} else if (strncmp(line, "cpu", 3) == 0 && line[3] >= '0' && line[3] <= '9') {
			n++;
		} else if (n > 0) {
			break;
		}
	}
	fclose(f);
	long hz = sysconf(_SC_CLK_TCK);
	if (rc < 0 || hz <= 0 || n <= 0)
		return -1;
	*busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)hz;
	*ncpu = n;
	return 0;
}

int lc_load_sample(struct lc_load_sample *s)
{
	struct timespec ts;
	if (read_proc_stat(&s->busy, &s->ncpu) < 0 ||
	    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) {
		s->wall = 0;
		return -1;
	}
	s->own = (double)ts.tv_sec + ts.tv_nsec * 1e-9;
	s->wall = mono_now();
	return 0;
}

double lc_others_cpus(const struct lc_load_sample *a, const struct lc_load_sample *b)
{
	double dt = b->wall - a->wall;
	if (a->wall <= 0 || b->wall <= 0 || dt <= 0)
		return -1;
	double others = ((b->busy - a->busy) - (b->own - a->own)) / dt;
	return others < 0 ? 0 : others;
}

int lc_threads_for(int ncpu, int max, double others)
{
	if (others < 0)
		return max;
	int n = (int)(ncpu - others + LC_ADAPT_SLACK);
	if (n > max)
		n = max;
	return n < 1 ? 1 : n;
}

int lc_pool_poll(int poll, int auto_threads, int adapted)
{
	return auto_threads && !adapted ? 0 : poll;
}

/* A new pool of n threads (NULL: none could be made). */
static struct ggml_threadpool *pool_new(struct lle_model *m, int n)
{
	if (!m->tp_new) {
		ggml_backend_dev_t dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
		ggml_backend_reg_t reg = dev ? ggml_backend_dev_backend_reg(dev) : NULL;
		void *pnew = reg ? ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_new") : NULL;
		void *pfree = reg ? ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_free") : NULL;
		if (!pnew || !pfree)
			return NULL;
		/* as from dlsym: a data pointer converts to a function pointer */
		*(void **)&m->tp_new = pnew;
		*(void **)&m->tp_free = pfree;
	}
	struct ggml_threadpool_params tpp = ggml_threadpool_params_default(n);
	tpp.poll = (uint32_t)lc_pool_poll(m->poll, m->auto_threads, m->adapted);
	return m->tp_new(&tpp);
}

/* x is no longer attached: keep it as the spare (the count may come back),
 * or free a pool no decode can still use. The CPU backend keeps the pool of
 * the last decode (tp_used) until the next decode, and then pauses it, so
 * that one is never freed here. */
static void pool_retire(struct lle_model *m, struct ggml_threadpool *x, int xn, int xpoll)
{
	if (!m->tp_spare) {
		m->tp_spare = x;
		m->tp_spare_threads = xn;
		m->tp_spare_poll = xpoll;
	} else if (m->tp_spare != m->tp_used) {
		m->tp_free(m->tp_spare);
		m->tp_spare = x;
		m->tp_spare_threads = xn;
		m->tp_spare_poll = xpoll;
	} else {
		/* no decode since the spare was retired: x was attached after the
		 * last decode, so no decode used it */
		m->tp_free(x);
	}
}

/* m->tp: a pool of n threads polling as lc_pool_poll says (the spare when
 * it is one, else a new one); the count given to llama.cpp, which stays
 * the old one when no pool can be made. */
static int pool_switch(struct lle_model *m, int n)
{
	int poll = lc_pool_poll(m->poll, m->auto_threads, m->adapted);
	if (m->tp && m->tp_threads == n && m->tp_poll == poll)
		return n;
	struct ggml_threadpool *tp;
	if (m->tp_spare && m->tp_spare_threads == n && m->tp_spare_poll == poll) {
		tp = m->tp_spare;
		m->tp_spare = NULL;
	} else if (!(tp = pool_new(m, n))) {
		if (!m->tp) {
			lc_log(LLE_LOG_DEBUG, "llamacpp: no thread pool of %d threads from the CPU backend: "
			       "llama.cpp's own pools", n);
			return n;
		}
		lc_log(LLE_LOG_WARN, "llamacpp: cannot start a pool of %d threads: %d kept", n, m->tp_threads);
		return m->tp_threads;
	}
	if (m->tp)
		pool_retire(m, m->tp, m->tp_threads, m->tp_poll);
	m->tp = tp;
	m->tp_threads = n;
	m->tp_poll = poll;
	return n;
}

void lc_pool_attach(struct lle_model *m)
{
	if (!m->ctx)
		return;
	/* a new context: no decode used any pool through it yet */
	m->tp_used = NULL;
	if (m->tp_spare) {
		m->tp_free(m->tp_spare);
		m->tp_spare = NULL;
	}
	lc_set_threads(m, m->n_threads_cur > 0 ? m->n_threads_cur : m->n_threads);
	m->tp_used = m->tp; /* the next decode's, without lc_threads_adapt (warm-up) */
}

void lc_set_threads(struct lle_model *m, int n)
{
	if (!m->ctx)
		return;
	n = pool_switch(m, n);
	m->n_threads_cur = n;
	llama_set_n_threads(m->ctx, n, n);
	if (m->tp)
		llama_attach_threadpool(m->ctx, m->tp, m->tp);
}

void lc_pool_free(struct lle_model *m)
{
	if (m->tp_spare)
		m->tp_free(m->tp_spare);
	if (m->tp)
		m->tp_free(m->tp);
	m->tp = m->tp_spare = m->tp_used = NULL;
}

int lc_adapt_due(double since, int first)
{
	return since >= (first ? LC_ADAPT_MIN_SECONDS : LC_ADAPT_SECONDS);
}

static void adapt(struct lle_model *m)
{
	if (!m->auto_threads || !m->ctx)
		return;
	double now = mono_now();
	if (m->load_prev.wall > 0 && !lc_adapt_due(now - m->load_prev.wall, !m->adapted))
		return;
	struct lc_load_sample s;
	if (lc_load_sample(&s) < 0) {
		m->auto_threads = 0; /* no /proc: keep the default */
		return;
	}
	if (m->load_prev.wall > 0 && s.wall - m->load_prev.wall >= LC_ADAPT_MIN_SECONDS) {
		double others = lc_others_cpus(&m->load_prev, &s);
		int n = lc_threads_for(s.ncpu, m->n_threads, others);
		if (n != m->n_threads_cur)
			lc_log(LLE_LOG_DEBUG, "llamacpp: %d threads instead of %d: other processes hold "
			       "%.2f of %d CPUs", n, m->n_threads_cur, others, s.ncpu);
		int first = !m->adapted;
		m->adapted = 1;
		if (n != m->n_threads_cur || first)
			lc_set_threads(m, n); /* the first: a polling pool (lc_pool_poll) */
	}
	m->load_prev = s;
}

void lc_threads_adapt(struct lle_model *m)
{
	adapt(m);
	m->tp_used = m->tp; /* a decode follows */
}
