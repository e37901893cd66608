/* The response cache and run journal (src/store/cache.c) on real SQLite files:
 * keys (what changes them and what must not), model identities, bit-exact
 * round trips, durability across kill -9 and a torn WAL tail, two processes
 * writing at once, a damaged or foreign file, a file size limit mid-run, and
 * the journal's list of missing requests. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "store/cache.h"
#include "util/buf.h"

static char tmpdir[64];

static char *tpath(const char *name)
{
	static char p[8][256];
	static int i;
	i = (i + 1) % 8;
	snprintf(p[i], sizeof(p[i]), "%s/%s", tmpdir, name);
	return p[i];
}

static void rm_db(const char *path)
{
	char b[300];
	unlink(path);
	snprintf(b, sizeof(b), "%s-wal", path);
	unlink(b);
	snprintf(b, sizeof(b), "%s-shm", path);
	unlink(b);
}

static const unsigned char MODEL[32] = { 1, 2, 3 };

static void keyof(const struct lle_cache_req *r, unsigned char k[32])
{
	struct lle_err e = { 0 };
	if (lle_cache_key(MODEL, r, k, &e) < 0)
		printf("# key error: %s\n", e.msg);
}

static int same(const struct lle_cache_req *a, const struct lle_cache_req *b)
{
	unsigned char ka[32], kb[32];
	keyof(a, ka);
	keyof(b, kb);
	return memcmp(ka, kb, 32) == 0;
}

static void key_n(int i, unsigned char k[32])
{
	char ctx[64];
	snprintf(ctx, sizeof(ctx), "Question %d: what is %d + %d?", i, i, i);
	struct lle_cache_req r = { .kind = LLE_REQ_LOGLIKELIHOOD, .context = ctx, .continuation = " 2" };
	keyof(&r, k);
}

static struct lle_cache_resp resp_n(int i)
{
	struct lle_cache_resp r = { .kind = LLE_REQ_LOGLIKELIHOOD, .logprob = -0.1 * i - 1e-17 * i,
				    .is_greedy = i % 2, .tokens_in = 10 + i, .tokens_out = 1, .seconds = 0.001 * i };
	return r;
}

TEST(key_covers_arguments)
{
	const char *stops_a[] = { "Question:", "</s>" }, *stops_b[] = { "</s>", "Question:" };
	struct lle_cache_req g = { .kind = LLE_REQ_GENERATE_UNTIL, .context = "Q: 1+1?\nA:", .stop = stops_a,
				   .n_stop = 2, .max_tokens = 256 };
	struct lle_cache_req h = g;
	h.stop = stops_b;
	CHECK(same(&g, &h)); /* stop order does not matter */
	h = g;
	h.n_stop = 1;
	CHECK(!same(&g, &h));
	h = g;
	h.max_tokens = 255;
	CHECK(!same(&g, &h));
	h = g;
	h.context = "Q: 1+1?\nA: ";
	CHECK(!same(&g, &h));
	/* Greedy: seed, temperature and top_p do not split the cache. */
	h = g;
	h.seed = 42;
	h.top_p = 0.9;
	CHECK(same(&g, &h));
	h.do_sample = 1; /* do_sample with temperature 0 is still greedy */
	CHECK(same(&g, &h));
	/* Sampled: they do. */
	struct lle_cache_req s1 = g, s2;
	s1.do_sample = 1;
	s1.temperature = 0.7;
	s1.top_p = 0.95;
	s1.seed = 1;
	CHECK(!same(&g, &s1));
	s2 = s1;
	s2.seed = 2;
	CHECK(!same(&s1, &s2));
	s2 = s1;
	s2.temperature = 0.8;
	CHECK(!same(&s1, &s2));
	s2 = s1;
	s2.top_p = 0.9;
	CHECK(!same(&s1, &s2));
	/* Chat template: absent, empty and named all differ. */
	h = g;
	h.chat_template = "";
	CHECK(!same(&g, &h));
	struct lle_cache_req h2 = g;
	h2.chat_template = "chatml";
	CHECK(!same(&h, &h2));
	h2 = g;
	h2.system_instruction = "Be brief.";
	CHECK(!same(&g, &h2));
	h2 = g;
	h2.extra = "{\"min_p\":0.1}";
	CHECK(!same(&g, &h2));
	/* Loglikelihood: the continuation counts, and the kinds differ. */
	struct lle_cache_req l = { .kind = LLE_REQ_LOGLIKELIHOOD, .context = "The capital of France is",
				   .continuation = " Paris" };
	struct lle_cache_req l2 = l;
	l2.continuation = " Lyon";
	CHECK(!same(&l, &l2));
	l2 = l;
	l2.kind = LLE_REQ_LOGLIKELIHOOD_ROLLING;
	CHECK(!same(&l, &l2));
	/* Field boundaries: "ab"+"c" is not "a"+"bc". */
	struct lle_cache_req b1 = { .kind = LLE_REQ_LOGLIKELIHOOD, .context = "ab", .continuation = "c" };
	struct lle_cache_req b2 = { .kind = LLE_REQ_LOGLIKELIHOOD, .context = "a", .continuation = "bc" };
	CHECK(!same(&b1, &b2));
	/* A different model, same request: a different key. */
	unsigned char k1[32], k2[32], other[32] = { 9 };
	struct lle_err e = { 0 };
	lle_cache_key(MODEL, &l, k1, &e);
	lle_cache_key(other, &l, k2, &e);
	CHECK(memcmp(k1, k2, 32) != 0);
	struct lle_cache_req bad = { .kind = 9, .context = "x" };
	CHECK(lle_cache_key(MODEL, &bad, k1, &e) < 0);
}

