/* The run store: see runstore.h. */
#include "store/runstore.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/sqlutil.h"
#include "util/buf.h"
#include "util/path.h"

#define STORE_APP_ID 0x4c4c4552 /* "LLER" */
#define STORE_VERSION 1
#define WHAT "run store"

static const char SCHEMA[] =
	"CREATE TABLE runs(id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE, date TEXT, source TEXT,"
	" model TEXT, model_args TEXT, config TEXT, versions TEXT, hardware TEXT, total_seconds REAL,"
	" file TEXT, shard TEXT, imported TEXT NOT NULL);"
	"CREATE TABLE results(run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" model TEXT NOT NULL, task TEXT NOT NULL, metric TEXT NOT NULL, filter TEXT NOT NULL,"
	" value REAL, stderr REAL, n INTEGER, higher_is_better INTEGER, category TEXT, parent TEXT,"
	" is_group INTEGER NOT NULL DEFAULT 0, alias TEXT, n_shot INTEGER, seq INTEGER NOT NULL,"
	" PRIMARY KEY(run, model, task, metric, filter));"
	"CREATE TABLE samples(run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" model TEXT NOT NULL, task TEXT NOT NULL, filter TEXT NOT NULL, metric TEXT NOT NULL,"
	" doc_id INTEGER NOT NULL, doc_hash TEXT, value REAL NOT NULL,"
	" PRIMARY KEY(run, model, task, filter, metric, doc_id)) WITHOUT ROWID;";

struct lle_runstore {
	sqlite3 *db;
	char *path;
};

char *lle_runstore_default_path(struct lle_err *err)
{
	char *dir = lle_xdg_dir("data");
	if (!dir) {
		lle_err_set(err, LLE_EXIT_IO, "no data directory: set XDG_DATA_HOME or HOME, or give --store PATH");
		return NULL;
	}
	char *p = lle_path_join(dir, "runs.sqlite");
	free(dir);
	if (!p)
		lle_err_oom(err);
	return p;
}

struct lle_runstore *lle_runstore_open(const char *path, int readonly, struct lle_err *err)
{
	struct lle_runstore *rs = calloc(1, sizeof(*rs));
	if (!rs || !(rs->path = lle_strdup(path))) {
		free(rs);
		lle_err_oom(err);
		return NULL;
	}
	rs->db = lle_sql_open(path, WHAT, readonly, 0, 1, STORE_APP_ID, STORE_VERSION, SCHEMA, err);
	if (!rs->db || lle_sql_exec(rs->db, path, WHAT, "PRAGMA foreign_keys=ON", err) < 0) {
		lle_runstore_close(rs);
		return NULL;
	}
	return rs;
}

void lle_runstore_close(struct lle_runstore *rs)
{
	if (!rs)
		return;
	sqlite3_close(rs->db);
	free(rs->path);
	free(rs);
}

static int fail(struct lle_runstore *rs, const char *op, struct lle_err *err)
{
	return lle_sql_fail(rs->db, rs->path, WHAT, op, err);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static int find_uid(struct lle_runstore *rs, const char *uid, long long *id, struct lle_err *err)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(rs->db, "SELECT id FROM runs WHERE uid = ?", -1, &st, NULL) != SQLITE_OK)
		return fail(rs, "cannot read", err);
	sqlite3_bind_text(st, 1, uid, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st), found = rc == SQLITE_ROW;
	if (found)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fail(rs, "cannot read", err);
	return found;
}

/* Store the per-document scores of one samples file; -1 with err set (the
 * caller rolls back). */
