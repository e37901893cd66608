/* The template builtins, as tables the parser checks names against and the
 * evaluator calls through: Jinja's filters (and lm-evaluation-harness's
 * regex_replace, Python's re.sub), Python's str/list/dict methods, Jinja's
 * tests, and range(). Each entry gives its argument counts; the evaluator
 * (template_eval.c) checks them and whether the value may be undefined
 * before calling. String work is pystr.c's; nothing here parses. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/template_int.h"

static int want_str(struct tpl_render *R, const struct expr *e, const json_t *v, const char *what)
{
	if (!json_is_string(v))
		return lle_tpl_render_error(R, e, "%s needs a string, not %s", what, lle_tpl_type_name(v));
	return 0;
}

/* The optional chars argument of strip/trim: NULL for whitespace. 0 or -1. */
static int strip_chars(struct tpl_render *R, const struct expr *e, json_t **av, const char *what,
		       const char **chars)
{
	*chars = NULL;
	if (e->nargs == 1 && !json_is_null(av[0])) {
		if (want_str(R, e, av[0], what) < 0)
			return -1;
		*chars = json_string_value(av[0]);
	}
	return 0;
}

static int str_result(struct tpl_render *R, struct lle_buf *b, json_t **out)
{
	*out = lle_tpl_buf_to_str(b);
	return *out ? 0 : lle_tpl_oom(R);
}

json_t *lle_tpl_characters(const json_t *v)
{
	json_t *a = json_array();
	const char *p = json_string_value(v);
	size_t n = json_string_length(v), i = 0, l;
	while (a && i < n) {
		lle_py_decode(p + i, n - i, &l);
		if (json_array_append_new(a, json_stringn_nocheck(p + i, l)) < 0) {
			json_decref(a);
			a = NULL;
		}
		i += l;
	}
	return a;
}

/* Python's str.capitalize() (pycase.c). */
static void capitalize(struct lle_buf *b, const char *p, size_t n)
{
	lle_py_capitalize(b, p, n);
}

/* ---------- str methods ---------- */

static int method_strip(struct tpl_render *R, const struct expr *e, json_t *self, json_t **av,
			json_t **out)
{
	const char *m = e->name, *chars;
	if (strip_chars(R, e, av, m, &chars) < 0)
		return -1;
	int mode = m[0] == 's' ? LLE_STRIP_BOTH : m[0] == 'l' ? LLE_STRIP_LEFT : LLE_STRIP_RIGHT;
	struct lle_buf b = LLE_BUF_INIT;
	lle_py_strip(&b, json_string_value(self), json_string_length(self), chars, mode);
	return str_result(R, &b, out);
}

static int method_lower(struct tpl_render *R, const struct expr *e, json_t *self, json_t **av,
			json_t **out)
{
	(void)e, (void)av;
	struct lle_buf b = LLE_BUF_INIT;
	lle_py_lower(&b, json_string_value(self), json_string_length(self));
	return str_result(R, &b, out);
}

static int method_upper(struct tpl_render *R, const struct expr *e, json_t *self, json_t **av,
			json_t **out)
{
	(void)e, (void)av;
	struct lle_buf b = LLE_BUF_INIT;
	lle_py_upper(&b, json_string_value(self), json_string_length(self));
	return str_result(R, &b, out);
}

static int method_capitalize(struct tpl_render *R, const struct expr *e, json_t *self, json_t **av,
			     json_t **out)
{
	(void)e, (void)av;
	struct lle_buf b = LLE_BUF_INIT;
	capitalize(&b, json_string_value(self), json_string_length(self));
	return str_result(R, &b, out);
}

/* Python's str.split(sep, maxsplit) with maxsplit >= 0 (lle_py_split does the rest). */
static json_t *split_max(const char *s, size_t n, const char *sep, long long maxsplit)
{
	json_t *a = json_array();
	size_t i = 0, l;
	if (sep) {
		size_t m = strlen(sep), start = 0;
		while (a && maxsplit > 0 && i + m <= n) {
			if (memcmp(s + i, sep, m) == 0) {
				if (json_array_append_new(a, json_stringn_nocheck(s + start, i - start)) < 0)
					a = (json_decref(a), NULL);
				i += m;
				start = i;
				maxsplit--;
			} else {
				i++;
			}
		}
		if (a && json_array_append_new(a, json_stringn_nocheck(s + start, n - start)) < 0)
			a = (json_decref(a), NULL);
		return a;
	}
	while (a && i < n) {
		while (i < n && lle_py_isspace(lle_py_decode(s + i, n - i, &l)))
			i += l;
		if (i >= n)
			break;
		size_t st = i;
		if (maxsplit-- <= 0)
			i = n; /* the rest, its trailing whitespace kept */
		while (i < n && !lle_py_isspace(lle_py_decode(s + i, n - i, &l)))
			i += l;
		if (json_array_append_new(a, json_stringn_nocheck(s + st, i - st)) < 0)
			a = (json_decref(a), NULL);
	}
	return a;
}

