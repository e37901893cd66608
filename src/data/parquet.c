/* Parquet through DuckDB, loaded with dlopen on first use: see parquet.h.
 *
 * The declarations below are the few parts of DuckDB's C API (duckdb.h,
 * v1.5.6) this file calls, written here so that building needs no DuckDB
 * header: the handle types are opaque pointers, duckdb_result is its six
 * pointer-sized fields (only ever passed back to DuckDB), duckdb_string_t is
 * 16 bytes (a length, then up to 12 bytes inline, or a 4-byte prefix and a
 * pointer), duckdb_type only the values of the types read from vectors. One
 * in-memory database serves the process; each reader has its own
 * connection, because a connection runs one streaming query at a time and a
 * run reads a test split while a few-shot split is loaded. This file knows
 * nothing of dataset globs or formats (dataset.c). */
#include "data/parquet.h"

#include <dlfcn.h>
#include <jansson.h>
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
	*duckdb_prepared_statement, *duckdb_pending_result, *duckdb_data_chunk, *duckdb_vector,
	*duckdb_logical_type;
/* duckdb_type: the values of the types read directly (others go through to_json) */
enum {
	DK_BOOLEAN = 1, DK_TINYINT = 2, DK_SMALLINT = 3, DK_INTEGER = 4, DK_BIGINT = 5,
	DK_UTINYINT = 6, DK_USMALLINT = 7, DK_UINTEGER = 8, DK_FLOAT = 10, DK_DOUBLE = 11,
	DK_VARCHAR = 17, DK_LIST = 24, DK_STRUCT = 25,
	DK_TEXT = 1000 /* ours: a column DuckDB gives as to_json text */
};
typedef struct {
	uint64_t offset, length;
} duckdb_list_entry;
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
	idx_t (*column_count)(duckdb_result *r);
	const char *(*column_name)(duckdb_result *r, idx_t col);
	duckdb_logical_type (*column_logical_type)(duckdb_result *r, idx_t col);
	int (*get_type_id)(duckdb_logical_type t); /* the duckdb_type enum */
	void (*destroy_logical_type)(duckdb_logical_type *t);
	duckdb_logical_type (*list_child_type)(duckdb_logical_type t);
	idx_t (*struct_child_count)(duckdb_logical_type t);
	char *(*struct_child_name)(duckdb_logical_type t, idx_t i); /* duckdb_free */
	duckdb_logical_type (*struct_child_type)(duckdb_logical_type t, idx_t i);
	duckdb_vector (*list_vector_child)(duckdb_vector v);
	duckdb_vector (*struct_vector_child)(duckdb_vector v, idx_t i);
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
	SYM(column_count, "duckdb_column_count");
	SYM(column_name, "duckdb_column_name");
	SYM(column_logical_type, "duckdb_column_logical_type");
	SYM(get_type_id, "duckdb_get_type_id");
	SYM(destroy_logical_type, "duckdb_destroy_logical_type");
	SYM(list_child_type, "duckdb_list_type_child_type");
	SYM(struct_child_count, "duckdb_struct_type_child_count");
	SYM(struct_child_name, "duckdb_struct_type_child_name");
	SYM(struct_child_type, "duckdb_struct_type_child_type");
	SYM(list_vector_child, "duckdb_list_vector_get_child");
	SYM(struct_vector_child, "duckdb_struct_vector_get_child");
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
		/* one split file is a few MB: more threads cost more in hand-offs
		 * than they save (bench/data.sh), and leave the cores to the model */
		{"threads", "1"},
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

int lle_pq_sql_str(struct lle_buf *b, const char *s)
{
	if (lle_buf_addc(b, '\'') < 0)
		return -1;
	for (; *s; s++)
		if ((*s == '\'' && lle_buf_addc(b, '\'') < 0) || lle_buf_addc(b, *s) < 0)
			return -1;
	return lle_buf_addc(b, '\'');
}

/* ---- reading ------------------------------------------------------------ */

/* The shape of a column, from its logical type, and while a chunk is read
 * the vector that holds it (data, validity, children's vectors). */