/* The key format is part of the on-disk format: changing it silently would
 * make every cache miss, so a change must come with KEY_VERSION and this value. */
TEST(key_format_is_stable)
{
	struct lle_cache_req l = { .kind = LLE_REQ_LOGLIKELIHOOD, .context = "The capital of France is",
				   .continuation = " Paris" };
	unsigned char k[32], zero[32] = { 0 };
	char hex[65];
	struct lle_err e = { 0 };
	CHECK(lle_cache_key(zero, &l, k, &e) == 0);
	lle_sha256_hex(k, hex);
	printf("# key %s\n", hex);
	/* Worked out independently of this code (Python's hashlib over the encoding
	 * documented in docs/store.md). */
	CHECK_STREQ(hex, "91a59bfcfa9f225932aa7c8dea8bbc1eb7f520f97016f7227042637ecbeed4af");
}

TEST(model_identity)
{
	char *p = tpath("model.gguf");
	FILE *f = fopen(p, "wb");
	CHECK(f != NULL);
	if (!f)
		return;
	static char blob[3 << 20];
	memcpy(blob, "GGUF", 4);
	CHECK(fwrite(blob, 1, sizeof(blob), f) == sizeof(blob));
	fclose(f);
	struct timespec ts[2] = { { 1700000000, 0 }, { 1700000000, 0 } };
	CHECK(utimensat(AT_FDCWD, p, ts, 0) == 0);
	unsigned char a[32], b[32];
	struct lle_err e = { 0 };
	CHECK(lle_cache_model_id_gguf("llamacpp", p, NULL, a, &e) == 0);
	CHECK(lle_cache_model_id_gguf("llamacpp", p, NULL, b, &e) == 0);
	CHECK(memcmp(a, b, 32) == 0);
	CHECK(lle_cache_model_id_gguf("llamacpp", p, "n_ctx=4096", b, &e) == 0);
	CHECK(memcmp(a, b, 32) != 0);
	/* A header byte changed, the same size and time: a different model. */
	int fd = open(p, O_WRONLY);
	CHECK(pwrite(fd, "X", 1, 100) == 1);
	close(fd);
	CHECK(utimensat(AT_FDCWD, p, ts, 0) == 0);
	CHECK(lle_cache_model_id_gguf("llamacpp", p, NULL, b, &e) == 0);
	CHECK(memcmp(a, b, 32) != 0);
	/* Put it back, then touch it: the time counts. */
	fd = open(p, O_WRONLY);
	CHECK(pwrite(fd, "", 1, 100) == 1);
	close(fd);
	CHECK(utimensat(AT_FDCWD, p, ts, 0) == 0);
	CHECK(lle_cache_model_id_gguf("llamacpp", p, NULL, b, &e) == 0);
	CHECK(memcmp(a, b, 32) == 0);
	ts[1].tv_nsec = 5;
	CHECK(utimensat(AT_FDCWD, p, ts, 0) == 0);
	CHECK(lle_cache_model_id_gguf("llamacpp", p, NULL, b, &e) == 0);
	CHECK(memcmp(a, b, 32) != 0);
	CHECK(lle_cache_model_id_gguf("llamacpp", tpath("nope.gguf"), NULL, b, &e) < 0);
	CHECK(strstr(e.msg, "nope.gguf") && strstr(e.msg, "cannot open"));
	unlink(p);

	const char *u1[] = { "http://10.0.0.1:8000/v1", "http://10.0.0.2:8000/v1/" };
	const char *u2[] = { "http://10.0.0.2:8000/v1", "http://10.0.0.1:8000/v1" };
	CHECK(lle_cache_model_id_server("openai", u1, 2, "Qwen/Qwen2.5-7B", NULL, a, &e) == 0);
	CHECK(lle_cache_model_id_server("openai", u2, 2, "Qwen/Qwen2.5-7B", NULL, b, &e) == 0);
	CHECK(memcmp(a, b, 32) == 0);
	CHECK(lle_cache_model_id_server("openai", u2, 2, "Qwen/Qwen2.5-14B", NULL, b, &e) == 0);
	CHECK(memcmp(a, b, 32) != 0);
	CHECK(lle_cache_model_id_server("openai", u2, 1, "Qwen/Qwen2.5-7B", NULL, b, &e) == 0);
	CHECK(memcmp(a, b, 32) != 0);
}