static int method_split(struct tpl_render *R, const struct expr *e, json_t *self, json_t **av,
			json_t **out)
{
	const char *sep = NULL;
	if (e->nargs >= 1 && !json_is_null(av[0])) {
		if (want_str(R, e, av[0], "split") < 0)
			return -1;
		sep = json_string_value(av[0]);
		if (!*sep)
			return lle_tpl_render_error(R, e, "empty separator");
	}
	if (e->nargs == 2 && !lle_tpl_is_intlike(av[1]))
		return lle_tpl_render_error(R, e, "split: maxsplit must be an integer");
	if (e->nargs == 2 && lle_tpl_int_value(av[1]) >= 0)
		*out = split_max(json_string_value(self), json_string_length(self), sep, lle_tpl_int_value(av[1]));
	else
		*out = lle_py_split(json_string_value(self), json_string_length(self), sep);
	return *out ? 0 : lle_tpl_oom(R);
}

/* str.index (an error when absent) and str.find (-1). */
static int method_str_find(struct tpl_render *R, const struct expr *e, json_t *self, json_t **av,
			   json_t **out)
{
	if (want_str(R, e, av[0], e->name) < 0)
		return -1;
	long long k = lle_tpl_str_find(json_string_value(self), json_string_length(self),
				       json_string_value(av[0]), json_string_length(av[0]));
	if (k < 0 && e->name[0] == 'i')
		return lle_tpl_render_error(R, e, "substring not found");
	*out = json_integer(k);
	return *out ? 0 : lle_tpl_oom(R);
}

static int method_replace(struct tpl_render *R, const struct expr *e, json_t *self, json_t **av,
			  json_t **out)
{
	if (want_str(R, e, av[0], e->name) < 0 || want_str(R, e, av[1], e->name) < 0)
		return -1;
	struct lle_buf b = LLE_BUF_INIT;
	lle_py_replace(&b, json_string_value(self), json_string_length(self), json_string_value(av[0]),
		       json_string_value(av[1]));
	return str_result(R, &b, out);
}

/* sep.join(list of str) */
static int method_join(struct tpl_render *R, const struct expr *e, json_t *self, json_t **av,
		       json_t **out)
{
	if (!json_is_array(av[0]))
		return lle_tpl_render_error(R, e, "join needs a list");
	struct lle_buf b = LLE_BUF_INIT;
	for (size_t i = 0; i < json_array_size(av[0]); i++) {
		json_t *x = json_array_get(av[0], i);
		if (!json_is_string(x)) {
			lle_buf_free(&b);
			return lle_tpl_render_error(R, e, "join: item is %s, not str", lle_tpl_type_name(x));
		}
		if (i)
			lle_buf_add(&b, json_string_value(self), json_string_length(self));
		lle_buf_add(&b, json_string_value(x), json_string_length(x));
	}
	return str_result(R, &b, out);
}

static int method_startswith(struct tpl_render *R, const struct expr *e, json_t *self, json_t **av,
			     json_t **out)
{
	if (want_str(R, e, av[0], e->name) < 0)
		return -1;
	const char *s = json_string_value(self);
	size_t n = json_string_length(self), k = json_string_length(av[0]);
	int at_end = e->name[0] == 'e';
	*out = json_boolean(k <= n && memcmp(at_end ? s + n - k : s, json_string_value(av[0]), k) == 0);
	return 0;
}

/* ---------- list and dict methods ---------- */

