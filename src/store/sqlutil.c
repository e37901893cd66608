/* See sqlutil.h. */
#include "store/sqlutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/path.h"

/* 0 when the directory of path can be written; otherwise errno. SQLite needs
 * it writable for the -wal and -shm files even when the database file is. */
static int dir_unwritable(const char *path)
{
	char *dir = lle_path_dirname(path);
	int e = 0;
	if (dir && access(dir, W_OK) != 0)
		e = errno;
	free(dir);
	return e;
}

int lle_sql_fail(sqlite3 *db, const char *path, const char *what, const char *op, struct lle_err *err)
{
	int rc = db ? sqlite3_extended_errcode(db) : SQLITE_NOMEM;
	int sys = db ? sqlite3_system_errno(db) : 0;
	const char *msg = db ? sqlite3_errmsg(db) : "out of memory";
	char detail[512];
	snprintf(detail, sizeof(detail), "%s", msg);
	if (db && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	int dir_err = (rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_READONLY ? dir_unwritable(path) : 0;
	if (dir_err == EROFS || dir_err == EACCES || dir_err == EPERM) {
		char *dir = lle_path_dirname(path);
		lle_err_set(err, LLE_EXIT_IO,
			    "%s '%s': %s: its directory '%s' is not writable (%s), and SQLite keeps "
			    "'%s-wal' and '%s-shm' beside the file; give a path in a writable directory",
			    what, path, op, dir ? dir : "?", strerror(dir_err), path, path);
		free(dir);
		return -1;
	}
	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		return lle_err_oom(err);
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return lle_err_set(err, LLE_EXIT_IO,
				   "%s '%s' is damaged (%s): it was left as it is; move it aside "
				   "(a new one is created) or restore a copy",
				   what, path, detail);
	case SQLITE_FULL:
		return lle_err_set(err, LLE_EXIT_IO,
				   "%s '%s': %s: the disk is full or a file size limit was reached; "
				   "what was committed before is kept",
				   what, path, op);
	case SQLITE_READONLY:
		return lle_err_set(err, LLE_EXIT_IO,
				   "%s '%s': %s: the file or its directory is read-only (%s); give a "
				   "writable path or run without it",
				   what, path, op, detail);
	case SQLITE_CANTOPEN:
		return lle_err_set(err, LLE_EXIT_IO, "%s '%s': cannot open: %s%s", what, path,
				   sys ? strerror(sys) : detail,
				   sys == EACCES || sys == EROFS ? " (is the directory read-only?)" : "");
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return lle_err_set(err, LLE_EXIT_IO,
				   "%s '%s': %s: still locked by another process after waiting (%s)",
				   what, path, op, detail);
	case SQLITE_IOERR:
		if (sys == EFBIG || sys == ENOSPC || sys == EDQUOT)
			return lle_err_set(err, LLE_EXIT_IO,
					   "%s '%s': %s: %s; what was committed before is kept", what,
					   path, op, strerror(sys));
		/* SQLite does not always keep the errno of a failed write (EFBIG,
		 * ENOSPC), so say what a failed write usually is. */
		if (rc == SQLITE_IOERR_WRITE || rc == SQLITE_IOERR_FSYNC || rc == SQLITE_IOERR_TRUNCATE ||
		    rc == SQLITE_IOERR_SHMSIZE)
			return lle_err_set(err, LLE_EXIT_IO,
					   "%s '%s': %s: a write failed: the disk may be full or a file "
					   "size limit reached (%s); what was committed before is kept",
					   what, path, op, sys ? strerror(sys) : detail);
		return lle_err_set(err, LLE_EXIT_IO, "%s '%s': %s: i/o error: %s", what, path, op,
				   sys ? strerror(sys) : detail);
	default:
		return lle_err_set(err, LLE_EXIT_IO, "%s '%s': %s: %s", what, path, op, detail);
	}
}

int lle_sql_exec(sqlite3 *db, const char *path, const char *what, const char *sql, struct lle_err *err)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return lle_sql_fail(db, path, what, "cannot run a statement", err);
	return 0;
}