TEST(round_trip_bit_exact)
{
	char *p = tpath("rt.sqlite");
	struct lle_err e = { 0 };
	struct lle_cache *c = lle_cache_open(p, NULL, &e);
	CHECK(c != NULL);
	if (!c) {
		printf("# %s\n", e.msg);
		return;
	}
	unsigned char k1[32], k2[32], k3[32];
	key_n(1, k1);
	key_n(2, k2);
	key_n(3, k3);
	struct lle_cache_resp r1 = { .kind = LLE_REQ_LOGLIKELIHOOD, .logprob = -1.2345678901234567e-300,
				     .is_greedy = 1, .tokens_in = 7, .tokens_out = 2, .seconds = 0.25 };
	static const char txt[] = "The answer is 18.\0 after a NUL";
	struct lle_cache_resp r2 = { .kind = LLE_REQ_GENERATE_UNTIL, .text = (char *)txt,
				     .text_len = sizeof(txt) - 1, .tokens_out = 9 };
	CHECK(lle_cache_put(c, k1, &r1, &e) == 0);
	CHECK(lle_cache_put(c, k2, &r2, &e) == 0);
	struct lle_cache_resp got;
	CHECK(lle_cache_lookup(c, k3, &got, &e) == 0);
	CHECK(lle_cache_lookup(c, k1, &got, &e) == 1);
	CHECK(memcmp(&got.logprob, &r1.logprob, 8) == 0);
	CHECK(got.is_greedy == 1 && got.kind == LLE_REQ_LOGLIKELIHOOD && got.tokens_in == 7 && got.seconds == 0.25);
	CHECK(got.text == NULL);
	lle_cache_close(c);
	c = lle_cache_open(p, NULL, &e); /* again, from the file */
	CHECK(c && lle_cache_lookup(c, k2, &got, &e) == 1);
	CHECK(got.text_len == sizeof(txt) - 1 && memcmp(got.text, txt, got.text_len) == 0);
	lle_cache_resp_free(&got);
	/* A second put of the same key keeps the first answer. */
	struct lle_cache_resp r1b = r1;
	r1b.logprob = -5;
	CHECK(lle_cache_put(c, k1, &r1b, &e) == 0);
	CHECK(lle_cache_lookup(c, k1, &got, &e) == 1 && got.logprob == r1.logprob);
	struct lle_cache_stats st;
	CHECK(lle_cache_stats(c, &st, &e) == 0);
	CHECK(st.entries == 2 && st.n_loglikelihood == 1 && st.n_generate == 1 && st.text_bytes == (long long)sizeof(txt) - 1);
	CHECK(st.file_bytes > 0 && st.newest >= st.oldest && st.oldest > 0);
	long long removed = 0;
	CHECK(lle_cache_clear(c, &removed, &e) == 0 && removed == 2);
	CHECK(lle_cache_lookup(c, k1, &got, &e) == 0);
	lle_cache_close(c);
	/* Read-only open of a missing file is an error, not a new file. */
	c = lle_cache_open(tpath("missing.sqlite"), &(struct lle_cache_opts){ .readonly = 1 }, &e);
	CHECK(c == NULL && strstr(e.msg, "does not exist"));
	CHECK(access(tpath("missing.sqlite"), F_OK) != 0);
	rm_db(p);
}

TEST(no_cache_mode)
{
	struct lle_err e = { 0 };
	struct lle_cache *c = lle_cache_open_none(&e);
	unsigned char k[32];
	key_n(1, k);
	struct lle_cache_resp r = resp_n(1), got;
	CHECK(lle_cache_put(c, k, &r, &e) == 0);
	CHECK(lle_cache_lookup(c, k, &got, &e) == 0);
	CHECK(lle_cache_path(c) == NULL);
	int64_t run = 7;
	CHECK(lle_journal_begin(c, "r", (const unsigned char(*)[32])k, 1, &run, &e) == 0 && run == 0);
	lle_cache_close(c);
}

/* A child puts n responses one by one and is killed without closing. */
static void child_put_then_die(const char *p, int from, int n, int batch)
{
	struct lle_err e = { 0 };
	struct lle_cache *c = lle_cache_open(p, NULL, &e);
	if (!c) {
		fprintf(stderr, "child: %s\n", e.msg);
		_exit(2);
	}
	for (int i = from; i < from + n; i += batch) {
		unsigned char k[16][32];
		struct lle_cache_resp r[16];
		struct lle_cache_entry en[16];
		int m = 0;
		for (int j = i; j < i + batch && j < from + n; j++, m++) {
			key_n(j, k[m]);
			r[m] = resp_n(j);
			en[m] = (struct lle_cache_entry){ k[m], &r[m], -1 };
		}
		if (lle_cache_put_batch(c, 0, en, (size_t)m, &e) < 0) {
			fprintf(stderr, "child: %s\n", e.msg);
			_exit(3);
		}
	}
	raise(SIGKILL);
	_exit(4);
}

static int count_present(const char *p, int from, int n, int *exact)
{
	struct lle_err e = { 0 };
	struct lle_cache *c = lle_cache_open(p, NULL, &e);
	if (!c) {
		printf("# reopen: %s\n", e.msg);
		return -1;
	}
	int hits = 0;
	*exact = 1;
	for (int i = from; i < from + n; i++) {
		unsigned char k[32];
		struct lle_cache_resp got, want = resp_n(i);
		key_n(i, k);
		int rc = lle_cache_lookup(c, k, &got, &e);
		if (rc == 1) {
			hits++;
			if (memcmp(&got.logprob, &want.logprob, 8) || got.is_greedy != want.is_greedy ||
			    got.tokens_in != want.tokens_in) {
				if (*exact)
					printf("# %d: got %.17g %d %ld, want %.17g %d %ld\n", i, got.logprob,
					       got.is_greedy, got.tokens_in, want.logprob, want.is_greedy, want.tokens_in);
				*exact = 0;
			}
		} else if (rc < 0) {
			printf("# lookup: %s\n", e.msg);
		}
	}
	lle_cache_close(c);
	return hits;
}