static int method_list_index(struct tpl_render *R, const struct expr *e, json_t *self, json_t **av,
			     json_t **out)
{
	for (size_t i = 0; i < json_array_size(self); i++) {
		if (lle_py_eq(json_array_get(self, i), av[0])) {
			*out = json_integer((json_int_t)i);
			return *out ? 0 : lle_tpl_oom(R);
		}
	}
	struct lle_buf rb = LLE_BUF_INIT;
	lle_py_repr(&rb, av[0]);
	lle_tpl_render_error(R, e, "%s is not in list", lle_buf_str(&rb));
	lle_buf_free(&rb);
	return -1;
}

static int method_get(struct tpl_render *R, const struct expr *e, json_t *self, json_t **av,
		      json_t **out)
{
	json_t *v = json_is_string(av[0]) ? json_object_get(self, json_string_value(av[0])) : NULL;
	*out = json_incref(v ? v : e->nargs == 2 ? av[1] : json_null());
	return *out ? 0 : lle_tpl_oom(R);
}

/* dict.keys() and dict.values(), as views (template_int.h). */
static int method_keys_values(struct tpl_render *R, const struct expr *e, json_t *self, json_t **av,
			      json_t **out)
{
	(void)av;
	int keys = e->name[0] == 'k';
	json_t *a = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(self, k, v) {
		if (a && json_array_append_new(a, keys ? json_string(k) : json_incref(v)) < 0) {
			json_decref(a);
			a = NULL;
		}
	}
	*out = a ? lle_tpl_view_new(keys ? "dict_keys" : "dict_values", a, 0, 0, 0) : NULL;
	return *out ? 0 : lle_tpl_oom(R);
}

static const struct tpl_builtin k_methods[] = {
	{ "get", JSON_OBJECT, 1, 2, 0, method_get, NULL, 0 },
	{ "keys", JSON_OBJECT, 0, 0, 0, method_keys_values, NULL, 0 },
	{ "values", JSON_OBJECT, 0, 0, 0, method_keys_values, NULL, 0 },
	{ "index", JSON_ARRAY, 1, 1, 0, method_list_index, NULL, 0 },
	{ "strip", JSON_STRING, 0, 1, 0, method_strip, NULL, 0 },
	{ "lstrip", JSON_STRING, 0, 1, 0, method_strip, NULL, 0 },
	{ "rstrip", JSON_STRING, 0, 1, 0, method_strip, NULL, 0 },
	{ "lower", JSON_STRING, 0, 0, 0, method_lower, NULL, 0 },
	{ "upper", JSON_STRING, 0, 0, 0, method_upper, NULL, 0 },
	{ "capitalize", JSON_STRING, 0, 0, 0, method_capitalize, NULL, 0 },
	{ "split", JSON_STRING, 0, 2, 0, method_split, NULL, 0 },
	{ "index", JSON_STRING, 1, 1, 0, method_str_find, NULL, 0 },
	{ "find", JSON_STRING, 1, 1, 0, method_str_find, NULL, 0 },
	{ "replace", JSON_STRING, 2, 2, 0, method_replace, NULL, 0 },
	{ "join", JSON_STRING, 1, 1, 0, method_join, NULL, 0 },
	{ "startswith", JSON_STRING, 1, 1, 0, method_startswith, NULL, 0 },
	{ "endswith", JSON_STRING, 1, 1, 0, method_startswith, NULL, 0 },
};

const struct tpl_builtin *lle_tpl_find_method(const char *name, json_type t)
{
	for (size_t i = 0; i < sizeof(k_methods) / sizeof(k_methods[0]); i++)
		if (k_methods[i].self_type == t && !strcmp(k_methods[i].name, name))
			return &k_methods[i];
	return NULL;
}

int lle_tpl_method_exists(const char *name)
{
	for (size_t i = 0; i < sizeof(k_methods) / sizeof(k_methods[0]); i++)
		if (!strcmp(k_methods[i].name, name))
			return 1;
	return 0;
}

/* ---------- filters ---------- */

static int filter_default(struct tpl_render *R, const struct expr *e, json_t *v, json_t **av,
			  json_t **out)
{
	/* default(x, true) also replaces a false value */
	int use_default = !v || (e->nargs == 2 && lle_py_truthy(av[1]) && !lle_py_truthy(v));
	if (use_default)
		*out = e->nargs ? json_incref(av[0]) : json_string("");
	else
		*out = json_incref(v);
	return *out ? 0 : lle_tpl_oom(R);
}

