/* The response cache and run journal: see cache.h for what and why.
 *
 * Schema (user_version 2, application_id 'LLEC'):
 *   responses(key BLOB PRIMARY KEY, kind, logprob, greedy, text, tok_in, tok_out, seconds, created, sum)
 *   jruns(id INTEGER PRIMARY KEY, name UNIQUE, total, created)
 *   jreqs(run, idx, key, done, PRIMARY KEY(run, idx))   + partial index on done = 0
 * logprob is stored as the 8 bytes of the IEEE double (big-endian), not as a
 * REAL: SQLite stores an integral REAL as an integer and would turn -0.0 into
 * 0.0, and a resumed run must give results identical bit for bit.
 *
 * sum (version 2) is the SHA-256 of everything a lookup returns (see
 * resp_sum): a lookup recomputes it and serves a row only when it matches, so
 * a flipped byte, a NULL put into a column or a row edited by hand is a miss
 * (warned about once per cache), and the next put of that key replaces it.
 * Version 1 files are upgraded in place: the column is added and every row's
 * sum computed from what it holds (a row already wrong then gets none and is
 * a miss). */
#include "store/cache.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/sqlutil.h"
#include "util/buf.h"
#include "util/diag.h"
#include "util/path.h"

#define CACHE_APP_ID 0x4c4c4543 /* "LLEC" */
#define CACHE_VERSION 2
#define KEY_VERSION 1
#define WHAT "cache"

static const char SCHEMA[] =
	"CREATE TABLE responses(key BLOB PRIMARY KEY, kind INTEGER NOT NULL, logprob BLOB,"
	" greedy INTEGER, text BLOB, tok_in INTEGER, tok_out INTEGER, seconds REAL,"
	" created INTEGER NOT NULL, sum BLOB) WITHOUT ROWID;"
	"CREATE TABLE jruns(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, total INTEGER NOT NULL,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE jreqs(run INTEGER NOT NULL, idx INTEGER NOT NULL, key BLOB NOT NULL,"
	" done INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(run, idx)) WITHOUT ROWID;"
	"CREATE INDEX jreqs_todo ON jreqs(run, idx) WHERE done = 0;";

/* The columns a sum covers, in order, as in SQL_COLS. */
#define SQL_COLS "key, kind, logprob, greedy, text, tok_in, tok_out, seconds"
#define N_COLS 8

static const char *const UPGRADE[] = {
	/* 1 -> 2: the checksum of every row, from what it holds now */
	"ALTER TABLE responses ADD COLUMN sum BLOB;"
	"UPDATE responses SET sum = lle_resp_sum(" SQL_COLS ");",
};

struct lle_cache {
	sqlite3 *db;            /* NULL in no-cache mode */
	char *path;
	sqlite3_stmt *get, *put, *mark;
	int legacy;             /* a version 1 file opened read-only: no sums to check */
	long long n_bad;        /* records that failed their check (lookups) */
};

/* --- record checksums --- */

static void h_field(struct lle_sha256 *h, unsigned char tag, const void *p, size_t n);
static void h_u64(struct lle_sha256 *h, unsigned char tag, uint64_t v);

/* One stored row as SQLite gives it back (types as stored). */
struct row {
	int type[N_COLS];
	const void *blob[N_COLS];   /* key, logprob, text */
	int bytes[N_COLS];
	sqlite3_int64 i[N_COLS];    /* kind, greedy, tok_in, tok_out */
	double d;                   /* seconds */
};

static void row_set(struct row *r, int k, int type, const void *blob, int bytes, sqlite3_int64 i, double d)
{
	r->type[k] = type;
	r->blob[k] = blob;
	r->bytes[k] = bytes;
	r->i[k] = i;
	if (k == 7)
		r->d = d;
}

static void row_from_stmt(struct row *r, sqlite3_stmt *st)
{
	for (int k = 0; k < N_COLS; k++) {
		int t = sqlite3_column_type(st, k);
		const void *b = t == SQLITE_BLOB || t == SQLITE_TEXT ? sqlite3_column_blob(st, k) : NULL;
		int n = b ? sqlite3_column_bytes(st, k) : 0;
		row_set(r, k, t, b, n, t == SQLITE_INTEGER ? sqlite3_column_int64(st, k) : 0,
			t == SQLITE_INTEGER || t == SQLITE_FLOAT ? sqlite3_column_double(st, k) : 0);
	}
}

static void row_from_values(struct row *r, sqlite3_value **v)
{
	for (int k = 0; k < N_COLS; k++) {
		int t = sqlite3_value_type(v[k]);
		const void *b = t == SQLITE_BLOB || t == SQLITE_TEXT ? sqlite3_value_blob(v[k]) : NULL;
		int n = b ? sqlite3_value_bytes(v[k]) : 0;
		row_set(r, k, t, b, n, t == SQLITE_INTEGER ? sqlite3_value_int64(v[k]) : 0,
			t == SQLITE_INTEGER || t == SQLITE_FLOAT ? sqlite3_value_double(v[k]) : 0);
	}
}

