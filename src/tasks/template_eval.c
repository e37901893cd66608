/* The template evaluator: walks the tree of template_int.h with a
 * document's fields as variables and writes the output, values printing as
 * Python's str() (pystr.c). "Undefined" is a NULL value, which only
 * `is defined`, `is undefined` and `default` accept, as with Jinja's
 * StrictUndefined; anything else reports the missing field by its source
 * text. Operators are template_ops.c's, filters, methods and tests
 * template_builtins.c's; this file does names, subscripts, calls, logic and
 * the statements (if, for with `loop`, set). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/template_int.h"

int lle_tpl_render_error(struct tpl_render *R, const struct expr *e, const char *fmt, ...)
{
	char msg[1100];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (e)
		return lle_err_set(R->err, LLE_EXIT_DATA, "%s: %s (at character %zu)", R->who, msg,
				   e->pos + 1);
	return lle_err_set(R->err, LLE_EXIT_DATA, "%s: %s", R->who, msg);
}

int lle_tpl_missing(struct tpl_render *R, const struct expr *e)
{
	size_t n = e->end > e->pos ? e->end - e->pos : 0;
	if (n > 199)
		n = 199;
	return lle_err_set(R->err, LLE_EXIT_DATA, "%s: missing field '%.*s'", R->who, (int)n,
			   R->t->src + e->pos);
}

int lle_tpl_oom(struct tpl_render *R)
{
	return lle_err_oom(R->err);
}

static int eval_raw(struct tpl_render *R, const struct expr *e, json_t **out);

int lle_tpl_eval_defined(struct tpl_render *R, const struct expr *e, json_t **out)
{
	if (lle_tpl_eval(R, e, out) < 0)
		return -1;
	if (!*out)
		return lle_tpl_missing(R, e);
	return 0;
}

/* The value as it is, a view kept (see template_int.h), defined. */
static int eval_raw_defined(struct tpl_render *R, const struct expr *e, json_t **out)
{
	if (eval_raw(R, e, out) < 0)
		return -1;
	if (!*out)
		return lle_tpl_missing(R, e);
	return 0;
}

/* ---------- views ---------- */

static const char k_view_key[] = "\0view";
#define VIEW_KEY_LEN (sizeof(k_view_key) - 1)