/* The string filters: trim, lower, upper, capitalize, string, on str(v). */
static int filter_string_op(struct tpl_render *R, const struct expr *e, json_t *v, json_t **av,
			    json_t **out)
{
	const char *f = e->name, *chars = NULL;
	if (f[0] == 't' && strip_chars(R, e, av, "trim", &chars) < 0)
		return -1;
	json_t *s = lle_tpl_str(v);
	if (!s)
		return lle_tpl_oom(R);
	const char *p = json_string_value(s);
	size_t n = json_string_length(s);
	struct lle_buf b = LLE_BUF_INIT;
	if (f[0] == 't') {
		lle_py_strip(&b, p, n, chars, LLE_STRIP_BOTH);
	} else if (f[0] == 'l') {
		lle_py_lower(&b, p, n);
	} else if (f[0] == 'u') {
		lle_py_upper(&b, p, n);
	} else if (f[0] == 'c') {
		capitalize(&b, p, n);
	} else {
		lle_buf_add(&b, p, n);
	}
	json_decref(s);
	return str_result(R, &b, out);
}

static int filter_join(struct tpl_render *R, const struct expr *e, json_t *v, json_t **av, json_t **out)
{
	const char *sep = "";
	if (e->nargs == 1) {
		if (want_str(R, e, av[0], "join") < 0)
			return -1;
		sep = json_string_value(av[0]);
	}
	struct lle_buf b = LLE_BUF_INIT;
	if (json_is_string(v)) { /* iterating a string gives its characters */
		const char *p = json_string_value(v);
		size_t n = json_string_length(v), i = 0, l;
		while (i < n) {
			lle_py_decode(p + i, n - i, &l);
			if (i)
				lle_buf_adds(&b, sep);
			lle_buf_add(&b, p + i, l);
			i += l;
		}
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				lle_buf_adds(&b, sep);
			lle_tpl_print(&b, json_array_get(v, i), 0);
		}
	} else if (json_is_object(v)) { /* iterating a dict gives its keys (drop's `answer|join(',')`) */
		const char *k;
		json_t *x;
		int first = 1;
		json_object_foreach(v, k, x) {
			(void)x;
			if (!first)
				lle_buf_adds(&b, sep);
			lle_buf_adds(&b, k);
			first = 0;
		}
	} else {
		return lle_tpl_render_error(R, e, "join needs a list, not %s", lle_tpl_type_name(v));
	}
	return str_result(R, &b, out);
}

static int filter_replace(struct tpl_render *R, const struct expr *e, json_t *v, json_t **av,
			  json_t **out)
{
	if (want_str(R, e, av[0], "replace") < 0 || want_str(R, e, av[1], "replace") < 0)
		return -1;
	json_t *s = lle_tpl_str(v);
	if (!s)
		return lle_tpl_oom(R);
	struct lle_buf b = LLE_BUF_INIT;
	lle_py_replace(&b, json_string_value(s), json_string_length(s), json_string_value(av[0]),
		       json_string_value(av[1]));
	json_decref(s);
	return str_result(R, &b, out);
}

/* A group reference of a replacement at *q (after the backslash): \N, \NN,
 * \g<N>. The group number, -1 when *q starts none, -2 when malformed; *q
 * moves to its last character. */
static int group_reference(const char **q)
{
	const char *p = *q;
	int g = -1;
	if (*p >= '0' && *p <= '9') {
		g = *p - '0';
		if (p[1] >= '0' && p[1] <= '9')
			g = g * 10 + (*++p - '0');
	} else if (*p == 'g' && p[1] == '<') {
		char *end;
		g = (int)strtol(p + 2, &end, 10);
		if (*end != '>' || end == p + 2)
			return -2;
		p = end;
	}
	*q = p;
	return g;
}