/* The checksum of a row: 0 and sum set, or -1 when the row cannot be a stored
 * response at all (a key that is not 32 bytes, an unknown kind, a
 * log-likelihood without its 8 bytes, a generation without text, a missing
 * count). Every field put_one writes and lookup returns is in it. */
static int resp_sum(const struct row *r, unsigned char sum[LLE_SHA256_LEN])
{
	enum { KEY, KIND, LP, GREEDY, TEXT, TIN, TOUT, SECS };
	if (r->type[KEY] != SQLITE_BLOB || r->bytes[KEY] != LLE_SHA256_LEN || r->type[KIND] != SQLITE_INTEGER ||
	    r->type[TIN] != SQLITE_INTEGER || r->type[TOUT] != SQLITE_INTEGER ||
	    (r->type[SECS] != SQLITE_FLOAT && r->type[SECS] != SQLITE_INTEGER))
		return -1;
	sqlite3_int64 kind = r->i[KIND];
	if (kind == LLE_REQ_GENERATE_UNTIL) {
		if ((r->type[TEXT] != SQLITE_BLOB && r->type[TEXT] != SQLITE_TEXT) || r->type[LP] != SQLITE_NULL ||
		    r->type[GREEDY] != SQLITE_NULL)
			return -1;
	} else if (kind == LLE_REQ_LOGLIKELIHOOD || kind == LLE_REQ_LOGLIKELIHOOD_ROLLING) {
		if (r->type[LP] != SQLITE_BLOB || r->bytes[LP] != 8 || r->type[GREEDY] != SQLITE_INTEGER ||
		    (r->i[GREEDY] != 0 && r->i[GREEDY] != 1) || r->type[TEXT] != SQLITE_NULL)
			return -1;
	} else {
		return -1;
	}
	struct lle_sha256 h;
	lle_sha256_init(&h);
	h_field(&h, 1, "llm-eval response sum", 21);
	h_u64(&h, 2, CACHE_VERSION);
	h_field(&h, 3, r->blob[KEY], LLE_SHA256_LEN);
	h_u64(&h, 4, (uint64_t)kind);
	if (kind == LLE_REQ_GENERATE_UNTIL) {
		h_field(&h, 7, r->bytes[TEXT] ? r->blob[TEXT] : "", (size_t)r->bytes[TEXT]);
	} else {
		h_field(&h, 5, r->blob[LP], 8);
		h_u64(&h, 6, (uint64_t)r->i[GREEDY]);
	}
	h_u64(&h, 8, (uint64_t)r->i[TIN]);
	h_u64(&h, 9, (uint64_t)r->i[TOUT]);
	double d = r->d == 0 ? 0 : r->d; /* SQLite keeps a REAL -0.0 as the integer 0 */
	uint64_t bits;
	memcpy(&bits, &d, 8);
	h_u64(&h, 10, bits);
	lle_sha256_final(&h, sum);
	return 0;
}

/* SQL lle_resp_sum(key, kind, logprob, greedy, text, tok_in, tok_out, seconds):
 * the sum as a blob, NULL for a row that cannot be valid. */
static void sql_resp_sum(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct row r;
	unsigned char sum[LLE_SHA256_LEN];
	if (argc != N_COLS) {
		sqlite3_result_null(ctx);
		return;
	}
	row_from_values(&r, argv);
	if (resp_sum(&r, sum) < 0)
		sqlite3_result_null(ctx);
	else
		sqlite3_result_blob(ctx, sum, LLE_SHA256_LEN, SQLITE_TRANSIENT);
}

static int cache_setup(sqlite3 *db)
{
	return sqlite3_create_function(db, "lle_resp_sum", N_COLS, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
				       sql_resp_sum, NULL, NULL);
}

char *lle_cache_default_path(struct lle_err *err)
{
	char *dir = lle_xdg_dir("cache");
	if (!dir) {
		lle_err_set(err, LLE_EXIT_IO, "no cache directory: set XDG_CACHE_HOME or HOME, or give --cache PATH");
		return NULL;
	}
	char *p = lle_path_join(dir, "cache.sqlite");
	free(dir);
	if (!p)
		lle_err_oom(err);
	return p;
}

static int prep(struct lle_cache *c, const char *sql, sqlite3_stmt **st, struct lle_err *err)
{
	if (sqlite3_prepare_v2(c->db, sql, -1, st, NULL) != SQLITE_OK)
		return lle_sql_fail(c->db, c->path, WHAT, "cannot prepare a statement", err);
	return 0;
}

