/* Diagnostics: see diag.h. Not thread-safe beyond what stdio gives: each
 * message is one fprintf call, so lines from threads do not interleave. */
#include "util/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int verbosity = LLE_NORMAL;
static int color_mode = -1;
static unsigned nwarn;

void lle_diag_init(void)
{
	const char *d = getenv("LLM_EVAL_DEBUG");
	if (d && *d && strcmp(d, "0") != 0)
		verbosity = LLE_DEBUG;
}

void lle_diag_set_verbosity(int v) { verbosity = v; }
int lle_diag_verbosity(void) { return verbosity; }
void lle_diag_set_color(int on) { color_mode = on; }

int lle_use_color(FILE *f)
{
	if (color_mode >= 0)
		return color_mode;
	const char *nc = getenv("NO_COLOR");
	if (nc && *nc)
		return 0;
	const char *term = getenv("TERM");
	if (term && strcmp(term, "dumb") == 0)
		return 0;
	return isatty(fileno(f));
}

static void emit(const char *label, const char *color, const char *fmt, va_list ap)
{
	char line[4096];
	vsnprintf(line, sizeof(line), fmt, ap);
	if (lle_use_color(stderr))
		fprintf(stderr, "\033[%sm%s:\033[0m %s\n", color, label, line);
	else
		fprintf(stderr, "%s: %s\n", label, line);
}

void lle_errorf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("error", "1;31", fmt, ap);
	va_end(ap);
}

void lle_warnf(const char *fmt, ...)
{
	nwarn++;
	if (verbosity < LLE_NORMAL)
		return;
	va_list ap;
	va_start(ap, fmt);
	emit("warning", "1;33", fmt, ap);
	va_end(ap);
}

void lle_notef(const char *fmt, ...)
{
	if (verbosity < LLE_VERBOSE)
		return;
	va_list ap;
	va_start(ap, fmt);
	emit("note", "1;36", fmt, ap);
	va_end(ap);
}

void lle_debugf(const char *fmt, ...)
{
	if (verbosity < LLE_DEBUG)
		return;
	va_list ap;
	va_start(ap, fmt);
	emit("debug", "2", fmt, ap);
	va_end(ap);
}

unsigned lle_warn_count(void) { return nwarn; }
