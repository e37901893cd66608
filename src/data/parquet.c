/* Parquet through DuckDB, loaded with dlopen on first use: see parquet.h.
 *
 * The declarations below are the few parts of DuckDB's C API (duckdb.h,
 * v1.5.6) this file calls, written here so that building needs no DuckDB
 * header: the handle types are opaque pointers, duckdb_result is its six
 * pointer-sized fields (only ever passed back to DuckDB), duckdb_string_t is
 * 16 bytes (a length, then up to 12 bytes inline, or a 4-byte prefix and a
 * pointer). One in-memory database serves the process; each reader has its own
 * connection, because a connection runs one streaming query at a time and a
 * run reads a test split while a few-shot split is loaded. This file does not
 * parse the JSON it returns (dataset.c does). */
#include "data/parquet.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

/* ---- the C API used (facts from duckdb.h) -------------------------------- */

typedef uint64_t idx_t;
typedef enum { DuckDBSuccess = 0, DuckDBError = 1 } duckdb_state;
typedef struct dk_handle *duckdb_database, *duckdb_connection, *duckdb_config,
	*duckdb_prepared_statement, *duckdb_pending_result, *duckdb_data_chunk, *duckdb_vector;
typedef struct {
	idx_t deprecated_column_count, deprecated_row_count, deprecated_rows_changed;
	void *deprecated_columns;
	char *deprecated_error_message;
	void *internal_data;
} duckdb_result;
typedef struct {
	union {
		struct {
			uint32_t length;
			char prefix[4];
			char *ptr;
		} pointer;
		struct {
			uint32_t length;
			char inlined[12];
		} inlined;
	} value;
} duckdb_string_t;

struct dk_api {
	const char *(*library_version)(void);
	duckdb_state (*create_config)(duckdb_config *out);
	duckdb_state (*set_config)(duckdb_config config, const char *name, const char *option);
	void (*destroy_config)(duckdb_config *config);
	duckdb_state (*open_ext)(const char *path, duckdb_database *out, duckdb_config config,
				 char **out_error);
	void (*free_)(void *p);
	duckdb_state (*connect)(duckdb_database db, duckdb_connection *out);
	void (*disconnect)(duckdb_connection *conn);
	duckdb_state (*query)(duckdb_connection conn, const char *sql, duckdb_result *out);
	duckdb_state (*prepare)(duckdb_connection conn, const char *sql, duckdb_prepared_statement *out);
	const char *(*prepare_error)(duckdb_prepared_statement st);
	void (*destroy_prepare)(duckdb_prepared_statement *st);
	duckdb_state (*pending_prepared_streaming)(duckdb_prepared_statement st,
						   duckdb_pending_result *out);
	duckdb_state (*execute_pending)(duckdb_pending_result p, duckdb_result *out);
	const char *(*pending_error)(duckdb_pending_result p);
	void (*destroy_pending)(duckdb_pending_result *p);
	duckdb_data_chunk (*fetch_chunk)(duckdb_result result); /* by value, as declared */
	const char *(*result_error)(duckdb_result *r);
	void (*destroy_result)(duckdb_result *r);
	idx_t (*chunk_size)(duckdb_data_chunk c);
	duckdb_vector (*chunk_vector)(duckdb_data_chunk c, idx_t col);
	void *(*vector_data)(duckdb_vector v);
	uint64_t *(*vector_validity)(duckdb_vector v);
	void (*destroy_chunk)(duckdb_data_chunk *c);
};

/* ---- loading ------------------------------------------------------------ */

static pthread_mutex_t load_mu = PTHREAD_MUTEX_INITIALIZER;
static struct dk_api dk;
static duckdb_database db;
static int loaded;          /* 1 ready, -1 failed (load_msg says why) */
static char load_msg[sizeof(((struct lle_err *)0)->msg)];
static char version[32];

