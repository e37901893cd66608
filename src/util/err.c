/* Error values: see err.h. */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int lle_err_set(struct lle_err *err, int code, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->code = code ? code : LLE_EXIT_INTERNAL;
	return -1;
}

int lle_err_oom(struct lle_err *err)
{
	return lle_err_set(err, LLE_EXIT_INTERNAL, "out of memory");
}

void lle_err_prefix(struct lle_err *err, const char *fmt, ...)
{
	if (!err)
		return;
	char prefix[512], old[sizeof(err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%.400s: %.600s", prefix, old);
}

void lle_err_clear(struct lle_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}