struct col {
	int type;                   /* a DK_* value */
	char *name;                 /* column or struct field name */
	struct col *kids;           /* LIST: one (the element); STRUCT: the fields */
	size_t nkids;
	const void *data;
	const uint64_t *valid;
};

struct lle_pq {
	char *path;
	duckdb_connection conn;
	duckdb_result res;
	int have_res;
	struct col row;             /* a STRUCT of the file's columns */
	duckdb_data_chunk chunk;
	idx_t n, i;                 /* rows in the chunk, next row */
	long nrow;                  /* rows returned, for messages */
	int done;
};

static void col_free(struct col *c)
{
	for (size_t i = 0; i < c->nkids; i++)
		col_free(&c->kids[i]);
	free(c->kids);
	free(c->name);
}

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
	col_free(&pq->row);
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

/* A column's shape from its type: 1 read directly, 0 a type read through
 * to_json instead, -1 out of memory. */
static int col_from_type(struct col *c, duckdb_logical_type t)
{
	c->type = dk.get_type_id(t);
	switch (c->type) {
	case DK_BOOLEAN: case DK_TINYINT: case DK_SMALLINT: case DK_INTEGER: case DK_BIGINT:
	case DK_UTINYINT: case DK_USMALLINT: case DK_UINTEGER: case DK_FLOAT: case DK_DOUBLE:
	case DK_VARCHAR:
		return 1;
	case DK_LIST: {
		if (!(c->kids = calloc(1, sizeof(*c->kids))))
			return -1;
		c->nkids = 1;
		duckdb_logical_type e = dk.list_child_type(t);
		int r = col_from_type(&c->kids[0], e);
		dk.destroy_logical_type(&e);
		return r;
	}
	case DK_STRUCT: {
		idx_t n = dk.struct_child_count(t);
		if (n && !(c->kids = calloc(n, sizeof(*c->kids))))
			return -1;
		c->nkids = n;
		for (idx_t i = 0; i < n; i++) {
			char *name = dk.struct_child_name(t, i);
			c->kids[i].name = name ? lle_strdup(name) : NULL;
			if (name)
				dk.free_(name);
			if (!c->kids[i].name)
				return -1;
			duckdb_logical_type k = dk.struct_child_type(t, i);
			int r = col_from_type(&c->kids[i], k);
			dk.destroy_logical_type(&k);
			if (r <= 0)
				return r;
		}
		return 1;
	}
	default:
		return 0;
	}
}

/* The result's columns as one STRUCT shape; a column of a type not read
 * directly becomes DK_TEXT. 1, 0 (a column needs to_json), -1. */
static int row_shape(struct lle_pq *pq)
{
	int all = 1;
	idx_t n = dk.column_count(&pq->res);
	pq->row.type = DK_STRUCT;
	if (n && !(pq->row.kids = calloc(n, sizeof(*pq->row.kids))))
		return -1;
	pq->row.nkids = n;
	for (idx_t i = 0; i < n; i++) {
		const char *name = dk.column_name(&pq->res, i);
		if (!(pq->row.kids[i].name = lle_strdup(name ? name : "")))
			return -1;
		duckdb_logical_type t = dk.column_logical_type(&pq->res, i);
		int r = col_from_type(&pq->row.kids[i], t);
		dk.destroy_logical_type(&t);
		if (r < 0)
			return r;
		if (r == 0) {
			struct col *c = &pq->row.kids[i];
			for (size_t k = 0; k < c->nkids; k++)
				col_free(&c->kids[k]);
			free(c->kids);
			c->kids = NULL;
			c->nkids = 0;
			c->type = DK_TEXT;
			all = 0;
		}
	}
	return all;
}

/* "name" as an SQL identifier: quotes doubled. */
static int add_sql_ident(struct lle_buf *b, const char *s)
{
	if (lle_buf_addc(b, '"') < 0)
		return -1;
	for (; *s; s++)
		if ((*s == '"' && lle_buf_addc(b, '"') < 0) || lle_buf_addc(b, *s) < 0)
			return -1;
	return lle_buf_addc(b, '"');
}