/* Candidate paths of libduckdb, most specific first. */
static int try_open(void **h, struct lle_buf *tried)
{
	const char *env = getenv("LLM_EVAL_DUCKDB");
	if (env && *env) {
		*h = dlopen(env, RTLD_NOW | RTLD_LOCAL);
		if (!*h)
			lle_buf_printf(tried, "%s (LLM_EVAL_DUCKDB: %s)", env, dlerror());
		return *h ? 0 : -1;
	}
	Dl_info info;
	char dir[4096] = "";
	if (dladdr((void *)try_open, &info) && info.dli_fname) {
		const char *slash = strrchr(info.dli_fname, '/');
		if (slash && (size_t)(slash - info.dli_fname) < sizeof(dir) - 64)
			snprintf(dir, sizeof(dir), "%.*s", (int)(slash - info.dli_fname), info.dli_fname);
	}
	const char *rel[] = {"/duckdb/libduckdb.so", "/../lib/duckdb/libduckdb.so"};
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]) && dir[0]; i++) {
		char p[4200];
		snprintf(p, sizeof(p), "%s%s", dir, rel[i]);
		if ((*h = dlopen(p, RTLD_NOW | RTLD_LOCAL)))
			return 0;
		if (i == 0)
			lle_buf_printf(tried, "%s, ", p);
	}
	if ((*h = dlopen("libduckdb.so", RTLD_NOW | RTLD_LOCAL)))
		return 0;
	lle_buf_adds(tried, "libduckdb.so");
	return -1;
}

#define SYM(field, name)                                                      \
	do {                                                                  \
		*(void **)(&dk.field) = dlsym(h, name);                       \
		if (!dk.field) {                                              \
			snprintf(load_msg, sizeof(load_msg),                  \
				 "libduckdb has no '%s': DuckDB 1.1 or later is needed", name); \
			return -1;                                            \
		}                                                             \
	} while (0)

static int bind_syms(void *h)
{
	SYM(library_version, "duckdb_library_version");
	SYM(create_config, "duckdb_create_config");
	SYM(set_config, "duckdb_set_config");
	SYM(destroy_config, "duckdb_destroy_config");
	SYM(open_ext, "duckdb_open_ext");
	SYM(free_, "duckdb_free");
	SYM(connect, "duckdb_connect");
	SYM(disconnect, "duckdb_disconnect");
	SYM(query, "duckdb_query");
	SYM(prepare, "duckdb_prepare");
	SYM(prepare_error, "duckdb_prepare_error");
	SYM(destroy_prepare, "duckdb_destroy_prepare");
	SYM(pending_prepared_streaming, "duckdb_pending_prepared_streaming");
	SYM(execute_pending, "duckdb_execute_pending");
	SYM(pending_error, "duckdb_pending_error");
	SYM(destroy_pending, "duckdb_destroy_pending");
	SYM(fetch_chunk, "duckdb_fetch_chunk");
	SYM(result_error, "duckdb_result_error");
	SYM(destroy_result, "duckdb_destroy_result");
	SYM(chunk_size, "duckdb_data_chunk_get_size");
	SYM(chunk_vector, "duckdb_data_chunk_get_vector");
	SYM(vector_data, "duckdb_vector_get_data");
	SYM(vector_validity, "duckdb_vector_get_validity");
	SYM(destroy_chunk, "duckdb_destroy_data_chunk");
	return 0;
}

/* The database: in memory; extensions are never installed or autoloaded
 * (Parquet and JSON are built into the pinned library, and nothing may reach
 * the network or write under $HOME). */
static int open_db(void)
{
	duckdb_config cfg = NULL;
	if (dk.create_config(&cfg) != DuckDBSuccess) {
		snprintf(load_msg, sizeof(load_msg), "duckdb: cannot create a configuration");
		return -1;
	}
	static const char *const opts[][2] = {
		{"autoinstall_known_extensions", "false"},
		{"autoload_known_extensions", "false"},
	};
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		dk.set_config(cfg, opts[i][0], opts[i][1]);
	char *msg = NULL;
	duckdb_state st = dk.open_ext(NULL, &db, cfg, &msg);
	dk.destroy_config(&cfg);
	if (st != DuckDBSuccess) {
		snprintf(load_msg, sizeof(load_msg), "duckdb: cannot open a database: %s",
			 msg ? msg : "unknown error");
		if (msg)
			dk.free_(msg);
		return -1;
	}
	return 0;
}