TEST(kill9_keeps_commits)
{
	char *p = tpath("kill.sqlite");
	pid_t pid = fork();
	if (pid == 0)
		child_put_then_die(p, 0, 300, 1);
	int st;
	waitpid(pid, &st, 0);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	char wal[300];
	snprintf(wal, sizeof(wal), "%s-wal", p);
	struct stat sb;
	CHECK(stat(wal, &sb) == 0 && sb.st_size > 0); /* the commits are in the WAL, not checkpointed */
	/* A torn write of a transaction that never committed: garbage after the last frame. */
	FILE *f = fopen(wal, "ab");
	CHECK(f != NULL);
	if (f) {
		char junk[3000];
		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (char)(i * 7);
		fwrite(junk, 1, sizeof(junk), f);
		fclose(f);
	}
	int exact;
	CHECK_INTEQ(count_present(p, 0, 300, &exact), 300);
	CHECK(exact);
	rm_db(p);
}

TEST(two_writers_at_once)
{
	char *p = tpath("two.sqlite");
	/* Create the file first so both children find the schema. */
	struct lle_err e = { 0 };
	lle_cache_close(lle_cache_open(p, NULL, &e));
	pid_t a = fork();
	if (a == 0)
		child_put_then_die(p, 0, 400, 1);
	pid_t b = fork();
	if (b == 0)
		child_put_then_die(p, 300, 400, 7); /* 300..399 overlap */
	int sa, sb;
	waitpid(a, &sa, 0);
	waitpid(b, &sb, 0);
	CHECK(WIFSIGNALED(sa) && WTERMSIG(sa) == SIGKILL); /* exited by its own kill, not an error */
	CHECK(WIFSIGNALED(sb) && WTERMSIG(sb) == SIGKILL);
	int exact;
	CHECK_INTEQ(count_present(p, 0, 700, &exact), 700);
	CHECK(exact);
	struct lle_cache *c = lle_cache_open(p, NULL, &e);
	struct lle_cache_stats s;
	CHECK(c && lle_cache_stats(c, &s, &e) == 0 && s.entries == 700);
	lle_cache_close(c);
	rm_db(p);
}

TEST(damaged_and_foreign_files)
{
	struct lle_err e = { 0 };
	char *p = tpath("garbage.sqlite");
	FILE *f = fopen(p, "wb");
	for (int i = 0; i < 8192; i++)
		fputc(i * 13 % 251, f);
	fclose(f);
	struct lle_cache *c = lle_cache_open(p, NULL, &e);
	CHECK(c == NULL);
	CHECK(strstr(e.msg, "is damaged") != NULL && strstr(e.msg, p) != NULL);
	CHECK(e.code == LLE_EXIT_IO);
	struct stat sb;
	CHECK(stat(p, &sb) == 0 && sb.st_size == 8192); /* left as it was */
	rm_db(p);

	/* Another program's SQLite database is not taken over. */
	p = tpath("foreign.sqlite");
	sqlite3 *db;
	sqlite3_open(p, &db);
	sqlite3_exec(db, "PRAGMA application_id=1234; CREATE TABLE t(x); INSERT INTO t VALUES(1);", 0, 0, 0);
	sqlite3_close(db);
	c = lle_cache_open(p, NULL, &e);
	CHECK(c == NULL && strstr(e.msg, "not an llm-eval cache"));
	rm_db(p);

	/* Truncated to half after a clean close: every failure names the damage. */
	p = tpath("trunc.sqlite");
	c = lle_cache_open(p, NULL, &e);
	for (int i = 0; i < 3000; i += 100) {
		unsigned char k[100][32];
		struct lle_cache_resp r[100];
		struct lle_cache_entry en[100];
		for (int j = 0; j < 100; j++) {
			key_n(i + j, k[j]);
			r[j] = resp_n(i + j);
			en[j] = (struct lle_cache_entry){ k[j], &r[j], -1 };
		}
		CHECK(lle_cache_put_batch(c, 0, en, 100, &e) == 0);
	}
	lle_cache_close(c);
	CHECK(stat(p, &sb) == 0);
	CHECK(truncate(p, sb.st_size / 2) == 0);
	c = lle_cache_open(p, NULL, &e);
	int damaged = 0, other = 0;
	if (!c) {
		damaged = strstr(e.msg, "is damaged") != NULL;
	} else {
		for (int i = 0; i < 3000; i++) {
			unsigned char k[32];
			struct lle_cache_resp got;
			key_n(i, k);
			if (lle_cache_lookup(c, k, &got, &e) < 0) {
				if (strstr(e.msg, "is damaged"))
					damaged++;
				else
					other++;
			}
		}
		struct lle_cache_stats s;
		if (lle_cache_stats(c, &s, &e) < 0 && strstr(e.msg, "is damaged"))
			damaged++;
		lle_cache_close(c);
	}
	CHECK(damaged > 0);
	CHECK(other == 0);
	if (other)
		printf("# %s\n", e.msg);
	rm_db(p);
}

/* A file size limit stands in for a full disk: the put that crosses it fails
 * with a clear message, and every put that returned 0 is still there. */
static int exec_sql(const char *path, const char *sql)
{
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		printf("# sql: %s\n", msg ? msg : "?");
	sqlite3_free(msg);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static int sql_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int v = -1;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Issue 13 item 8: a SQLite file whose application_id is 0 but which holds
 * another program's tables is refused before anything is written (it stays
 * in rollback-journal mode, without our tables); an empty file is taken. */
