/* Benchmark driver for bench/sandbox.sh: the wall time to run all HumanEval
 * canonical solutions (prompt + solution + test + check) in the sandbox,
 * against running the same programs with plain python3 and no sandbox, on
 * the same number of parallel workers, in the same invocation. Rounds
 * alternate which goes first. Also times one program at a time, to show the
 * sandbox's fixed cost per run.
 *
 *   sandbox_bench HUMANEVAL.jsonl.gz [ROUNDS] [WORKERS]
 *
 * Prints medians, the ratio sandbox/plain, and peak memory (this process and
 * its largest child). Exits 1 if a program fails in either mode. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "sandbox/sandbox.h"
#include "tasks/code_exec.h"
#include "util/buf.h"

#define MAXP 256
#define PATH_DIRS "/usr/local/bin:/usr/bin:/bin"

static char *programs[MAXP];
static size_t nprog;
static char python[4096];
static char scratch[4096];

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of this process and all its waited-for descendants (the
 * sandbox's init waits for the program, so its time is in here too). */
static double cpu_s(void)
{
	struct rusage a, b;
	getrusage(RUSAGE_SELF, &a);
	getrusage(RUSAGE_CHILDREN, &b);
	return (double)(a.ru_utime.tv_sec + a.ru_stime.tv_sec + b.ru_utime.tv_sec + b.ru_stime.tv_sec) +
	       (double)(a.ru_utime.tv_usec + a.ru_stime.tv_usec + b.ru_utime.tv_usec + b.ru_stime.tv_usec) / 1e6;
}

static int load(const char *path)
{
	gzFile gz = gzopen(path, "rb");
	if (!gz) {
		fprintf(stderr, "sandbox_bench: cannot open '%s'\n", path);
		return -1;
	}
	struct lle_buf b = LLE_BUF_INIT;
	char chunk[65536];
	int n;
	while ((n = gzread(gz, chunk, sizeof(chunk))) > 0)
		lle_buf_add(&b, chunk, (size_t)n);
	gzclose(gz);
	char *save = NULL;
	for (char *line = strtok_r(b.p, "\n", &save); line && nprog < MAXP; line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);
		if (!o)
			break;
		struct lle_err err = { 0 };
		programs[nprog++] = lle_code_program_humaneval(
			json_string_value(json_object_get(o, "prompt")),
			json_string_value(json_object_get(o, "canonical_solution")),
			json_string_value(json_object_get(o, "test")),
			json_string_value(json_object_get(o, "entry_point")), &err);
		json_decref(o);
	}
	lle_buf_free(&b);
	return nprog ? 0 : -1;
}

/* ---- plain: write program.py to a directory of its own, spawn python3 ---- */

