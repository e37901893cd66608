/* Tests of the llama.cpp plugin's thread count on a shared machine
 * (plugins/llamacpp/threads.c, compiled into this test): the count for a
 * given load, and the measurement of the CPU other processes take, against
 * a child process that really spins. Not here: the plugin's evaluation
 * (test_llamacpp.c); the effect on speed is measured by bench/peers.sh. */
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "../../plugins/llamacpp/threads.c"

/* threads.c logs through the plugin's lc_log (plugin.c): printed as TAP comments */
const struct lle_host *lc_host;
void lc_log(int level, const char *fmt, ...)
{
	va_list ap;
	(void)level;
	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

TEST(threads_for_load)
{
	/* an idle 2-CPU machine: both; accounting noise does not cost a thread */
	CHECK(lc_threads_for(2, 2, 0.0) == 2);
	CHECK(lc_threads_for(2, 2, 0.15) == 2);
	/* one core held by another process: one thread, not two that wait at
	 * every barrier for the one sharing the busy core */
	CHECK(lc_threads_for(2, 2, 0.5) == 1);
	CHECK(lc_threads_for(2, 2, 1.0) == 1);
	/* every core held (the 1.65 of 2 measured at a load of 14): still one */
	CHECK(lc_threads_for(2, 2, 1.65) == 1);
	CHECK(lc_threads_for(2, 2, 2.0) == 1);
	CHECK(lc_threads_for(2, 2, 7.0) == 1);
	/* never above the default (physical cores of 16 hardware threads) */
	CHECK(lc_threads_for(16, 8, 0.0) == 8);
	CHECK(lc_threads_for(16, 8, 9.5) == 6);
	/* n_threads=1 given (max 1) stays 1; no measurement: the default */
	CHECK(lc_threads_for(16, 1, 0.0) == 1);
	CHECK(lc_threads_for(16, 8, -1) == 8);
}

static volatile unsigned long sink;

/* Spin until this process has used cpu seconds of CPU (however long that
 * takes on a busy machine; at most a minute). */
static void spin_cpu(double cpu)
{
	struct timespec a, b;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	double wall0 = mono_now();
	do {
		for (int i = 0; i < 100000; i++)
			sink += (unsigned long)i;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	} while ((double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9 < cpu &&
		 mono_now() - wall0 < 60);
}

TEST(others_measured)
{
	struct lc_load_sample a = { 0 }, b = { 0 };
	CHECK(lc_others_cpus(&a, &b) < 0); /* no samples: no measure */
	if (lc_load_sample(&a) < 0) {
		printf("# no /proc/stat: measurement not checked\n");
		return;
	}
	CHECK(a.ncpu >= 1 && a.busy > 0 && a.own > 0 && a.wall > 0);
	/* a child spinning while this process waits is another process's
	 * CPU: its 0.3 s at least (less a jiffy or two of rounding), whatever
	 * else runs (on a machine busy with others, they count too) */
	pid_t pid = fork();
	if (pid == 0) {
		spin_cpu(0.3);
		_exit(0);
	}
	CHECK(pid > 0);
	int st;
	waitpid(pid, &st, 0);
	CHECK(lc_load_sample(&b) == 0);
	double others = lc_others_cpus(&a, &b);
	printf("# others: %.2f of %d CPUs\n", others, b.ncpu);
	CHECK(others * (b.wall - a.wall) >= 0.25 && others <= b.ncpu + 0.5);
	/* this process's own spinning is not someone else's: over a sample in
	 * which we spun, others leaves out (at least half of) what we did */
	CHECK(lc_load_sample(&a) == 0);
	spin_cpu(0.2);
	CHECK(lc_load_sample(&b) == 0);
	double mine = b.own - a.own, all = (b.busy - a.busy) / (b.wall - a.wall);
	others = lc_others_cpus(&a, &b);
	printf("# spinning ourselves: %.2f CPU-s of ours, others %.2f, the machine %.2f\n", mine,
	       others, all);
	CHECK(mine >= 0.2);
	CHECK(others <= all - 0.5 * mine / (b.wall - a.wall));
}

int main(void)
{
	RUN(threads_for_load);
	RUN(others_measured);
	return check_done();
}