/* Run one query on the reader's connection as a streaming result. */
static int run_streaming(struct lle_pq *pq, const char *sql, struct lle_err *err)
{
	duckdb_prepared_statement st = NULL;
	if (dk.prepare(pq->conn, sql, &st) != DuckDBSuccess) {
		dk_fail(err, pq->path, "cannot read as Parquet", dk.prepare_error(st));
		dk.destroy_prepare(&st);
		return -1;
	}
	duckdb_pending_result pend = NULL;
	duckdb_state s = dk.pending_prepared_streaming(st, &pend);
	dk.destroy_prepare(&st);
	if (s != DuckDBSuccess) {
		dk_fail(err, pq->path, "cannot read as Parquet", dk.pending_error(pend));
		dk.destroy_pending(&pend);
		return -1;
	}
	s = dk.execute_pending(pend, &pq->res);
	dk.destroy_pending(&pend);
	pq->have_res = 1;
	if (s != DuckDBSuccess)
		return dk_fail(err, pq->path, "cannot read as Parquet", dk.result_error(&pq->res));
	return 0;
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
	if (dk.connect(db, &pq->conn) != DuckDBSuccess) {
		pq->conn = NULL;
		lle_err_set(err, LLE_EXIT_DATA, "%s: duckdb: cannot connect", path);
		goto fail;
	}
	/* The columns as they are, read from DuckDB's vectors; a column of a
	 * type without a direct reading here (dates, decimals, blobs, maps,
	 * 128-bit or unsigned 64-bit integers, ...) is asked again as to_json
	 * of it, which writes every type as JSON, parsed with jansson. */
	if (lle_buf_adds(&sql, "SELECT * FROM read_parquet(") < 0 || lle_pq_sql_str(&sql, path) < 0 ||
	    lle_buf_addc(&sql, ')') < 0) {
		lle_err_oom(err);
		goto fail;
	}
	if (run_streaming(pq, lle_buf_str(&sql), err) < 0)
		goto fail;
	int shape = row_shape(pq);
	if (shape < 0) {
		lle_err_oom(err);
		goto fail;
	}
	if (shape == 0) {
		dk.destroy_result(&pq->res);
		pq->have_res = 0;
		lle_buf_reset(&sql);
		int bad = lle_buf_adds(&sql, "SELECT ") < 0;
		for (size_t k = 0; k < pq->row.nkids && !bad; k++) {
			const struct col *c = &pq->row.kids[k];
			bad = (k && lle_buf_adds(&sql, ", ") < 0) ||
			      (c->type == DK_TEXT && lle_buf_adds(&sql, "to_json(") < 0) ||
			      add_sql_ident(&sql, c->name) < 0 ||
			      (c->type == DK_TEXT && lle_buf_addc(&sql, ')') < 0);
		}
		if (bad || lle_buf_adds(&sql, " FROM read_parquet(") < 0 ||
		    lle_pq_sql_str(&sql, path) < 0 || lle_buf_addc(&sql, ')') < 0) {
			lle_err_oom(err);
			goto fail;
		}
		if (run_streaming(pq, lle_buf_str(&sql), err) < 0)
			goto fail;
	}
	lle_buf_free(&sql);
	return pq;
fail:
	lle_buf_free(&sql);
	lle_pq_close(pq);
	return NULL;
}

static void col_bind(struct col *c, duckdb_vector v)
{
	c->data = dk.vector_data(v);
	c->valid = dk.vector_validity(v);
	if (c->type == DK_LIST)
		col_bind(&c->kids[0], dk.list_vector_child(v));
	else if (c->type == DK_STRUCT)
		for (size_t i = 0; i < c->nkids; i++)
			col_bind(&c->kids[i], dk.struct_vector_child(v, i));
}

static int is_valid(const uint64_t *valid, idx_t i)
{
	return !valid || (valid[i / 64] >> (i % 64) & 1);
}

/* Value i of a bound column as JSON (the Python value `datasets` gives,
 * written as JSON: a float32 widened to double, as Python shows it). NULL
 * when out of memory. A non-finite float, which JSON cannot carry, is null. */