static int add_samples(struct lle_runstore *rs, long long id, const char *model, const struct lle_sample_file *sf,
		       long long *n_scores, struct lle_err *err)
{
	FILE *f = fopen(sf->path, "r");
	if (!f)
		return lle_err_set(err, LLE_EXIT_IO, "cannot open '%s': %s", sf->path, strerror(errno));
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(rs->db, "INSERT OR REPLACE INTO samples VALUES(?,?,?,?,?,?,?,?)", -1, &st, NULL) !=
	    SQLITE_OK) {
		fclose(f);
		return fail(rs, "cannot store samples", err);
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;
	int rc = 0;
	while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (len == 0 || line[0] == '\n')
			continue;
		json_error_t je;
		json_t *o = json_loadb(line, (size_t)len, JSON_ALLOW_NUL, &je);
		if (!json_is_object(o) || !json_is_integer(json_object_get(o, "doc_id"))) {
			rc = lle_err_set(err, LLE_EXIT_DATA, "%s:%ld:%d: %s", sf->path, lineno, o ? 1 : je.column,
					 o ? "a sample needs an object with an integer \"doc_id\"" : je.text);
			json_decref(o);
			break;
		}
		json_t *flt = json_object_get(o, "filter"), *hash = json_object_get(o, "doc_hash");
		json_t *metrics = json_object_get(o, "metrics");
		const char *k;
		json_t *v;
		json_object_foreach(o, k, v) {
			if (!json_is_number(v) || !strcmp(k, "doc_id") || !strcmp(k, "target"))
				continue;
			if (json_is_array(metrics)) { /* only the keys it names as metrics */
				size_t i;
				json_t *m;
				int named = 0;
				json_array_foreach(metrics, i, m)
					named |= json_is_string(m) && !strcmp(json_string_value(m), k);
				if (!named)
					continue;
			}
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_text(st, 2, model, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 3, sf->task, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 4, json_is_string(flt) ? json_string_value(flt) : "none", -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 5, k, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(st, 6, json_integer_value(json_object_get(o, "doc_id")));
			if (json_is_string(hash))
				sqlite3_bind_text(st, 7, json_string_value(hash), -1, SQLITE_TRANSIENT);
			else
				sqlite3_bind_null(st, 7);
			sqlite3_bind_double(st, 8, json_number_value(v));
			int r = sqlite3_step(st);
			sqlite3_reset(st);
			if (r != SQLITE_DONE) {
				rc = fail(rs, "cannot store samples", err);
				break;
			}
			(*n_scores)++;
		}
		json_decref(o);
	}
	if (rc == 0 && ferror(f))
		rc = lle_err_set(err, LLE_EXIT_IO, "cannot read '%s'", sf->path);
	free(line);
	fclose(f);
	sqlite3_finalize(st);
	return rc;
}

int lle_runstore_add(struct lle_runstore *rs, const struct lle_run_record *rec, long long *id,
		     int *existed, struct lle_err *err)
{
	long long n;
	return lle_runstore_add_with_samples(rs, rec, NULL, 0, id, existed, &n, err);
}

