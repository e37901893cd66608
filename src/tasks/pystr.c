/* Python value and string semantics: see pystr.h. */
#include "tasks/pystr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

uint32_t lle_py_decode(const char *s, size_t n, size_t *len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t l = lle_utf8_valid_prefix(p, n);
	if (l == 0) {
		*len = 1;
		return p[0];
	}
	*len = l;
	if (l == 1)
		return p[0];
	if (l == 2)
		return ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
	if (l == 3)
		return ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
	return ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
	       ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
}

int lle_py_encode(struct lle_buf *b, uint32_t cp)
{
	char t[4];
	size_t n;
	if (cp < 0x80) {
		t[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		t[0] = (char)(0xC0 | (cp >> 6));
		t[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		t[0] = (char)(0xE0 | (cp >> 12));
		t[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		t[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		t[0] = (char)(0xF0 | (cp >> 18));
		t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		t[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		t[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return lle_buf_add(b, t, n);
}

/* Appends one decoded character: a valid sequence re-encoded, an invalid
 * byte copied as it was. */
int lle_py_isspace(uint32_t c)
{
	/* str.isspace(): bidirectional class WS, B or S, or category Zs */
	return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
	       c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
	       c == 0x202F || c == 0x205F || c == 0x3000;
}

size_t lle_py_len(const char *s, size_t n)
{
	size_t k = 0, i = 0, l;
	while (i < n) {
		lle_py_decode(s + i, n - i, &l);
		i += l;
		k++;
	}
	return k;
}

static int in_chars(uint32_t cp, const char *chars)
{
	if (!chars)
		return lle_py_isspace(cp);
	size_t n = strlen(chars), i = 0, l;
	while (i < n) {
		if (lle_py_decode(chars + i, n - i, &l) == cp)
			return 1;
		i += l;
	}
	return 0;
}

int lle_py_strip(struct lle_buf *out, const char *s, size_t n, const char *chars, int mode)
{
	size_t a = 0, b = n, l;
	if (mode & LLE_STRIP_LEFT) {
		while (a < n) {
			uint32_t cp = lle_py_decode(s + a, n - a, &l);
			if (!in_chars(cp, chars))
				break;
			a += l;
		}
	}
	if (mode & LLE_STRIP_RIGHT) {
		while (b > a) {
			/* step back to the start of the last character */
			size_t st = b - 1;
			while (st > a && ((unsigned char)s[st] & 0xC0) == 0x80 && b - st < 4)
				st--;
			uint32_t cp = lle_py_decode(s + st, b - st, &l);
			if (st + l != b) { /* not one sequence: the last byte alone */
				st = b - 1;
				cp = (unsigned char)s[st];
			}
			if (!in_chars(cp, chars))
				break;
			b = st;
		}
	}
	return lle_buf_add(out, s + a, b - a);
}

/* lle_py_lower, lle_py_upper, lle_py_title, lle_py_capitalize: pycase.c */

static int push_str(json_t *a, const char *s, size_t n)
{
	json_t *j = json_stringn_nocheck(s, n);
	return j ? json_array_append_new(a, j) : -1;
}

json_t *lle_py_split(const char *s, size_t n, const char *sep)
{
	json_t *a = json_array();
	if (!a)
		return NULL;
	if (sep) {
		size_t m = strlen(sep), start = 0, i = 0;
		while (m && i + m <= n) {
			if (memcmp(s + i, sep, m) == 0) {
				if (push_str(a, s + start, i - start) < 0)
					goto oom;
				i += m;
				start = i;
			} else {
				i++;
			}
		}
		if (push_str(a, s + start, n - start) < 0)
			goto oom;
		return a;
	}
	size_t i = 0, l;
	while (i < n) {
		while (i < n && lle_py_isspace(lle_py_decode(s + i, n - i, &l)))
			i += l;
		if (i >= n)
			break;
		size_t st = i;
		while (i < n && !lle_py_isspace(lle_py_decode(s + i, n - i, &l)))
			i += l;
		if (push_str(a, s + st, i - st) < 0)
			goto oom;
	}
	return a;
oom:
	json_decref(a);
	return NULL;
}

int lle_py_replace(struct lle_buf *out, const char *s, size_t n, const char *old, const char *new_)
{
	size_t m = strlen(old), i = 0, l;
	if (m == 0) {
		if (lle_buf_adds(out, new_) < 0)
			return -1;
		while (i < n) {
			lle_py_decode(s + i, n - i, &l);
			if (lle_buf_add(out, s + i, l) < 0 || lle_buf_adds(out, new_) < 0)
				return -1;
			i += l;
		}
		return 0;
	}
	size_t start = 0;
	while (i + m <= n) {
		if (memcmp(s + i, old, m) == 0) {
			if (lle_buf_add(out, s + start, i - start) < 0 || lle_buf_adds(out, new_) < 0)
				return -1;
			i += m;
			start = i;
		} else {
			i++;
		}
	}
	return lle_buf_add(out, s + start, n - start);
}

int lle_py_float_repr(struct lle_buf *out, double d)
{
	if (isnan(d))
		return lle_buf_adds(out, "nan");
	if (isinf(d))
		return lle_buf_adds(out, d < 0 ? "-inf" : "inf");
	if (d == 0)
		return lle_buf_adds(out, signbit(d) ? "-0.0" : "0.0");
	char t[40];
	int p;
	for (p = 1; p <= 17; p++) { /* the shortest digits that read back the same */
		snprintf(t, sizeof(t), "%.*e", p - 1, d);
		if (strtod(t, NULL) == d)
			break;
	}
	/* t is "-d.ddde+XX": split into digits and exponent */
	char digits[24];
	size_t nd = 0;
	const char *q = t;
	int neg = 0;
	if (*q == '-') {
		neg = 1;
		q++;
	}
	for (; *q && *q != 'e'; q++)
		if (*q != '.')
			digits[nd++] = *q;
	digits[nd] = '\0';
	while (nd > 1 && digits[nd - 1] == '0')
		digits[--nd] = '\0';
	int e10 = atoi(q + 1);
	int decpt = e10 + 1;
	if (neg && lle_buf_addc(out, '-') < 0)
		return -1;
	if (decpt > 16 || decpt < -3) {
		lle_buf_addc(out, digits[0]);
		if (nd > 1) {
			lle_buf_addc(out, '.');
			lle_buf_add(out, digits + 1, nd - 1);
		}
		return lle_buf_printf(out, "e%c%02d", e10 < 0 ? '-' : '+', abs(e10));
	}
	if (decpt <= 0) {
		lle_buf_adds(out, "0.");
		for (int i = 0; i < -decpt; i++)
			lle_buf_addc(out, '0');
		return lle_buf_add(out, digits, nd);
	}
	for (int i = 0; i < decpt; i++)
		lle_buf_addc(out, (size_t)i < nd ? digits[i] : '0');
	lle_buf_addc(out, '.');
	if ((size_t)decpt < nd)
		return lle_buf_add(out, digits + decpt, nd - (size_t)decpt);
	return lle_buf_addc(out, '0');
}

/* Characters repr() escapes: the non-printable ones (control, format,
 * separators other than the space, private use, unassigned surrogates). */
static int py_printable(uint32_t c)
{
	if (c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0xA0) || c == 0xAD)
		return 0;
	if (c == 0x1680 || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) ||
	    (c >= 0x205F && c <= 0x206F) || c == 0x3000 || c == 0xFEFF || (c >= 0xE000 && c <= 0xF8FF) ||
	    (c >= 0xFFF9 && c <= 0xFFFB) || c == 0x061C || c == 0x180E)
		return 0;
	return 1;
}

static int repr_str(struct lle_buf *out, const char *s, size_t n)
{
	int has_sq = memchr(s, '\'', n) != NULL, has_dq = memchr(s, '"', n) != NULL;
	char q = (has_sq && !has_dq) ? '"' : '\'';
	lle_buf_addc(out, q);
	size_t i = 0, l;
	while (i < n) {
		uint32_t c = lle_py_decode(s + i, n - i, &l);
		if (c == (uint32_t)q || c == '\\') {
			lle_buf_addc(out, '\\');
			lle_buf_addc(out, (char)c);
		} else if (c == '\n') {
			lle_buf_adds(out, "\\n");
		} else if (c == '\r') {
			lle_buf_adds(out, "\\r");
		} else if (c == '\t') {
			lle_buf_adds(out, "\\t");
		} else if (l == 1 && c >= 0x80) { /* an invalid byte */
			lle_buf_printf(out, "\\x%02x", c);
		} else if (!py_printable(c)) {
			if (c <= 0xFF)
				lle_buf_printf(out, "\\x%02x", c);
			else if (c <= 0xFFFF)
				lle_buf_printf(out, "\\u%04x", c);
			else
				lle_buf_printf(out, "\\U%08x", c);
		} else {
			lle_buf_add(out, s + i, l);
		}
		i += l;
	}
	return lle_buf_addc(out, q);
}

static int str_or_repr(struct lle_buf *out, const json_t *v, int repr)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		if (repr)
			return repr_str(out, json_string_value(v), json_string_length(v));
		return lle_buf_add(out, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return lle_buf_printf(out, "%lld", (long long)json_integer_value(v));
	case JSON_REAL:
		return lle_py_float_repr(out, json_real_value(v));
	case JSON_TRUE:
		return lle_buf_adds(out, "True");
	case JSON_FALSE:
		return lle_buf_adds(out, "False");
	case JSON_NULL:
		return lle_buf_adds(out, "None");
	case JSON_ARRAY: {
		lle_buf_addc(out, '[');
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				lle_buf_adds(out, ", ");
			str_or_repr(out, json_array_get(v, i), 1);
		}
		return lle_buf_addc(out, ']');
	}
	case JSON_OBJECT: {
		const char *k;
		json_t *x;
		int first = 1;
		lle_buf_addc(out, '{');
		json_object_foreach((json_t *)v, k, x) {
			if (!first)
				lle_buf_adds(out, ", ");
			first = 0;
			repr_str(out, k, strlen(k));
			lle_buf_adds(out, ": ");
			str_or_repr(out, x, 1);
		}
		return lle_buf_addc(out, '}');
	}
	}
	return 0;
}

int lle_py_str(struct lle_buf *out, const json_t *v)
{
	str_or_repr(out, v, 0);
	return out->oom ? -1 : 0;
}

int lle_py_repr(struct lle_buf *out, const json_t *v)
{
	str_or_repr(out, v, 1);
	return out->oom ? -1 : 0;
}

int lle_py_truthy(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING: return json_string_length(v) > 0;
	case JSON_INTEGER: return json_integer_value(v) != 0;
	case JSON_REAL: return json_real_value(v) != 0;
	case JSON_TRUE: return 1;
	case JSON_FALSE:
	case JSON_NULL: return 0;
	case JSON_ARRAY: return json_array_size(v) > 0;
	case JSON_OBJECT: return json_object_size(v) > 0;
	}
	return 0;
}

static int is_num(const json_t *v)
{
	return json_is_number(v) || json_is_boolean(v);
}

static double num(const json_t *v)
{
	if (json_is_boolean(v))
		return json_is_true(v);
	return json_number_value(v);
}

int lle_py_eq(const json_t *a, const json_t *b)
{
	if (is_num(a) && is_num(b)) {
		if (json_is_integer(a) && json_is_integer(b))
			return json_integer_value(a) == json_integer_value(b);
		return num(a) == num(b);
	}
	if (json_typeof(a) != json_typeof(b))
		return 0;
	switch (json_typeof(a)) {
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		       memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
	case JSON_NULL: return 1;
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!lle_py_eq(json_array_get(a, i), json_array_get(b, i)))
				return 0;
		return 1;
	case JSON_OBJECT: {
		if (json_object_size(a) != json_object_size(b))
			return 0;
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)a, k, x) {
			json_t *y = json_object_get(b, k);
			if (!y || !lle_py_eq(x, y))
				return 0;
		}
		return 1;
	}
	default: return 0;
	}
}