/* Appends repl for one match, as Python's re.sub expands it. 0 or -1. */
static int expand_replacement(struct tpl_render *R, const struct expr *e, pcre2_code *code, int nmatched,
			      const PCRE2_SIZE *ov, const char *s, const char *repl, struct lle_buf *out)
{
	for (const char *q = repl; *q; q++) {
		if (*q != '\\' || !q[1]) {
			lle_buf_addc(out, *q);
			continue;
		}
		q++;
		int g = group_reference(&q);
		if (g == -2)
			return lle_tpl_render_error(R, e, "regex_replace: bad group reference");
		if (g >= 0) {
			if (g >= nmatched || ov[2 * g] == PCRE2_UNSET) {
				uint32_t ngroups = 0;
				pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &ngroups);
				if (g > 0 && (uint32_t)g > ngroups)
					return lle_tpl_render_error(R, e, "regex_replace: invalid group reference");
				continue; /* an unmatched group is empty */
			}
			lle_buf_add(out, s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
			continue;
		}
		switch (*q) {
		case 'n': lle_buf_addc(out, '\n'); break;
		case 't': lle_buf_addc(out, '\t'); break;
		case 'r': lle_buf_addc(out, '\r'); break;
		case '\\': lle_buf_addc(out, '\\'); break;
		default:
			lle_buf_addc(out, '\\');
			lle_buf_addc(out, *q);
		}
	}
	return 0;
}

/* Python's re.sub(pattern, repl, s, count) (count <= 0: all), empty matches
 * handled as Python 3.7+ does. */
static int regex_sub(struct tpl_render *R, const struct expr *e, const char *pat, const char *repl,
		     long long count, const char *s, struct lle_buf *out)
{
	int ec;
	PCRE2_SIZE off;
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
					 PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &ec, &off, NULL);
	if (!code) {
		PCRE2_UCHAR m[200];
		pcre2_get_error_message(ec, m, sizeof(m));
		return lle_tpl_render_error(R, e, "regex_replace: pattern does not compile: %s", (const char *)m);
	}
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
	if (!md) {
		pcre2_code_free(code);
		return lle_tpl_oom(R);
	}
	PCRE2_SIZE len = strlen(s), start = 0, copied = 0;
	uint32_t opts = 0;
	long long done = 0;
	int rv = 0;
	while (count <= 0 || done < count) {
		int rc = pcre2_match(code, (PCRE2_SPTR)s, len, start, opts, md, NULL);
		if (rc == PCRE2_ERROR_NOMATCH) {
			if (opts == 0 || start >= len)
				break;
			/* no non-empty match here: step one character on */
			start++;
			while (start < len && ((unsigned char)s[start] & 0xC0) == 0x80)
				start++;
			opts = 0;
			continue;
		}
		if (rc < 0) {
			rv = lle_tpl_render_error(R, e, "regex_replace: match failed");
			break;
		}
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		lle_buf_add(out, s + copied, ov[0] - copied);
		if ((rv = expand_replacement(R, e, code, rc, ov, s, repl, out)) < 0)
			break;
		copied = ov[1];
		done++;
		start = ov[1];
		opts = ov[0] == ov[1] ? PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED : 0;
		if (start > len)
			break;
	}
	if (rv == 0)
		lle_buf_add(out, s + copied, len - copied);
	pcre2_match_data_free(md);
	pcre2_code_free(code);
	return rv;
}

static int filter_regex_replace(struct tpl_render *R, const struct expr *e, json_t *v, json_t **av,
				json_t **out)
{
	if (want_str(R, e, av[0], "regex_replace") < 0 || want_str(R, e, av[1], "regex_replace") < 0)
		return -1;
	if (e->nargs == 3 && !lle_tpl_is_intlike(av[2]))
		return lle_tpl_render_error(R, e, "regex_replace: count must be an integer");
	json_t *sv = lle_tpl_str(v);
	if (!sv)
		return lle_tpl_oom(R);
	struct lle_buf b = LLE_BUF_INIT;
	int rv = regex_sub(R, e, json_string_value(av[0]), json_string_value(av[1]),
			   e->nargs == 3 ? lle_tpl_int_value(av[2]) : 0, json_string_value(sv), &b);
	json_decref(sv);
	if (rv < 0) {
		lle_buf_free(&b);
		return -1;
	}
	return str_result(R, &b, out);
}

/* int(d) of a float into *out; -1 when it would not fit in 64 bits
 * (Python's would; converting such a double in C is undefined). */
static int float_to_int(double d, long long *out)
{
	if (!(d >= -0x1p63 && d < 0x1p63))
		return -1;
	*out = (long long)d;
	return 0;
}

static int int_or_default(struct tpl_render *R, const json_t *dflt, json_t **out)
{
	*out = dflt ? json_incref((json_t *)dflt) : json_integer(0);
	return *out ? 0 : lle_tpl_oom(R);
}