static int load(struct lle_err *err)
{
	pthread_mutex_lock(&load_mu);
	if (loaded == 0) {
		void *h = NULL;
		struct lle_buf tried = {0};
		if (try_open(&h, &tried) < 0) {
			snprintf(load_msg, sizeof(load_msg),
				 "reading Parquet needs DuckDB's libduckdb.so (run `make deps`, or set "
				 "LLM_EVAL_DUCKDB to its path); tried %s", lle_buf_str(&tried));
			loaded = -1;
		} else if (bind_syms(h) < 0) {
			loaded = -1;
		} else {
			const char *v = dk.library_version();
			unsigned major = 0, minor = 0;
			if (!v || sscanf(v, "v%u.%u", &major, &minor) != 2 || major != 1 || minor < 1) {
				snprintf(load_msg, sizeof(load_msg),
					 "libduckdb is version '%s'; llm-eval reads Parquet with DuckDB "
					 "1.x from 1.1 (pinned: v1.5.6)", v ? v : "?");
				loaded = -1;
			} else {
				snprintf(version, sizeof(version), "%s", v);
				loaded = open_db() < 0 ? -1 : 1;
			}
		}
		lle_buf_free(&tried);
		/* A failed library stays mapped: DuckDB is C++ and unloading it is
		 * not worth the risk; the process reports and exits anyway. */
	}
	int ok = loaded;
	pthread_mutex_unlock(&load_mu);
	if (ok < 0)
		return lle_err_set(err, LLE_EXIT_DATA, "%s", load_msg);
	return 0;
}

const char *lle_pq_version(struct lle_err *err)
{
	return load(err) < 0 ? NULL : version;
}

/* 'path' as an SQL string literal: quotes doubled. */
static int add_sql_str(struct lle_buf *b, const char *s)
{
	if (lle_buf_addc(b, '\'') < 0)
		return -1;
	for (; *s; s++)
		if ((*s == '\'' && lle_buf_addc(b, '\'') < 0) || lle_buf_addc(b, *s) < 0)
			return -1;
	return lle_buf_addc(b, '\'');
}

/* ---- reading ------------------------------------------------------------ */

struct lle_pq {
	char *path;
	duckdb_connection conn;
	duckdb_result res;
	int have_res;
	duckdb_data_chunk chunk;
	idx_t n, i;                 /* rows in the chunk, next row */
	const duckdb_string_t *col; /* the chunk's one VARCHAR column */
	const uint64_t *valid;
	long row;                   /* rows returned, for messages */
	int done;
	struct lle_buf text;        /* the current row when it is not inline */
};

void lle_pq_close(struct lle_pq *pq)
{
	if (!pq)
		return;
	if (pq->chunk)
		dk.destroy_chunk(&pq->chunk);
	if (pq->have_res)
		dk.destroy_result(&pq->res);
	if (pq->conn)
		dk.disconnect(&pq->conn);
	lle_buf_free(&pq->text);
	free(pq->path);
	free(pq);
}

/* Why a query failed, from DuckDB's message: its first line only. */
static int dk_fail(struct lle_err *err, const char *path, const char *what, const char *msg)
{
	const char *m = msg ? msg : "unknown error";
	size_t n = strcspn(m, "\n");
	return lle_err_set(err, LLE_EXIT_DATA, "%s: %s: %.*s", path, what, (int)n, m);
}

struct lle_pq *lle_pq_open(const char *path, struct lle_err *err)
{
	if (load(err) < 0)
		return NULL;
	struct lle_pq *pq = calloc(1, sizeof(*pq));
	struct lle_buf sql = {0};
	if (!pq || !(pq->path = lle_strdup(path))) {
		free(pq);
		lle_err_oom(err);
		return NULL;
	}
	/* The row as one struct, through the table alias; to_json keeps the
	 * column order and writes nulls, nested lists and structs as JSON. */
	if (lle_buf_adds(&sql, "SELECT to_json(lle_row) FROM read_parquet(") < 0 ||
	    add_sql_str(&sql, path) < 0 || lle_buf_adds(&sql, ") AS lle_row") < 0) {
		lle_err_oom(err);
		goto fail;
	}
	if (dk.connect(db, &pq->conn) != DuckDBSuccess) {
		pq->conn = NULL;
		lle_err_set(err, LLE_EXIT_DATA, "%s: duckdb: cannot connect", path);
		goto fail;
	}
	duckdb_prepared_statement st = NULL;
	if (dk.prepare(pq->conn, lle_buf_str(&sql), &st) != DuckDBSuccess) {
		dk_fail(err, path, "cannot read as Parquet", dk.prepare_error(st));
		dk.destroy_prepare(&st);
		goto fail;
	}
	duckdb_pending_result pend = NULL;
	duckdb_state s = dk.pending_prepared_streaming(st, &pend);
	dk.destroy_prepare(&st);
	if (s != DuckDBSuccess) {
		dk_fail(err, path, "cannot read as Parquet", dk.pending_error(pend));
		dk.destroy_pending(&pend);
		goto fail;
	}
	s = dk.execute_pending(pend, &pq->res);
	dk.destroy_pending(&pend);
	pq->have_res = 1;
	if (s != DuckDBSuccess) {
		dk_fail(err, path, "cannot read as Parquet", dk.result_error(&pq->res));
		goto fail;
	}
	lle_buf_free(&sql);
	return pq;
fail:
	lle_buf_free(&sql);
	lle_pq_close(pq);
	return NULL;
}