/* ---- ast.literal_eval ---- */

struct lit {
	const char *s, *p;
	struct lle_err *err;
};

static json_t *lit_fail(struct lit *L, const char *what)
{
	lle_err_set(L->err, LLE_EXIT_DATA, "not a Python literal: %s at character %zu", what,
		    (size_t)(L->p - L->s) + 1);
	return NULL;
}

static void lit_ws(struct lit *L)
{
	while (*L->p == ' ' || *L->p == '\t' || *L->p == '\n' || *L->p == '\r')
		L->p++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static json_t *lit_string(struct lit *L)
{
	char q = *L->p++;
	struct lle_buf b = LLE_BUF_INIT;
	for (;;) {
		char c = *L->p;
		if (!c) {
			lle_buf_free(&b);
			return lit_fail(L, "unterminated string");
		}
		L->p++;
		if (c == q)
			break;
		if (c != '\\') {
			lle_buf_addc(&b, c);
			continue;
		}
		c = *L->p++;
		int nhex = 0;
		switch (c) {
		case 'n': lle_buf_addc(&b, '\n'); break;
		case 't': lle_buf_addc(&b, '\t'); break;
		case 'r': lle_buf_addc(&b, '\r'); break;
		case 'a': lle_buf_addc(&b, '\a'); break;
		case 'b': lle_buf_addc(&b, '\b'); break;
		case 'f': lle_buf_addc(&b, '\f'); break;
		case 'v': lle_buf_addc(&b, '\v'); break;
		case '\\': case '\'': case '"': lle_buf_addc(&b, c); break;
		case '\n': break;
		case 'x': nhex = 2; break;
		case 'u': nhex = 4; break;
		case 'U': nhex = 8; break;
		case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
			/* \ooo: up to three octal digits, a code point up to 0o777 */
			uint32_t cp = (uint32_t)(c - '0');
			for (int i = 0; i < 2 && *L->p >= '0' && *L->p <= '7'; i++)
				cp = cp * 8 + (uint32_t)(*L->p++ - '0');
			lle_py_encode(&b, cp);
			break;
		}
		default:
			lle_buf_addc(&b, '\\');
			if (c)
				lle_buf_addc(&b, c);
			else
				L->p--;
		}
		if (nhex) {
			uint32_t cp = 0;
			for (int i = 0; i < nhex; i++) {
				int h = hexval(*L->p);
				if (h < 0) {
					lle_buf_free(&b);
					return lit_fail(L, "bad escape");
				}
				cp = cp * 16 + (uint32_t)h;
				L->p++;
			}
			if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
				lle_buf_free(&b);
				return lit_fail(L, "bad escape");
			}
			lle_py_encode(&b, cp);
		}
	}
	if (b.oom) {
		lle_buf_free(&b);
		lle_err_oom(L->err);
		return NULL;
	}
	json_t *j = json_stringn(lle_buf_str(&b), b.n);
	lle_buf_free(&b);
	if (!j)
		return lit_fail(L, "string is not valid UTF-8");
	return j;
}