TEST(foreign_file_without_application_id)
{
	struct lle_err e = { 0 };
	char *p = tpath("noid.sqlite");
	CHECK(exec_sql(p, "CREATE TABLE notes(x TEXT); INSERT INTO notes VALUES('mine');") == 0);
	struct stat before, after;
	CHECK(stat(p, &before) == 0);
	struct lle_cache *c = lle_cache_open(p, NULL, &e);
	CHECK(c == NULL);
	CHECK(strstr(e.msg, "is a SQLite database but not an llm-eval cache") != NULL && strstr(e.msg, p));
	CHECK_INTEQ(e.code, LLE_EXIT_IO);
	lle_cache_close(c);
	CHECK(sql_int(p, "SELECT count(*) FROM sqlite_master WHERE name = 'responses'") == 0);
	CHECK(sql_int(p, "SELECT journal_mode = 'delete' FROM pragma_journal_mode") == 1);
	CHECK(stat(p, &after) == 0 && after.st_size == before.st_size);
	c = lle_cache_open(p, &(struct lle_cache_opts){ .readonly = 1 }, &e);
	CHECK(c == NULL && strstr(e.msg, "not an llm-eval cache"));
	rm_db(p);

	/* an empty file (as `touch` leaves it) is a new cache */
	p = tpath("empty.sqlite");
	FILE *f = fopen(p, "wb");
	fclose(f);
	c = lle_cache_open(p, NULL, &e);
	CHECK(c != NULL);
	unsigned char k[32];
	key_n(1, k);
	struct lle_cache_resp r = resp_n(1);
	CHECK(c && lle_cache_put(c, k, &r, &e) == 0);
	lle_cache_close(c);
	CHECK(sql_int(p, "PRAGMA application_id") == 0x4c4c4543);
	rm_db(p);
}

/* Issue 13 item 8: a flipped byte in a stored text or log-probability, a NULL
 * put into a column, a count changed: each record fails its checksum and is a
 * miss (counted; the rest still hit), and a put of its key replaces it. */
TEST(damaged_records_are_misses)
{
	struct lle_err e = { 0 };
	char *p = tpath("records.sqlite");
	struct lle_cache *c = lle_cache_open(p, NULL, &e);
	CHECK(c != NULL);
	if (!c)
		return;
	unsigned char k[6][32];
	struct lle_cache_resp r[6];
	for (int i = 0; i < 6; i++) {
		key_n(i, k[i]);
		r[i] = resp_n(i);
	}
	r[0].kind = r[1].kind = LLE_REQ_GENERATE_UNTIL;
	r[0].text = "The answer is 42.";
	r[0].text_len = strlen(r[0].text);
	r[1].text = "";
	r[1].text_len = 0;
	r[2].seconds = -0.0; /* kept by SQLite as the integer 0: the check must allow it */
	for (int i = 0; i < 6; i++)
		CHECK(lle_cache_put(c, k[i], &r[i], &e) == 0);
	lle_cache_close(c);
	/* damage four records the way a bad disk or a hand edit would */
	CHECK(exec_sql(p, "UPDATE responses SET text = CAST('The answer is 43.' AS BLOB) "
			  "WHERE text = CAST('The answer is 42.' AS BLOB);"
			  "UPDATE responses SET logprob = NULL WHERE tok_in = 13;"
			  "UPDATE responses SET logprob = CAST(x'3ff0000000000000' AS BLOB) WHERE tok_in = 14;"
			  "UPDATE responses SET tok_out = -2147483648 WHERE tok_in = 15;") == 0);
	c = lle_cache_open(p, NULL, &e);
	CHECK(c != NULL);
	if (!c)
		return;
	struct lle_cache_resp got;
	int hits[6];
	for (int i = 0; i < 6; i++) {
		hits[i] = lle_cache_lookup(c, k[i], &got, &e);
		lle_cache_resp_free(&got);
	}
	CHECK(hits[0] == 0 && hits[1] == 1 && hits[2] == 1);
	CHECK(hits[3] == 0 && hits[4] == 0 && hits[5] == 0);
	CHECK_INTEQ(lle_cache_bad_records(c), 4);
	/* the answer asked for again replaces each damaged record */
	for (int i = 0; i < 6; i++)
		CHECK(lle_cache_put(c, k[i], &r[i], &e) == 0);
	for (int i = 0; i < 6; i++) {
		CHECK(lle_cache_lookup(c, k[i], &got, &e) == 1);
		CHECK(got.tokens_out == r[i].tokens_out && got.kind == r[i].kind);
		if (r[i].kind == LLE_REQ_GENERATE_UNTIL)
			CHECK(got.text_len == r[i].text_len && memcmp(got.text, r[i].text, got.text_len) == 0);
		else
			CHECK(memcmp(&got.logprob, &r[i].logprob, 8) == 0);
		lle_cache_resp_free(&got);
	}
	CHECK_INTEQ(lle_cache_bad_records(c), 4);
	/* a good record is still never overwritten: the first answer stays */
	struct lle_cache_resp other = r[2];
	other.logprob = -99;
	CHECK(lle_cache_put(c, k[2], &other, &e) == 0);
	CHECK(lle_cache_lookup(c, k[2], &got, &e) == 1 && got.logprob == r[2].logprob);
	lle_cache_close(c);
	rm_db(p);
}