json_t *lle_tpl_view_new(const char *kind, json_t *items, long long start, long long stop,
			 long long step)
{
	json_t *a = json_pack("[soIII]", kind, items, (json_int_t)start, (json_int_t)stop,
			      (json_int_t)step); /* items stolen, even on failure */
	json_t *o = a ? json_object() : NULL;
	if (!o) {
		if (a)
			json_decref(a);
		return NULL;
	}
	if (json_object_setn_new_nocheck(o, k_view_key, VIEW_KEY_LEN, a) < 0) { /* a released */
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The [kind, items, start, stop, step] of a view, or NULL. */
static const json_t *view_of(const json_t *v)
{
	if (!json_is_object(v) || json_object_size(v) != 1)
		return NULL;
	return json_object_getn(v, k_view_key, VIEW_KEY_LEN);
}

/* A view becomes its items (a list); anything else stays. */
static void unwrap_view(json_t **v)
{
	const json_t *view = view_of(*v);
	if (view) {
		json_t *items = json_incref(json_array_get(view, 1));
		json_decref(*v);
		*v = items;
	}
}

static int print_view(struct lle_buf *out, const json_t *view)
{
	const char *kind = json_string_value(json_array_get(view, 0));
	if (!strcmp(kind, "range")) {
		long long a = json_integer_value(json_array_get(view, 2));
		long long b = json_integer_value(json_array_get(view, 3));
		long long s = json_integer_value(json_array_get(view, 4));
		return s == 1 ? lle_buf_printf(out, "range(%lld, %lld)", a, b)
			      : lle_buf_printf(out, "range(%lld, %lld, %lld)", a, b, s);
	}
	lle_buf_printf(out, "%s(", kind);
	lle_tpl_print(out, json_array_get(view, 1), 1);
	return lle_buf_addc(out, ')');
}

/* As pystr.c's lle_py_str/lle_py_repr, looking for views inside lists and dicts. */
int lle_tpl_print(struct lle_buf *out, const json_t *v, int repr)
{
	const json_t *view = view_of(v);
	if (view)
		return print_view(out, view);
	if (json_is_array(v)) {
		lle_buf_addc(out, '[');
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				lle_buf_adds(out, ", ");
			lle_tpl_print(out, json_array_get(v, i), 1);
		}
		return lle_buf_addc(out, ']');
	}
	if (json_is_object(v)) {
		const char *k;
		json_t *x;
		int first = 1;
		lle_buf_addc(out, '{');
		json_object_foreach((json_t *)v, k, x) {
			json_t *key = json_string_nocheck(k);
			if (!key) {
				out->oom = 1;
				return -1;
			}
			lle_buf_adds(out, first ? "" : ", ");
			first = 0;
			lle_py_repr(out, key);
			json_decref(key);
			lle_buf_adds(out, ": ");
			lle_tpl_print(out, x, 1);
		}
		return lle_buf_addc(out, '}');
	}
	return repr ? lle_py_repr(out, v) : lle_py_str(out, v);
}

/* ---------- names and subscripts ---------- */

static json_t *lookup(struct tpl_render *R, const char *name)
{
	for (size_t i = R->nvars; i-- > 0;)
		if (!strcmp(R->vars[i].name, name))
			return R->vars[i].v;
	return json_object_get(R->doc, name);
}

/* Python's index normalisation: -1 is the last. */
static int normalize_index(long long i, size_t n, size_t *out)
{
	if (i < 0)
		i += (long long)n;
	if (i < 0 || (unsigned long long)i >= n)
		return -1;
	*out = (size_t)i;
	return 0;
}

int lle_tpl_subscript(struct tpl_render *R, const struct expr *e, json_t *base, json_t *key,
		      json_t **out)
{
	*out = NULL;
	if (json_is_object(base)) {
		if (!json_is_string(key))
			return 0; /* undefined */
		json_t *v = json_object_get(base, json_string_value(key));
		*out = v ? json_incref(v) : NULL;
		return 0;
	}
	if (!lle_tpl_is_intlike(key))
		return lle_tpl_render_error(R, e, "index must be an integer, not %s", lle_tpl_type_name(key));
	size_t i;
	if (json_is_array(base)) {
		if (normalize_index(lle_tpl_int_value(key), json_array_size(base), &i) == 0)
			*out = json_incref(json_array_get(base, i));
		return 0;
	}
	if (json_is_string(base)) {
		const char *s = json_string_value(base);
		size_t n = json_string_length(base);
		if (normalize_index(lle_tpl_int_value(key), lle_py_len(s, n), &i) == 0) {
			size_t a = lle_tpl_char_offset(s, n, i), b = lle_tpl_char_offset(s, n, i + 1);
			*out = json_stringn_nocheck(s + a, b - a);
			if (!*out)
				return lle_tpl_oom(R);
		}
		return 0;
	}
	return lle_tpl_render_error(R, e, "cannot index a value of type %s", lle_tpl_type_name(base));
}

static long long clamp_slice(long long i, long long n)
{
	if (i < 0)
		i += n;
	if (i < 0)
		i = 0;
	if (i > n)
		i = n;
	return i;
}

/* base[lo:hi] of a list or a string (by characters). */
static int slice(struct tpl_render *R, const struct expr *e, json_t *base, json_t *lo, json_t *hi,
		 json_t **out)
{
	if ((lo && !lle_tpl_is_intlike(lo)) || (hi && !lle_tpl_is_intlike(hi)))
		return lle_tpl_render_error(R, e, "slice indices must be integers");
	int is_list = json_is_array(base);
	if (!is_list && !json_is_string(base))
		return lle_tpl_render_error(R, e, "cannot slice a value of type %s", lle_tpl_type_name(base));
	const char *s = json_string_value(base);
	size_t sn = json_string_length(base);
	long long n = is_list ? (long long)json_array_size(base) : (long long)lle_py_len(s, sn);
	long long a = lo ? clamp_slice(lle_tpl_int_value(lo), n) : 0;
	long long b = hi ? clamp_slice(lle_tpl_int_value(hi), n) : n;
	if (is_list) {
		json_t *x = json_array();
		for (long long i = a; x && i < b; i++)
			if (json_array_append(x, json_array_get(base, (size_t)i)) < 0) {
				json_decref(x);
				x = NULL;
			}
		*out = x;
	} else {
		if (b < a)
			b = a;
		size_t x = lle_tpl_char_offset(s, sn, (size_t)a), y = lle_tpl_char_offset(s, sn, (size_t)b);
		*out = json_stringn_nocheck(s + x, y - x);
	}
	return *out ? 0 : lle_tpl_oom(R);
}

/* ---------- expressions, one function per kind ---------- */

static void put(json_t *v)
{
	if (v)
		json_decref(v);
}

static int eval_attr(struct tpl_render *R, const struct expr *e, json_t **out)
{
	json_t *a;
	if (lle_tpl_eval_defined(R, e->a, &a) < 0)
		return -1;
	if (json_is_object(a)) { /* an attribute of anything else is undefined */
		json_t *v = json_object_get(a, e->name);
		*out = v ? json_incref(v) : NULL;
	}
	json_decref(a);
	return 0;
}

static int eval_index(struct tpl_render *R, const struct expr *e, json_t **out)
{
	json_t *a = NULL, *b = NULL;
	int rv = -1;
	if (lle_tpl_eval_defined(R, e->a, &a) == 0 && lle_tpl_eval_defined(R, e->b, &b) == 0)
		rv = lle_tpl_subscript(R, e, a, b, out);
	put(a);
	put(b);
	return rv;
}

static int eval_slice(struct tpl_render *R, const struct expr *e, json_t **out)
{
	json_t *a = NULL, *lo = NULL, *hi = NULL;
	int rv = -1;
	if (lle_tpl_eval_defined(R, e->a, &a) == 0 && (!e->b || lle_tpl_eval_defined(R, e->b, &lo) == 0) &&
	    (!e->c || lle_tpl_eval_defined(R, e->c, &hi) == 0))
		rv = slice(R, e, a, lo, hi, out);
	put(a);
	put(lo);
	put(hi);
	return rv;
}

/* Evaluate the arguments of a call (at most LLE_TPL_MAX_ARGS, which the
 * caller checked); all must be defined. */
static int eval_args(struct tpl_render *R, const struct expr *e, json_t **av)
{
	for (size_t i = 0; i < e->nargs; i++) {
		if (lle_tpl_eval_defined(R, e->args[i], &av[i]) < 0) {
			for (size_t j = 0; j < i; j++)
				json_decref(av[j]);
			return -1;
		}
	}
	return 0;
}

static void free_args(json_t **av, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(av[i]);
}

int lle_tpl_call_builtin(struct tpl_render *R, const struct expr *e, const struct tpl_builtin *b,
			 json_t *self, json_t **av, json_t **out)
{
	size_t positional = e->nargs - e->nkwargs;
	if (!self && !b->accepts_undefined)
		return lle_tpl_missing(R, e->a);
	if (positional < b->min_args || positional > b->max_args)
		return lle_tpl_render_error(R, e, "wrong number of arguments to '%s'", e->name);
	return b->fn(R, e, self, av, out);
}

static int no_such_method(struct tpl_render *R, const struct expr *e, const json_t *self)
{
	const char *what = json_is_object(self)   ? "a dict"
			   : json_is_array(self)  ? "a list"
			   : json_is_string(self) ? "a str"
						  : "a value of this type";
	return lle_tpl_render_error(R, e, "%s has no method '%s'", what, e->name);
}

static int eval_method(struct tpl_render *R, const struct expr *e, json_t **out)
{
	json_t *self = NULL, *av[LLE_TPL_MAX_ARGS] = { 0 };
	if (e->nargs > LLE_TPL_MAX_ARGS)
		return lle_tpl_render_error(R, e, "too many arguments to '%s'", e->name);
	if (lle_tpl_eval_defined(R, e->a, &self) < 0)
		return -1;
	int rv = eval_args(R, e, av);
	if (rv == 0) {
		const struct tpl_builtin *m = lle_tpl_find_method(e->name, json_typeof(self));
		rv = m ? lle_tpl_call_builtin(R, e, m, self, av, out) : no_such_method(R, e, self);
		free_args(av, e->nargs);
	}
	json_decref(self);
	return rv;
}

static int eval_filter(struct tpl_render *R, const struct expr *e, json_t **out)
{
	json_t *self = NULL, *av[LLE_TPL_MAX_ARGS] = { 0 };
	if (e->nargs > LLE_TPL_MAX_ARGS)
		return lle_tpl_render_error(R, e, "too many arguments to '%s'", e->name);
	if (lle_tpl_eval(R, e->a, &self) < 0)
		return -1;
	int rv = eval_args(R, e, av);
	if (rv == 0) {
		rv = lle_tpl_call_builtin(R, e, e->filter, self, av, out);
		free_args(av, e->nargs);
	}
	put(self);
	return rv;
}

static int eval_test(struct tpl_render *R, const struct expr *e, json_t **out)
{
	json_t *a;
	if (lle_tpl_eval(R, e->a, &a) < 0)
		return -1;
	if (!a && !e->test->accepts_undefined)
		return lle_tpl_missing(R, e->a);
	int yes = e->test->fn(a);
	put(a);
	*out = json_boolean(e->op ? !yes : yes);
	return 0;
}

static int eval_binary(struct tpl_render *R, const struct expr *e, json_t **out)
{
	json_t *a = NULL, *b = NULL;
	int rv = -1;
	if (lle_tpl_eval_defined(R, e->a, &a) == 0 && lle_tpl_eval_defined(R, e->b, &b) == 0)
		rv = lle_tpl_binary(R, e, e->op, a, b, out);
	put(a);
	put(b);
	return rv;
}

/* a < b < c: each operand evaluated once, stopping at the first false. */
static int eval_compare(struct tpl_render *R, const struct expr *e, json_t **out)
{
	json_t *a, *b = NULL;
	if (lle_tpl_eval_defined(R, e->a, &a) < 0)
		return -1;
	int result = 1;
	for (size_t i = 0; i < e->nargs && result; i++) {
		if (lle_tpl_eval_defined(R, e->args[i], &b) < 0 ||
		    lle_tpl_compare(R, e, e->ops[i], a, b, &result) < 0) {
			json_decref(a);
			put(b);
			return -1;
		}
		json_decref(a);
		a = b;
	}
	json_decref(a);
	*out = json_boolean(result);
	return 0;
}

static int eval_not(struct tpl_render *R, const struct expr *e, json_t **out)
{
	json_t *a;
	if (lle_tpl_eval_defined(R, e->a, &a) < 0)
		return -1;
	*out = json_boolean(!lle_py_truthy(a));
	json_decref(a);
	return 0;
}

static int eval_negate(struct tpl_render *R, const struct expr *e, json_t **out)
{
	json_t *a;
	if (lle_tpl_eval_defined(R, e->a, &a) < 0)
		return -1;
	int rv = lle_tpl_negate(R, e, a, out);
	json_decref(a);
	return rv;
}

/* Truthiness, of a view's items for a view. */
static int truthy(const json_t *v)
{
	const json_t *view = view_of(v);
	return lle_py_truthy(view ? json_array_get(view, 1) : v);
}

/* and, or: Python returns the deciding operand itself. */
static int eval_logic(struct tpl_render *R, const struct expr *e, json_t **out)
{
	json_t *a;
	if (eval_raw_defined(R, e->a, &a) < 0)
		return -1;
	if (truthy(a) == (e->kind == EXPR_OR)) {
		*out = a;
		return 0;
	}
	json_decref(a);
	return eval_raw_defined(R, e->b, out);
}

/* a if cond else b; without else, undefined. */
static int eval_conditional(struct tpl_render *R, const struct expr *e, json_t **out)
{
	json_t *cond;
	if (lle_tpl_eval_defined(R, e->b, &cond) < 0)
		return -1;
	int take = lle_py_truthy(cond);
	json_decref(cond);
	if (take)
		return eval_raw(R, e->a, out);
	return e->c ? eval_raw(R, e->c, out) : 0;
}

static int eval_list(struct tpl_render *R, const struct expr *e, json_t **out)
{
	json_t *l = json_array();
	if (!l)
		return lle_tpl_oom(R);
	for (size_t i = 0; i < e->nargs; i++) {
		json_t *x;
		if (eval_raw_defined(R, e->args[i], &x) < 0) {
			json_decref(l);
			return -1;
		}
		if (json_array_append_new(l, x) < 0) {
			json_decref(l);
			return lle_tpl_oom(R);
		}
	}
	*out = l;
	return 0;
}

/* A dict literal. JSON objects have string keys only: another key, which
 * Python would allow, is an error. A repeated key keeps its first place and
 * takes the last value, as in Python. */
static int eval_dict(struct tpl_render *R, const struct expr *e, json_t **out)
{
	json_t *d = json_object();
	if (!d)
		return lle_tpl_oom(R);
	for (size_t i = 0; i + 1 < e->nargs; i += 2) {
		json_t *k, *v;
		if (lle_tpl_eval_defined(R, e->args[i], &k) < 0) {
			json_decref(d);
			return -1;
		}
		if (!json_is_string(k)) {
			lle_tpl_render_error(R, e->args[i], "dict keys must be strings here, not %s",
					     lle_tpl_type_name(k));
			json_decref(k);
			json_decref(d);
			return -1;
		}
		if (eval_raw_defined(R, e->args[i + 1], &v) < 0) {
			json_decref(k);
			json_decref(d);
			return -1;
		}
		int rv = json_object_setn_new_nocheck(d, json_string_value(k), json_string_length(k), v);
		json_decref(k);
		if (rv < 0) {
			json_decref(d);
			return lle_tpl_oom(R);
		}
	}
	*out = d;
	return 0;
}

int lle_tpl_eval(struct tpl_render *R, const struct expr *e, json_t **out)
{
	if (eval_raw(R, e, out) < 0)
		return -1;
	if (*out)
		unwrap_view(out);
	return 0;
}

static int eval_raw(struct tpl_render *R, const struct expr *e, json_t **out)
{
	int rv = 0;
	*out = NULL;
	switch (e->kind) {
	case EXPR_LITERAL:
		*out = json_incref(e->literal);
		return 0;
	case EXPR_NAME: {
		json_t *v = lookup(R, e->name);
		*out = v ? json_incref(v) : NULL;
		return 0;
	}
	case EXPR_ATTR: rv = eval_attr(R, e, out); break;
	case EXPR_INDEX: rv = eval_index(R, e, out); break;
	case EXPR_SLICE: rv = eval_slice(R, e, out); break;
	case EXPR_METHOD: rv = eval_method(R, e, out); break;
	case EXPR_FILTER: rv = eval_filter(R, e, out); break;
	case EXPR_TEST: rv = eval_test(R, e, out); break;
	case EXPR_BINARY: rv = eval_binary(R, e, out); break;
	case EXPR_COMPARE: rv = eval_compare(R, e, out); break;
	case EXPR_NOT: rv = eval_not(R, e, out); break;
	case EXPR_NEGATE: rv = eval_negate(R, e, out); break;
	case EXPR_AND:
	case EXPR_OR: rv = eval_logic(R, e, out); break;
	case EXPR_CONDITIONAL: rv = eval_conditional(R, e, out); break;
	case EXPR_LIST: rv = eval_list(R, e, out); break;
	case EXPR_DICT: rv = eval_dict(R, e, out); break;
	case EXPR_RANGE: rv = lle_tpl_range(R, e, out); break;
	}
	if (rv < 0 && *out) {
		json_decref(*out);
		*out = NULL;
	}
	return rv;
}

/* ---------- statements ---------- */

static int push_var(struct tpl_render *R, const char *name, json_t *v)
{
	if (R->nvars == R->capvars) {
		size_t cap = R->capvars ? R->capvars * 2 : 8;
		struct tpl_var *nv = realloc(R->vars, cap * sizeof(*nv));
		if (!nv) {
			json_decref(v);
			return lle_tpl_oom(R);
		}
		R->vars = nv;
		R->capvars = cap;
	}
	R->vars[R->nvars].name = name;
	R->vars[R->nvars].v = v;
	R->nvars++;
	return 0;
}

static void pop_vars(struct tpl_render *R, size_t to)
{
	while (R->nvars > to)
		json_decref(R->vars[--R->nvars].v);
}

static int render_nodes(struct tpl_render *R, const struct nodelist *l, struct lle_buf *out);

/* What a for loop iterates: a list's items, a dict's keys, a string's
 * characters. A new array, or NULL (the error set). */
static json_t *loop_items(struct tpl_render *R, const struct node *n, json_t *it)
{
	json_t *items;
	if (json_is_array(it))
		return json_incref(it);
	if (json_is_object(it)) {
		items = json_array();
		const char *k;
		json_t *v;
		json_object_foreach(it, k, v) {
			if (items && json_array_append_new(items, json_string(k)) < 0) {
				json_decref(items);
				items = NULL;
			}
		}
	} else if (json_is_string(it)) {
		items = lle_tpl_characters(it);
	} else {
		lle_tpl_render_error(R, n->e, "cannot loop over a value of type %s", lle_tpl_type_name(it));
		return NULL;
	}
	if (!items)
		lle_tpl_oom(R);
	return items;
}

static int render_for(struct tpl_render *R, const struct node *n, struct lle_buf *out)
{
	json_t *it;
	if (lle_tpl_eval_defined(R, n->e, &it) < 0)
		return -1;
	json_t *items = loop_items(R, n, it);
	json_decref(it);
	if (!items)
		return -1;
	size_t len = json_array_size(items), base = R->nvars;
	int rv = 0;
	for (size_t i = 0; i < len && rv == 0; i++) {
		json_t *loop = json_pack("{sIsIsIsIsbsbsI}", "index", (json_int_t)i + 1, "index0",
					 (json_int_t)i, "revindex", (json_int_t)(len - i), "revindex0",
					 (json_int_t)(len - i - 1), "first", i == 0, "last", i + 1 == len,
					 "length", (json_int_t)len);
		if (!loop) {
			rv = lle_tpl_oom(R);
			break;
		}
		if (push_var(R, "loop", loop) < 0 ||
		    push_var(R, n->var, json_incref(json_array_get(items, i))) < 0) {
			rv = -1;
			break;
		}
		/* a {% set %} inside the body does not outlive the iteration */
		rv = render_nodes(R, &n->body, out);
		pop_vars(R, base);
	}
	pop_vars(R, base);
	json_decref(items);
	return rv;
}

static int render_if(struct tpl_render *R, const struct node *n, struct lle_buf *out)
{
	for (size_t b = 0; b < n->nbranches; b++) {
		int take = 1;
		if (n->conds[b]) {
			json_t *v;
			if (lle_tpl_eval_defined(R, n->conds[b], &v) < 0)
				return -1;
			take = lle_py_truthy(v);
			json_decref(v);
		}
		if (take)
			return render_nodes(R, &n->bodies[b], out);
	}
	return 0;
}

static int render_nodes(struct tpl_render *R, const struct nodelist *l, struct lle_buf *out)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct node *n = l->v[i];
		json_t *v = NULL;
		switch (n->kind) {
		case NODE_TEXT:
			if (lle_buf_add(out, n->text, n->len) < 0)
				return lle_tpl_oom(R);
			break;
		case NODE_OUTPUT:
			if (eval_raw_defined(R, n->e, &v) < 0)
				return -1;
			lle_tpl_print(out, v, 0);
			json_decref(v);
			if (out->oom)
				return lle_tpl_oom(R);
			break;
		case NODE_SET:
			if (eval_raw_defined(R, n->e, &v) < 0 || push_var(R, n->var, v) < 0)
				return -1;
			break;
		case NODE_IF:
			if (render_if(R, n, out) < 0)
				return -1;
			break;
		case NODE_FOR:
			if (render_for(R, n, out) < 0)
				return -1;
			break;
		}
	}
	return 0;
}

char *lle_tpl_render(const struct lle_tpl *t, const json_t *doc, const char *who, size_t *len,
		     struct lle_err *err)
{
	struct tpl_render R;
	memset(&R, 0, sizeof(R));
	R.t = t;
	R.doc = doc;
	R.who = who;
	R.err = err;
	struct lle_buf out = LLE_BUF_INIT;
	int rv = render_nodes(&R, &t->root, &out);
	pop_vars(&R, 0);
	free(R.vars);
	if (rv < 0) {
		lle_buf_free(&out);
		return NULL;
	}
	if (len)
		*len = out.n;
	char *s = lle_buf_detach(&out);
	if (!s)
		lle_err_oom(err);
	return s;
}