int lle_runstore_add_with_samples(struct lle_runstore *rs, const struct lle_run_record *rec,
				  const struct lle_sample_file *files, size_t n_files, long long *id,
				  int *existed, long long *n_scores, struct lle_err *err)
{
	*existed = 0;
	*n_scores = 0;
	sqlite3_stmt *st = NULL;
	if (sqlite3_exec(rs->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return fail(rs, "cannot start writing", err);
	int f = find_uid(rs, rec->uid, id, err);
	if (f < 0)
		goto fail_quiet;
	if (f) {
		*existed = 1;
		sqlite3_exec(rs->db, "ROLLBACK", NULL, NULL, NULL);
		return 0;
	}
	if (sqlite3_prepare_v2(rs->db,
			       "INSERT INTO runs(uid, date, source, model, model_args, config, versions, hardware,"
			       " total_seconds, file, shard, imported) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		goto fail;
	char now[32];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	bind_text(st, 1, rec->uid);
	bind_text(st, 2, rec->date);
	bind_text(st, 3, rec->source);
	bind_text(st, 4, rec->model);
	bind_text(st, 5, rec->model_args);
	bind_text(st, 6, rec->config_json);
	bind_text(st, 7, rec->versions_json);
	bind_text(st, 8, rec->hardware);
	if (rec->total_seconds >= 0)
		sqlite3_bind_double(st, 9, rec->total_seconds);
	bind_text(st, 10, rec->file);
	bind_text(st, 11, rec->shard);
	bind_text(st, 12, now);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	*id = sqlite3_last_insert_rowid(rs->db);
	if (sqlite3_prepare_v2(rs->db,
			       "INSERT OR REPLACE INTO results VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", -1, &st,
			       NULL) != SQLITE_OK) {
		st = NULL;
		goto fail;
	}
	for (size_t i = 0; i < rec->n_rows; i++) {
		const struct lle_result_row *r = &rec->rows[i];
		sqlite3_bind_int64(st, 1, *id);
		bind_text(st, 2, r->model);
		bind_text(st, 3, r->task);
		bind_text(st, 4, r->metric);
		bind_text(st, 5, r->filter);
		if (r->has_value)
			sqlite3_bind_double(st, 6, r->value);
		else
			sqlite3_bind_null(st, 6);
		if (r->has_stderr)
			sqlite3_bind_double(st, 7, r->stderr_);
		else
			sqlite3_bind_null(st, 7);
		if (r->n >= 0)
			sqlite3_bind_int64(st, 8, r->n);
		else
			sqlite3_bind_null(st, 8);
		if (r->higher_is_better >= 0)
			sqlite3_bind_int(st, 9, r->higher_is_better);
		else
			sqlite3_bind_null(st, 9);
		bind_text(st, 10, r->category);
		bind_text(st, 11, r->parent);
		sqlite3_bind_int(st, 12, r->is_group);
		bind_text(st, 13, r->alias);
		if (r->n_shot >= 0)
			sqlite3_bind_int(st, 14, r->n_shot);
		else
			sqlite3_bind_null(st, 14);
		sqlite3_bind_int64(st, 15, (sqlite3_int64)i);
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	for (size_t i = 0; i < n_files; i++)
		if (add_samples(rs, *id, rec->model, &files[i], n_scores, err) < 0)
			goto fail_quiet;
	if (sqlite3_exec(rs->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	fail(rs, "cannot store the run", err);
fail_quiet:
	sqlite3_finalize(st);
	if (!sqlite3_get_autocommit(rs->db))
		sqlite3_exec(rs->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static int lookup_id(struct lle_runstore *rs, const char *sql, const char *text, long long num,
		     long long *id, int *count, struct lle_err *err)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(rs->db, sql, -1, &st, NULL) != SQLITE_OK)
		return fail(rs, "cannot read", err);
	if (text)
		sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, num);
	int rc;
	*count = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((*count)++ == 0)
			*id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : fail(rs, "cannot read", err);
}

int lle_runstore_resolve(struct lle_runstore *rs, const char *ref, long long *id, struct lle_err *err)
{
	int count = 0;
	size_t len = strlen(ref);
	if (strcmp(ref, "last") == 0 || strcmp(ref, "latest") == 0) {
		if (lookup_id(rs, "SELECT max(id) FROM runs WHERE ?1 IS NOT NULL HAVING max(id) IS NOT NULL",
			      ref, 0, id, &count, err) < 0)
			return -1;
		if (count == 0)
			return lle_err_set(err, LLE_EXIT_USAGE, "the run store '%s' has no runs", rs->path);
		return 0;
	}
	/* A number is a run id first; digits that name no run may still start a uid. */
	if (len > 0 && len <= 18 && strspn(ref, "0123456789") == len) {
		if (lookup_id(rs, "SELECT id FROM runs WHERE id = ?1", NULL, strtoll(ref, NULL, 10), id,
			      &count, err) < 0)
			return -1;
		if (count == 1)
			return 0;
	}
	if (len >= 4 && strspn(ref, "0123456789abcdef") == len) {
		if (lookup_id(rs, "SELECT id FROM runs WHERE substr(uid, 1, length(?1)) = ?1 LIMIT 2", ref, 0,
			      id, &count, err) < 0)
			return -1;
		if (count == 1)
			return 0;
		if (count > 1)
			return lle_err_set(err, LLE_EXIT_USAGE,
					   "run '%s' is ambiguous: give more digits of its uid", ref);
	}
	return lle_err_set(err, LLE_EXIT_USAGE, "no run '%s' in '%s' (see 'llm-eval results list')", ref,
			   rs->path);
}

static char *col_text(sqlite3_stmt *st, int i, int *oom)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	char *s = lle_strdup((const char *)sqlite3_column_text(st, i));
	if (!s)
		*oom = 1;
	return s;
}

static const char RUN_COLS[] = "id, uid, date, source, model, model_args, config, versions, hardware,"
			       " total_seconds, file, shard";

static int read_run(sqlite3_stmt *st, struct lle_run_record *rec)
{
	int oom = 0;
	memset(rec, 0, sizeof(*rec));
	rec->id = sqlite3_column_int64(st, 0);
	rec->uid = col_text(st, 1, &oom);
	rec->date = col_text(st, 2, &oom);
	rec->source = col_text(st, 3, &oom);
	rec->model = col_text(st, 4, &oom);
	rec->model_args = col_text(st, 5, &oom);
	rec->config_json = col_text(st, 6, &oom);
	rec->versions_json = col_text(st, 7, &oom);
	rec->hardware = col_text(st, 8, &oom);
	rec->total_seconds = sqlite3_column_type(st, 9) == SQLITE_NULL ? -1 : sqlite3_column_double(st, 9);
	rec->file = col_text(st, 10, &oom);
	rec->shard = col_text(st, 11, &oom);
	return oom ? -1 : 0;
}

int lle_runstore_get(struct lle_runstore *rs, long long id, struct lle_run_record *rec, struct lle_err *err)
{
	memset(rec, 0, sizeof(*rec));
	sqlite3_stmt *st;
	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT %s FROM runs WHERE id = ?", RUN_COLS);
	if (sqlite3_prepare_v2(rs->db, sql, -1, &st, NULL) != SQLITE_OK)
		return fail(rs, "cannot read", err);
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		if (rc == SQLITE_DONE)
			return lle_err_set(err, LLE_EXIT_USAGE, "no run %lld in '%s'", id, rs->path);
		return fail(rs, "cannot read", err);
	}
	int bad = read_run(st, rec);
	sqlite3_finalize(st);
	if (bad) {
		lle_run_record_free(rec);
		return lle_err_oom(err);
	}
	if (sqlite3_prepare_v2(rs->db,
			       "SELECT model, task, metric, filter, value, stderr, n, higher_is_better, category,"
			       " parent, is_group, alias, n_shot FROM results WHERE run = ? ORDER BY seq",
			       -1, &st, NULL) != SQLITE_OK) {
		lle_run_record_free(rec);
		return fail(rs, "cannot read", err);
	}
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct lle_result_row r = { 0 };
		r.model = (char *)sqlite3_column_text(st, 0);
		r.task = (char *)sqlite3_column_text(st, 1);
		r.metric = (char *)sqlite3_column_text(st, 2);
		r.filter = (char *)sqlite3_column_text(st, 3);
		r.has_value = sqlite3_column_type(st, 4) != SQLITE_NULL;
		r.value = sqlite3_column_double(st, 4);
		r.has_stderr = sqlite3_column_type(st, 5) != SQLITE_NULL;
		r.stderr_ = sqlite3_column_double(st, 5);
		r.n = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 6);
		r.higher_is_better = sqlite3_column_type(st, 7) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 7);
		r.category = (char *)sqlite3_column_text(st, 8);
		r.parent = (char *)sqlite3_column_text(st, 9);
		r.is_group = sqlite3_column_int(st, 10);
		r.alias = (char *)sqlite3_column_text(st, 11);
		r.n_shot = sqlite3_column_type(st, 12) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 12);
		if (!r.model || !r.task || !r.metric || !r.filter || lle_run_record_add(rec, &r, err) < 0) {
			sqlite3_finalize(st);
			lle_run_record_free(rec);
			return lle_err_oom(err);
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		lle_run_record_free(rec);
		return fail(rs, "cannot read", err);
	}
	return 0;
}

int lle_runstore_list(struct lle_runstore *rs, struct lle_run_record **recs, size_t *n,
		      long long **n_results, struct lle_err *err)
{
	*recs = NULL;
	*n = 0;
	*n_results = NULL;
	sqlite3_stmt *st;
	char sql[320];
	snprintf(sql, sizeof(sql), "SELECT %s, (SELECT count(*) FROM results WHERE run = runs.id) FROM runs ORDER BY id",
		 RUN_COLS);
	if (sqlite3_prepare_v2(rs->db, sql, -1, &st, NULL) != SQLITE_OK)
		return fail(rs, "cannot read", err);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct lle_run_record *p = realloc(*recs, nc * sizeof(*p));
			long long *q = p ? realloc(*n_results, nc * sizeof(*q)) : NULL;
			if (p)
				*recs = p;
			if (q)
				*n_results = q;
			if (!p || !q)
				goto oom;
			cap = nc;
		}
		if (read_run(st, &(*recs)[*n]) < 0) {
			lle_run_record_free(&(*recs)[*n]);
			goto oom;
		}
		(*n_results)[*n] = sqlite3_column_int64(st, 12);
		(*n)++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(rs, "cannot read", err);
	return 0;
oom:
	sqlite3_finalize(st);
	for (size_t i = 0; i < *n; i++)
		lle_run_record_free(&(*recs)[i]);
	free(*recs);
	free(*n_results);
	*recs = NULL;
	*n_results = NULL;
	*n = 0;
	return lle_err_oom(err);
}