/* A version 1 cache (before checksums) is upgraded in place when opened for
 * writing: its records keep hitting, and one already wrong (a NULL
 * log-probability) gets no checksum and is a miss. Read-only, it is read as
 * it is. */
TEST(version1_upgrade)
{
	struct lle_err e = { 0 };
	char *p = tpath("v1.sqlite");
	unsigned char k0[32], k1[32];
	key_n(0, k0);
	key_n(1, k1);
	char sql[2048];
	char h0[65], h1[65];
	for (int i = 0; i < 32; i++) {
		snprintf(h0 + 2 * i, 3, "%02x", k0[i]);
		snprintf(h1 + 2 * i, 3, "%02x", k1[i]);
	}
	snprintf(sql, sizeof(sql),
		 "PRAGMA journal_mode=WAL;"
		 "CREATE TABLE responses(key BLOB PRIMARY KEY, kind INTEGER NOT NULL, logprob BLOB,"
		 " greedy INTEGER, text BLOB, tok_in INTEGER, tok_out INTEGER, seconds REAL,"
		 " created INTEGER NOT NULL) WITHOUT ROWID;"
		 "CREATE TABLE jruns(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, total INTEGER NOT NULL,"
		 " created INTEGER NOT NULL);"
		 "CREATE TABLE jreqs(run INTEGER NOT NULL, idx INTEGER NOT NULL, key BLOB NOT NULL,"
		 " done INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(run, idx)) WITHOUT ROWID;"
		 "CREATE INDEX jreqs_todo ON jreqs(run, idx) WHERE done = 0;"
		 "INSERT INTO responses VALUES(x'%s', 1, x'bff0000000000000', 1, NULL, 7, 1, 0.5, 1);"
		 "INSERT INTO responses VALUES(x'%s', 1, NULL, 1, NULL, 7, 1, 0.5, 1);"
		 "PRAGMA application_id=1280066883; PRAGMA user_version=1;", h0, h1);
	CHECK(exec_sql(p, sql) == 0);
	struct lle_cache_resp got;
	struct lle_cache *c = lle_cache_open(p, &(struct lle_cache_opts){ .readonly = 1 }, &e);
	CHECK(c && lle_cache_lookup(c, k0, &got, &e) == 1 && got.logprob == -1.0);
	lle_cache_close(c);
	CHECK(sql_int(p, "PRAGMA user_version") == 1);
	c = lle_cache_open(p, NULL, &e);
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(sql_int(p, "PRAGMA user_version") == 2);
	CHECK(lle_cache_lookup(c, k0, &got, &e) == 1 && got.logprob == -1.0 && got.is_greedy == 1 &&
	      got.tokens_in == 7 && got.seconds == 0.5);
	CHECK(lle_cache_lookup(c, k1, &got, &e) == 0);
	CHECK_INTEQ(lle_cache_bad_records(c), 1);
	lle_cache_close(c);
	/* a version this llm-eval cannot upgrade from is refused, naming both */
	CHECK(exec_sql(p, "PRAGMA user_version=3") == 0);
	c = lle_cache_open(p, NULL, &e);
	CHECK(c == NULL && strstr(e.msg, "has format version 3, this llm-eval reads up to 2"));
	rm_db(p);
}

TEST(file_size_limit)
{
	char *p = tpath("full.sqlite");
	struct lle_err e = { 0 };
	lle_cache_close(lle_cache_open(p, NULL, &e));
	int fds[2];
	CHECK(pipe(fds) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		signal(SIGXFSZ, SIG_IGN);
		struct rlimit rl = { 256 * 1024, 256 * 1024 };
		setrlimit(RLIMIT_FSIZE, &rl);
		struct lle_cache *c = lle_cache_open(p, NULL, &e);
		int ok = 0;
		static char text[2000];
		memset(text, 'x', sizeof(text));
		for (int i = 0; c && i < 10000; i++) {
			unsigned char k[32];
			key_n(i, k);
			struct lle_cache_resp r = { .kind = LLE_REQ_GENERATE_UNTIL, .text = text,
						    .text_len = sizeof(text) };
			if (lle_cache_put(c, k, &r, &e) < 0)
				break;
			ok++;
		}
		char msg[1100];
		int n = snprintf(msg, sizeof(msg), "%d %s", ok, e.msg);
		if (write(fds[1], msg, (size_t)n) != n)
			_exit(5);
		_exit(0); /* no close: as if the run stopped there */
	}
	close(fds[1]);
	char msg[1100] = "";
	ssize_t n = read(fds[0], msg, sizeof(msg) - 1);
	close(fds[0]);
	waitpid(pid, NULL, 0);
	msg[n > 0 ? n : 0] = '\0';
	int ok = atoi(msg);
	printf("# %s\n", msg);
	CHECK(ok > 10 && ok < 10000);
	CHECK(strstr(msg, "full.sqlite") != NULL);
	CHECK(strstr(msg, "file size limit") != NULL || strstr(msg, "too large") != NULL);
	CHECK(strstr(msg, "committed before is kept") != NULL);
	struct lle_cache *c = lle_cache_open(p, NULL, &e);
	int hits = 0;
	for (int i = 0; c && i < ok + 5; i++) {
		unsigned char k[32];
		struct lle_cache_resp got;
		key_n(i, k);
		if (lle_cache_lookup(c, k, &got, &e) == 1 && got.text_len == 2000)
			hits++;
		lle_cache_resp_free(&got);
	}
	lle_cache_close(c);
	CHECK_INTEQ(hits, ok);
	rm_db(p);
}

