/* What chat templates need of the template engine beyond task templates,
 * with the semantics of the environment the transformers library renders
 * them in (src/transformers/utils/chat_template_utils.py): calls of
 * macros and of the globals namespace(), dict(), raise_exception(),
 * strftime_now(); transformers' tojson (json.dumps with ensure_ascii=False,
 * not Jinja's HTML-safe one); and the Jinja filters, tests and Python
 * methods the chat templates of current model families use (items,
 * dictsort, selectattr, rejectattr, select, reject, unique, sort, reverse,
 * indent, safe, title, min, max; mapping, sequence, iterable, boolean,
 * equalto...; dict.items(), str.title(), str.format()). These are found
 * only when compiling with lle_tpl_compile_chat. Also the walk over a
 * compiled template's literals (lle_tpl_each_literal), which run/chat.c
 * pins. The statements (macro, break, set blocks) are template_stmt.c's
 * and template_eval.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tasks/template_int.h"

static const char k_ns_key[] = "\0ns";
#define NS_KEY_LEN (sizeof(k_ns_key) - 1)

int lle_tpl_is_namespace(const json_t *v)
{
	return json_is_object(v) && json_object_getn(v, k_ns_key, NS_KEY_LEN) != NULL;
}

static void put(json_t *v)
{
	if (v)
		json_decref(v);
}

static int str_result(struct tpl_render *R, struct lle_buf *b, json_t **out)
{
	*out = lle_tpl_buf_to_str(b);
	return *out ? 0 : lle_tpl_oom(R);
}

/* ---------- json.dumps ---------- */

static void json_string_out(struct lle_buf *out, const char *s, size_t n, int ensure_ascii)
{
	lle_buf_addc(out, '"');
	size_t i = 0, l;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"': lle_buf_adds(out, "\\\""); i++; continue;
		case '\\': lle_buf_adds(out, "\\\\"); i++; continue;
		case '\n': lle_buf_adds(out, "\\n"); i++; continue;
		case '\r': lle_buf_adds(out, "\\r"); i++; continue;
		case '\t': lle_buf_adds(out, "\\t"); i++; continue;
		case '\b': lle_buf_adds(out, "\\b"); i++; continue;
		case '\f': lle_buf_adds(out, "\\f"); i++; continue;
		default: break;
		}
		if (c < 0x20 || (ensure_ascii && c == 0x7f)) {
			lle_buf_printf(out, "\\u%04x", c);
			i++;
			continue;
		}
		if (c < 0x80 || !ensure_ascii) {
			lle_buf_addc(out, (char)c);
			i++;
			continue;
		}
		uint32_t cp = lle_py_decode(s + i, n - i, &l);
		if (cp >= 0x10000) {
			cp -= 0x10000;
			lle_buf_printf(out, "\\u%04x\\u%04x", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
		} else {
			lle_buf_printf(out, "\\u%04x", cp);
		}
		i += l;
	}
	lle_buf_addc(out, '"');
}

static void newline_indent(struct lle_buf *out, long long indent, int level)
{
	lle_buf_addc(out, '\n');
	for (long long k = 0; k < indent * level; k++)
		lle_buf_addc(out, ' ');
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* indent < 0: none. Returns -1 on a value JSON cannot hold (never here) or
 * out of memory (out->oom). */
static int dumps(struct lle_buf *out, const json_t *v, long long indent, const char *isep, const char *ksep,
		 int sort_keys, int ensure_ascii, int level)
{
	const json_t *items = lle_tpl_unview(v);
	if (items != v && json_is_string(items)) { /* a non-finite float, as json.dumps writes it */
		const char *f = json_string_value(items);
		return lle_buf_adds(out, !strcmp(f, "nan") ? "NaN" : f[0] == '-' ? "-Infinity" : "Infinity");
	}
	v = items; /* a tuple is a JSON array */
	if (json_is_array(v)) {
		size_t n = json_array_size(v);
		if (!n)
			return lle_buf_adds(out, "[]");
		lle_buf_addc(out, '[');
		for (size_t i = 0; i < n; i++) {
			if (i)
				lle_buf_adds(out, isep);
			if (indent >= 0)
				newline_indent(out, indent, level + 1);
			dumps(out, json_array_get(v, i), indent, isep, ksep, sort_keys, ensure_ascii, level + 1);
		}
		if (indent >= 0)
			newline_indent(out, indent, level);
		return lle_buf_addc(out, ']');
	}
	if (json_is_object(v)) {
		size_t n = json_object_size(v), k = 0;
		const char **keys = malloc((n ? n : 1) * sizeof(*keys));
		if (!keys) {
			out->oom = 1;
			return -1;
		}
		const char *key;
		json_t *x;
		json_object_foreach((json_t *)v, key, x) {
			if (key[0]) /* the namespace marker is not a key */
				keys[k++] = key;
		}
		if (sort_keys)
			qsort(keys, k, sizeof(*keys), cmp_keys);
		if (!k) {
			free(keys);
			return lle_buf_adds(out, "{}");
		}
		lle_buf_addc(out, '{');
		for (size_t i = 0; i < k; i++) {
			if (i)
				lle_buf_adds(out, isep);
			if (indent >= 0)
				newline_indent(out, indent, level + 1);
			json_string_out(out, keys[i], strlen(keys[i]), ensure_ascii);
			lle_buf_adds(out, ksep);
			dumps(out, json_object_get(v, keys[i]), indent, isep, ksep, sort_keys, ensure_ascii, level + 1);
		}
		free(keys);
		if (indent >= 0)
			newline_indent(out, indent, level);
		return lle_buf_addc(out, '}');
	}
	if (json_is_string(v)) {
		json_string_out(out, json_string_value(v), json_string_length(v), ensure_ascii);
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d != d)
			return lle_buf_adds(out, "NaN");
		if (d > 1.7976931348623157e308)
			return lle_buf_adds(out, "Infinity");
		if (d < -1.7976931348623157e308)
			return lle_buf_adds(out, "-Infinity");
		return lle_py_float_repr(out, d);
	}
	if (json_is_integer(v))
		return lle_buf_printf(out, "%lld", (long long)json_integer_value(v));
	return lle_buf_adds(out, json_is_true(v) ? "true" : json_is_false(v) ? "false" : "null");
}

