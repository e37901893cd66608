/* SQLite helpers shared by the response cache and the run store: opening a
 * database the way both want it (WAL, busy timeout, an application id and a
 * schema version), running a script, and turning a SQLite failure into one
 * clear message naming the file (damaged, read-only, disk full, locked).
 *
 * Not here: any schema; each store owns its own. */
#ifndef LLE_STORE_SQLUTIL_H
#define LLE_STORE_SQLUTIL_H

#include <sqlite3.h>

#include "util/err.h"

/* Open path for the store called what ("cache", "run store"): creates the
 * parent directory unless readonly, sets busy_timeout, journal_mode=WAL and
 * synchronous (full when sync_full), checks application_id app_id, and when the
 * file is new (user_version 0) runs schema in one transaction and sets
 * user_version to version. Refused, before anything is written: a file with a
 * newer version, another application id, or application id 0 with tables in it
 * (another program's database: only an empty file is taken); an older version
 * (no upgrade path here; see lle_sql_open_schema). */
sqlite3 *lle_sql_open(const char *path, const char *what, int readonly, int busy_ms, int sync_full,
		      int app_id, int version, const char *schema, struct lle_err *err);

/* A schema that can be upgraded in place. */
struct lle_sql_schema {
	int app_id, version;
	const char *create;            /* the whole schema at `version`, for a new file */
	/* upgrade[v - 1] takes a file from version v to v + 1 (v = 1 .. version - 1),
	 * run in the same transaction as the new user_version; NULL: refused */
	const char *const *upgrade;
	/* called on every connection right after it opens (to register the SQL
	 * functions the schema or the upgrades use); 0 or an SQLite error code */
	int (*setup)(sqlite3 *db);
};
/* lle_sql_open with upgrades; a readonly open never upgrades (the caller reads
 * the version it got with PRAGMA user_version). */
sqlite3 *lle_sql_open_schema(const char *path, const char *what, int readonly, int busy_ms, int sync_full,
			     const struct lle_sql_schema *schema, struct lle_err *err);
/* Fill err from db's last error for an operation (e.g. "cannot write"), with a
 * message that says what to do; returns -1. Rolls back an open transaction. */
int lle_sql_fail(sqlite3 *db, const char *path, const char *what, const char *op, struct lle_err *err);
/* Run SQL without results; -1 and err on failure. */
int lle_sql_exec(sqlite3 *db, const char *path, const char *what, const char *sql, struct lle_err *err);

#endif