static json_t *lit_value(struct lit *L, int depth);

static json_t *lit_seq(struct lit *L, char close, int depth)
{
	json_t *a = json_array();
	if (!a) {
		lle_err_oom(L->err);
		return NULL;
	}
	L->p++;
	for (;;) {
		lit_ws(L);
		if (*L->p == close) {
			L->p++;
			return a;
		}
		json_t *v = lit_value(L, depth + 1);
		if (!v || json_array_append_new(a, v) < 0) {
			json_decref(a);
			return NULL;
		}
		lit_ws(L);
		if (*L->p == ',') {
			L->p++;
			continue;
		}
		if (*L->p == close) {
			L->p++;
			return a;
		}
		json_decref(a);
		return lit_fail(L, "expected ',' or a closing bracket");
	}
}

static json_t *lit_dict(struct lit *L, int depth)
{
	json_t *o = json_object();
	if (!o) {
		lle_err_oom(L->err);
		return NULL;
	}
	L->p++;
	for (;;) {
		lit_ws(L);
		if (*L->p == '}') {
			L->p++;
			return o;
		}
		if (*L->p != '\'' && *L->p != '"') {
			json_decref(o);
			return lit_fail(L, "dict keys must be strings");
		}
		json_t *k = lit_string(L);
		if (!k) {
			json_decref(o);
			return NULL;
		}
		lit_ws(L);
		if (*L->p != ':') {
			json_decref(k);
			json_decref(o);
			return lit_fail(L, "expected ':'");
		}
		L->p++;
		lit_ws(L);
		json_t *v = lit_value(L, depth + 1);
		if (!v || json_object_set_new(o, json_string_value(k), v) < 0) {
			json_decref(k);
			json_decref(o);
			return NULL;
		}
		json_decref(k);
		lit_ws(L);
		if (*L->p == ',') {
			L->p++;
			continue;
		}
		if (*L->p == '}') {
			L->p++;
			return o;
		}
		json_decref(o);
		return lit_fail(L, "expected ',' or '}'");
	}
}

