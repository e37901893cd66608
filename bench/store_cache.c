/* Driver for bench/cache.sh and the cache command tests.
 *
 *   store-cache fill PATH N [RUN_NAME DONE]   put N synthetic responses; with
 *       RUN_NAME, also a journal of N requests of which the first DONE are answered
 *   store-cache bench N REPS DIR              time the cache per request, and the
 *       search for missing requests of a 10,000-request run 90% done
 *
 * The request mix is an evaluation's: 60% loglikelihood (MMLU-like 5-shot
 * prompts of ~2.5 KB), 10% loglikelihood_rolling (~4 KB of text), 30%
 * generate_until (GSM8K-like 5-shot prompts of ~3.5 KB, answers of ~300 bytes).
 * Prints medians over REPS repetitions and the peak resident memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "store/cache.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static char *make_text(size_t n, unsigned seed)
{
	static const char *words[] = { "the", "answer", "is", "question", "how", "many", "apples", "does",
				       "Janet", "have", "left", "after", "she", "sells", "dozen", "eggs", "at",
				       "market", "for", "$2", "each", "Answer:", "\n" };
	char *s = malloc(n + 1);
	if (!s)
		exit(70);
	size_t i = 0;
	unsigned x = seed * 2654435761u + 1;
	while (i < n) {
		x = x * 1103515245u + 12345u;
		const char *w = words[(x >> 16) % (sizeof(words) / sizeof(words[0]))];
		size_t l = strlen(w);
		for (size_t j = 0; j < l && i < n; j++)
			s[i++] = w[j];
		if (i < n)
			s[i++] = ' ';
	}
	s[n] = '\0';
	return s;
}

struct req {
	struct lle_cache_req r;
	struct lle_cache_resp resp;
	char *ctx, *cont, *out;
	unsigned char key[32];
};

static const char *STOPS[] = { "Question:", "</s>", "<|im_end|>" };

static void make_req(struct req *q, int i)
{
	memset(q, 0, sizeof(*q));
	int k = i % 10;
	if (k < 6) {
		q->ctx = make_text(2500, (unsigned)i);
		q->cont = make_text(2, (unsigned)i + 7);
		q->r = (struct lle_cache_req){ .kind = LLE_REQ_LOGLIKELIHOOD, .context = q->ctx, .continuation = q->cont };
		q->resp = (struct lle_cache_resp){ .kind = LLE_REQ_LOGLIKELIHOOD, .logprob = -1.0 / (i + 1), .is_greedy = i & 1 };
	} else if (k < 7) {
		q->ctx = make_text(4000, (unsigned)i);
		q->r = (struct lle_cache_req){ .kind = LLE_REQ_LOGLIKELIHOOD_ROLLING, .context = q->ctx };
		q->resp = (struct lle_cache_resp){ .kind = LLE_REQ_LOGLIKELIHOOD_ROLLING, .logprob = -900.0 - i };
	} else {
		q->ctx = make_text(3500, (unsigned)i);
		q->out = make_text(300, (unsigned)i + 3);
		q->r = (struct lle_cache_req){ .kind = LLE_REQ_GENERATE_UNTIL, .context = q->ctx, .stop = STOPS,
					       .n_stop = 3, .max_tokens = 256 };
		q->resp = (struct lle_cache_resp){ .kind = LLE_REQ_GENERATE_UNTIL, .text = q->out, .text_len = 300 };
	}
	q->resp.tokens_in = 600;
	q->resp.tokens_out = 1;
	q->resp.seconds = 0.05;
	static const unsigned char model[32] = { 7 };
	struct lle_err e = { 0 };
	if (lle_cache_key(model, &q->r, q->key, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		exit(70);
	}
}

static void free_req(struct req *q)
{
	free(q->ctx);
	free(q->cont);
	free(q->out);
}

static void die(const struct lle_err *e)
{
	fprintf(stderr, "store-cache: %s\n", e->msg);
	exit(e->code ? e->code : 1);
}

static int fill(const char *path, int n, const char *run, int done)
{
	struct lle_err e = { 0 };
	struct lle_cache *c = lle_cache_open(path, &(struct lle_cache_opts){ .sync = LLE_CACHE_SYNC_NORMAL }, &e);
	if (!c)
		die(&e);
	unsigned char(*keys)[32] = malloc((size_t)(n ? n : 1) * 32);
	if (!keys)
		return 70;
	for (int i = 0; i < n; i += 500) {
		struct req q[500];
		struct lle_cache_entry en[500];
		int m = 0;
		for (int j = i; j < n && j < i + 500; j++, m++) {
			make_req(&q[m], j);
			memcpy(keys[j], q[m].key, 32);
			en[m] = (struct lle_cache_entry){ q[m].key, &q[m].resp, -1 };
		}
		int upto = run ? (done - i < m ? (done - i > 0 ? done - i : 0) : m) : m;
		if (upto && lle_cache_put_batch(c, 0, en, (size_t)upto, &e) < 0)
			die(&e);
		for (int j = 0; j < m; j++)
			free_req(&q[j]);
	}
	if (run) {
		int64_t id;
		if (lle_journal_begin(c, run, (const unsigned char(*)[32])keys, (size_t)n, &id, &e) < 0)
			die(&e);
	}
	free(keys);
	lle_cache_close(c);
	return 0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

enum mode { NOCACHE, FULL1, NORMAL1, FULL16, HIT };
static const char *MODE_NAME[] = { "no cache (--no-cache)", "cache, sync=FULL, commit each",
				   "cache, sync=NORMAL, commit each", "cache, sync=FULL, batches of 16",
				   "cache hit (resume: lookup only)" };

/* Seconds for n requests: key (from prepared text) + lookup + put. */
static double run_mode(enum mode m, struct req *q, int n, const char *dir, int rep)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/bench-%d-%d.sqlite", dir, (int)m, rep);
	struct lle_err e = { 0 };
	struct lle_cache *c;
	if (m == NOCACHE)
		c = lle_cache_open_none(&e);
	else
		c = lle_cache_open(path, &(struct lle_cache_opts){ .sync = m == NORMAL1 ? LLE_CACHE_SYNC_NORMAL : LLE_CACHE_SYNC_FULL }, &e);
	if (!c)
		die(&e);
	static const unsigned char model[32] = { 7 };
	if (m == HIT) { /* fill first, time the second pass */
		struct lle_cache_entry en[1];
		for (int i = 0; i < n; i++) {
			en[0] = (struct lle_cache_entry){ q[i].key, &q[i].resp, -1 };
			if (lle_cache_put_batch(c, 0, en, 1, &e) < 0)
				die(&e);
		}
	}
	double t0 = now();
	struct lle_cache_entry pend[16];
	int np = 0;
	for (int i = 0; i < n; i++) {
		unsigned char key[32] = { 0 };
		struct lle_cache_resp got;
		/* Without a cache a run computes no key at all. */
		if (m != NOCACHE && lle_cache_key(model, &q[i].r, key, &e) < 0)
			die(&e);
		int hit = lle_cache_lookup(c, key, &got, &e);
		if (hit < 0)
			die(&e);
		lle_cache_resp_free(&got);
		if (hit)
			continue;
		if (m == FULL16) {
			pend[np++] = (struct lle_cache_entry){ q[i].key, &q[i].resp, -1 };
			if (np == 16 || i == n - 1) {
				if (lle_cache_put_batch(c, 0, pend, (size_t)np, &e) < 0)
					die(&e);
				np = 0;
			}
		} else if (lle_cache_put(c, key, &q[i].resp, &e) < 0) {
			die(&e);
		}
	}
	double t = now() - t0;
	lle_cache_close(c);
	if (m != NOCACHE) {
		char b[600];
		unlink(path);
		snprintf(b, sizeof(b), "%s-wal", path);
		unlink(b);
		snprintf(b, sizeof(b), "%s-shm", path);
		unlink(b);
	}
	return t;
}

