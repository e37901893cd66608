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
 * user_version to version. A file with a newer version is refused. */
sqlite3 *lle_sql_open(const char *path, const char *what, int readonly, int busy_ms, int sync_full,
		      int app_id, int version, const char *schema, struct lle_err *err);
/* Fill err from db's last error for an operation (e.g. "cannot write"), with a
 * message that says what to do; returns -1. Rolls back an open transaction. */
int lle_sql_fail(sqlite3 *db, const char *path, const char *what, const char *op, struct lle_err *err);
/* Run SQL without results; -1 and err on failure. */
int lle_sql_exec(sqlite3 *db, const char *path, const char *what, const char *sql, struct lle_err *err);

#endif