/* Jinja's int filter: int(x), else int(float(x)), else the default (0);
 * Jinja catches int(float('inf'))'s OverflowError too. */
static int filter_int(struct tpl_render *R, const struct expr *e, json_t *v, json_t **av, json_t **out)
{
	const json_t *dflt = e->nargs ? av[0] : NULL;
	const char *too_big = "int: the value does not fit in 64 bits";
	long long x;
	if (json_is_integer(v)) {
		*out = json_incref(v);
		return 0;
	}
	if (lle_tpl_unview(v) != v) { /* a non-finite float: int(inf) overflows, int(nan) is caught */
		if (strcmp(json_string_value(lle_tpl_unview(v)), "nan"))
			return lle_tpl_render_error(R, e, "int: cannot convert float infinity to integer");
		return int_or_default(R, dflt, out);
	}
	if (json_is_boolean(v)) {
		*out = json_integer(json_is_true(v));
		return *out ? 0 : lle_tpl_oom(R);
	}
	double d = NAN;
	if (json_is_real(v))
		d = json_real_value(v);
	if (json_is_string(v)) {
		struct lle_buf b = LLE_BUF_INIT;
		lle_py_strip(&b, json_string_value(v), json_string_length(v), NULL, LLE_STRIP_BOTH);
		const char *s = lle_buf_str(&b);
		char *end;
		if (*s) {
			errno = 0;
			x = strtoll(s, &end, 10);
			int out_of_range = errno == ERANGE;
			if (!*end) {
				lle_buf_free(&b);
				if (out_of_range)
					return lle_tpl_render_error(R, e, "%s", too_big);
				*out = json_integer(x);
				return *out ? 0 : lle_tpl_oom(R);
			}
			double f = strtod(s, &end);
			if (!*end)
				d = f;
		}
		lle_buf_free(&b);
	}
	if (isnan(d) || isinf(d))
		return int_or_default(R, dflt, out);
	if (float_to_int(d, &x) < 0)
		return lle_tpl_render_error(R, e, "%s", too_big);
	*out = json_integer(x);
	return *out ? 0 : lle_tpl_oom(R);
}

static int filter_float(struct tpl_render *R, const struct expr *e, json_t *v, json_t **av,
			json_t **out)
{
	double d = 0;
	int ok = 1;
	if (json_is_number(v) || json_is_boolean(v)) {
		d = json_is_boolean(v) ? json_is_true(v) : json_number_value(v);
	} else if (json_is_string(v)) {
		char *end;
		d = strtod(json_string_value(v), &end);
		ok = end != json_string_value(v) && !*end;
	} else {
		ok = 0;
	}
	if (!ok) {
		*out = e->nargs ? json_incref(av[0]) : json_real(0.0);
		return *out ? 0 : lle_tpl_oom(R);
	}
	return lle_tpl_float(R, e, d, out);
}

/* length and count */
static int filter_length(struct tpl_render *R, const struct expr *e, json_t *v, json_t **av,
			 json_t **out)
{
	(void)av;
	size_t n;
	if (json_is_string(v))
		n = lle_py_len(json_string_value(v), json_string_length(v));
	else if (json_is_array(v))
		n = json_array_size(v);
	else if (json_is_object(v))
		n = json_object_size(v);
	else
		return lle_tpl_render_error(R, e, "a value of type %s has no length", lle_tpl_type_name(v));
	*out = json_integer((json_int_t)n);
	return *out ? 0 : lle_tpl_oom(R);
}

/* first and last: v[0] and v[-1] */
static int filter_first_last(struct tpl_render *R, const struct expr *e, json_t *v, json_t **av,
			     json_t **out)
{
	(void)av;
	json_t *k = json_integer(e->name[0] == 'f' ? 0 : -1);
	if (!k)
		return lle_tpl_oom(R);
	int rv = lle_tpl_subscript(R, e, v, k, out);
	json_decref(k);
	return rv;
}

static int filter_list(struct tpl_render *R, const struct expr *e, json_t *v, json_t **av, json_t **out)
{
	(void)av;
	if (json_is_array(v)) {
		*out = json_incref(v);
		return 0;
	}
	if (json_is_string(v)) {
		*out = lle_tpl_characters(v);
		return *out ? 0 : lle_tpl_oom(R);
	}
	return lle_tpl_render_error(R, e, "cannot make a list of %s", lle_tpl_type_name(v));
}