static int pragma_int(sqlite3 *db, const char *sql, int *v)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* The file's application id, format version and number of schema objects,
 * read in one statement and so from one snapshot: read one at a time, they
 * could straddle another process's creation of the schema (id and version
 * still 0, tables already there) and a new cache would look like another
 * program's database. */
static int header_read(sqlite3 *db, int *app, int *ver, int *n)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT (SELECT * FROM pragma_application_id), (SELECT * FROM "
				   "pragma_user_version), (SELECT count(*) FROM sqlite_master)", -1, &st, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*app = sqlite3_column_int(st, 0);
		*ver = sqlite3_column_int(st, 1);
		*n = sqlite3_column_int(st, 2);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

sqlite3 *lle_sql_open(const char *path, const char *what, int readonly, int busy_ms, int sync_full,
		      int app_id, int version, const char *schema, struct lle_err *err)
{
	struct lle_sql_schema s = { app_id, version, schema, NULL, NULL };
	return lle_sql_open_schema(path, what, readonly, busy_ms, sync_full, &s, err);
}

sqlite3 *lle_sql_open_schema(const char *path, const char *what, int readonly, int busy_ms, int sync_full,
			     const struct lle_sql_schema *sch, struct lle_err *err)
{
	const int app_id = sch->app_id, version = sch->version;
	sqlite3 *db = NULL;
	if (readonly) {
		struct stat sb;
		if (stat(path, &sb) != 0) {
			lle_err_set(err, LLE_EXIT_IO, "%s '%s' does not exist", what, path);
			return NULL;
		}
	} else {
		char *dir = lle_path_dirname(path);
		if (!dir) {
			lle_err_oom(err);
			return NULL;
		}
		if (lle_mkdir_p(dir) != 0) {
			lle_err_set(err, LLE_EXIT_IO, "%s '%s': cannot create directory '%s': %s", what,
				    path, dir, strerror(errno));
			free(dir);
			return NULL;
		}
		free(dir);
	}
	int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		lle_sql_fail(db, path, what, "cannot open", err);
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, busy_ms > 0 ? busy_ms : 30000);
	if (sch->setup && sch->setup(db) != SQLITE_OK) {
		lle_sql_fail(db, path, what, "cannot open", err);
		goto fail;
	}
	int have_app = 0, have_ver = 0, n_tables = 0;
	/* Reading the header first tells a damaged or foreign file apart before anything is written. */
	if (pragma_int(db, "PRAGMA application_id", &have_app) < 0 && readonly &&
	    (sqlite3_errcode(db) == SQLITE_CANTOPEN || sqlite3_errcode(db) == SQLITE_READONLY) &&
	    dir_unwritable(path)) {
		/* A WAL database in a read-only directory cannot get its -shm file:
		 * read it as immutable (no locks; a WAL left behind is not seen). */
		sqlite3_close(db);
		db = NULL;
		struct lle_buf uri = LLE_BUF_INIT;
		lle_buf_adds(&uri, "file:");
		for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
			if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			    strchr("/-._~", *p))
				lle_buf_addc(&uri, (char)*p);
			else
				lle_buf_printf(&uri, "%%%02X", *p);
		}
		lle_buf_adds(&uri, "?immutable=1");
		if (uri.oom) {
			lle_buf_free(&uri);
			lle_err_oom(err);
			return NULL;
		}
		int orc = sqlite3_open_v2(uri.p, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
		lle_buf_free(&uri);
		if (orc != SQLITE_OK) {
			lle_sql_fail(db, path, what, "cannot open", err);
			goto fail;
		}
		sqlite3_extended_result_codes(db, 1);
		if (sch->setup && sch->setup(db) != SQLITE_OK) {
			lle_sql_fail(db, path, what, "cannot open", err);
			goto fail;
		}
	}
	if (header_read(db, &have_app, &have_ver, &n_tables) < 0) {
		lle_sql_fail(db, path, what, "cannot read", err);
		goto fail;
	}
	/* Application id 0 is a new, empty file, or another program's database
	 * that never set one: only the first may be taken. */
	if ((have_app != 0 && have_app != app_id) || (have_app == 0 && (n_tables > 0 || have_ver != 0))) {
		lle_err_set(err, LLE_EXIT_IO, "'%s' is a SQLite database but not an llm-eval %s; "
			    "give another path", path, what);
		goto fail;
	}
	if (have_ver > version) {
		lle_err_set(err, LLE_EXIT_IO, "%s '%s' has format version %d, this llm-eval reads up "
			    "to %d; use a newer llm-eval or another path", what, path, have_ver, version);
		goto fail;
	}
	for (int v = have_ver; v > 0 && v < version && !readonly; v++)
		if (!sch->upgrade || !sch->upgrade[v - 1]) {
			lle_err_set(err, LLE_EXIT_IO, "%s '%s' has format version %d, older than this "
				    "llm-eval's %d, and cannot be upgraded; give another path", what, path,
				    have_ver, version);
			goto fail;
		}
	if (readonly) {
		if (have_ver == 0) {
			lle_err_set(err, LLE_EXIT_IO, "'%s' is not an llm-eval %s (empty)", path, what);
			goto fail;
		}
		return db;
	}
	/* WAL: readers never block the writer and a commit is one append to the
	 * log, so two processes can share one file. The mode is stored in the file. */
	{
		/* Switching a new file to WAL needs it to itself for a moment, and
		 * SQLite answers SQLITE_BUSY at once, without the busy handler, when
		 * another process is opening or creating the same file: retry for
		 * as long as the busy timeout allows. */
		int rc = SQLITE_BUSY, wal = 0;
		long waited_ms = 0, limit_ms = busy_ms > 0 ? busy_ms : 30000;
		for (;;) {
			sqlite3_stmt *st;
			if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK) {
				lle_sql_fail(db, path, what, "cannot set WAL mode", err);
				goto fail;
			}
			rc = sqlite3_step(st);
			const char *mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
			wal = mode && strcmp(mode, "wal") == 0;
			sqlite3_finalize(st);
			if (((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) || waited_ms >= limit_ms)
				break;
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			waited_ms += 10;
		}
		if (rc != SQLITE_ROW) {
			lle_sql_fail(db, path, what, "cannot set WAL mode", err);
			goto fail;
		}
		if (!wal) {
			lle_err_set(err, LLE_EXIT_IO, "%s '%s': cannot use WAL mode (the file system "
				    "may not support shared memory)", what, path);
			goto fail;
		}
	}
	if (lle_sql_exec(db, path, what, sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
			 err) < 0)
		goto fail;
	if (have_ver < version) {
		char head[160];
		if (lle_sql_exec(db, path, what, "BEGIN IMMEDIATE", err) < 0)
			goto fail;
		/* Another process may have created the schema while we waited for the lock. */
		if (pragma_int(db, "PRAGMA user_version", &have_ver) < 0) {
			lle_sql_fail(db, path, what, "cannot read", err);
			goto fail;
		}
		if (have_ver < version) {
			snprintf(head, sizeof(head), "PRAGMA application_id=%d; PRAGMA user_version=%d;",
				 app_id, version);
			if (have_ver == 0) {
				if (lle_sql_exec(db, path, what, sch->create, err) < 0)
					goto fail;
			} else {
				for (int v = have_ver; v < version; v++) {
					if (!sch->upgrade || !sch->upgrade[v - 1]) {
						/* another process made it an old version meanwhile */
						lle_err_set(err, LLE_EXIT_IO, "%s '%s' has format version %d, "
							    "older than this llm-eval's %d, and cannot be "
							    "upgraded; give another path", what, path, have_ver,
							    version);
						sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
						goto fail;
					}
					if (lle_sql_exec(db, path, what, sch->upgrade[v - 1], err) < 0)
						goto fail;
				}
			}
			if (lle_sql_exec(db, path, what, head, err) < 0)
				goto fail;
		}
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			lle_sql_fail(db, path, what, "cannot create the tables", err);
			goto fail;
		}
	}
	return db;
fail:
	sqlite3_close(db);
	return NULL;
}
