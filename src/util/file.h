/* Whole files written so that a reader never sees half of one. */
#ifndef LLE_UTIL_FILE_H
#define LLE_UTIL_FILE_H

#include <stddef.h>

#include "util/err.h"

/* Write n bytes to path through PATH.tmp.PID: written, flushed, fsync()ed,
 * then renamed over path. On any failure the temporary file is removed,
 * path is left as it was, and err says why (LLE_EXIT_IO). */
int lle_write_file_atomic(const char *path, const void *data, size_t n, struct lle_err *err);

#endif