/* The keyword argument `name` of call e, or NULL. */
static json_t *keyword_arg(const struct expr *e, json_t **av, const char *name)
{
	for (size_t i = 0; i < e->nkwargs; i++)
		if (!strcmp(e->kwnames[i], name))
			return av[e->nargs - e->nkwargs + i];
	return NULL;
}

/* item[part] for each part of a dotted attribute path ("a.b.0"), as Jinja's
 * make_attrgetter: a part of digits is an index. NULL (undefined) if any
 * step is. */
static int get_attribute_path(struct tpl_render *R, const struct expr *e, json_t *item, const char *path,
			      json_t **out)
{
	json_t *cur = json_incref(item);
	const char *p = path;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		size_t digits = 0;
		while (digits < n && p[digits] >= '0' && p[digits] <= '9')
			digits++;
		json_t *key = digits == n && n > 0 && n < 19 ? json_integer(strtoll(p, NULL, 10))
							     : json_stringn_nocheck(p, n);
		json_t *next = NULL;
		int rv = key ? lle_tpl_subscript(R, e, cur, key, &next) : lle_tpl_oom(R);
		if (key)
			json_decref(key);
		json_decref(cur);
		if (rv < 0)
			return -1;
		cur = next;
		if (!cur || !dot)
			break;
		p = dot + 1;
	}
	*out = cur;
	return 0;
}

/* Jinja's map: map(attribute='a.b'[, default=x]) takes that attribute of
 * each item, map('filter', args...) applies a filter to each. Jinja gives
 * a generator, which the templates this serves pass on to list or join;
 * here it is a list. */
static int filter_map(struct tpl_render *R, const struct expr *e, json_t *v, json_t **av, json_t **out)
{
	json_t *attribute = keyword_arg(e, av, "attribute"), *dflt = keyword_arg(e, av, "default");
	size_t positional = e->nargs - e->nkwargs;
	if (!attribute && (positional == 0 || !json_is_string(av[0])))
		return lle_tpl_render_error(R, e, "map needs a filter name or attribute=");
	if (attribute && positional)
		return lle_tpl_render_error(R, e, "map takes a filter name or attribute=, not both");
	if (dflt && !attribute)
		return lle_tpl_render_error(R, e, "map: default= goes with attribute=");
	if (attribute && !json_is_string(attribute) && !json_is_integer(attribute))
		return lle_tpl_render_error(R, e, "map: attribute must be a string");
	if (!json_is_array(v))
		return lle_tpl_render_error(R, e, "map needs a list, not %s", lle_tpl_type_name(v));
	const struct tpl_builtin *f = NULL;
	struct expr call = *e; /* the filter applied to each item: its name, the rest of the arguments */
	if (!attribute) {
		if (!(f = lle_tpl_find_filter(json_string_value(av[0]))) || f->fn == filter_map)
			return lle_tpl_render_error(R, e, "map: unsupported filter '%s'", json_string_value(av[0]));
		call.name = (char *)f->name;
		call.nargs = positional - 1;
		call.nkwargs = 0;
	}
	char path[32];
	if (attribute && json_is_integer(attribute))
		snprintf(path, sizeof(path), "%lld", (long long)json_integer_value(attribute));
	json_t *list = json_array();
	if (!list)
		return lle_tpl_oom(R);
	for (size_t i = 0; i < json_array_size(v); i++) {
		json_t *item = json_array_get(v, i), *x = NULL;
		int rv;
		if (attribute) {
			rv = get_attribute_path(R, e, item, json_is_string(attribute) ? json_string_value(attribute) : path, &x);
			if (rv == 0 && !x && dflt)
				x = json_incref(dflt);
			if (rv == 0 && !x)
				rv = lle_tpl_render_error(R, e, "map: item %zu has no attribute '%s'", i,
							  json_is_string(attribute) ? json_string_value(attribute) : path);
		} else {
			rv = lle_tpl_call_builtin(R, &call, f, item, av + 1, &x);
		}
		if (rv < 0 || json_array_append_new(list, x) < 0) {
			json_decref(list);
			return rv < 0 ? -1 : lle_tpl_oom(R);
		}
	}
	*out = list;
	return 0;
}

static const char *const k_map_keywords[] = { "attribute", "default", NULL };