TEST(journal)
{
	char *p = tpath("journal.sqlite");
	struct lle_err e = { 0 };
	struct lle_cache *c = lle_cache_open(p, &(struct lle_cache_opts){ .sync = LLE_CACHE_SYNC_NORMAL }, &e);
	CHECK(c != NULL);
	if (!c)
		return;
	enum { N = 1000 };
	static unsigned char keys[N][32];
	for (int i = 0; i < N; i++)
		key_n(i, keys[i]);
	/* 300 answered already (say by an earlier run): every third request. */
	for (int i = 0; i < N; i += 3) {
		struct lle_cache_resp r = resp_n(i);
		if (i < 900)
			CHECK(lle_cache_put(c, keys[i], &r, &e) == 0);
	}
	int64_t run;
	CHECK(lle_journal_begin(c, "gsm8k@abc", (const unsigned char(*)[32])keys, N, &run, &e) == 0 && run > 0);
	int64_t *miss;
	size_t nmiss;
	CHECK(lle_journal_missing(c, run, &miss, &nmiss, &e) == 0);
	CHECK_INTEQ(nmiss, N - 300);
	int sorted = 1, none_done = 1;
	for (size_t i = 0; i < nmiss; i++) {
		if (i && miss[i] <= miss[i - 1])
			sorted = 0;
		if (miss[i] % 3 == 0 && miss[i] < 900)
			none_done = 0;
	}
	CHECK(sorted && none_done);
	/* Answer ten of them in one batch, marked in the journal. */
	struct lle_cache_entry en[10];
	struct lle_cache_resp rs[10];
	for (int i = 0; i < 10; i++) {
		rs[i] = resp_n((int)miss[i]);
		en[i] = (struct lle_cache_entry){ keys[miss[i]], &rs[i], miss[i] };
	}
	CHECK(lle_cache_put_batch(c, run, en, 10, &e) == 0);
	free(miss);
	long long total, done;
	CHECK(lle_journal_progress(c, "gsm8k@abc", &total, &done, &e) == 1);
	CHECK(total == N && done == 310);
	CHECK(lle_journal_progress(c, "nope", &total, &done, &e) == 0);
	/* Another process put request 1 meanwhile; this run marks it on its hit. */
	int64_t one = 998;
	CHECK(lle_journal_mark_done(c, run, &one, 1, &e) == 0);
	CHECK(lle_journal_progress(c, "gsm8k@abc", &total, &done, &e) == 1 && done == 311);
	/* Beginning again (a resumed run) keeps what is done and picks up new answers. */
	struct lle_cache_resp r2 = resp_n(997);
	CHECK(lle_cache_put(c, keys[997], &r2, &e) == 0);
	int64_t run2;
	CHECK(lle_journal_begin(c, "gsm8k@abc", (const unsigned char(*)[32])keys, N, &run2, &e) == 0);
	CHECK(run2 == run);
	CHECK(lle_journal_progress(c, "gsm8k@abc", &total, &done, &e) == 1 && done == 312);
	/* A changed plan: request 0's key is now another one, and the run is shorter. */
	key_n(5000, keys[0]);
	CHECK(lle_journal_begin(c, "gsm8k@abc", (const unsigned char(*)[32])keys, 500, &run2, &e) == 0);
	CHECK(lle_journal_missing(c, run, &miss, &nmiss, &e) == 0);
	CHECK(nmiss > 0 && miss[0] == 0 && miss[nmiss - 1] < 500);
	free(miss);
	int n_runs = 0;
	CHECK(lle_journal_progress(c, "gsm8k@abc", &total, &done, &e) == 1 && total == 500);
	lle_cache_close(c);
	(void)n_runs;
	rm_db(p);
}

TEST(batches)
{
	char *p = tpath("batch.sqlite");
	struct lle_err e = { 0 };
	struct lle_cache *c = lle_cache_open(p, NULL, &e);
	CHECK(c != NULL);
	if (!c)
		return;
	enum { N = 40 };
	static unsigned char keys[N][32];
	for (int i = 0; i < N; i++)
		key_n(1000 + i, keys[i]);
	int64_t run;
	CHECK(lle_journal_begin(c, "b", (const unsigned char(*)[32])keys, N, &run, &e) == 0);
	struct lle_cache_batch *b = lle_cache_batch_new(c, run, 16, &e);
	CHECK(b != NULL);
	if (!b)
		return;
	int committed = 0, commits = 0;
	for (int i = 0; i < N; i++) {
		char text[32];
		snprintf(text, sizeof(text), "answer %d", i);
		struct lle_cache_resp r = { .kind = LLE_REQ_GENERATE_UNTIL, .text = text, .text_len = strlen(text) };
		int k = lle_cache_batch_add(b, keys[i], &r, i, &e);
		memset(text, 'X', sizeof(text) - 1); /* the batch has its own copy */
		CHECK(k >= 0);
		committed += k;
		commits += k > 0;
	}
	CHECK(committed == 32 && commits == 2 && lle_cache_batch_pending(b) == 8);
	long long total, done;
	CHECK(lle_journal_progress(c, "b", &total, &done, &e) == 1 && total == N && done == 32);
	CHECK(lle_cache_batch_flush(b, &e) == 8 && lle_cache_batch_pending(b) == 0);
	CHECK(lle_cache_batch_flush(b, &e) == 0);
	CHECK(lle_journal_progress(c, "b", &total, &done, &e) == 1 && done == N);
	lle_cache_batch_free(b);
	struct lle_cache_resp got;
	CHECK(lle_cache_lookup(c, keys[37], &got, &e) == 1 && got.text && strcmp(got.text, "answer 37") == 0);
	lle_cache_resp_free(&got);
	/* Freed with responses pending: they are dropped, nothing else changes. */
	b = lle_cache_batch_new(c, 0, 4, &e);
	unsigned char k2[32];
	key_n(99999, k2);
	struct lle_cache_resp r2 = resp_n(1);
	CHECK(lle_cache_batch_add(b, k2, &r2, -1, &e) == 0);
	lle_cache_batch_free(b);
	CHECK(lle_cache_lookup(c, k2, &got, &e) == 0);
	lle_cache_close(c);
	rm_db(p);
}

