/* Tests of the llama.cpp plugin's thread count on a shared machine
 * (plugins/llamacpp/threads.c, compiled into this test): the count for a
 * given load, and the measurement of the CPU other processes take, against
 * a child process that really spins; and the thread pool, on the generated
 * tiny model ($(BUILD)/models/tiny.gguf): it has the threads in use, no
 * more, as the count changes, and decodes the same logits at each count.
 * Not here: the plugin's evaluation (test_llamacpp.c); the effect on speed
 * is measured by bench/busy.sh and bench/peers.sh. */
#include <dirent.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
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

TEST(first_count_at_the_first_decode)
{
	/* the first sample (taken at open) decides as soon as it spans 0.2 s,
	 * so a run on a busy machine does not start with half a second of all
	 * threads; later decisions come every 0.5 s */
	CHECK(!lc_adapt_due(0.1, 1));
	CHECK(lc_adapt_due(0.25, 1));
	CHECK(!lc_adapt_due(0.25, 0));
	CHECK(!lc_adapt_due(0.45, 0));
	CHECK(lc_adapt_due(0.5, 0));
	CHECK(lc_adapt_due(3.0, 1) && lc_adapt_due(3.0, 0));
}

TEST(pool_polls_once_the_count_is_decided)
{
	/* a given n_threads polls from the start; the default only after its
	 * first decision (until then its threads would poll while the host
	 * builds requests, on a machine that may be busy); poll=0 never */
	CHECK(lc_pool_poll(50, 0, 0) == 50);
	CHECK(lc_pool_poll(50, 1, 0) == 0);
	CHECK(lc_pool_poll(50, 1, 1) == 50);
	CHECK(lc_pool_poll(0, 1, 1) == 0 && lc_pool_poll(0, 0, 0) == 0);
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

/* threads of this process, from /proc/self/task */
static int own_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	int n = 0;
	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* logits of the last of 40 tokens of a fresh decode, into out; as the
 * plugin decodes (eval.c): lc_threads_adapt first */
static int decode_logits(struct lle_model *m, int n_vocab, float *out)
{
	struct llama_context *ctx = m->ctx;
	lc_threads_adapt(m);
	llama_memory_clear(llama_get_memory(ctx), true);
	struct llama_batch b = llama_batch_init(40, 0, 1);
	for (int i = 0; i < 40; i++) {
		b.token[i] = 1 + (i * 7) % 200;
		b.pos[i] = i;
		b.n_seq_id[i] = 1;
		b.seq_id[i][0] = 0;
		b.logits[i] = i >= 38; /* two rows: the matrix-matrix path */
	}
	b.n_tokens = 40;
	int rc = llama_decode(ctx, b);
	llama_batch_free(b);
	const float *row = rc == 0 ? llama_get_logits_ith(ctx, 39) : NULL;
	if (!row)
		return -1;
	memcpy(out, row, (size_t)n_vocab * sizeof(float));
	return 0;
}

TEST(pool_has_the_threads_in_use)
{
	char path[4096];
	const char *build = getenv("BUILD");
	snprintf(path, sizeof(path), "%s/models/tiny.gguf", build && *build ? build : "build");
	/* the CPU backends beside libggml, as the plugin loads them */
	Dl_info info;
	char dir[4096] = ".";
	if (dladdr((void *)ggml_backend_load_all_from_path, &info) && info.dli_fname) {
		snprintf(dir, sizeof(dir), "%s", info.dli_fname);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
	}
	ggml_backend_load_all_from_path(dir);
	struct lle_model m = { 0 };
	m.model = llama_model_load_from_file(path, llama_model_default_params());
	CHECK(m.model != NULL);
	if (!m.model)
		return;
	struct llama_context_params cp = llama_context_default_params();
	cp.n_ctx = cp.n_batch = cp.n_ubatch = 64;
	cp.n_seq_max = 1;
	cp.n_threads = cp.n_threads_batch = 1;
	cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
	cp.no_perf = true;
	m.ctx = llama_init_from_model(m.model, cp);
	CHECK(m.ctx != NULL);
	int nv = llama_vocab_n_tokens(llama_model_get_vocab(m.model));
	float *a = malloc((size_t)nv * sizeof(float)), *b = malloc((size_t)nv * sizeof(float));
	CHECK(a && b);
	int base = own_threads();
	CHECK(base >= 1);
	if (!m.ctx || !a || !b)
		goto out;
	m.n_threads = 3;
	m.n_threads_cur = 3;
	m.poll = LC_POLL_DEFAULT;
	/* three threads: the caller and two of the pool's */
	lc_pool_attach(&m);
	struct ggml_threadpool *tp3 = m.tp;
	CHECK(tp3 != NULL);
	CHECK(m.tp_threads == 3 && m.n_threads_cur == 3);
	CHECK(llama_n_threads(m.ctx) == 3);
	CHECK(own_threads() == base + 2);
	CHECK(decode_logits(&m, nv, a) == 0);
	/* the count goes down (the load rose): a pool of one, which leaves no
	 * thread polling for work it never gets; the pool of three is kept
	 * (llama.cpp's CPU backend pauses it at the next decode, and frees
	 * nothing of its own) */
	lc_set_threads(&m, 1);
	struct ggml_threadpool *tp1 = m.tp;
	CHECK(m.tp_threads == 1 && m.n_threads_cur == 1 && llama_n_threads(m.ctx) == 1);
	CHECK(tp1 != tp3 && m.tp_spare == tp3);
	CHECK(decode_logits(&m, nv, b) == 0);
	CHECK(memcmp(a, b, (size_t)nv * sizeof(float)) == 0);
	/* up to two after that decode: the pool of three, no longer held by the
	 * backend, goes; the pool of one is the spare; one pool thread runs */
	lc_set_threads(&m, 2);
	struct ggml_threadpool *tp2 = m.tp;
	CHECK(m.tp_threads == 2 && llama_n_threads(m.ctx) == 2);
	CHECK(m.tp_spare == tp1);
	CHECK(own_threads() == base + 1);
	CHECK(decode_logits(&m, nv, b) == 0);
	CHECK(memcmp(a, b, (size_t)nv * sizeof(float)) == 0);
	/* back to one: the spare again, nothing made */
	lc_set_threads(&m, 1);
	CHECK(m.tp == tp1 && m.tp_spare == tp2 && own_threads() == base + 1);
	/* two changes with no decode between them: the backend still holds the
	 * pool of two (its last decode's), so that one stays and the pool of one,
	 * which no decode used since, goes */
	lc_set_threads(&m, 3);
	CHECK(m.tp_threads == 3 && m.tp_spare == tp2);
	CHECK(own_threads() == base + 2 + 1);
	CHECK(decode_logits(&m, nv, b) == 0);
	CHECK(memcmp(a, b, (size_t)nv * sizeof(float)) == 0);
	/* the same count keeps the same pool */
	struct ggml_threadpool *tp = m.tp;
	lc_set_threads(&m, 3);
	CHECK(m.tp == tp && own_threads() == base + 2 + 1);
	/* a new context: the spare goes, the pool stays */
	llama_free(m.ctx);
	m.ctx = llama_init_from_model(m.model, cp);
	CHECK(m.ctx != NULL);
	if (!m.ctx)
		goto out;
	lc_pool_attach(&m);
	CHECK(m.tp == tp && m.tp_spare == NULL && own_threads() == base + 2);
	CHECK(llama_n_threads(m.ctx) == 3);
	CHECK(decode_logits(&m, nv, b) == 0);
	CHECK(memcmp(a, b, (size_t)nv * sizeof(float)) == 0);
	CHECK(m.tp_poll == LC_POLL_DEFAULT);
	/* the default count: a pool that sleeps until the first decision, then
	 * one that polls, of the count decided (set by hand here: the decision
	 * itself depends on the machine's load) */
	m.auto_threads = 1;
	lc_set_threads(&m, 2);
	CHECK(m.tp_threads == 2 && m.tp_poll == 0);
	m.adapted = 1;
	lc_set_threads(&m, 2);
	CHECK(m.tp_threads == 2 && m.tp_poll == LC_POLL_DEFAULT);
	m.auto_threads = 0;
	CHECK(decode_logits(&m, nv, b) == 0);
	CHECK(memcmp(a, b, (size_t)nv * sizeof(float)) == 0);
out:
	free(a);
	free(b);
	if (m.ctx)
		llama_free(m.ctx);
	lc_pool_free(&m);
	CHECK(own_threads() == base);
	llama_model_free(m.model);
}

int main(void)
{
	RUN(threads_for_load);
	RUN(first_count_at_the_first_decode);
	RUN(pool_polls_once_the_count_is_decided);
	RUN(others_measured);
	RUN(pool_has_the_threads_in_use);
	return check_done();
}