static json_t *lit_value(struct lit *L, int depth)
{
	if (depth > 100)
		return lit_fail(L, "nested too deeply");
	lit_ws(L);
	char c = *L->p;
	if (c == '\'' || c == '"') {
		json_t *s = lit_string(L);
		/* adjacent literals concatenate, as in Python source */
		for (;;) {
			if (!s)
				return NULL;
			const char *save = L->p;
			lit_ws(L);
			if (*L->p != '\'' && *L->p != '"') {
				L->p = save;
				return s;
			}
			json_t *t = lit_string(L);
			if (!t) {
				json_decref(s);
				return NULL;
			}
			struct lle_buf b = LLE_BUF_INIT;
			lle_buf_add(&b, json_string_value(s), json_string_length(s));
			lle_buf_add(&b, json_string_value(t), json_string_length(t));
			json_decref(s);
			json_decref(t);
			s = b.oom ? NULL : json_stringn(lle_buf_str(&b), b.n);
			lle_buf_free(&b);
			if (!s) {
				lle_err_oom(L->err);
				return NULL;
			}
		}
	}
	if (c == '[')
		return lit_seq(L, ']', depth);
	if (c == '(')
		return lit_seq(L, ')', depth);
	if (c == '{')
		return lit_dict(L, depth);
	if (strncmp(L->p, "True", 4) == 0) {
		L->p += 4;
		return json_true();
	}
	if (strncmp(L->p, "False", 5) == 0) {
		L->p += 5;
		return json_false();
	}
	if (strncmp(L->p, "None", 4) == 0) {
		L->p += 4;
		return json_null();
	}
	if (c == '-' || c == '+' || (c >= '0' && c <= '9') || c == '.') {
		const char *st = L->p;
		if (*L->p == '-' || *L->p == '+')
			L->p++;
		int isfloat = 0;
		while ((*L->p >= '0' && *L->p <= '9') || *L->p == '.' || *L->p == 'e' || *L->p == 'E' ||
		       *L->p == '_' ||
		       ((*L->p == '-' || *L->p == '+') && (L->p[-1] == 'e' || L->p[-1] == 'E'))) {
			if (*L->p == '.' || *L->p == 'e' || *L->p == 'E')
				isfloat = 1;
			L->p++;
		}
		char t[64];
		size_t n = 0;
		for (const char *q = st; q < L->p && n < sizeof(t) - 1; q++)
			if (*q != '_')
				t[n++] = *q;
		t[n] = '\0';
		char *end;
		if (isfloat) {
			double d = strtod(t, &end);
			if (*end || end == t)
				return lit_fail(L, "bad number");
			return json_real(d);
		}
		long long v = strtoll(t, &end, 10);
		if (*end || end == t)
			return lit_fail(L, "bad number");
		return json_integer(v);
	}
	return lit_fail(L, "unexpected character");
}

json_t *lle_py_literal_eval(const char *s, struct lle_err *err)
{
	struct lit L = { s, s, err };
	json_t *v = lit_value(&L, 0);
	if (!v)
		return NULL;
	lit_ws(&L);
	if (*L.p) {
		json_decref(v);
		return lit_fail(&L, "text after the literal");
	}
	return v;
}