static int run_plain(size_t i)
{
	char dir[4200], file[4300];
	snprintf(dir, sizeof(dir), "%s/p%zu", scratch, i);
	snprintf(file, sizeof(file), "%s/program.py", dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
	FILE *f = fopen(file, "w");
	if (!f)
		return -1;
	fputs(programs[i], f);
	if (fclose(f) != 0)
		return -1;
	int out[2];
	if (pipe2(out, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, out[1], 2);
	posix_spawn_file_actions_addchdir_np(&fa, dir);
	char home[4300];
	snprintf(home, sizeof(home), "HOME=%s", dir);
	char *env[] = { "PATH=" PATH_DIRS, home, "LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1", NULL };
	char *argv[] = { python, "program.py", NULL };
	pid_t pid;
	int rc = posix_spawn(&pid, python, &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	if (rc != 0) {
		close(out[0]);
		return -1;
	}
	char buf[4096];
	while (read(out[0], buf, sizeof(buf)) > 0)
		;
	close(out[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	unlink(file);
	rmdir(dir);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

struct plain_pool {
	pthread_mutex_t lock;
	size_t next, n, failed;
};

static void *plain_worker(void *arg)
{
	struct plain_pool *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->lock);
		size_t i = p->next < p->n ? p->next++ : p->n;
		pthread_mutex_unlock(&p->lock);
		if (i >= p->n)
			return NULL;
		if (run_plain(i) < 0) {
			pthread_mutex_lock(&p->lock);
			p->failed++;
			pthread_mutex_unlock(&p->lock);
		}
	}
}

static double time_plain(size_t n, unsigned workers, size_t *failed)
{
	struct plain_pool p = { PTHREAD_MUTEX_INITIALIZER, 0, n, 0 };
	pthread_t th[256];
	double t0 = now_s();
	unsigned k = 0;
	for (; k < workers && k < 256; k++)
		if (pthread_create(&th[k], NULL, plain_worker, &p) != 0)
			break;
	for (unsigned i = 0; i < k; i++)
		pthread_join(th[i], NULL);
	*failed = p.failed;
	return now_s() - t0;
}

/* ---- sandboxed: the library the engine uses ---- */

static void count(void *ud, size_t i, const struct lle_code_outcome *o, const struct lle_err *err)
{
	(void)i;
	(void)err;
	if (!o || o->status != LLE_CODE_PASSED)
		(*(size_t *)ud)++;
}

static double time_sandbox(size_t n, unsigned workers, size_t *failed)
{
	struct lle_code_exec_opts o = { .sandbox = { .timeout_s = 60 }, .workers = workers };
	struct lle_err err = { 0 };
	*failed = 0;
	double t0 = now_s();
	if (lle_code_exec_run(&o, (const char *const *)programs, n, count, failed, &err) < 0)
		fprintf(stderr, "sandbox_bench: %s\n", err.msg);
	return now_s() - t0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: sandbox_bench HUMANEVAL.jsonl.gz [ROUNDS] [WORKERS]\n");
		return 2;
	}
	int rounds = argc > 2 ? atoi(argv[2]) : 3;
	if (rounds < 1 || rounds > 100)
		rounds = 3;
	struct lle_sandbox_opts so = { 0 };
	unsigned workers = argc > 3 ? (unsigned)atoi(argv[3]) : 0;
	if (!workers)
		workers = lle_sandbox_pool_size(&so);
	if (load(argv[1]) < 0)
		return 2;
	/* The python3 the sandbox finds in its PATH, so both run the same one. */
	python[0] = '\0';
	char dirs[] = PATH_DIRS;
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d && !python[0]; d = strtok_r(NULL, ":", &save)) {
		snprintf(python, sizeof(python), "%s/python3", d);
		if (access(python, X_OK) != 0)
			python[0] = '\0';
	}
	if (!python[0]) {
		fprintf(stderr, "sandbox_bench: no python3 in %s\n", PATH_DIRS);
		return 2;
	}
	/* The plain runs write their programs to a tmpfs too (/dev/shm), as the
	 * sandbox does, so that the comparison is not one of file systems. */
	const char *t = getenv("TMPDIR");
	if (access("/dev/shm", W_OK) == 0)
		t = "/dev/shm";
	snprintf(scratch, sizeof(scratch), "%s/lle-bench-sandbox.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(scratch)) {
		fprintf(stderr, "sandbox_bench: mkdtemp: %s\n", strerror(errno));
		return 2;
	}
	const struct lle_sandbox_probe *p = lle_sandbox_probe();
	printf("programs: %zu HumanEval canonical solutions, %s; workers: %u; rounds: %d\n", nprog, python,
	       workers, rounds);
	printf("sandbox protections missing: %s; plain runs in %s\n", p->missing[0] ? p->missing : "none",
	       scratch);

	double plain[100], sand[100], cplain[100], csand[100];
	size_t fp = 0, fs = 0, f;
	/* One warm-up of each (page cache, the probe, the seccomp filter). */
	time_plain(nprog, workers, &f);
	time_sandbox(nprog, workers, &f);
	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < 2; k++) {
			/* Odd rounds run the sandbox first. */
			int sandbox = (k == 0) == (r % 2 == 1);
			double c0 = cpu_s();
			if (sandbox) {
				sand[r] = time_sandbox(nprog, workers, &f);
				csand[r] = cpu_s() - c0;
				fs += f;
			} else {
				plain[r] = time_plain(nprog, workers, &f);
				cplain[r] = cpu_s() - c0;
				fp += f;
			}
		}
		printf("round %d: plain %.3f s (cpu %.2f s), sandbox %.3f s (cpu %.2f s)\n", r + 1, plain[r],
		       cplain[r], sand[r], csand[r]);
	}
	double mp = median(plain, rounds), ms = median(sand, rounds);
	printf("all %zu, %u workers: median wall plain %.3f s, sandbox %.3f s, ratio %.3f (overhead %+.1f%%)\n",
	       nprog, workers, mp, ms, ms / mp, (ms / mp - 1) * 100);
	double mcp = median(cplain, rounds), mcs = median(csand, rounds);
	printf("all %zu, %u workers: median cpu  plain %.3f s, sandbox %.3f s, ratio %.3f (overhead %+.1f%%)\n",
	       nprog, workers, mcp, mcs, mcs / mcp, (mcs / mcp - 1) * 100);

	/* One at a time: the fixed cost of a sandboxed run. */
	size_t nseq = nprog < 20 ? nprog : 20;
	double sp[100], ss[100];
	for (int r = 0; r < rounds; r++) {
		sp[r] = time_plain(nseq, 1, &f) / (double)nseq;
		fp += f;
		ss[r] = time_sandbox(nseq, 1, &f) / (double)nseq;
		fs += f;
	}
	double msp = median(sp, rounds), mss = median(ss, rounds);
	printf("one at a time (%zu programs): median per program plain %.1f ms, sandbox %.1f ms, "
	       "difference %+.1f ms\n", nseq, msp * 1e3, mss * 1e3, (mss - msp) * 1e3);

	/* The fixed cost alone: /bin/true, one at a time. */
	double tp[100], ts[100];
	const int ntrue = 100;
	for (int r = 0; r < rounds; r++) {
		double t0 = now_s();
		for (int i = 0; i < ntrue; i++) {
			pid_t pid;
			char *targv[] = { "true", NULL };
			char *tenv[] = { NULL };
			int st;
			if (posix_spawn(&pid, "/bin/true", NULL, NULL, targv, tenv) != 0 ||
			    waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
				fp++;
		}
		tp[r] = (now_s() - t0) / ntrue;
		const char *sargv[] = { "/bin/true", NULL };
		struct lle_sandbox_opts o = { .timeout_s = 60 };
		struct lle_sandbox_job job = { .argv = sargv };
		t0 = now_s();
		for (int i = 0; i < ntrue; i++) {
			struct lle_sandbox_result res;
			struct lle_err err = { 0 };
			if (lle_sandbox_run(&o, &job, &res, &err) < 0) {
				fs++;
				continue;
			}
			if (res.end != LLE_SANDBOX_EXITED || res.exit_code != 0)
				fs++;
			lle_sandbox_result_free(&res);
		}
		ts[r] = (now_s() - t0) / ntrue;
	}
	double mtp = median(tp, rounds), mts = median(ts, rounds);
	printf("fixed cost (/bin/true, %d runs one at a time): median plain %.2f ms, sandbox %.2f ms, "
	       "difference %+.2f ms per run\n", ntrue, mtp * 1e3, mts * 1e3, (mts - mtp) * 1e3);

	struct rusage self, kids;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	printf("peak memory: this process %ld KiB, largest child %ld KiB\n", self.ru_maxrss, kids.ru_maxrss);
	printf("failures: plain %zu, sandbox %zu\n", fp, fs);
	rmdir(scratch);
	for (size_t i = 0; i < nprog; i++)
		free(programs[i]);
	return fp || fs ? 1 : 0;
}