int lle_runstore_sample_count(struct lle_runstore *rs, long long id, long long *n, struct lle_err *err)
{
	int count;
	*n = 0;
	if (lookup_id(rs, "SELECT count(*) FROM samples WHERE run = ?1", NULL, id, n, &count, err) < 0)
		return -1;
	return 0;
}

int lle_runstore_delete(struct lle_runstore *rs, long long id, struct lle_err *err)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(rs->db, "DELETE FROM runs WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
		return fail(rs, "cannot delete", err);
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(rs, "cannot delete", err);
	if (sqlite3_changes(rs->db) == 0)
		return lle_err_set(err, LLE_EXIT_USAGE, "no run %lld in '%s'", id, rs->path);
	return 0;
}

int lle_runstore_paired(struct lle_runstore *rs, long long run_a, const char *model_a, long long run_b,
			const char *model_b, const char *task, const char *filter, const char *metric,
			long long *n, double *mean, double *se, struct lle_err *err)
{
	*n = 0;
	*mean = *se = 0;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(rs->db,
			       "SELECT count(*), avg(b.value - a.value), sum((b.value - a.value) * (b.value - a.value))"
			       " FROM samples a JOIN samples b ON b.run = ?4 AND b.model = ?5 AND b.task = a.task"
			       " AND b.filter = a.filter AND b.metric = a.metric AND b.doc_id = a.doc_id"
			       " AND (a.doc_hash IS NULL OR b.doc_hash IS NULL OR a.doc_hash = b.doc_hash)"
			       " WHERE a.run = ?1 AND a.model = ?2 AND a.task = ?3 AND a.filter = ?6 AND a.metric = ?7",
			       -1, &st, NULL) != SQLITE_OK)
		return fail(rs, "cannot read samples", err);
	sqlite3_bind_int64(st, 1, run_a);
	sqlite3_bind_text(st, 2, model_a, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, task, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, run_b);
	sqlite3_bind_text(st, 5, model_b, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, filter, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, metric, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*n = sqlite3_column_int64(st, 0);
		if (*n > 0) {
			double m = sqlite3_column_double(st, 1), ss = sqlite3_column_double(st, 2);
			*mean = m;
			if (*n > 1) {
				double var = (ss - (double)*n * m * m) / (double)(*n - 1);
				*se = var > 0 ? sqrt(var / (double)*n) : 0;
			}
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return fail(rs, "cannot read samples", err);
	return 0;
}

int lle_runstore_flips(struct lle_runstore *rs, long long run_a, long long run_b, long long max,
		       int (*fn)(void *arg, const char *task, const char *metric, const char *filter,
				 long long doc_id, double a, double b),
		       void *arg, long long *n, struct lle_err *err)
{
	*n = 0;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(rs->db,
			       "SELECT a.task, a.metric, a.filter, a.doc_id, a.value, b.value"
			       " FROM samples a JOIN samples b ON b.run = ?2 AND b.task = a.task"
			       " AND b.filter = a.filter AND b.metric = a.metric AND b.doc_id = a.doc_id"
			       " AND (a.doc_hash IS NULL OR b.doc_hash IS NULL OR a.doc_hash = b.doc_hash)"
			       " AND (b.model = a.model OR ((SELECT count(DISTINCT model) FROM samples WHERE run = ?1) = 1"
			       " AND (SELECT count(DISTINCT model) FROM samples WHERE run = ?2) = 1))"
			       " WHERE a.run = ?1 AND a.value != b.value"
			       " ORDER BY a.task, a.metric, a.filter, a.doc_id",
			       -1, &st, NULL) != SQLITE_OK)
		return fail(rs, "cannot read samples", err);
	sqlite3_bind_int64(st, 1, run_a);
	sqlite3_bind_int64(st, 2, run_b);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n < max && fn(arg, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
				   (const char *)sqlite3_column_text(st, 2), sqlite3_column_int64(st, 3),
				   sqlite3_column_double(st, 4), sqlite3_column_double(st, 5)) < 0) {
			sqlite3_finalize(st);
			return lle_err_oom(err);
		}
		(*n)++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(rs, "cannot read samples", err);
	return 0;
}