struct lle_cache *lle_cache_open(const char *path, const struct lle_cache_opts *opts, struct lle_err *err)
{
	struct lle_cache_opts o = { 0 };
	if (opts)
		o = *opts;
	struct lle_cache *c = calloc(1, sizeof(*c));
	if (!c || !(c->path = lle_strdup(path))) {
		free(c);
		lle_err_oom(err);
		return NULL;
	}
	static const struct lle_sql_schema sch = { CACHE_APP_ID, CACHE_VERSION, SCHEMA, UPGRADE, cache_setup };
	c->db = lle_sql_open_schema(path, WHAT, o.readonly, o.busy_timeout_ms, o.sync != LLE_CACHE_SYNC_NORMAL,
				    &sch, err);
	if (!c->db)
		goto fail;
	if (o.readonly) {
		sqlite3_stmt *v;
		if (prep(c, "PRAGMA user_version", &v, err) < 0)
			goto fail;
		c->legacy = sqlite3_step(v) == SQLITE_ROW && sqlite3_column_int(v, 0) < 2;
		sqlite3_finalize(v);
	}
	if (prep(c, c->legacy ? "SELECT " SQL_COLS ", NULL FROM responses WHERE key = ?"
			      : "SELECT " SQL_COLS ", sum FROM responses WHERE key = ?", &c->get, err) < 0)
		goto fail;
	/* A key already present keeps its first value, unless that row fails its
	 * check: then the new answer replaces it. */
	if (!o.readonly &&
	    (prep(c, "INSERT INTO responses(" SQL_COLS ", created, sum) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
		     "ON CONFLICT(key) DO UPDATE SET kind = excluded.kind, logprob = excluded.logprob, "
		     "greedy = excluded.greedy, text = excluded.text, tok_in = excluded.tok_in, "
		     "tok_out = excluded.tok_out, seconds = excluded.seconds, created = excluded.created, "
		     "sum = excluded.sum WHERE coalesce(lle_resp_sum(responses.key, responses.kind, "
		     "responses.logprob, responses.greedy, responses.text, responses.tok_in, "
		     "responses.tok_out, responses.seconds) != responses.sum, 1)", &c->put, err) < 0 ||
	     prep(c, "UPDATE jreqs SET done = 1 WHERE run = ? AND idx = ? AND done = 0", &c->mark, err) < 0))
		goto fail;
	return c;
fail:
	lle_cache_close(c);
	return NULL;
}

struct lle_cache *lle_cache_open_none(struct lle_err *err)
{
	struct lle_cache *c = calloc(1, sizeof(*c));
	if (!c)
		lle_err_oom(err);
	return c;
}

void lle_cache_close(struct lle_cache *c)
{
	if (!c)
		return;
	sqlite3_finalize(c->get);
	sqlite3_finalize(c->put);
	sqlite3_finalize(c->mark);
	if (c->n_bad > 1)
		lle_warnf("cache '%s': %lld damaged records in all were treated as missing", c->path, c->n_bad);
	/* The last connection to close checkpoints the WAL into the database. */
	sqlite3_close(c->db);
	free(c->path);
	free(c);
}

const char *lle_cache_path(const struct lle_cache *c)
{
	return c && c->db ? c->path : NULL;
}

long long lle_cache_bad_records(const struct lle_cache *c)
{
	return c ? c->n_bad : 0;
}

/* --- keys --- */

/* Each field is a tag byte, a 64-bit big-endian length and the bytes, so no
 * two different argument lists encode the same. */
static void h_field(struct lle_sha256 *h, unsigned char tag, const void *p, size_t n)
{
	unsigned char len[8];
	for (int i = 0; i < 8; i++)
		len[i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
	lle_sha256_update(h, &tag, 1);
	lle_sha256_update(h, len, 8);
	lle_sha256_update(h, p, n);
}

static void h_str(struct lle_sha256 *h, unsigned char tag, const char *s)
{
	if (s)
		h_field(h, tag, s, strlen(s));
	else
		h_field(h, (unsigned char)(tag | 0x80), "", 0); /* absent differs from "" */
}

static void h_u64(struct lle_sha256 *h, unsigned char tag, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (56 - 8 * i));
	h_field(h, tag, b, 8);
}