int lle_tpl_json_dumps(struct lle_buf *out, const json_t *v, long long indent, const char *item_sep,
		       const char *key_sep, int sort_keys, int level)
{
	return dumps(out, v, indent, item_sep, key_sep, sort_keys, 0, level);
}

/* The keyword argument `name` of call e, else positional argument pos, else NULL. */
static json_t *arg_of(const struct expr *e, json_t **av, size_t pos, const char *name)
{
	for (size_t i = 0; i < e->nkwargs; i++)
		if (!strcmp(e->kwnames[i], name))
			return av[e->nargs - e->nkwargs + i];
	return pos < e->nargs - e->nkwargs ? av[pos] : NULL;
}

/* transformers' tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False) */
static int filter_tojson(struct tpl_render *R, const struct expr *e, json_t *v, json_t **av, json_t **out)
{
	json_t *ea = arg_of(e, av, 0, "ensure_ascii"), *ind = arg_of(e, av, 1, "indent");
	json_t *seps = arg_of(e, av, 2, "separators"), *sk = arg_of(e, av, 3, "sort_keys");
	long long indent = -1;
	if (ind && !json_is_null(ind)) {
		if (!lle_tpl_is_intlike(ind))
			return lle_tpl_render_error(R, e, "tojson: indent must be an integer");
		indent = lle_tpl_int_value(ind);
		if (indent < 0)
			indent = 0;
	}
	const char *isep = indent >= 0 ? "," : ", ", *ksep = ": ";
	if (seps && !json_is_null(seps)) {
		if (!json_is_array(seps) || json_array_size(seps) != 2 ||
		    !json_is_string(json_array_get(seps, 0)) || !json_is_string(json_array_get(seps, 1)))
			return lle_tpl_render_error(R, e, "tojson: separators must be two strings");
		isep = json_string_value(json_array_get(seps, 0));
		ksep = json_string_value(json_array_get(seps, 1));
	}
	struct lle_buf b = LLE_BUF_INIT;
	dumps(&b, v, indent, isep, ksep, sk && lle_py_truthy(sk), ea && lle_py_truthy(ea), 0);
	return str_result(R, &b, out);
}

/* ---------- filters ---------- */

