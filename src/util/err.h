/* Errors and exit codes.
 *
 * Library code below the command layer never exits: it fills a struct lle_err
 * and returns -1 (or NULL). Only src/cli/ turns an error into a message on
 * stderr and an exit code. The exit codes are the documented table of the
 * README; keep the two in step (tests/cli/t0001-basics.sh checks them). */
#ifndef LLE_UTIL_ERR_H
#define LLE_UTIL_ERR_H

#include <stddef.h>

enum lle_exit {
	LLE_EXIT_OK = 0,          /* success */
	LLE_EXIT_EVAL = 1,        /* the run finished, but some documents or tasks failed */
	LLE_EXIT_USAGE = 2,       /* bad command line */
	LLE_EXIT_CONFIG = 3,      /* bad registry, task or model configuration */
	LLE_EXIT_DATA = 4,        /* a dataset is missing or malformed */
	LLE_EXIT_BACKEND = 5,     /* a backend plugin or model could not be loaded or failed */
	LLE_EXIT_IO = 6,          /* a file could not be read or written, disk full, ... */
	LLE_EXIT_INTERNAL = 70,   /* a bug or out of memory */
	LLE_EXIT_INTERRUPTED = 130 /* stopped by SIGINT/SIGTERM; work done so far is kept */
};

struct lle_err {
	int code;        /* one of enum lle_exit; 0 when no error is set */
	char msg[1024];  /* one line, no trailing newline, no "error: " prefix */
};

/* Set err (which may be NULL) and return -1, so callers can write
 * `return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d: ...", ...);` */
int lle_err_set(struct lle_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The usual out-of-memory error. */
int lle_err_oom(struct lle_err *err);
/* Prefix the message already in err with "prefix: ". */
void lle_err_prefix(struct lle_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void lle_err_clear(struct lle_err *err);

#endif
