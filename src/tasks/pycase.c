/* Python's str case mappings: lower(), upper(), title(), capitalize(),
 * with the tables tools/gen-unicase.py generates from python3 itself
 * (unicase_data.h): simple and special (multi-character) mappings, the
 * cased and case-ignorable properties, and lower()'s final sigma rule (Σ at
 * the end of a word becomes ς: CPython's handle_capital_sigma). Invalid
 * UTF-8 bytes pass through unchanged. Also the one other lookup in those
 * tables, a character's decimal digit value (unicodedata.decimal, which
 * float() and int() read). Nothing else of str is here (pystr.c). */
#include <stdlib.h>
#include <string.h>

#include "tasks/pystr.h"

enum { LLE_CASE_LOWER, LLE_CASE_UPPER, LLE_CASE_TITLE };
struct case_simple {
	uint32_t cp, lower, upper, title;
};
struct case_special {
	uint32_t cp;
	int kind;
	const char *utf8;
};
struct case_range {
	uint32_t a, b;
};

#include "tasks/unicase_data.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *lle_py_unicode_version(void) { return LLE_UNICASE_UNICODE_VERSION; }

int lle_py_decimal(uint32_t cp)
{
	/* the zeros are sorted and each starts a run of ten digits (the
	 * generator checks it): the last zero not above cp decides */
	size_t lo = 0, hi = NELEM(k_digit_zero);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (k_digit_zero[mid] <= cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && cp - k_digit_zero[lo - 1] < 10 ? (int)(cp - k_digit_zero[lo - 1]) : -1;
}

static const struct case_simple *find_simple(uint32_t c)
{
	size_t lo = 0, hi = NELEM(k_case_simple);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (k_case_simple[mid].cp < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < NELEM(k_case_simple) && k_case_simple[lo].cp == c ? &k_case_simple[lo] : NULL;
}

static const char *find_special(uint32_t c, int kind)
{
	size_t lo = 0, hi = NELEM(k_case_special);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (k_case_special[mid].cp < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < NELEM(k_case_special) && k_case_special[lo].cp == c; lo++)
		if (k_case_special[lo].kind == kind)
			return k_case_special[lo].utf8;
	return NULL;
}

static int in_ranges(const struct case_range *r, size_t n, uint32_t c)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (r[mid].b < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && r[lo].a <= c;
}

static int is_cased(uint32_t c) { return in_ranges(k_cased, NELEM(k_cased), c); }
static int is_ignorable(uint32_t c) { return in_ranges(k_case_ignorable, NELEM(k_case_ignorable), c); }

/* A byte that does not start a valid sequence decodes as itself, length 1. */
static int invalid(const char *p, size_t l)
{
	return l == 1 && (unsigned char)*p >= 0x80;
}

/* The character before byte offset i of s, or 0 at the start (*start its offset). */
static uint32_t char_before(const char *s, size_t i, size_t *start)
{
	size_t st = i - 1, l;
	while (st > 0 && ((unsigned char)s[st] & 0xC0) == 0x80 && i - st < 4)
		st--;
	uint32_t cp = lle_py_decode(s + st, i - st, &l);
	if (st + l != i) { /* not one sequence: the last byte alone */
		st = i - 1;
		cp = (unsigned char)s[st];
	}
	*start = st;
	return cp;
}

/* CPython's handle_capital_sigma: Σ at s[i] ends a word when a cased
 * character comes before it and none after, case-ignorable ones skipped. */
static int final_sigma(const char *s, size_t n, size_t i, size_t l)
{
	size_t j = i, st, k = i + l, cl;
	uint32_t c = 0;
	int before = 0;
	while (j > 0) {
		c = char_before(s, j, &st);
		j = st;
		if (!is_ignorable(c)) {
			before = is_cased(c);
			break;
		}
	}
	if (!before)
		return 0;
	while (k < n) {
		c = lle_py_decode(s + k, n - k, &cl);
		if (!is_ignorable(c))
			return !is_cased(c);
		k += cl;
	}
	return 1;
}

/* Appends the case mapping `kind` of the character cp (bytes s[i, i + l)). */
static int map_char(struct lle_buf *out, const char *s, size_t n, size_t i, size_t l, uint32_t cp, int kind)
{
	if (invalid(s + i, l) || cp < 0x80) {
		char ch = s[i];
		if (!invalid(s + i, l) && kind == LLE_CASE_LOWER && ch >= 'A' && ch <= 'Z')
			ch = (char)(ch + 32);
		else if (!invalid(s + i, l) && kind != LLE_CASE_LOWER && ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 32);
		return lle_buf_addc(out, ch);
	}
	if (kind == LLE_CASE_LOWER && cp == 0x3A3)
		return lle_py_encode(out, final_sigma(s, n, i, l) ? 0x3C2 : 0x3C3);
	const char *sp = find_special(cp, kind);
	if (sp)
		return lle_buf_adds(out, sp);
	const struct case_simple *m = find_simple(cp);
	uint32_t to = !m ? cp : kind == LLE_CASE_LOWER ? m->lower : kind == LLE_CASE_UPPER ? m->upper : m->title;
	if (to == cp)
		return lle_buf_add(out, s + i, l);
	return lle_py_encode(out, to);
}

static int map_all(struct lle_buf *out, const char *s, size_t n, int kind)
{
	size_t i = 0, l;
	while (i < n) {
		uint32_t cp = lle_py_decode(s + i, n - i, &l);
		if (map_char(out, s, n, i, l, cp, kind) < 0)
			return -1;
		i += l;
	}
	return 0;
}

int lle_py_lower(struct lle_buf *out, const char *s, size_t n)
{
	return map_all(out, s, n, LLE_CASE_LOWER);
}

int lle_py_upper(struct lle_buf *out, const char *s, size_t n)
{
	return map_all(out, s, n, LLE_CASE_UPPER);
}

int lle_py_title(struct lle_buf *out, const char *s, size_t n)
{
	size_t i = 0, l;
	int prev_cased = 0;
	while (i < n) {
		uint32_t cp = lle_py_decode(s + i, n - i, &l);
		int bad = invalid(s + i, l);
		if (map_char(out, s, n, i, l, cp, prev_cased ? LLE_CASE_LOWER : LLE_CASE_TITLE) < 0)
			return -1;
		prev_cased = !bad && is_cased(cp);
		i += l;
	}
	return 0;
}

int lle_py_capitalize(struct lle_buf *out, const char *s, size_t n)
{
	size_t i = 0, l;
	while (i < n) {
		uint32_t cp = lle_py_decode(s + i, n - i, &l);
		if (map_char(out, s, n, i, l, cp, i == 0 ? LLE_CASE_TITLE : LLE_CASE_LOWER) < 0)
			return -1;
		i += l;
	}
	return 0;
}