static json_t *items_of(const json_t *d)
{
	json_t *a = json_array();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)d, k, v) {
		if (!k[0] && lle_tpl_is_namespace(d))
			continue;
		json_t *pair = json_pack("[sO]", k, v);
		if (a && json_array_append_new(a, pair ? lle_tpl_view_new("tuple", pair, 0, 0, 0) : NULL) < 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

static int filter_items(struct tpl_render *R, const struct expr *e, json_t *v, json_t **av, json_t **out)
{
	(void)av;
	if (!v) { /* Jinja 3.1: an undefined value has no items */
		*out = json_array();
		return *out ? 0 : lle_tpl_oom(R);
	}
	if (!json_is_object(v))
		return lle_tpl_render_error(R, e, "can only get item pairs from a mapping");
	*out = items_of(v);
	return *out ? 0 : lle_tpl_oom(R);
}

static int filter_safe(struct tpl_render *R, const struct expr *e, json_t *v, json_t **av, json_t **out)
{
	(void)av, (void)e;
	*out = lle_tpl_str(v);
	return *out ? 0 : lle_tpl_oom(R);
}

/* Python's str.lower() of a string value, or the value itself (for sort keys). */
static json_t *fold(const json_t *v, int case_sensitive)
{
	if (case_sensitive || !json_is_string(v))
		return json_incref((json_t *)v);
	struct lle_buf b = LLE_BUF_INIT;
	lle_py_lower(&b, json_string_value(v), json_string_length(v));
	return lle_tpl_buf_to_str(&b);
}

struct sort_item {
	json_t *key, *item;
	size_t pos;
};
static struct tpl_render *g_sort_R; /* the render a sort's comparisons report to */
static int g_sort_failed;

static int cmp_items(const void *pa, const void *pb)
{
	const struct sort_item *a = pa, *b = pb;
	int lt = 0, gt = 0;
	if (!g_sort_failed && (lle_tpl_compare(g_sort_R, NULL, OP_LT, a->key, b->key, &lt) < 0 ||
			       lle_tpl_compare(g_sort_R, NULL, OP_GT, a->key, b->key, &gt) < 0))
		g_sort_failed = 1;
	if (lt != gt)
		return lt ? -1 : 1;
	return a->pos < b->pos ? -1 : a->pos > b->pos; /* stable, as Python's sort */
}

/* Sorts a list by key (attribute path or the item, folded), stably. */
static int sort_list(struct tpl_render *R, const struct expr *e, json_t *list, const char *attribute,
		     int case_sensitive, int reverse, int by_value, json_t **out)
{
	size_t n = json_array_size(list);
	struct sort_item *v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return lle_tpl_oom(R);
	int rv = 0;
	for (size_t i = 0; i < n && rv == 0; i++) {
		json_t *item = json_array_get(list, i), *k = item;
		if (by_value >= 0)
			k = json_array_get(lle_tpl_unview(item), (size_t)by_value);
		else if (attribute)
			k = json_object_get(item, attribute);
		v[i].item = item;
		v[i].pos = reverse ? n - 1 - i : i;
		if (!k)
			rv = lle_tpl_render_error(R, e, "sort: an item has no '%s'", attribute ? attribute : "key");
		else if (!(v[i].key = fold(k, case_sensitive)))
			rv = lle_tpl_oom(R);
	}
	if (rv == 0) {
		g_sort_R = R;
		g_sort_failed = 0;
		qsort(v, n, sizeof(*v), cmp_items);
		rv = g_sort_failed ? -1 : 0;
	}
	json_t *a = rv == 0 ? json_array() : NULL;
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append(a, v[reverse ? n - 1 - i : i].item) < 0)
			a = (json_decref(a), NULL);
	for (size_t i = 0; i < n; i++)
		put(v[i].key);
	free(v);
	if (rv < 0)
		return -1;
	*out = a;
	return a ? 0 : lle_tpl_oom(R);
}

static int filter_sort(struct tpl_render *R, const struct expr *e, json_t *v, json_t **av, json_t **out)
{
	json_t *rev = arg_of(e, av, 0, "reverse"), *cs = arg_of(e, av, 1, "case_sensitive");
	json_t *attr = arg_of(e, av, 2, "attribute");
	if (!json_is_array(v))
		return lle_tpl_render_error(R, e, "sort needs a list, not %s", lle_tpl_type_name(v));
	return sort_list(R, e, v, attr && json_is_string(attr) ? json_string_value(attr) : NULL,
			 cs && lle_py_truthy(cs), rev && lle_py_truthy(rev), -1, out);
}

static int filter_dictsort(struct tpl_render *R, const struct expr *e, json_t *v, json_t **av, json_t **out)
{
	json_t *cs = arg_of(e, av, 0, "case_sensitive"), *by = arg_of(e, av, 1, "by");
	json_t *rev = arg_of(e, av, 2, "reverse");
	if (!json_is_object(v))
		return lle_tpl_render_error(R, e, "dictsort needs a dict, not %s", lle_tpl_type_name(v));
	int pos = 0;
	if (by && json_is_string(by))
		pos = !strcmp(json_string_value(by), "value") ? 1 : 0;
	json_t *items = items_of(v);
	if (!items)
		return lle_tpl_oom(R);
	int rv = sort_list(R, e, items, NULL, cs && lle_py_truthy(cs), rev && lle_py_truthy(rev), pos, out);
	json_decref(items);
	return rv;
}

static int filter_reverse(struct tpl_render *R, const struct expr *e, json_t *v, json_t **av, json_t **out)
{
	(void)av;
	json_t *list = json_is_string(v) ? lle_tpl_characters(v) : json_is_array(v) ? json_incref(v) : NULL;
	if (!list && !json_is_string(v) && !json_is_array(v))
		return lle_tpl_render_error(R, e, "cannot reverse %s", lle_tpl_type_name(v));
	if (!list)
		return lle_tpl_oom(R);
	size_t n = json_array_size(list);
	json_t *a = json_array();
	for (size_t i = n; a && i-- > 0;)
		if (json_array_append(a, json_array_get(list, i)) < 0)
			a = (json_decref(a), NULL);
	json_decref(list);
	if (a && json_is_string(v)) {
		struct lle_buf b = LLE_BUF_INIT;
		for (size_t i = 0; i < n; i++)
			lle_buf_adds(&b, json_string_value(json_array_get(a, i)));
		json_decref(a);
		return str_result(R, &b, out);
	}
	*out = a;
	return a ? 0 : lle_tpl_oom(R);
}

static int filter_unique(struct tpl_render *R, const struct expr *e, json_t *v, json_t **av, json_t **out)
{
	json_t *cs = arg_of(e, av, 0, "case_sensitive"), *attr = arg_of(e, av, 1, "attribute");
	if (!json_is_array(v))
		return lle_tpl_render_error(R, e, "unique needs a list, not %s", lle_tpl_type_name(v));
	json_t *a = json_array(), *seen = json_array();
	for (size_t i = 0; a && seen && i < json_array_size(v); i++) {
		json_t *item = json_array_get(v, i);
		json_t *k = attr && json_is_string(attr) ? json_object_get(item, json_string_value(attr)) : item;
		json_t *f = k ? fold(k, cs && lle_py_truthy(cs)) : json_null();
		int dup = 0;
		for (size_t j = 0; f && j < json_array_size(seen) && !dup; j++)
			dup = lle_py_eq(json_array_get(seen, j), f);
		if (!f || (!dup && (json_array_append_new(seen, f) < 0 || json_array_append(a, item) < 0))) {
			a = (json_decref(a), NULL);
			break;
		}
		if (dup)
			json_decref(f);
	}
	put(seen);
	*out = a;
	return a ? 0 : lle_tpl_oom(R);
}

/* Jinja's do_indent (3.1): the first line and, unless blank, empty lines stay. */
static int filter_indent(struct tpl_render *R, const struct expr *e, json_t *v, json_t **av, json_t **out)
{
	json_t *w = arg_of(e, av, 0, "width"), *first = arg_of(e, av, 1, "first"), *blank = arg_of(e, av, 2, "blank");
	struct lle_buf ind = LLE_BUF_INIT, b = LLE_BUF_INIT;
	if (w && json_is_string(w))
		lle_buf_adds(&ind, json_string_value(w));
	else
		for (long long k = 0; k < (w && lle_tpl_is_intlike(w) ? lle_tpl_int_value(w) : 4); k++)
			lle_buf_addc(&ind, ' ');
	json_t *sv = lle_tpl_str(v);
	if (!sv) {
		lle_buf_free(&ind);
		return lle_tpl_oom(R);
	}
	const char *s = json_string_value(sv), *end = s + json_string_length(sv);
	if (first && lle_py_truthy(first))
		lle_buf_add(&b, ind.p ? ind.p : "", ind.n);
	/* s + "\n" split into lines: every line ends with a newline */
	int lineno = 0;
	for (const char *p = s; p <= end;) {
		const char *q = p;
		while (q < end && *q != '\n' && *q != '\r')
			q++;
		if (q >= end && p == end && lineno > 0)
			break;
		if (lineno > 0) {
			lle_buf_addc(&b, '\n');
			if (q > p || (blank && lle_py_truthy(blank)))
				lle_buf_add(&b, ind.p ? ind.p : "", ind.n);
		}
		lle_buf_add(&b, p, (size_t)(q - p));
		lineno++;
		if (q >= end)
			break;
		p = q + (q[0] == '\r' && q + 1 < end && q[1] == '\n' ? 2 : 1);
	}
	lle_buf_free(&ind);
	json_decref(sv);
	(void)e;
	return str_result(R, &b, out);
}

/* select/reject(test, arg) and selectattr/rejectattr(attr, test, arg): the
 * items for which the test (truthiness without one) holds, or fails. */
static int filter_select(struct tpl_render *R, const struct expr *e, json_t *v, json_t **av, json_t **out)
{
	int attr = strstr(e->name, "attr") != NULL, keep = e->name[0] == 's';
	size_t positional = e->nargs - e->nkwargs, t = attr ? 1 : 0;
	if (attr && (positional < 1 || !json_is_string(av[0])))
		return lle_tpl_render_error(R, e, "%s needs an attribute name", e->name);
	const struct tpl_test *test = NULL;
	if (positional > t) {
		const char *name = json_string_value(av[t]);
		if (!name || !((test = lle_tpl_find_test(name)) || (test = lle_tpl_find_chat_test(name))))
			return lle_tpl_render_error(R, e, "%s: no test named '%s'", e->name, name ? name : "?");
		if (positional - t - 1 != test->nargs)
			return lle_tpl_render_error(R, e, "%s: wrong number of arguments to test '%s'", e->name,
						    name);
	}
	if (!lle_py_truthy(v)) { /* Jinja: `if seq:` first, so none selects nothing */
		*out = json_array();
		return *out ? 0 : lle_tpl_oom(R);
	}
	if (!json_is_array(v))
		return lle_tpl_render_error(R, e, "%s needs a list, not %s", e->name, lle_tpl_type_name(v));
	json_t *a = json_array();
	for (size_t i = 0; a && i < json_array_size(v); i++) {
		json_t *item = json_array_get(v, i), *x = item;
		if (attr)
			x = json_is_object(item) ? json_object_get(item, json_string_value(av[0])) : NULL;
		int yes;
		if (!test)
			yes = x && lle_py_truthy(x);
		else if (!x && !test->accepts_undefined)
			return json_decref(a), lle_tpl_render_error(R, e, "%s: the attribute is undefined", e->name);
		else
			yes = test->nargs ? test->fn2(x, av[t + 1]) : test->fn(x);
		if (yes == keep && json_array_append(a, item) < 0)
			a = (json_decref(a), NULL);
	}
	*out = a;
	return a ? 0 : lle_tpl_oom(R);
}

static int filter_min_max(struct tpl_render *R, const struct expr *e, json_t *v, json_t **av, json_t **out)
{
	(void)av;
	if (!json_is_array(v))
		return lle_tpl_render_error(R, e, "%s needs a list", e->name);
	json_t *best = NULL;
	for (size_t i = 0; i < json_array_size(v); i++) {
		json_t *x = json_array_get(v, i);
		int better = 0;
		if (best && lle_tpl_compare(R, e, e->name[1] == 'i' ? OP_LT : OP_GT, x, best, &better) < 0)
			return -1;
		if (!best || better)
			best = x;
	}
	*out = best ? json_incref(best) : NULL; /* an empty list: undefined */
	return 0;
}

/* Jinja's title filter: each run after [-\s({[<] starts upper case, the rest lower. */
static int filter_title(struct tpl_render *R, const struct expr *e, json_t *v, json_t **av, json_t **out)
{
	(void)e, (void)av;
	json_t *sv = lle_tpl_str(v);
	if (!sv)
		return lle_tpl_oom(R);
	const char *s = json_string_value(sv);
	size_t n = json_string_length(sv), i = 0, l;
	int start = 1;
	struct lle_buf b = LLE_BUF_INIT;
	while (i < n) {
		uint32_t cp = lle_py_decode(s + i, n - i, &l);
		int sep = cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<' || lle_py_isspace(cp);
		if (sep)
			lle_buf_add(&b, s + i, l);
		else if (start)
			lle_py_upper(&b, s + i, l);
		else
			lle_py_lower(&b, s + i, l);
		start = sep;
		i += l;
	}
	json_decref(sv);
	return str_result(R, &b, out);
}

static const char *const k_tojson_kw[] = { "ensure_ascii", "indent", "separators", "sort_keys", NULL };
static const char *const k_sort_kw[] = { "reverse", "case_sensitive", "attribute", NULL };
static const char *const k_dictsort_kw[] = { "case_sensitive", "by", "reverse", NULL };
static const char *const k_unique_kw[] = { "case_sensitive", "attribute", NULL };
static const char *const k_indent_kw[] = { "width", "first", "blank", NULL };

static const struct tpl_builtin k_chat_filters[] = {
	{ "tojson", 0, 0, 4, 0, filter_tojson, k_tojson_kw, 0 },
	{ "items", 0, 0, 0, 1, filter_items, NULL, 0 },
	{ "safe", 0, 0, 0, 0, filter_safe, NULL, 1 },
	{ "dictsort", 0, 0, 3, 0, filter_dictsort, k_dictsort_kw, 0 },
	{ "sort", 0, 0, 3, 0, filter_sort, k_sort_kw, 0 },
	{ "reverse", 0, 0, 0, 0, filter_reverse, NULL, 1 },
	{ "unique", 0, 0, 2, 0, filter_unique, k_unique_kw, 0 },
	{ "indent", 0, 0, 3, 0, filter_indent, k_indent_kw, 1 },
	{ "select", 0, 0, LLE_TPL_MAX_ARGS, 0, filter_select, NULL, 0 },
	{ "reject", 0, 0, LLE_TPL_MAX_ARGS, 0, filter_select, NULL, 0 },
	{ "selectattr", 0, 1, LLE_TPL_MAX_ARGS, 0, filter_select, NULL, 0 },
	{ "rejectattr", 0, 1, LLE_TPL_MAX_ARGS, 0, filter_select, NULL, 0 },
	{ "min", 0, 0, 0, 0, filter_min_max, NULL, 0 },
	{ "max", 0, 0, 0, 0, filter_min_max, NULL, 0 },
	{ "title", 0, 0, 0, 0, filter_title, NULL, 1 },
};

const struct tpl_builtin *lle_tpl_find_chat_filter(const char *name)
{
	for (size_t i = 0; i < sizeof(k_chat_filters) / sizeof(k_chat_filters[0]); i++)
		if (!strcmp(k_chat_filters[i].name, name))
			return &k_chat_filters[i];
	return NULL;
}

/* ---------- methods ---------- */

static int method_items(struct tpl_render *R, const struct expr *e, json_t *self, json_t **av, json_t **out)
{
	(void)e, (void)av;
	*out = items_of(self);
	return *out ? 0 : lle_tpl_oom(R);
}

/* Python's str.title() (pycase.c). */
static int method_title(struct tpl_render *R, const struct expr *e, json_t *self, json_t **av, json_t **out)
{
	(void)e, (void)av;
	struct lle_buf b = LLE_BUF_INIT;
	lle_py_title(&b, json_string_value(self), json_string_length(self));
	return str_result(R, &b, out);
}

/* str.format with {}, {N} and {name} fields and no format specs. */
static int method_format(struct tpl_render *R, const struct expr *e, json_t *self, json_t **av, json_t **out)
{
	const char *s = json_string_value(self);
	size_t positional = e->nargs - e->nkwargs, next = 0;
	struct lle_buf b = LLE_BUF_INIT;
	for (const char *p = s; *p; p++) {
		if ((*p == '{' && p[1] == '{') || (*p == '}' && p[1] == '}')) {
			lle_buf_addc(&b, *p++);
			continue;
		}
		if (*p != '{') {
			lle_buf_addc(&b, *p);
			continue;
		}
		const char *q = strchr(p, '}');
		if (!q) {
			lle_buf_free(&b);
			return lle_tpl_render_error(R, e, "format: single '{' encountered in format string");
		}
		char field[64];
		snprintf(field, sizeof(field), "%.*s", (int)(q - p - 1), p + 1);
		json_t *x = NULL;
		if (strpbrk(field, ":!.[")) {
			lle_buf_free(&b);
			return lle_tpl_render_error(R, e, "format: format specs are not supported");
		}
		if (!field[0])
			x = next < positional ? av[next++] : NULL;
		else if (field[0] >= '0' && field[0] <= '9')
			x = (size_t)atoi(field) < positional ? av[atoi(field)] : NULL;
		else
			x = arg_of(e, av, (size_t)-1, field);
		if (!x) {
			lle_buf_free(&b);
			return lle_tpl_render_error(R, e, "format: no argument for '{%s}'", field);
		}
		lle_tpl_print(&b, x, 0);
		p = q;
	}
	return str_result(R, &b, out);
}

static const char *const k_any_kw[] = { "*", NULL };

static const struct tpl_builtin k_chat_methods[] = {
	{ "items", JSON_OBJECT, 0, 0, 0, method_items, NULL, 0 },
	{ "title", JSON_STRING, 0, 0, 0, method_title, NULL, 0 },
	{ "format", JSON_STRING, 0, LLE_TPL_MAX_ARGS, 0, method_format, k_any_kw, 0 },
};

const struct tpl_builtin *lle_tpl_find_chat_method(const char *name, json_type t)
{
	for (size_t i = 0; i < sizeof(k_chat_methods) / sizeof(k_chat_methods[0]); i++)
		if (k_chat_methods[i].self_type == t && !strcmp(k_chat_methods[i].name, name))
			return &k_chat_methods[i];
	return NULL;
}

/* ---------- tests ---------- */

static int t_mapping(const json_t *v) { return json_is_object(v) && !lle_tpl_is_namespace(v); }
/* Jinja's Undefined (NULL) has a length and iterates: a sequence */
static int t_sequence(const json_t *v) { return !v || json_is_array(v) || json_is_string(v) || t_mapping(v); }
static int t_boolean(const json_t *v) { return json_is_boolean(v); }
static int t_true(const json_t *v) { return json_is_true(v); }
static int t_false(const json_t *v) { return json_is_false(v); }
static int t_integer(const json_t *v) { return json_is_integer(v); }
static int t_float(const json_t *v) { return json_is_real(v); }
static int t_callable(const json_t *v) { (void)v; return 0; }
static int t_eq(const json_t *v, const json_t *a) { return v && a && lle_py_eq(v, a); }
static int t_ne(const json_t *v, const json_t *a) { return !t_eq(v, a); }
static int t_sameas(const json_t *v, const json_t *a)
{
	if (json_is_null(v) || json_is_boolean(v))
		return json_typeof(v) == json_typeof(a);
	return v == a;
}
static int t_in(const json_t *v, const json_t *a)
{
	if (json_is_array(a)) {
		for (size_t i = 0; i < json_array_size(a); i++)
			if (lle_py_eq(json_array_get(a, i), v))
				return 1;
		return 0;
	}
	if (json_is_object(a))
		return json_is_string(v) && json_object_get(a, json_string_value(v));
	if (json_is_string(a) && json_is_string(v))
		return lle_tpl_str_find(json_string_value(a), json_string_length(a), json_string_value(v),
					json_string_length(v)) >= 0;
	return 0;
}

static const struct tpl_test k_chat_tests[] = {
	{ "mapping", 0, t_mapping, 0, NULL },
	{ "sequence", 0, t_sequence, 0, NULL },
	{ "iterable", 0, t_sequence, 0, NULL },
	{ "boolean", 0, t_boolean, 0, NULL },
	{ "true", 0, t_true, 0, NULL },
	{ "false", 0, t_false, 0, NULL },
	{ "integer", 0, t_integer, 0, NULL },
	{ "float", 0, t_float, 0, NULL },
	{ "callable", 0, t_callable, 0, NULL },
	{ "equalto", 1, NULL, 1, t_eq },
	{ "eq", 1, NULL, 1, t_eq },
	{ "ne", 1, NULL, 1, t_ne },
	{ "sameas", 1, NULL, 1, t_sameas },
	{ "in", 0, NULL, 1, t_in },
};

const struct tpl_test *lle_tpl_find_chat_test(const char *name)
{
	for (size_t i = 0; i < sizeof(k_chat_tests) / sizeof(k_chat_tests[0]); i++)
		if (!strcmp(k_chat_tests[i].name, name))
			return &k_chat_tests[i];
	return NULL;
}

/* ---------- calls ---------- */

static const struct node *find_macro(const struct lle_tpl *t, const char *name)
{
	for (size_t i = t->nmacros; i-- > 0;)
		if (!strcmp(t->macros[i]->var, name))
			return t->macros[i];
	return NULL;
}

int lle_tpl_chat_function(const struct lle_tpl *t, const char *name)
{
	return find_macro(t, name) || !strcmp(name, "namespace") || !strcmp(name, "dict") ||
	       !strcmp(name, "raise_exception") || !strcmp(name, "strftime_now");
}

static int call_macro(struct tpl_render *R, const struct expr *e, const struct node *m, json_t **av,
		      json_t **out)
{
	size_t positional = e->nargs - e->nkwargs, base = R->nvars;
	if (positional > m->nparams)
		return lle_tpl_render_error(R, e, "macro '%s' takes not more than %zu argument(s)", m->var,
					    m->nparams);
	for (size_t k = 0; k < e->nkwargs; k++) {
		size_t j = 0;
		while (j < m->nparams && strcmp(m->params[j], e->kwnames[k]))
			j++;
		if (j == m->nparams)
			return lle_tpl_render_error(R, e, "macro '%s' takes no keyword argument '%s'", m->var,
						    e->kwnames[k]);
	}
	if (R->depth >= 64)
		return lle_tpl_render_error(R, e, "macro calls nested too deep");
	int rv = 0;
	for (size_t j = 0; j < m->nparams && rv == 0; j++) {
		json_t *v = arg_of(e, av, j, m->params[j]);
		if (v)
			v = json_incref(v);
		else if (m->defaults[j] && lle_tpl_eval(R, m->defaults[j], &v) < 0)
			rv = -1;
		if (rv == 0)
			rv = lle_tpl_push_var(R, m->params[j], v);
	}
	struct lle_buf b = LLE_BUF_INIT;
	if (rv == 0) {
		R->depth++;
		rv = lle_tpl_render_nodes(R, &m->body, &b);
		R->depth--;
		R->loopctl = 0;
	}
	lle_tpl_pop_vars(R, base);
	if (rv < 0) {
		lle_buf_free(&b);
		return -1;
	}
	return str_result(R, &b, out);
}

static int call_global(struct tpl_render *R, const struct expr *e, json_t **av, json_t **out)
{
	size_t positional = e->nargs - e->nkwargs;
	const char *f = e->name;
	if (!strcmp(f, "namespace") || !strcmp(f, "dict")) {
		json_t *d = positional == 1 && json_is_object(av[0]) ? json_deep_copy(av[0]) : json_object();
		if (!d)
			return lle_tpl_oom(R);
		if (positional > (json_is_object(av[0]) ? 1u : 0u))
			return json_decref(d), lle_tpl_render_error(R, e, "%s() takes keyword arguments", f);
		for (size_t k = 0; k < e->nkwargs; k++)
			if (av[positional + k] && json_object_set(d, e->kwnames[k], av[positional + k]) < 0)
				return json_decref(d), lle_tpl_oom(R);
		if (f[0] == 'n' && json_object_setn_new_nocheck(d, k_ns_key, NS_KEY_LEN, json_true()) < 0)
			return json_decref(d), lle_tpl_oom(R);
		*out = d;
		return 0;
	}
	if (!strcmp(f, "raise_exception")) {
		struct lle_buf b = LLE_BUF_INIT;
		if (positional >= 1 && av[0])
			lle_tpl_print(&b, av[0], 0);
		lle_tpl_render_error(R, e, "the chat template raised an exception: %s", lle_buf_str(&b));
		lle_buf_free(&b);
		return -1;
	}
	if (!strcmp(f, "strftime_now")) {
		if (positional != 1 || !json_is_string(av[0]))
			return lle_tpl_render_error(R, e, "strftime_now() takes one format string");
		char buf[512];
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		size_t n = strftime(buf, sizeof(buf), json_string_value(av[0]), &tm);
		*out = json_stringn(buf, n);
		return *out ? 0 : lle_tpl_oom(R);
	}
	return lle_tpl_render_error(R, e, "'%s' is undefined (not a function a chat template can call)", f);
}

int lle_tpl_call(struct tpl_render *R, const struct expr *e, json_t **out)
{
	json_t **av = calloc(e->nargs ? e->nargs : 1, sizeof(*av));
	if (!av)
		return lle_tpl_oom(R);
	int rv = 0;
	for (size_t i = 0; i < e->nargs && rv == 0; i++)
		rv = lle_tpl_eval(R, e->args[i], &av[i]);
	if (rv == 0) {
		const struct node *m = find_macro(R->t, e->name);
		rv = m ? call_macro(R, e, m, av, out) : call_global(R, e, av, out);
	}
	for (size_t i = 0; i < e->nargs; i++)
		put(av[i]);
	free(av);
	return rv;
}

/* ---------- the literals of a compiled template ---------- */

static int literals_expr(const struct expr *e, lle_tpl_literal_fn fn, void *user);

static int literals_list(const struct nodelist *l, lle_tpl_literal_fn fn, void *user)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct node *n = l->v[i];
		if (literals_expr(n->e, fn, user) < 0 || literals_expr(n->cond, fn, user) < 0 ||
		    literals_list(&n->body, fn, user) < 0 || literals_list(&n->else_body, fn, user) < 0)
			return -1;
		for (size_t k = 0; k < n->nbranches; k++)
			if ((n->conds && literals_expr(n->conds[k], fn, user) < 0) ||
			    (n->bodies && literals_list(&n->bodies[k], fn, user) < 0))
				return -1;
		for (size_t k = 0; n->defaults && k < n->nparams; k++)
			if (literals_expr(n->defaults[k], fn, user) < 0)
				return -1;
	}
	return 0;
}

static int literals_expr(const struct expr *e, lle_tpl_literal_fn fn, void *user)
{
	if (!e)
		return 0;
	if (e->literal && fn(user, e->literal) < 0)
		return -1;
	if (literals_expr(e->a, fn, user) < 0 || literals_expr(e->b, fn, user) < 0 ||
	    literals_expr(e->c, fn, user) < 0)
		return -1;
	for (size_t i = 0; e->args && i < e->nargs; i++)
		if (literals_expr(e->args[i], fn, user) < 0)
			return -1;
	return 0;
}

int lle_tpl_each_literal(const struct lle_tpl *t, lle_tpl_literal_fn fn, void *user)
{
	return literals_list(&t->root, fn, user);
}