int lle_pq_next(struct lle_pq *pq, const char **json, size_t *len, struct lle_err *err)
{
	while (pq->i == pq->n) {
		if (pq->chunk)
			dk.destroy_chunk(&pq->chunk);
		pq->chunk = NULL;
		pq->n = pq->i = 0;
		if (pq->done)
			return 0;
		pq->chunk = dk.fetch_chunk(pq->res);
		if (!pq->chunk) {
			const char *m = dk.result_error(&pq->res);
			if (m)
				return dk_fail(err, pq->path, "cannot read", m);
			pq->done = 1;
			return 0;
		}
		pq->n = dk.chunk_size(pq->chunk);
		duckdb_vector v = dk.chunk_vector(pq->chunk, 0);
		pq->col = dk.vector_data(v);
		pq->valid = dk.vector_validity(v);
	}
	idx_t i = pq->i++;
	pq->row++;
	if (pq->valid && !(pq->valid[i / 64] >> (i % 64) & 1))
		return lle_err_set(err, LLE_EXIT_DATA, "%s: row %ld: no value", pq->path, pq->row);
	const duckdb_string_t *s = &pq->col[i];
	uint32_t n = s->value.inlined.length;
	*json = n <= 12 ? s->value.inlined.inlined : s->value.pointer.ptr;
	*len = n;
	return 1;
}

/* The first column of the first row of a query's result, as a BIGINT. */
static int query_int64(const char *sql, const char *what, int64_t *out, struct lle_err *err)
{
	duckdb_connection c = NULL;
	if (dk.connect(db, &c) != DuckDBSuccess)
		return lle_err_set(err, LLE_EXIT_DATA, "%s: duckdb: cannot connect", what);
	duckdb_result r;
	int rc = 0;
	if (dk.query(c, sql, &r) != DuckDBSuccess) {
		rc = dk_fail(err, what, "cannot read as Parquet", dk.result_error(&r));
	} else {
		duckdb_data_chunk ch = dk.fetch_chunk(r);
		if (!ch || dk.chunk_size(ch) < 1) {
			rc = dk_fail(err, what, "cannot read as Parquet", dk.result_error(&r));
		} else {
			*out = *(const int64_t *)dk.vector_data(dk.chunk_vector(ch, 0));
		}
		if (ch)
			dk.destroy_chunk(&ch);
	}
	dk.destroy_result(&r);
	dk.disconnect(&c);
	return rc;
}

long lle_pq_count(const char *path_or_glob, struct lle_err *err)
{
	if (load(err) < 0)
		return -1;
	struct lle_buf sql = {0};
	if (lle_buf_adds(&sql, "SELECT CAST(count(*) AS BIGINT) FROM read_parquet(") < 0 ||
	    add_sql_str(&sql, path_or_glob) < 0 || lle_buf_addc(&sql, ')') < 0) {
		lle_buf_free(&sql);
		return lle_err_oom(err);
	}
	int64_t n = 0;
	int rc = query_int64(lle_buf_str(&sql), path_or_glob, &n, err);
	lle_buf_free(&sql);
	return rc < 0 ? -1 : (long)n;
}

int lle_pq_exec(const char *sql, struct lle_err *err)
{
	if (load(err) < 0)
		return -1;
	duckdb_connection c = NULL;
	if (dk.connect(db, &c) != DuckDBSuccess)
		return lle_err_set(err, LLE_EXIT_DATA, "duckdb: cannot connect");
	duckdb_result r;
	int rc = 0;
	if (dk.query(c, sql, &r) != DuckDBSuccess)
		rc = dk_fail(err, "duckdb", "query failed", dk.result_error(&r));
	dk.destroy_result(&r);
	dk.disconnect(&c);
	return rc;
}