static json_t *col_value(const struct col *c, idx_t i)
{
	if (!is_valid(c->valid, i))
		return json_null();
	switch (c->type) {
	case DK_BOOLEAN: return json_boolean(((const uint8_t *)c->data)[i]);
	case DK_TINYINT: return json_integer(((const int8_t *)c->data)[i]);
	case DK_SMALLINT: return json_integer(((const int16_t *)c->data)[i]);
	case DK_INTEGER: return json_integer(((const int32_t *)c->data)[i]);
	case DK_BIGINT: return json_integer(((const int64_t *)c->data)[i]);
	case DK_UTINYINT: return json_integer(((const uint8_t *)c->data)[i]);
	case DK_USMALLINT: return json_integer(((const uint16_t *)c->data)[i]);
	case DK_UINTEGER: return json_integer(((const uint32_t *)c->data)[i]);
	case DK_FLOAT:
	case DK_DOUBLE: {
		double d = c->type == DK_FLOAT ? (double)((const float *)c->data)[i]
			: ((const double *)c->data)[i];
		return d - d == 0 ? json_real(d) : json_null();
	}
	case DK_VARCHAR: {
		const duckdb_string_t *s = &((const duckdb_string_t *)c->data)[i];
		uint32_t n = s->value.inlined.length;
		/* DuckDB's VARCHAR is valid UTF-8 */
		return json_stringn_nocheck(n <= 12 ? s->value.inlined.inlined : s->value.pointer.ptr, n);
	}
	case DK_LIST: {
		const duckdb_list_entry *e = &((const duckdb_list_entry *)c->data)[i];
		json_t *a = json_array();
		for (uint64_t k = 0; a && k < e->length; k++)
			if (json_array_append_new(a, col_value(&c->kids[0], e->offset + k)) < 0) {
				json_decref(a);
				a = NULL;
			}
		return a;
	}
	case DK_TEXT: /* only at the top, where lle_pq_next parses it */
		return NULL;
	default: { /* DK_STRUCT */
		json_t *o = json_object();
		for (size_t k = 0; o && k < c->nkids; k++)
			if (json_object_set_new_nocheck(o, c->kids[k].name, col_value(&c->kids[k], i)) < 0) {
				json_decref(o);
				o = NULL;
			}
		return o;
	}
	}
}

int lle_pq_next(struct lle_pq *pq, json_t **doc, size_t max_text, struct lle_err *err)
{
	*doc = NULL;
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
		for (size_t k = 0; k < pq->row.nkids; k++)
			col_bind(&pq->row.kids[k], dk.chunk_vector(pq->chunk, k));
	}
	idx_t i = pq->i++;
	pq->nrow++;
	json_t *o = json_object();
	if (!o)
		return lle_err_oom(err);
	for (size_t k = 0; k < pq->row.nkids; k++) {
		const struct col *c = &pq->row.kids[k];
		json_t *v;
		if (c->type != DK_TEXT || !is_valid(c->valid, i)) {
			v = col_value(c, i);
		} else {
			const duckdb_string_t *s = &((const duckdb_string_t *)c->data)[i];
			uint32_t n = s->value.inlined.length;
			if (n > max_text) {
				json_decref(o);
				return lle_err_set(err, LLE_EXIT_DATA, "%s:%ld: column '%s' is longer than "
						   "%zu bytes as JSON, the limit for one document",
						   pq->path, pq->nrow, c->name, max_text);
			}
			json_error_t je;
			v = json_loadb(n <= 12 ? s->value.inlined.inlined : s->value.pointer.ptr, n,
				       JSON_DECODE_ANY, &je);
			if (!v) {
				json_decref(o);
				return lle_err_set(err, LLE_EXIT_DATA, "%s:%ld: column '%s': %s", pq->path,
						   pq->nrow, c->name, je.text);
			}
		}
		if (json_object_set_new_nocheck(o, c->name, v) < 0) {
			json_decref(o);
			return lle_err_oom(err);
		}
	}
	*doc = o;
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
	    lle_pq_sql_str(&sql, path_or_glob) < 0 || lle_buf_addc(&sql, ')') < 0) {
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
