/* Atomic whole-file writes: see file.h. One writer for the results files of
 * run and merge and the outputs of report and results. */
#include "util/file.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"

int lle_write_file_atomic(const char *path, const void *data, size_t n, struct lle_err *err)
{
	struct lle_buf tmp = LLE_BUF_INIT;
	/* The process id keeps two writers of the same path off each other's
	 * temporary file; the last rename wins, whole. */
	if (lle_buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0)
		return lle_err_oom(err);
	FILE *f = fopen(tmp.p, "wb");
	if (!f) {
		lle_err_set(err, LLE_EXIT_IO, "cannot write '%s': %s", path, strerror(errno));
		lle_buf_free(&tmp);
		return -1;
	}
	int bad = n && fwrite(data, 1, n, f) != n;
	bad |= fflush(f) != 0;
	bad |= fsync(fileno(f)) != 0;
	int e = errno;
	bad |= fclose(f) != 0;
	if (bad || rename(tmp.p, path) != 0) {
		if (!bad)
			e = errno;
		unlink(tmp.p);
		lle_err_set(err, LLE_EXIT_IO, "cannot write '%s': %s", path, strerror(e ? e : EIO));
		lle_buf_free(&tmp);
		return -1;
	}
	lle_buf_free(&tmp);
	return 0;
}