static int bench(int n, int reps, const char *dir)
{
	struct req *q = calloc((size_t)n, sizeof(*q));
	if (!q)
		return 70;
	for (int i = 0; i < n; i++)
		make_req(&q[i], i);
	double *t = calloc((size_t)reps, sizeof(*t));
	double base = 0;
	printf("cache cost per request, %d requests (60%% loglikelihood, 10%% rolling, 30%% generate_until), "
	       "median of %d:\n", n, reps);
	run_mode(NORMAL1, q, n < 200 ? n : 200, dir, 99); /* warm up: page in the texts and SQLite */
	for (int m = NOCACHE; m <= HIT; m++) {
		for (int r = 0; r < reps; r++)
			t[r] = run_mode((enum mode)m, q, n, dir, r);
		double med = median(t, reps) / n * 1e6;
		if (m == NOCACHE)
			base = med;
		if (m == NOCACHE)
			printf("  %-36s %9.1f us/request\n", MODE_NAME[m], med);
		else
			printf("  %-36s %9.1f us/request  (%+.1f us over no cache)\n", MODE_NAME[m], med, med - base);
	}
	for (int i = 0; i < n; i++)
		free_req(&q[i]);
	free(q);

	/* A 10,000-request run, 90% done: what a resumed run does to find the rest. */
	enum { N = 10000, DONE = 9000 };
	char path[512];
	snprintf(path, sizeof(path), "%s/resume.sqlite", dir);
	if (fill(path, N, "resume-run", DONE) != 0)
		return 1;
	unsigned char(*keys)[32] = malloc((size_t)N * 32);
	for (int i = 0; i < N; i++) {
		struct req r;
		make_req(&r, i);
		memcpy(keys[i], r.key, 32);
		free_req(&r);
	}
	struct lle_err e = { 0 };
	double tj[64], tl[64], tm[64];
	size_t nmiss = 0;
	for (int r = 0; r < reps && r < 64; r++) {
		struct lle_cache *c = lle_cache_open(path, NULL, &e);
		if (!c)
			die(&e);
		double t0 = now();
		int64_t id, *miss = NULL;
		if (lle_journal_begin(c, "resume-run", (const unsigned char(*)[32])keys, N, &id, &e) < 0 ||
		    lle_journal_missing(c, id, &miss, &nmiss, &e) < 0)
			die(&e);
		tj[r] = now() - t0;
		free(miss);
		t0 = now();
		if (lle_journal_missing(c, id, &miss, &nmiss, &e) < 0)
			die(&e);
		tm[r] = now() - t0;
		free(miss);
		/* Baseline: no journal, look every key up in the cache. */
		t0 = now();
		size_t n2 = 0;
		for (int i = 0; i < N; i++) {
			struct lle_cache_resp got;
			int h = lle_cache_lookup(c, keys[i], &got, &e);
			if (h < 0)
				die(&e);
			n2 += !h;
			lle_cache_resp_free(&got);
		}
		tl[r] = now() - t0;
		if (n2 != nmiss) {
			fprintf(stderr, "store-cache: journal says %zu missing, lookups %zu\n", nmiss, n2);
			return 1;
		}
		lle_cache_close(c);
	}
	int rr = reps < 64 ? reps : 64;
	double mj = median(tj, rr), mm = median(tm, rr), ml = median(tl, rr);
	printf("finding the missing requests of a %d-request run, %d done (%zu missing), median of %d:\n", N, DONE,
	       nmiss, rr);
	printf("  %-36s %9.2f ms\n", "journal: register plan + list missing", mj * 1e3);
	printf("  %-36s %9.2f ms\n", "journal: list missing only", mm * 1e3);
	printf("  %-36s %9.2f ms  (journal is %.2fx)\n", "baseline: look up every key", ml * 1e3, ml / mj);
	free(keys);
	free(t);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("peak resident memory: %.1f MiB\n", ru.ru_maxrss / 1024.0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "fill") == 0)
		return fill(argv[2], atoi(argv[3]), argc >= 6 ? argv[4] : NULL, argc >= 6 ? atoi(argv[5]) : 0);
	if (argc == 5 && strcmp(argv[1], "bench") == 0)
		return bench(atoi(argv[2]), atoi(argv[3]), argv[4]);
	fprintf(stderr, "usage: store-cache fill PATH N [RUN_NAME DONE] | bench N REPS DIR\n");
	return 2;
}
