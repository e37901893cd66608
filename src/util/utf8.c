/* UTF-8 validation: see utf8.h. */
#include "util/utf8.h"

#include <string.h>

size_t lle_utf8_valid_prefix(const unsigned char *p, size_t n)
{
	if (n == 0)
		return 0;
	unsigned c = p[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned cp, min;
	if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; min = 0x80; }
	else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; min = 0x800; }
	else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; min = 0x10000; }
	else return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

size_t lle_utf8_check(const unsigned char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = lle_utf8_valid_prefix(p + i, n - i);
		if (!k)
			return i;
		i += k;
	}
	return n;
}

size_t lle_utf8_len(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, count = 0;
	while (i < n) {
		size_t k = p[i] < 0x80 ? 1 : lle_utf8_valid_prefix(p + i, n - i);
		i += k ? k : 1;
		count++;
	}
	return count;
}
