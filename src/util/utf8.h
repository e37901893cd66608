/* UTF-8 checks. */
#ifndef LLE_UTIL_UTF8_H
#define LLE_UTIL_UTF8_H

#include <stddef.h>

/* Length (1-4) of the valid UTF-8 sequence at p, or 0 if p does not start one.
 * Rejects overlong forms, surrogates and code points above U+10FFFF. */
size_t lle_utf8_valid_prefix(const unsigned char *p, size_t n);
/* Offset of the first invalid byte in [p, p+n), or n when all is valid. */
size_t lle_utf8_check(const unsigned char *p, size_t n);
/* Number of code points in a valid UTF-8 string (invalid bytes count one each). */
size_t lle_utf8_len(const char *s);

#endif
