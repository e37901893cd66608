/* The one place that prints diagnostics to stderr.
 *
 * Messages follow git's style: lower case, no full stop, subject quoted:
 *   error: task 'gsm8k': doc 17: missing field 'question'
 * Colour only on a terminal and never with NO_COLOR. */
#ifndef LLE_UTIL_DIAG_H
#define LLE_UTIL_DIAG_H

#include <stdio.h>

enum lle_verbosity { LLE_QUIET = 0, LLE_NORMAL = 1, LLE_VERBOSE = 2, LLE_DEBUG = 3 };

void lle_diag_init(void);            /* reads NO_COLOR, LLM_EVAL_DEBUG, isatty(2) */
void lle_diag_set_verbosity(int v);
int lle_diag_verbosity(void);
void lle_diag_set_color(int on);     /* -1 auto, 0 never, 1 always */
/* Whether to colour output written to this stream (honours NO_COLOR). */
int lle_use_color(FILE *f);

void lle_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lle_warnf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lle_notef(const char *fmt, ...) __attribute__((format(printf, 1, 2)));  /* verbose */
void lle_debugf(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* debug */
/* Number of warnings printed so far (for `validate`). */
unsigned lle_warn_count(void);

#endif
