/* The sandbox's pool: lle_sandbox_run_all() and lle_sandbox_pool_size()
 * (sandbox.h). Each job is one lle_sandbox_run() on a worker thread.
 *
 * Not here: the sandbox itself (sandbox.c). */
#include "sandbox/sandbox.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

unsigned lle_sandbox_pool_size(const struct lle_sandbox_opts *o)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = ncpu > 0 ? (unsigned)ncpu : 1;
	unsigned mem = o && o->memory_mb ? o->memory_mb : 1024;
	FILE *f = fopen("/proc/meminfo", "re");
	if (f) {
		char line[256];
		unsigned long long kb;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
				unsigned long long fit = kb / 1024 / mem;
				if (fit < n)
					n = (unsigned)fit;
				break;
			}
		fclose(f);
	}
	return n ? n : 1;
}

struct pool {
	const struct lle_sandbox_opts *o;
	const struct lle_sandbox_job *jobs;
	size_t n, next;
	lle_sandbox_done_fn done;
	void *ud;
	pthread_mutex_t lock;
	struct lle_err first;
};

static void *worker(void *arg)
{
	struct pool *pl = arg;
	for (;;) {
		pthread_mutex_lock(&pl->lock);
		size_t i = pl->next < pl->n ? pl->next++ : pl->n;
		pthread_mutex_unlock(&pl->lock);
		if (i >= pl->n)
			break;
		struct lle_sandbox_result r;
		struct lle_err e = { 0 };
		int rc = lle_sandbox_run(pl->o, &pl->jobs[i], &r, &e);
		pthread_mutex_lock(&pl->lock);
		if (rc < 0 && !pl->first.code)
			pl->first = e;
		if (pl->done)
			pl->done(pl->ud, i, rc < 0 ? NULL : &r, rc < 0 ? &e : NULL);
		pthread_mutex_unlock(&pl->lock);
		if (rc == 0)
			lle_sandbox_result_free(&r);
	}
	return NULL;
}

int lle_sandbox_run_all(const struct lle_sandbox_opts *o, const struct lle_sandbox_job *jobs,
			size_t n, unsigned workers, lle_sandbox_done_fn done, void *ud,
			struct lle_err *err)
{
	struct pool pl = { .o = o, .jobs = jobs, .n = n, .done = done, .ud = ud };
	pthread_mutex_init(&pl.lock, NULL);
	if (!workers)
		workers = lle_sandbox_pool_size(o);
	if (workers > n)
		workers = n ? (unsigned)n : 1;
	pthread_t *th = calloc(workers, sizeof(*th));
	unsigned started = 0;
	/* The calling thread is one of the workers; if threads cannot be made,
	 * fewer run, but all jobs still do. */
	if (th)
		for (; started + 1 < workers; started++)
			if (pthread_create(&th[started], NULL, worker, &pl) != 0)
				break;
	worker(&pl);
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
	pthread_mutex_destroy(&pl.lock);
	if (pl.first.code) {
		if (err)
			*err = pl.first;
		return -1;
	}
	return 0;
}