static const struct tpl_builtin k_filters[] = {
	{ "default", 0, 0, 2, 1, filter_default, NULL, 0 },
	{ "d", 0, 0, 2, 1, filter_default, NULL, 0 },
	{ "trim", 0, 0, 1, 0, filter_string_op, NULL, 1 },
	{ "lower", 0, 0, 0, 0, filter_string_op, NULL, 1 },
	{ "upper", 0, 0, 0, 0, filter_string_op, NULL, 1 },
	{ "capitalize", 0, 0, 0, 0, filter_string_op, NULL, 1 },
	{ "string", 0, 0, 0, 0, filter_string_op, NULL, 1 },
	{ "join", 0, 0, 1, 0, filter_join, NULL, 1 },
	{ "replace", 0, 2, 2, 0, filter_replace, NULL, 1 },
	{ "regex_replace", 0, 2, 3, 0, filter_regex_replace, NULL, 0 },
	{ "int", 0, 0, 1, 0, filter_int, NULL, 0 },
	{ "float", 0, 0, 1, 0, filter_float, NULL, 0 },
	{ "length", 0, 0, 0, 0, filter_length, NULL, 1 },
	{ "count", 0, 0, 0, 0, filter_length, NULL, 1 },
	{ "first", 0, 0, 0, 0, filter_first_last, NULL, 0 },
	{ "last", 0, 0, 0, 0, filter_first_last, NULL, 0 },
	/* arguments to list were never checked; kept so by the restructuring */
	{ "list", 0, 0, LLE_TPL_MAX_ARGS, 0, filter_list, NULL, 1 },
	{ "map", 0, 0, LLE_TPL_MAX_ARGS, 0, filter_map, k_map_keywords, 0 },
};

const struct tpl_builtin *lle_tpl_find_filter(const char *name)
{
	for (size_t i = 0; i < sizeof(k_filters) / sizeof(k_filters[0]); i++)
		if (!strcmp(k_filters[i].name, name))
			return &k_filters[i];
	return NULL;
}

/* ---------- tests ---------- */

static int test_defined(const json_t *v) { return v != NULL; }
static int test_undefined(const json_t *v) { return v == NULL; }
static int test_none(const json_t *v) { return json_is_null(v); }
static int test_string(const json_t *v) { return json_is_string(v); }
static int test_number(const json_t *v) { return json_is_number(v) || json_is_boolean(v); }

static const struct tpl_test k_tests[] = {
	{ "defined", 1, test_defined, 0, NULL },
	{ "undefined", 1, test_undefined, 0, NULL },
	{ "none", 0, test_none, 0, NULL },
	{ "string", 0, test_string, 0, NULL },
	{ "number", 0, test_number, 0, NULL },
};

const struct tpl_test *lle_tpl_find_test(const char *name)
{
	for (size_t i = 0; i < sizeof(k_tests) / sizeof(k_tests[0]); i++)
		if (!strcmp(k_tests[i].name, name))
			return &k_tests[i];
	return NULL;
}

/* ---------- range() ---------- */

int lle_tpl_range(struct tpl_render *R, const struct expr *e, json_t **out)
{
	long long arg[3] = { 0, 0, 1 }; /* start, stop, step */
	for (size_t i = 0; i < e->nargs; i++) {
		json_t *x;
		if (lle_tpl_eval_defined(R, e->args[i], &x) < 0)
			return -1;
		int ok = lle_tpl_is_intlike(x);
		arg[e->nargs == 1 ? 1 : i] = lle_tpl_int_value(x);
		json_decref(x);
		if (!ok)
			return lle_tpl_render_error(R, e, "range() needs integers");
	}
	long long step = arg[2];
	if (step == 0)
		return lle_tpl_render_error(R, e, "range() step must not be zero");
	json_t *l = json_array();
	for (long long i = arg[0]; l && (step > 0 ? i < arg[1] : i > arg[1]);) {
		if (json_array_size(l) >= 1000000 || json_array_append_new(l, json_integer(i)) < 0) {
			json_decref(l);
			l = NULL;
		}
		if (__builtin_add_overflow(i, step, &i))
			break; /* past the 64-bit range, so past the stop */
	}
	if (!l)
		return lle_tpl_render_error(R, e, "range() is too long");
	*out = lle_tpl_view_new("range", l, arg[0], arg[1], step);
	return *out ? 0 : lle_tpl_oom(R);
}
