/* Growable buffers: see buf.h. */
#include "util/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

int lle_buf_reserve(struct lle_buf *b, size_t extra)
{
	if (b->oom)
		return -1;
	if (extra > SIZE_MAX - b->n - 1) {
		b->oom = 1;
		return -1;
	}
	size_t need = b->n + extra + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

int lle_buf_add(struct lle_buf *b, const void *p, size_t n)
{
	if (lle_buf_reserve(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
	return 0;
}

int lle_buf_adds(struct lle_buf *b, const char *s) { return lle_buf_add(b, s, strlen(s)); }
int lle_buf_addc(struct lle_buf *b, char c) { return lle_buf_add(b, &c, 1); }

int lle_buf_vprintf(struct lle_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || lle_buf_reserve(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
	b->n += (size_t)n;
	return 0;
}

int lle_buf_printf(struct lle_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = lle_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

int lle_buf_add_json_str(struct lle_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s);
	if (lle_buf_addc(b, '"') < 0)
		return -1;
	size_t i = 0;
	while (i < len) {
		unsigned char c = p[i];
		if (c >= 0x80) {
			size_t n = lle_utf8_valid_prefix(p + i, len - i);
			if (n == 0) {
				lle_buf_adds(b, "\\ufffd");
				i++;
			} else {
				lle_buf_add(b, p + i, n);
				i += n;
			}
			continue;
		}
		switch (c) {
		case '"': lle_buf_adds(b, "\\\""); break;
		case '\\': lle_buf_adds(b, "\\\\"); break;
		case '\n': lle_buf_adds(b, "\\n"); break;
		case '\r': lle_buf_adds(b, "\\r"); break;
		case '\t': lle_buf_adds(b, "\\t"); break;
		case '\b': lle_buf_adds(b, "\\b"); break;
		case '\f': lle_buf_adds(b, "\\f"); break;
		default:
			if (c < 0x20) {
				char u[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };
				lle_buf_adds(b, u);
			} else {
				lle_buf_addc(b, (char)c);
			}
		}
		i++;
	}
	lle_buf_addc(b, '"');
	return b->oom ? -1 : 0;
}

void lle_buf_reset(struct lle_buf *b)
{
	b->n = 0;
	if (b->p)
		b->p[0] = '\0';
}

void lle_buf_free(struct lle_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
	b->oom = 0;
}

char *lle_buf_detach(struct lle_buf *b)
{
	if (b->oom) {
		lle_buf_free(b);
		return NULL;
	}
	char *p = b->p ? b->p : lle_strdup("");
	b->p = NULL;
	b->n = b->cap = 0;
	return p;
}

const char *lle_buf_str(const struct lle_buf *b) { return b->p ? b->p : ""; }

char *lle_strdup(const char *s)
{
	return lle_strndup(s, strlen(s));
}

char *lle_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}
