/* Fuzz driver: the response cache (src/store/cache.c).
 *
 * Input: one mode byte, then the rest.
 *   even  the rest is a cache file (a mutated real one from the seed corpus):
 *         it is opened read-only as `cache stats` and a resumed run open it,
 *         its statistics and journals are listed, and the responses of up to
 *         16 of its keys are looked up. A corrupt file must be refused with
 *         an error, never read out of bounds.
 *   odd   the rest is split at NUL bytes into a request (context,
 *         continuation, stop strings) and a response text; the request is
 *         keyed, the response stored in a per-process cache and looked up
 *         again, directly and through a batch with a journal: what comes back
 *         must be what was stored (text bytes, NULs included, and numbers).
 *         The model identity is the input's SHA-256, so two inputs that get
 *         one key are a key collision, which the check would also catch.
 * Errors are normal outcomes; crashes, sanitizer reports, leaks and a
 * round trip that changes the response are findings. */
#include <math.h>
#include <sqlite3.h>

#include "fuzz.h"
#include "store/cache.h"
#include "util/sha256.h"

static struct lle_cache *rw;

static void close_rw(void)
{
	lle_cache_close(rw);
	rw = NULL;
}

static int each_run(void *arg, const char *name, long long total, long long done, long long created)
{
	size_t *n = arg;
	*n += (name ? strlen(name) : 0) + (size_t)(total - done) + (size_t)created;
	return 0;
}

static void read_file(const uint8_t *data, size_t size)
{
	char path[4200];
	fuzz_path(path, sizeof(path), "cache.sqlite");
	/* A WAL left from the previous input would be replayed into this one. */
	char wal[4300];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	unlink(wal);
	snprintf(wal, sizeof(wal), "%s-shm", path);
	unlink(wal);
	fuzz_write(path, data, size);

	/* The keys to look up, read with SQLite directly (NULL when it is not a cache). */
	unsigned char keys[16][LLE_SHA256_LEN];
	int nkeys = 0;
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(db, "SELECT key FROM responses LIMIT 16", -1, &st, NULL) == SQLITE_OK)
			while (nkeys < 16 && sqlite3_step(st) == SQLITE_ROW)
				if (sqlite3_column_bytes(st, 0) == LLE_SHA256_LEN)
					memcpy(keys[nkeys++], sqlite3_column_blob(st, 0), LLE_SHA256_LEN);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);

	struct lle_err err = { 0 };
	struct lle_cache_opts o = { .readonly = 1, .busy_timeout_ms = 1 };
	struct lle_cache *c = lle_cache_open(path, &o, &err);
	if (!c)
		return;
	struct lle_cache_stats st;
	lle_cache_stats(c, &st, &err);
	size_t sink = 0;
	lle_journal_each(c, each_run, &sink, &err);
	long long total, done;
	lle_journal_progress(c, "fuzz", &total, &done, &err);
	for (int i = 0; i < nkeys; i++) {
		struct lle_cache_resp r;
		if (lle_cache_lookup(c, keys[i], &r, &err) == 1 && r.text && strlen(r.text) > r.text_len)
			abort();
		lle_cache_resp_free(&r);
	}
	lle_cache_close(c);
}

/* The next NUL-separated piece of [*p, end), as a new string; *n its length. */
static char *piece(const uint8_t **p, const uint8_t *end, size_t *n)
{
	const uint8_t *z = memchr(*p, 0, (size_t)(end - *p));
	size_t k = z ? (size_t)(z - *p) : (size_t)(end - *p);
	char *s = fuzz_strndup(*p, k);
	*p = z ? z + 1 : end;
	if (n)
		*n = k;
	return s;
}

static void round_trip(const uint8_t *data, size_t size)
{
	struct lle_err err = { 0 };
	if (!rw) {
		char path[4200];
		struct lle_cache_opts o = { .sync = LLE_CACHE_SYNC_NORMAL };
		rw = lle_cache_open(fuzz_path(path, sizeof(path), "rw.sqlite"), &o, &err);
		if (!rw) {
			fprintf(stderr, "fuzz: %s\n", err.msg);
			abort();
		}
		atexit(close_rw);
	}
	const uint8_t *p = data, *end = data + size;
	int kind = size ? 1 + data[0] % 3 : 1;
	char *context = piece(&p, end, NULL), *cont = piece(&p, end, NULL);
	char *stops[4];
	size_t nstop = 0;
	while (nstop < 2 && p < end)
		stops[nstop++] = piece(&p, end, NULL);
	/* The response text is the rest, NULs and all. */
	size_t tlen = (size_t)(end - p);
	char *text = fuzz_strndup(p, tlen);

	struct lle_cache_req rq = { .kind = kind, .context = context, .continuation = cont,
				    .stop = (const char *const *)stops, .n_stop = nstop,
				    .max_tokens = (long)size, .do_sample = (int)(size & 1), .temperature = 0.5,
				    .top_p = 0.9, .seed = size, .extra = nstop ? stops[0] : NULL };
	/* The model identity is the whole input's hash: keys that collide are
	 * then bugs of the key, not two answers to one request. */
	unsigned char model[LLE_SHA256_LEN], key[LLE_SHA256_LEN];
	lle_sha256(data, size, model);
	if (lle_cache_key(model, &rq, key, &err) == 0) {
		/* A generation has no log-probability (cache.h): none is stored. */
		int gen = kind == LLE_REQ_GENERATE_UNTIL;
		struct lle_cache_resp put = { .kind = kind, .logprob = gen ? 0 : -(double)tlen / 3.0,
					      .is_greedy = gen ? 0 : (int)(tlen & 1),
					      .text = kind == LLE_REQ_GENERATE_UNTIL ? text : NULL,
					      .text_len = kind == LLE_REQ_GENERATE_UNTIL ? tlen : 0,
					      .tokens_in = (long)strlen(context), .tokens_out = (long)tlen,
					      .seconds = 0.25 };
		struct lle_cache_batch *b = lle_cache_batch_new(rw, 0, 2, &err);
		if (!b)
			abort();
		if (lle_cache_batch_add(b, key, &put, -1, &err) < 0 || lle_cache_batch_flush(b, &err) < 0) {
			fprintf(stderr, "fuzz: %s\n", err.msg);
			abort();
		}
		lle_cache_batch_free(b);
		struct lle_cache_resp got;
		if (lle_cache_lookup(rw, key, &got, &err) != 1)
			abort();
		/* The same request gives the same answer, whoever stored it first. */
		if (got.kind != put.kind || got.logprob != put.logprob || got.is_greedy != put.is_greedy ||
		    got.tokens_in != put.tokens_in || got.tokens_out != put.tokens_out || got.seconds != put.seconds ||
		    (put.text && (!got.text || got.text_len != tlen || memcmp(got.text, text, tlen) != 0)) ||
		    (!put.text && got.text))
			abort();
		lle_cache_resp_free(&got);
	}
	free(text);
	for (size_t i = 0; i < nstop; i++)
		free(stops[i]);
	free(context);
	free(cont);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] % 2 == 0)
		read_file(data + 1, size - 1);
	else
		round_trip(data + 1, size - 1);
	return 0;
}