/* The resume protocol a run follows, killed with SIGKILL at several points:
 * each restart sends exactly the requests the journal says are missing, and
 * the final answers equal those of an uninterrupted run. The "backend" is a
 * deterministic function of the request index. */
static double answer(int64_t i)
{
	return -0.001 * (double)(i * 7919 % 1000) - 1e-9 * (double)i;
}

static void resume_child(const char *p, int n, int kill_after, int fd)
{
	struct lle_err e = { 0 };
	struct lle_cache *c = lle_cache_open(p, NULL, &e);
	if (!c)
		_exit(2);
	unsigned char(*keys)[32] = malloc((size_t)n * 32);
	for (int i = 0; i < n; i++)
		key_n(20000 + i, keys[i]);
	int64_t run, *miss;
	size_t nmiss;
	if (lle_journal_begin(c, "resume", (const unsigned char(*)[32])keys, (size_t)n, &run, &e) < 0 ||
	    lle_journal_missing(c, run, &miss, &nmiss, &e) < 0)
		_exit(3);
	long long sent = (long long)nmiss;
	if (write(fd, &sent, sizeof(sent)) != (ssize_t)sizeof(sent))
		_exit(4);
	struct lle_cache_batch *b = lle_cache_batch_new(c, run, 7, &e);
	for (size_t k = 0; k < nmiss; k++) {
		if ((int)k == kill_after)
			raise(SIGKILL);
		struct lle_cache_resp r = { .kind = LLE_REQ_LOGLIKELIHOOD, .logprob = answer(miss[k]) };
		if (lle_cache_batch_add(b, keys[miss[k]], &r, miss[k], &e) < 0)
			_exit(5);
	}
	if (lle_cache_batch_flush(b, &e) < 0)
		_exit(6);
	_exit(0);
}

TEST(resume_after_kill9)
{
	char *p = tpath("resume.sqlite");
	enum { N = 500 };
	const int kills[] = { 13, 50, 101, 3, 160, -1 };
	long long done_before = 0, total = 0, done = 0;
	struct lle_err e = { 0 };
	for (size_t r = 0; r < sizeof(kills) / sizeof(kills[0]); r++) {
		int fds[2];
		CHECK(pipe(fds) == 0);
		pid_t pid = fork();
		if (pid == 0) {
			close(fds[0]);
			resume_child(p, N, kills[r], fds[1]);
		}
		close(fds[1]);
		long long sent = -1;
		CHECK(read(fds[0], &sent, sizeof(sent)) == (ssize_t)sizeof(sent));
		close(fds[0]);
		int st;
		waitpid(pid, &st, 0);
		CHECK(kills[r] < 0 ? WIFEXITED(st) && WEXITSTATUS(st) == 0 : WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		CHECK_INTEQ(sent, N - done_before); /* exactly the missing ones were sent */
		struct lle_cache *c = lle_cache_open(p, NULL, &e);
		CHECK(c && lle_journal_progress(c, "resume", &total, &done, &e) == 1);
		lle_cache_close(c);
		if (kills[r] >= 0) /* batches of 7: what was committed before the kill, no more */
			CHECK_INTEQ(done - done_before, kills[r] / 7 * 7);
		done_before = done;
	}
	CHECK(total == N && done == N);
	/* Every answer is there, bit for bit. */
	struct lle_cache *c = lle_cache_open(p, NULL, &e);
	int same = c != NULL;
	for (int i = 0; c && i < N; i++) {
		unsigned char k[32];
		struct lle_cache_resp got;
		double want = answer(i);
		key_n(20000 + i, k);
		if (lle_cache_lookup(c, k, &got, &e) != 1 || memcmp(&got.logprob, &want, 8) != 0)
			same = 0;
	}
	CHECK(same);
	lle_cache_close(c);
	rm_db(p);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lle-cache-XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	RUN(key_covers_arguments);
	RUN(key_format_is_stable);
	RUN(model_identity);
	RUN(round_trip_bit_exact);
	RUN(no_cache_mode);
	RUN(kill9_keeps_commits);
	RUN(two_writers_at_once);
	RUN(damaged_and_foreign_files);
	RUN(foreign_file_without_application_id);
	RUN(damaged_records_are_misses);
	RUN(version1_upgrade);
	RUN(file_size_limit);
	RUN(journal);
	RUN(batches);
	RUN(resume_after_kill9);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		return 1;
	return check_done();
}
