/* A growable byte buffer, always NUL-terminated.
 *
 * Appends report allocation failure by returning -1; once a buffer has failed
 * it stays failed (b->oom) so a sequence of appends can be checked once. */
#ifndef LLE_UTIL_BUF_H
#define LLE_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct lle_buf {
	char *p;      /* NUL-terminated contents, or NULL when empty and unallocated */
	size_t n;     /* bytes used, not counting the NUL */
	size_t cap;
	int oom;
};

#define LLE_BUF_INIT { NULL, 0, 0, 0 }

int lle_buf_reserve(struct lle_buf *b, size_t extra);
int lle_buf_add(struct lle_buf *b, const void *p, size_t n);
int lle_buf_adds(struct lle_buf *b, const char *s);
int lle_buf_addc(struct lle_buf *b, char c);
int lle_buf_printf(struct lle_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int lle_buf_vprintf(struct lle_buf *b, const char *fmt, va_list ap);
/* Append s as a JSON string literal, quotes included. Invalid UTF-8 bytes
 * become U+FFFD so the output is always valid JSON. */
int lle_buf_add_json_str(struct lle_buf *b, const char *s);
void lle_buf_reset(struct lle_buf *b);  /* keep the memory, empty the contents */
void lle_buf_free(struct lle_buf *b);
/* Give the contents to the caller (free() them); the buffer is left empty.
 * Returns "" allocated when empty, NULL on failure. */
char *lle_buf_detach(struct lle_buf *b);
/* Contents, "" when empty. */
const char *lle_buf_str(const struct lle_buf *b);

/* strdup/strndup that return NULL on failure (no abort). */
char *lle_strdup(const char *s);
char *lle_strndup(const char *s, size_t n);

#endif