static void h_double(struct lle_sha256 *h, unsigned char tag, double d)
{
	uint64_t bits;
	if (d == 0)
		d = 0; /* -0.0 and 0.0 are the same argument */
	memcpy(&bits, &d, 8);
	h_u64(h, tag, bits);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int lle_cache_key(const unsigned char model_id[LLE_SHA256_LEN], const struct lle_cache_req *r,
		  unsigned char key[LLE_SHA256_LEN], struct lle_err *err)
{
	if (r->kind < LLE_REQ_LOGLIKELIHOOD || r->kind > LLE_REQ_GENERATE_UNTIL || !r->context)
		return lle_err_set(err, LLE_EXIT_INTERNAL, "cache key: bad request (kind %d)", r->kind);
	struct lle_sha256 h;
	lle_sha256_init(&h);
	h_str(&h, 1, "llm-eval response key");
	h_u64(&h, 2, KEY_VERSION);
	h_field(&h, 3, model_id, LLE_SHA256_LEN);
	h_u64(&h, 4, (uint64_t)r->kind);
	h_str(&h, 5, r->context);
	if (r->kind == LLE_REQ_LOGLIKELIHOOD)
		h_str(&h, 6, r->continuation ? r->continuation : "");
	if (r->kind == LLE_REQ_GENERATE_UNTIL) {
		/* Stop strings are a set: sort a copy so their order does not matter. */
		const char **s = NULL;
		if (r->n_stop) {
			s = malloc(r->n_stop * sizeof(*s));
			if (!s)
				return lle_err_oom(err);
			memcpy(s, r->stop, r->n_stop * sizeof(*s));
			qsort(s, r->n_stop, sizeof(*s), cmp_str);
		}
		h_u64(&h, 7, r->n_stop);
		for (size_t i = 0; i < r->n_stop; i++)
			if (i == 0 || strcmp(s[i], s[i - 1]) != 0)
				h_str(&h, 8, s[i]);
		free(s);
		h_u64(&h, 9, (uint64_t)(int64_t)r->max_tokens);
		int sampled = r->do_sample && r->temperature > 0;
		h_u64(&h, 10, (uint64_t)sampled);
		if (sampled) { /* greedy decoding ignores these, so they must not split the cache */
			h_double(&h, 11, r->temperature);
			h_double(&h, 12, r->top_p);
			h_u64(&h, 13, r->seed);
		}
	}
	h_str(&h, 14, r->chat_template);
	h_str(&h, 15, r->system_instruction);
	h_str(&h, 16, r->extra);
	lle_sha256_final(&h, key);
	return 0;
}

int lle_cache_model_id_gguf(const char *backend, const char *path, const char *args,
			    unsigned char id[LLE_SHA256_LEN], struct lle_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lle_err_set(err, LLE_EXIT_BACKEND, "model '%s': cannot open: %s", path, strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb) != 0) {
		int e = errno;
		close(fd);
		return lle_err_set(err, LLE_EXIT_BACKEND, "model '%s': cannot stat: %s", path, strerror(e));
	}
	enum { HEAD = 1 << 20 };
	unsigned char *buf = malloc(HEAD);
	if (!buf) {
		close(fd);
		return lle_err_oom(err);
	}
	size_t got = 0;
	while (got < HEAD) {
		ssize_t n = read(fd, buf + got, HEAD - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			close(fd);
			return lle_err_set(err, LLE_EXIT_BACKEND, "model '%s': cannot read: %s", path, strerror(e));
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	unsigned char head[LLE_SHA256_LEN];
	lle_sha256(buf, got, head);
	free(buf);
	struct lle_sha256 h;
	lle_sha256_init(&h);
	h_str(&h, 1, "llm-eval model gguf");
	h_str(&h, 2, backend);
	h_u64(&h, 3, (uint64_t)sb.st_size);
	h_u64(&h, 4, (uint64_t)sb.st_mtim.tv_sec);
	h_u64(&h, 5, (uint64_t)sb.st_mtim.tv_nsec);
	h_field(&h, 6, head, sizeof(head));
	h_str(&h, 7, args);
	lle_sha256_final(&h, id);
	return 0;
}

int lle_cache_model_id_server(const char *backend, const char *const *urls, size_t n_urls,
			      const char *served_model, const char *args,
			      unsigned char id[LLE_SHA256_LEN], struct lle_err *err)
{
	char **u = calloc(n_urls ? n_urls : 1, sizeof(*u));
	if (!u)
		return lle_err_oom(err);
	int rc = 0;
	for (size_t i = 0; i < n_urls; i++) {
		size_t len = strlen(urls[i]);
		while (len > 0 && urls[i][len - 1] == '/')
			len--;
		if (!(u[i] = lle_strndup(urls[i], len))) {
			rc = lle_err_oom(err);
			goto out;
		}
	}
	qsort(u, n_urls, sizeof(*u), cmp_str);
	struct lle_sha256 h;
	lle_sha256_init(&h);
	h_str(&h, 1, "llm-eval model server");
	h_str(&h, 2, backend);
	for (size_t i = 0; i < n_urls; i++)
		if (i == 0 || strcmp(u[i], u[i - 1]) != 0)
			h_str(&h, 3, u[i]);
	h_str(&h, 4, served_model);
	h_str(&h, 5, args);
	lle_sha256_final(&h, id);
out:
	for (size_t i = 0; i < n_urls; i++)
		free(u[i]);
	free(u);
	return rc;
}

/* --- lookup and put --- */

int lle_cache_lookup(struct lle_cache *c, const unsigned char key[LLE_SHA256_LEN],
		     struct lle_cache_resp *out, struct lle_err *err)
{
	memset(out, 0, sizeof(*out));
	if (!c->db)
		return 0;
	sqlite3_bind_blob(c->get, 1, key, LLE_SHA256_LEN, SQLITE_STATIC);
	int rc = sqlite3_step(c->get), hit = 0;
	if (rc == SQLITE_ROW) {
		struct row r;
		unsigned char sum[LLE_SHA256_LEN];
		row_from_stmt(&r, c->get);
		int ok = resp_sum(&r, sum) == 0 && memcmp(r.blob[0], key, LLE_SHA256_LEN) == 0;
		if (ok && !c->legacy)
			ok = sqlite3_column_type(c->get, N_COLS) == SQLITE_BLOB &&
			     sqlite3_column_bytes(c->get, N_COLS) == LLE_SHA256_LEN &&
			     memcmp(sqlite3_column_blob(c->get, N_COLS), sum, LLE_SHA256_LEN) == 0;
		if (!ok) {
			if (c->n_bad++ == 0) {
				char hex[17];
				for (int i = 0; i < 8; i++)
					snprintf(hex + 2 * i, 3, "%02x", key[i]);
				lle_warnf("cache '%s': the stored response %s... fails its check (a damaged "
					  "record): it is treated as missing and requested again", c->path, hex);
			}
			sqlite3_reset(c->get);
			return 0;
		}
		out->kind = (int)r.i[1];
		if (r.type[2] == SQLITE_BLOB) {
			const unsigned char *b = r.blob[2];
			uint64_t bits = 0;
			for (int i = 0; i < 8; i++)
				bits = bits << 8 | b[i];
			memcpy(&out->logprob, &bits, 8);
			out->is_greedy = (int)r.i[3];
		} else {
			size_t n = (size_t)r.bytes[4];
			out->text = malloc(n + 1);
			if (!out->text) {
				sqlite3_reset(c->get);
				return lle_err_oom(err);
			}
			if (n)
				memcpy(out->text, r.blob[4], n);
			out->text[n] = '\0';
			out->text_len = n;
		}
		out->tokens_in = (long)r.i[5];
		out->tokens_out = (long)r.i[6];
		out->seconds = r.d;
		hit = 1;
	} else if (rc != SQLITE_DONE) {
		lle_sql_fail(c->db, c->path, WHAT, "cannot read", err);
		sqlite3_reset(c->get);
		return -1;
	}
	sqlite3_reset(c->get);
	return hit;
}

void lle_cache_resp_free(struct lle_cache_resp *r)
{
	if (r) {
		free(r->text);
		r->text = NULL;
		r->text_len = 0;
	}
}

static int put_one(struct lle_cache *c, const unsigned char *key, const struct lle_cache_resp *r, long long now)
{
	sqlite3_stmt *s = c->put;
	unsigned char lp[8];
	sqlite3_bind_blob(s, 1, key, LLE_SHA256_LEN, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, r->kind);
	if (r->kind == LLE_REQ_GENERATE_UNTIL) {
		sqlite3_bind_null(s, 3);
		sqlite3_bind_null(s, 4);
		sqlite3_bind_blob(s, 5, r->text ? r->text : "", (int)r->text_len, SQLITE_STATIC);
	} else {
		uint64_t bits;
		memcpy(&bits, &r->logprob, 8);
		for (int i = 0; i < 8; i++)
			lp[i] = (unsigned char)(bits >> (56 - 8 * i));
		sqlite3_bind_blob(s, 3, lp, 8, SQLITE_TRANSIENT);
		sqlite3_bind_int(s, 4, r->is_greedy != 0);
		sqlite3_bind_null(s, 5);
	}
	sqlite3_bind_int64(s, 6, r->tokens_in);
	sqlite3_bind_int64(s, 7, r->tokens_out);
	/* SQLite stores a NaN as NULL: a time that is not a number is kept as 0 */
	double secs = isfinite(r->seconds) ? r->seconds : 0;
	sqlite3_bind_double(s, 8, secs);
	sqlite3_bind_int64(s, 9, now);
	/* the sum over the values as SQLite will give them back */
	struct row w;
	unsigned char sum[LLE_SHA256_LEN];
	memset(&w, 0, sizeof(w));
	row_set(&w, 0, SQLITE_BLOB, key, LLE_SHA256_LEN, 0, 0);
	row_set(&w, 1, SQLITE_INTEGER, NULL, 0, r->kind, 0);
	if (r->kind == LLE_REQ_GENERATE_UNTIL) {
		row_set(&w, 2, SQLITE_NULL, NULL, 0, 0, 0);
		row_set(&w, 3, SQLITE_NULL, NULL, 0, 0, 0);
		row_set(&w, 4, SQLITE_BLOB, r->text ? r->text : "", (int)r->text_len, 0, 0);
	} else {
		row_set(&w, 2, SQLITE_BLOB, lp, 8, 0, 0);
		row_set(&w, 3, SQLITE_INTEGER, NULL, 0, r->is_greedy != 0, 0);
		row_set(&w, 4, SQLITE_NULL, NULL, 0, 0, 0);
	}
	row_set(&w, 5, SQLITE_INTEGER, NULL, 0, r->tokens_in, 0);
	row_set(&w, 6, SQLITE_INTEGER, NULL, 0, r->tokens_out, 0);
	row_set(&w, 7, SQLITE_FLOAT, NULL, 0, 0, secs);
	if (resp_sum(&w, sum) < 0)
		return -2;
	sqlite3_bind_blob(s, 10, sum, LLE_SHA256_LEN, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int mark_one(struct lle_cache *c, int64_t run, int64_t idx)
{
	sqlite3_bind_int64(c->mark, 1, run);
	sqlite3_bind_int64(c->mark, 2, idx);
	int rc = sqlite3_step(c->mark);
	sqlite3_reset(c->mark);
	return rc == SQLITE_DONE ? 0 : -1;
}

int lle_cache_put_batch(struct lle_cache *c, int64_t journal_run, const struct lle_cache_entry *e,
			size_t n, struct lle_err *err)
{
	if (!c->db || n == 0)
		return 0;
	if (!c->put)
		return lle_err_set(err, LLE_EXIT_INTERNAL, "cache '%s' was opened read-only", c->path);
	for (size_t i = 0; i < n; i++)
		if (e[i].resp->text_len > (size_t)0x7fffffff)
			return lle_err_set(err, LLE_EXIT_INTERNAL, "cache: a response of %zu bytes is too large",
					   e[i].resp->text_len);
	/* IMMEDIATE takes the write lock up front, so two writers queue on the
	 * busy timeout instead of failing when a read transaction upgrades. */
	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return lle_sql_fail(c->db, c->path, WHAT, "cannot start writing", err);
	long long now = (long long)time(NULL);
	for (size_t i = 0; i < n; i++) {
		int prc = put_one(c, e[i].key, e[i].resp, now);
		if (prc == -2) {
			sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
			return lle_err_set(err, LLE_EXIT_INTERNAL, "cache '%s': a response of kind %d cannot be "
					   "stored", c->path, e[i].resp->kind);
		}
		if (prc < 0 ||
		    (journal_run > 0 && e[i].journal_idx >= 0 && mark_one(c, journal_run, e[i].journal_idx) < 0))
			return lle_sql_fail(c->db, c->path, WHAT, "cannot write a response", err);
	}
	if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return lle_sql_fail(c->db, c->path, WHAT, "cannot commit responses", err);
	return 0;
}

int lle_cache_put(struct lle_cache *c, const unsigned char key[LLE_SHA256_LEN],
		  const struct lle_cache_resp *resp, struct lle_err *err)
{
	struct lle_cache_entry e = { key, resp, -1 };
	return lle_cache_put_batch(c, 0, &e, 1, err);
}

/* --- batches --- */

struct lle_cache_batch {
	struct lle_cache *c;
	int64_t run;
	size_t max_n, n;
	unsigned char (*keys)[LLE_SHA256_LEN];
	struct lle_cache_resp *resps;   /* texts owned */
	struct lle_cache_entry *ents;
};

struct lle_cache_batch *lle_cache_batch_new(struct lle_cache *c, int64_t journal_run, size_t max_n,
					    struct lle_err *err)
{
	if (max_n == 0)
		max_n = 1;
	struct lle_cache_batch *b = calloc(1, sizeof(*b));
	if (b) {
		b->keys = calloc(max_n, sizeof(*b->keys));
		b->resps = calloc(max_n, sizeof(*b->resps));
		b->ents = calloc(max_n, sizeof(*b->ents));
	}
	if (!b || !b->keys || !b->resps || !b->ents) {
		lle_cache_batch_free(b);
		lle_err_oom(err);
		return NULL;
	}
	b->c = c;
	b->run = journal_run;
	b->max_n = max_n;
	return b;
}

size_t lle_cache_batch_pending(const struct lle_cache_batch *b)
{
	return b->n;
}

int lle_cache_batch_flush(struct lle_cache_batch *b, struct lle_err *err)
{
	if (b->n == 0)
		return 0;
	if (lle_cache_put_batch(b->c, b->run, b->ents, b->n, err) < 0)
		return -1;
	int n = (int)b->n;
	for (size_t i = 0; i < b->n; i++)
		lle_cache_resp_free(&b->resps[i]);
	b->n = 0;
	return n;
}

int lle_cache_batch_add(struct lle_cache_batch *b, const unsigned char key[LLE_SHA256_LEN],
			const struct lle_cache_resp *resp, int64_t journal_idx, struct lle_err *err)
{
	int committed = 0;
	/* Full after an earlier failure: commit before taking more. */
	if (b->n == b->max_n && (committed = lle_cache_batch_flush(b, err)) < 0)
		return -1;
	size_t i = b->n;
	struct lle_cache_resp *r = &b->resps[i];
	*r = *resp;
	r->text = NULL;
	if (resp->text) {
		if (!(r->text = malloc(resp->text_len + 1)))
			return lle_err_oom(err);
		memcpy(r->text, resp->text, resp->text_len);
		r->text[resp->text_len] = '\0';
	}
	memcpy(b->keys[i], key, LLE_SHA256_LEN);
	b->ents[i] = (struct lle_cache_entry){ b->keys[i], r, journal_idx };
	b->n++;
	int now = 0;
	if (b->n == b->max_n && (now = lle_cache_batch_flush(b, err)) < 0)
		return -1;
	return committed + now;
}

void lle_cache_batch_free(struct lle_cache_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; b->resps && i < b->n; i++)
		lle_cache_resp_free(&b->resps[i]);
	free(b->keys);
	free(b->resps);
	free(b->ents);
	free(b);
}

/* --- stats and clear --- */

static int query_ll(struct lle_cache *c, const char *sql, long long *out, struct lle_err *err)
{
	sqlite3_stmt *st;
	if (prep(c, sql, &st, err) < 0)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*out = 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lle_sql_fail(c->db, c->path, WHAT, "cannot read", err);
	return 0;
}

int lle_cache_stats(struct lle_cache *c, struct lle_cache_stats *st, struct lle_err *err)
{
	memset(st, 0, sizeof(*st));
	if (!c->db)
		return 0;
	if (query_ll(c, "SELECT count(*) FROM responses", &st->entries, err) < 0 ||
	    query_ll(c, "SELECT count(*) FROM responses WHERE kind = 1", &st->n_loglikelihood, err) < 0 ||
	    query_ll(c, "SELECT count(*) FROM responses WHERE kind = 2", &st->n_rolling, err) < 0 ||
	    query_ll(c, "SELECT count(*) FROM responses WHERE kind = 3", &st->n_generate, err) < 0 ||
	    query_ll(c, "SELECT coalesce(sum(length(text)), 0) FROM responses", &st->text_bytes, err) < 0 ||
	    query_ll(c, "SELECT coalesce(min(created), 0) FROM responses", &st->oldest, err) < 0 ||
	    query_ll(c, "SELECT coalesce(max(created), 0) FROM responses", &st->newest, err) < 0 ||
	    query_ll(c, "SELECT count(*) FROM jruns", &st->journal_runs, err) < 0)
		return -1;
	struct stat sb;
	if (stat(c->path, &sb) == 0)
		st->file_bytes += sb.st_size;
	struct lle_buf w = LLE_BUF_INIT;
	if (lle_buf_printf(&w, "%s-wal", c->path) < 0)
		return lle_err_oom(err);
	if (stat(w.p, &sb) == 0)
		st->file_bytes += sb.st_size;
	lle_buf_free(&w);
	return 0;
}

int lle_cache_clear(struct lle_cache *c, long long *removed, struct lle_err *err)
{
	*removed = 0;
	if (!c->db)
		return 0;
	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return lle_sql_fail(c->db, c->path, WHAT, "cannot start writing", err);
	if (query_ll(c, "SELECT count(*) FROM responses", removed, err) < 0)
		return -1;
	if (sqlite3_exec(c->db, "DELETE FROM responses; DELETE FROM jreqs; DELETE FROM jruns; COMMIT",
			 NULL, NULL, NULL) != SQLITE_OK)
		return lle_sql_fail(c->db, c->path, WHAT, "cannot clear", err);
	/* Give the space back when no other process is using the file; if one is,
	 * the pages stay free for reuse and the next clear will shrink it. */
	sqlite3_exec(c->db, "VACUUM", NULL, NULL, NULL);
	sqlite3_exec(c->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	return 0;
}

/* --- journal --- */

int lle_journal_begin(struct lle_cache *c, const char *name, const unsigned char (*keys)[LLE_SHA256_LEN],
		      size_t n, int64_t *run_id, struct lle_err *err)
{
	*run_id = 0;
	if (!c->db)
		return 0;
	sqlite3_stmt *run = NULL, *ins = NULL;
	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return lle_sql_fail(c->db, c->path, WHAT, "cannot start writing", err);
	if (prep(c, "INSERT INTO jruns(name, total, created) VALUES(?1, ?2, ?3) "
		    "ON CONFLICT(name) DO UPDATE SET total = ?2 RETURNING id", &run, err) < 0)
		goto fail;
	sqlite3_bind_text(run, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(run, 2, (sqlite3_int64)n);
	sqlite3_bind_int64(run, 3, (sqlite3_int64)time(NULL));
	if (sqlite3_step(run) != SQLITE_ROW)
		goto sqlfail;
	*run_id = sqlite3_column_int64(run, 0);
	sqlite3_finalize(run);
	run = NULL;
	/* A request whose key changed (the run's plan changed) is not done. */
	if (prep(c, "INSERT INTO jreqs(run, idx, key, done) VALUES(?, ?, ?, 0) "
		    "ON CONFLICT(run, idx) DO UPDATE SET key = excluded.key, done = 0 "
		    "WHERE key != excluded.key", &ins, err) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_int64(ins, 1, *run_id);
		sqlite3_bind_int64(ins, 2, (sqlite3_int64)i);
		sqlite3_bind_blob(ins, 3, keys[i], LLE_SHA256_LEN, SQLITE_STATIC);
		int rc = sqlite3_step(ins);
		sqlite3_reset(ins);
		if (rc != SQLITE_DONE)
			goto sqlfail;
	}
	sqlite3_finalize(ins);
	ins = NULL;
	if (prep(c, "DELETE FROM jreqs WHERE run = ? AND idx >= ?", &ins, err) < 0)
		goto fail;
	sqlite3_bind_int64(ins, 1, *run_id);
	sqlite3_bind_int64(ins, 2, (sqlite3_int64)n);
	if (sqlite3_step(ins) != SQLITE_DONE)
		goto sqlfail;
	sqlite3_finalize(ins);
	ins = NULL;
	/* What another run (or an interrupted one) already answered is done. */
	if (prep(c, "UPDATE jreqs SET done = 1 WHERE run = ? AND done = 0 AND "
		    "EXISTS (SELECT 1 FROM responses r WHERE r.key = jreqs.key)", &ins, err) < 0)
		goto fail;
	sqlite3_bind_int64(ins, 1, *run_id);
	if (sqlite3_step(ins) != SQLITE_DONE)
		goto sqlfail;
	sqlite3_finalize(ins);
	ins = NULL;
	if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto sqlfail;
	return 0;
sqlfail:
	lle_sql_fail(c->db, c->path, WHAT, "cannot write the run journal", err);
fail:
	sqlite3_finalize(run);
	sqlite3_finalize(ins);
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	*run_id = 0;
	return -1;
}

int lle_journal_missing(struct lle_cache *c, int64_t run_id, int64_t **idx, size_t *n, struct lle_err *err)
{
	*idx = NULL;
	*n = 0;
	if (!c->db)
		return 0;
	sqlite3_stmt *st;
	if (prep(c, "SELECT idx FROM jreqs WHERE run = ? AND done = 0 ORDER BY idx", &st, err) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, run_id);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 256;
			int64_t *p = realloc(*idx, nc * sizeof(*p));
			if (!p) {
				sqlite3_finalize(st);
				free(*idx);
				*idx = NULL;
				*n = 0;
				return lle_err_oom(err);
			}
			*idx = p;
			cap = nc;
		}
		(*idx)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	if (rc != SQLITE_DONE) {
		lle_sql_fail(c->db, c->path, WHAT, "cannot read the run journal", err);
		sqlite3_finalize(st);
		free(*idx);
		*idx = NULL;
		*n = 0;
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}

int lle_journal_mark_done(struct lle_cache *c, int64_t run_id, const int64_t *idx, size_t n, struct lle_err *err)
{
	if (!c->db || n == 0 || run_id <= 0)
		return 0;
	if (!c->mark)
		return lle_err_set(err, LLE_EXIT_INTERNAL, "cache '%s' was opened read-only", c->path);
	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return lle_sql_fail(c->db, c->path, WHAT, "cannot start writing", err);
	for (size_t i = 0; i < n; i++)
		if (mark_one(c, run_id, idx[i]) < 0)
			return lle_sql_fail(c->db, c->path, WHAT, "cannot write the run journal", err);
	if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return lle_sql_fail(c->db, c->path, WHAT, "cannot commit the run journal", err);
	return 0;
}

int lle_journal_progress(struct lle_cache *c, const char *name, long long *total, long long *done,
			 struct lle_err *err)
{
	*total = *done = 0;
	if (!c->db)
		return 0;
	sqlite3_stmt *st;
	if (prep(c, "SELECT total, (SELECT count(*) FROM jreqs WHERE run = jruns.id AND done = 0) "
		    "FROM jruns WHERE name = ?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st), found = 0;
	if (rc == SQLITE_ROW) {
		*total = sqlite3_column_int64(st, 0);
		*done = *total - sqlite3_column_int64(st, 1);
		found = 1;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lle_sql_fail(c->db, c->path, WHAT, "cannot read the run journal", err);
	return found;
}

int lle_journal_each(struct lle_cache *c,
		     int (*fn)(void *arg, const char *name, long long total, long long done, long long created),
		     void *arg, struct lle_err *err)
{
	if (!c->db)
		return 0;
	sqlite3_stmt *st;
	if (prep(c, "SELECT name, total, (SELECT count(*) FROM jreqs WHERE run = jruns.id AND done = 0), "
		    "created FROM jruns ORDER BY created, name", &st, err) < 0)
		return -1;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		long long total = sqlite3_column_int64(st, 1);
		if (fn(arg, (const char *)sqlite3_column_text(st, 0), total,
		       total - sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3)))
			break;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lle_sql_fail(c->db, c->path, WHAT, "cannot read the run journal", err);
	return 0;
}
