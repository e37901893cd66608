/* monitor-cost: what the resource sampler costs a run, in CPU time per
 * sample. Runs the sampler at a 10 ms interval for N samples and divides the
 * process's CPU time (getrusage) by the samples taken, in three setups: no
 * sampler at all (the baseline: the main thread waiting as long), the sampler
 * without GPUs, and the sampler with NVML (the stand-in library with two
 * scripted GPUs, whose calls cost far less than a real driver's). Prints the
 * median of R repetitions of each.
 *   monitor-cost STANDIN_LIB SCRIPT [N [R]] */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "monitor/monitor.h"

static double cpu_now(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* CPU microseconds per sample for one setup (mode 0: baseline). */
static double one(int mode, const char *lib, unsigned n)
{
	double c0 = cpu_now();
	if (mode == 0) {
		struct timespec ts = { 0, 10 * 1000000L };
		for (unsigned i = 0; i < n; i++)
			nanosleep(&ts, NULL);
	} else {
		struct lle_mon_opts o = { .interval_ms = 10, .no_gpu = mode == 1, .nvml_path = lib };
		struct lle_err err = { 0 };
		struct lle_monitor *m = lle_monitor_start_opts(&o, &err);
		if (!m) {
			fprintf(stderr, "monitor-cost: %s\n", err.msg);
			exit(1);
		}
		struct lle_mon_sample s = { 0 };
		while (s.seq < n)
			lle_monitor_wait(m, s.seq, 1000, &s);
		lle_monitor_stop(m, NULL);
		n = (unsigned)s.seq + 1;
	}
	return (cpu_now() - c0) * 1e6 / n;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: monitor-cost STANDIN_LIB SCRIPT [N [R]]\n");
		return 2;
	}
	unsigned n = argc > 3 ? (unsigned)atoi(argv[3]) : 300;
	int r = argc > 4 ? atoi(argv[4]) : 5;
	if (n == 0 || r <= 0 || r > 100)
		return 2;
	setenv("LLE_NVML_STANDIN", argv[2], 1);
	static const char *names[] = { "baseline: no sampler, same waits",
				       "sampler, no GPU", "sampler, NVML stand-in with 2 GPUs" };
	double med[3];
	for (int mode = 0; mode < 3; mode++) {
		double v[100];
		for (int i = 0; i < r; i++)
			v[i] = one(mode, argv[1], n);
		qsort(v, (size_t)r, sizeof(v[0]), cmp);
		med[mode] = v[r / 2];
		printf("%-40s %8.1f us CPU per sample (median of %d x %u samples)\n", names[mode],
		       med[mode], r, n);
	}
	for (int mode = 1; mode < 3; mode++)
		printf("%-40s %8.1f us over the baseline = %.4f%% of one CPU at the default 1 s interval\n",
		       names[mode], med[mode] - med[0], (med[mode] - med[0]) / 1e6 * 100.0);
	return 0;
}
