/* The template evaluator: walks the tree of template_int.h with a
 * document's fields as variables and writes the output, values printing as
 * Python's str() (pystr.c). "Undefined" is a NULL value, which only
 * `is defined`, `is undefined` and `default` accept, as with Jinja's
 * StrictUndefined; anything else reports the missing field by its source
 * text. Operators are template_ops.c's, filters, methods and tests
 * template_builtins.c's; this file does names, subscripts, calls, logic and
 * the statements (if, for with `loop`, set).
 *
 * Over 1,000 lines because names, calls and statements share the evaluator's
 * scope and loop state (chat templates' `loop`, `namespace`, macros); the
 * next split is the statements into a template_exec.c of their own. */
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

const json_t *lle_tpl_unview(const json_t *v)
{
	const json_t *view = view_of(v);
	return view ? json_array_get(view, 1) : v;
}

json_t *lle_tpl_nonfinite(double z)
{
	json_t *s = json_string(z != z ? "nan" : z > 0 ? "inf" : "-inf");
	return s ? lle_tpl_view_new("float", s, 0, 0, 0) : NULL;
}

/* A view becomes its items (a list); anything else stays (and a
 * non-finite float stays a view: no operator takes it for a string). */
static void unwrap_view(json_t **v)
{
	const json_t *view = view_of(*v);
	if (view && strcmp(json_string_value(json_array_get(view, 0)), "float")) {
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
	const json_t *items = json_array_get(view, 1);
	if (!strcmp(kind, "float"))
		return lle_buf_adds(out, json_string_value(items));
	if (!strcmp(kind, "tuple")) {
		lle_buf_addc(out, '(');
		for (size_t i = 0; i < json_array_size(items); i++) {
			if (i)
				lle_buf_adds(out, ", ");
			lle_tpl_print(out, json_array_get(items, i), 1);
		}
		return lle_buf_adds(out, json_array_size(items) == 1 ? ",)" : ")");
	}
	lle_buf_printf(out, "%s(", kind);
	lle_tpl_print(out, items, 1);
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
	for (size_t i = R->nvars; i-- > 0;) /* the first byte first: most names differ there */
		if (R->vars[i].name[0] == name[0] && !strcmp(R->vars[i].name, name))
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
		if (R->lenient && json_is_integer(key)) { /* a chat dict literal's int keys are stored as text */
			char k[32];
			snprintf(k, sizeof(k), "%lld", (long long)json_integer_value(key));
			json_t *v = json_object_get(base, k);
			*out = v ? json_incref(v) : NULL;
			return 0;
		}
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

/* Python's slice.indices: the start, stop and step over n items. */
static void slice_indices(json_t *lo, json_t *hi, long long step, long long n, long long *a, long long *b)
{
	if (step > 0) {
		*a = lo ? clamp_slice(lle_tpl_int_value(lo), n) : 0;
		*b = hi ? clamp_slice(lle_tpl_int_value(hi), n) : n;
		return;
	}
	long long x;
	x = lo ? lle_tpl_int_value(lo) : n - 1;
	if (lo && x < 0)
		x += n;
	*a = x < 0 ? -1 : x >= n ? n - 1 : x;
	x = hi ? lle_tpl_int_value(hi) : -1;
	if (hi && x < 0)
		x += n;
	*b = hi ? (x < 0 ? -1 : x >= n ? n - 1 : x) : -1;
}

/* base[lo:hi:step] of a list or a string (by characters). */
static int slice(struct tpl_render *R, const struct expr *e, json_t *base, json_t *lo, json_t *hi,
		 json_t *stepv, json_t **out)
{
	if ((lo && !lle_tpl_is_intlike(lo)) || (hi && !lle_tpl_is_intlike(hi)) ||
	    (stepv && !lle_tpl_is_intlike(stepv)))
		return lle_tpl_render_error(R, e, "slice indices must be integers");
	long long step = stepv ? lle_tpl_int_value(stepv) : 1;
	if (step == 0)
		return lle_tpl_render_error(R, e, "slice step cannot be zero");
	int is_list = json_is_array(base);
	if (!is_list && !json_is_string(base))
		return lle_tpl_render_error(R, e, "cannot slice a value of type %s", lle_tpl_type_name(base));
	const char *s = json_string_value(base);
	size_t sn = json_string_length(base);
	long long n = is_list ? (long long)json_array_size(base) : (long long)lle_py_len(s, sn);
	long long a, b;
	slice_indices(lo, hi, step, n, &a, &b);
	if (!is_list && step == 1) {
		if (b < a)
			b = a;
		size_t x = lle_tpl_char_offset(s, sn, (size_t)a), y = lle_tpl_char_offset(s, sn, (size_t)b);
		*out = json_stringn_nocheck(s + x, y - x);
		return *out ? 0 : lle_tpl_oom(R);
	}
	json_t *items = is_list ? json_incref(base) : lle_tpl_characters(base);
	json_t *x = items ? json_array() : NULL;
	for (long long i = a; x && (step > 0 ? i < b : i > b); i += step)
		if (json_array_append(x, json_array_get(items, (size_t)i)) < 0)
			x = (json_decref(x), NULL);
	if (items)
		json_decref(items);
	if (x && !is_list) {
		struct lle_buf sb = LLE_BUF_INIT;
		for (size_t i = 0; i < json_array_size(x); i++)
			lle_buf_adds(&sb, json_string_value(json_array_get(x, i)));
		json_decref(x);
		x = lle_tpl_buf_to_str(&sb);
	}
	*out = x;
	return *out ? 0 : lle_tpl_oom(R);
}

/* ---------- expressions, one function per kind ---------- */

static void put(json_t *v)
{
	if (v)
		json_decref(v);
}

static const struct tpl_loop *loop_of(const struct tpl_render *R, const json_t *v)
{
	for (size_t k = R->nloops; v && k-- > 0;)
		if (R->loops[k].marker == v)
			return &R->loops[k];
	return NULL;
}

static json_t *loop_object(size_t i, size_t len, json_t *items);

/* loop.FIELD without building the loop object. */
static int loop_field(struct tpl_render *R, const struct tpl_loop *L, const char *f, json_t **out)
{
	size_t i = L->i, len = L->len;
	*out = NULL;
	if (!strcmp(f, "index"))
		*out = json_integer((json_int_t)i + 1);
	else if (!strcmp(f, "index0"))
		*out = json_integer((json_int_t)i);
	else if (!strcmp(f, "revindex"))
		*out = json_integer((json_int_t)(len - i));
	else if (!strcmp(f, "revindex0"))
		*out = json_integer((json_int_t)(len - i - 1));
	else if (!strcmp(f, "first"))
		*out = json_boolean(i == 0);
	else if (!strcmp(f, "last"))
		*out = json_boolean(i + 1 == len);
	else if (!strcmp(f, "length"))
		*out = json_integer((json_int_t)len);
	else if (!strcmp(f, "previtem") && i > 0)
		*out = json_incref(json_array_get(L->items, i - 1));
	else if (!strcmp(f, "nextitem") && i + 1 < len)
		*out = json_incref(json_array_get(L->items, i + 1));
	else
		return 0; /* undefined */
	return *out ? 0 : lle_tpl_oom(R);
}

static int eval_attr(struct tpl_render *R, const struct expr *e, json_t **out)
{
	json_t *a = NULL;
	if (e->a->kind == EXPR_NAME && R->nloops) {
		json_t *v = lookup(R, e->a->name);
		const struct tpl_loop *L = loop_of(R, v);
		if (L)
			return loop_field(R, L, e->name, out);
		if (v) { /* what evaluating the name gives, without looking it up again */
			a = json_incref(v);
			unwrap_view(&a);
		}
	}
	if (!a && lle_tpl_eval_defined(R, e->a, &a) < 0)
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
	json_t *a = NULL, *lo = NULL, *hi = NULL, *step = NULL;
	int rv = -1;
	if (lle_tpl_eval_defined(R, e->a, &a) == 0 && (!e->b || lle_tpl_eval_defined(R, e->b, &lo) == 0) &&
	    (!e->c || lle_tpl_eval_defined(R, e->c, &hi) == 0) &&
	    (!e->nargs || lle_tpl_eval_defined(R, e->args[0], &step) == 0))
		rv = slice(R, e, a, lo, hi, step, out);
	put(a);
	put(lo);
	put(hi);
	put(step);
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
		if (!m && R->lenient)
			m = lle_tpl_find_chat_method(e->name, json_typeof(self));
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
	if (!e->filter)
		return lle_tpl_render_error(R, e, "no filter named '%s'", e->name);
	if (lle_tpl_eval(R, e->a, &self) < 0)
		return -1;
	if (!self && R->lenient && !e->filter->accepts_undefined && e->filter->undefined_as_empty &&
	    !(self = json_string(""))) /* Jinja's Undefined: str() "", len() 0, iterates nothing */
		return lle_tpl_oom(R);
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
	if (!e->test)
		return put(a), lle_tpl_render_error(R, e, "no test named '%s'", e->name);
	if (!a && !e->test->accepts_undefined && !R->lenient) /* chat: tests see Jinja's Undefined */
		return lle_tpl_missing(R, e->a);
	json_t *arg = NULL;
	if (e->nargs && lle_tpl_eval(R, e->args[0], &arg) < 0) {
		put(a);
		return -1;
	}
	int yes = e->nargs ? e->test->fn2(a, arg) : e->test->fn(a);
	put(a);
	put(arg);
	*out = json_boolean(e->op ? !yes : yes);
	return 0;
}

/* An operand of ~, which prints an undefined value as "" in a chat template. */
static int eval_concat_operand(struct tpl_render *R, const struct expr *e, json_t **out)
{
	if (!R->lenient)
		return lle_tpl_eval_defined(R, e, out);
	if (lle_tpl_eval(R, e, out) < 0)
		return -1;
	if (!*out && !(*out = json_string("")))
		return lle_tpl_oom(R);
	return 0;
}

static int eval_binary(struct tpl_render *R, const struct expr *e, json_t **out)
{
	json_t *a = NULL, *b = NULL;
	int rv = -1;
	if (e->op == OP_CONCAT) {
		if (eval_concat_operand(R, e->a, &a) == 0 && eval_concat_operand(R, e->b, &b) == 0)
			rv = lle_tpl_binary(R, e, e->op, a, b, out);
	} else if (lle_tpl_eval_defined(R, e->a, &a) == 0 && lle_tpl_eval_defined(R, e->b, &b) == 0)
		rv = lle_tpl_binary(R, e, e->op, a, b, out);
	put(a);
	put(b);
	return rv;
}

/* Jinja's Undefined in a comparison: equal only to another undefined,
 * containing nothing, contained in no list or string. Others fail. */
static int compare_undefined(struct tpl_render *R, const struct expr *e, const struct expr *which, int op,
			     json_t *a, json_t *b, int *result)
{
	switch (op) {
	case OP_EQ: *result = !a && !b; return 0;
	case OP_NE: *result = !(!a && !b); return 0;
	case OP_IN:
	case OP_NOTIN:
		if (!b || json_is_array(b) || json_is_string(b) || json_is_object(b)) {
			*result = op == OP_NOTIN;
			return 0;
		}
		break;
	default: break;
	}
	(void)e;
	return lle_tpl_missing(R, which);
}

/* a < b < c: each operand evaluated once, stopping at the first false. */
static int eval_compare(struct tpl_render *R, const struct expr *e, json_t **out)
{
	json_t *a, *b = NULL;
	const struct expr *ae = e->a;
	if ((R->lenient ? lle_tpl_eval(R, e->a, &a) : lle_tpl_eval_defined(R, e->a, &a)) < 0)
		return -1;
	int result = 1;
	for (size_t i = 0; i < e->nargs && result; i++) {
		int rv = R->lenient ? lle_tpl_eval(R, e->args[i], &b) : lle_tpl_eval_defined(R, e->args[i], &b);
		if (rv == 0) {
			if (a && b)
				rv = lle_tpl_compare(R, e, e->ops[i], a, b, &result);
			else
				rv = compare_undefined(R, e, a ? e->args[i] : ae, e->ops[i], a, b, &result);
		}
		if (rv < 0) {
			put(a);
			put(b);
			return -1;
		}
		put(a);
		a = b;
		ae = e->args[i];
	}
	put(a);
	*out = json_boolean(result);
	return 0;
}

/* A condition's truth: an undefined value is false in a chat template. */
static int eval_truth(struct tpl_render *R, const struct expr *e, int *truth)
{
	json_t *v;
	if ((R->lenient ? lle_tpl_eval(R, e, &v) : lle_tpl_eval_defined(R, e, &v)) < 0)
		return -1;
	*truth = v ? lle_py_truthy(v) : 0;
	put(v);
	return 0;
}

static int eval_not(struct tpl_render *R, const struct expr *e, json_t **out)
{
	int truth;
	if (eval_truth(R, e->a, &truth) < 0)
		return -1;
	*out = json_boolean(!truth);
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
	if ((R->lenient ? eval_raw(R, e->a, &a) : eval_raw_defined(R, e->a, &a)) < 0)
		return -1;
	if ((a ? truthy(a) : 0) == (e->kind == EXPR_OR)) {
		*out = a;
		return 0;
	}
	put(a);
	return R->lenient ? eval_raw(R, e->b, out) : eval_raw_defined(R, e->b, out);
}

/* a if cond else b; without else, undefined. */
static int eval_conditional(struct tpl_render *R, const struct expr *e, json_t **out)
{
	int take;
	if (eval_truth(R, e->b, &take) < 0)
		return -1;
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
	if (e->op == 1 && !(l = lle_tpl_view_new("tuple", l, 0, 0, 0)))
		return lle_tpl_oom(R);
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
		if (R->lenient && json_is_integer(k)) {
			json_t *ks = lle_tpl_str(k);
			json_decref(k);
			if (!(k = ks)) {
				json_decref(d);
				return lle_tpl_oom(R);
			}
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
		const struct tpl_loop *L = R->nloops ? loop_of(R, v) : NULL;
		if (L) { /* `loop` itself (printed, passed on): the whole object */
			*out = loop_object(L->i, L->len, L->items);
			return *out ? 0 : lle_tpl_oom(R);
		}
		*out = v ? json_incref(v) : NULL;
		if (!v && R->lenient && lle_tpl_chat_function(R->t, e->name)) /* `strftime_now is defined` */
			*out = json_pack("{s:s}", "function", e->name);
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
	case EXPR_CALL: rv = lle_tpl_call(R, e, out); break;
	}
	if (rv < 0 && *out) {
		json_decref(*out);
		*out = NULL;
	}
	return rv;
}

/* ---------- statements ---------- */

int lle_tpl_push_var(struct tpl_render *R, const char *name, json_t *v)
{
	if (R->nvars == R->capvars) {
		size_t cap = R->capvars ? R->capvars * 2 : 8;
		struct tpl_var *nv = realloc(R->vars, cap * sizeof(*nv));
		if (!nv) {
			put(v);
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

void lle_tpl_pop_vars(struct tpl_render *R, size_t to)
{
	while (R->nvars > to)
		put(R->vars[--R->nvars].v);
}

/* What a for loop iterates: a list's items, a dict's keys, a string's
 * characters. A new array, or NULL (the error set). */
static json_t *loop_items(struct tpl_render *R, const struct node *n, json_t *it)
{
	json_t *items;
	if (json_is_array(it))
		return json_incref(it);
	if (json_is_object(it) && !lle_tpl_is_namespace(it)) {
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

/* The loop variable(s) for item: `for a, b in` unpacks a pair. */
static int bind_loop_vars(struct tpl_render *R, const struct node *n, json_t *item)
{
	if (!n->var2)
		return lle_tpl_push_var(R, n->var, json_incref(item));
	item = (json_t *)lle_tpl_unview(item);
	if (!json_is_array(item) || json_array_size(item) != 2)
		return lle_tpl_render_error(R, n->e, "cannot unpack %s into two loop variables",
					    lle_tpl_type_name(item));
	if (lle_tpl_push_var(R, n->var, json_incref(json_array_get(item, 0))) < 0)
		return -1;
	return lle_tpl_push_var(R, n->var2, json_incref(json_array_get(item, 1)));
}

/* The items `for ... if cond` keeps (a new array, or NULL: the error set). */
static json_t *filter_items(struct tpl_render *R, const struct node *n, json_t *items)
{
	json_t *kept = json_array();
	size_t base = R->nvars;
	if (!kept) {
		lle_tpl_oom(R);
		return NULL;
	}
	for (size_t i = 0; i < json_array_size(items); i++) {
		json_t *x = json_array_get(items, i);
		int keep = 0;
		int rv = bind_loop_vars(R, n, x);
		if (rv == 0)
			rv = eval_truth(R, n->cond, &keep);
		lle_tpl_pop_vars(R, base);
		if (rv < 0 || (keep && json_array_append(kept, x) < 0)) {
			if (rv == 0)
				lle_tpl_oom(R);
			json_decref(kept);
			return NULL;
		}
	}
	return kept;
}

static json_t *loop_object(size_t i, size_t len, json_t *items)
{
	json_t *loop = json_pack("{sIsIsIsIsbsbsI}", "index", (json_int_t)i + 1, "index0", (json_int_t)i,
				 "revindex", (json_int_t)(len - i), "revindex0", (json_int_t)(len - i - 1),
				 "first", i == 0, "last", i + 1 == len, "length", (json_int_t)len);
	if (loop && i > 0 && json_object_set(loop, "previtem", json_array_get(items, i - 1)) < 0)
		loop = (json_decref(loop), NULL);
	if (loop && i + 1 < len && json_object_set(loop, "nextitem", json_array_get(items, i + 1)) < 0)
		loop = (json_decref(loop), NULL);
	return loop;
}

static int render_for(struct tpl_render *R, const struct node *n, struct lle_buf *out)
{
	json_t *it;
	if ((R->lenient ? lle_tpl_eval(R, n->e, &it) : lle_tpl_eval_defined(R, n->e, &it)) < 0)
		return -1;
	json_t *items = it ? loop_items(R, n, it) : json_array(); /* undefined iterates nothing */
	put(it);
	if (!items)
		return it ? -1 : lle_tpl_oom(R);
	if (n->cond) {
		json_t *kept = filter_items(R, n, items);
		json_decref(items);
		if (!(items = kept))
			return -1;
	}
	size_t len = json_array_size(items), base = R->nvars;
	int rv = 0;
	json_t *marker = NULL; /* `loop`: read through R->loops */
	if (n->uses_loop && len) {
		if (R->nloops == R->caploops) {
			size_t cap = R->caploops ? R->caploops * 2 : 4;
			struct tpl_loop *nl = realloc(R->loops, cap * sizeof(*nl));
			if (!nl) {
				json_decref(items);
				return lle_tpl_oom(R);
			}
			R->loops = nl;
			R->caploops = cap;
		}
		if (!(marker = json_object())) {
			json_decref(items);
			return lle_tpl_oom(R);
		}
		R->loops[R->nloops++] = (struct tpl_loop){ marker, items, 0, len };
	}
	for (size_t i = 0; i < len && rv == 0; i++) {
		if (marker)
			R->loops[R->nloops - 1].i = i;
		if ((marker && lle_tpl_push_var(R, "loop", json_incref(marker)) < 0) ||
		    bind_loop_vars(R, n, json_array_get(items, i)) < 0) {
			rv = -1;
			break;
		}
		/* a {% set %} inside the body does not outlive the iteration */
		rv = lle_tpl_render_nodes(R, &n->body, out);
		lle_tpl_pop_vars(R, base);
		if (R->loopctl == 1) {
			R->loopctl = 0;
			break;
		}
		R->loopctl = 0;
	}
	lle_tpl_pop_vars(R, base);
	if (marker) {
		R->nloops--;
		json_decref(marker);
	}
	json_decref(items);
	if (rv == 0 && len == 0 && n->else_body.n)
		rv = lle_tpl_render_nodes(R, &n->else_body, out);
	return rv;
}

static int render_if(struct tpl_render *R, const struct node *n, struct lle_buf *out)
{
	for (size_t b = 0; b < n->nbranches; b++) {
		int take = 1;
		if (n->conds[b] && eval_truth(R, n->conds[b], &take) < 0)
			return -1;
		if (take)
			return lle_tpl_render_nodes(R, &n->bodies[b], out);
	}
	return 0;
}

/* {% set ns.attr = value %}: only a namespace() takes attributes. */
static int render_set_attr(struct tpl_render *R, const struct node *n, json_t *v)
{
	json_t *ns = lookup(R, n->var);
	if (!lle_tpl_is_namespace(ns)) {
		put(v);
		return lle_tpl_render_error(R, n->e, "cannot assign attribute on non-namespace object");
	}
	if (!v) /* Jinja stores the Undefined; reading it back gives undefined too */
		return json_object_del(ns, n->var2), 0;
	if (json_object_set_new(ns, n->var2, v) < 0)
		return lle_tpl_oom(R);
	return 0;
}

static int render_set(struct tpl_render *R, const struct node *n, struct lle_buf *out)
{
	json_t *v = NULL;
	if (n->kind == NODE_SET_BLOCK) {
		struct lle_buf b = LLE_BUF_INIT;
		if (lle_tpl_render_nodes(R, &n->body, &b) < 0) {
			lle_buf_free(&b);
			return -1;
		}
		if (!(v = lle_tpl_buf_to_str(&b)))
			return lle_tpl_oom(R);
		return lle_tpl_push_var(R, n->var, v);
	}
	(void)out;
	if ((R->lenient ? eval_raw(R, n->e, &v) : eval_raw_defined(R, n->e, &v)) < 0)
		return -1;
	if (n->var2)
		return render_set_attr(R, n, v);
	return lle_tpl_push_var(R, n->var, v);
}

static int print_expr(struct tpl_render *R, const struct expr *e, struct lle_buf *out);

/* {{ a + b + c }}: the operands of a chain of '+' (left-associated),
 * evaluated in order; all strings are printed one after the other, anything
 * else is added up as eval_binary would. Chat templates build each turn so,
 * and the intermediate strings would copy the turn once per '+'. */
static int print_sum(struct tpl_render *R, const struct expr *e, struct lle_buf *out)
{
	enum { MAXLEAVES = 16 };
	const struct expr *leaf[MAXLEAVES];
	size_t n = 0;
	const struct expr *x = e;
	while (x->kind == EXPR_BINARY && x->op == OP_ADD && n + 1 < MAXLEAVES) {
		leaf[n++] = x->b;
		x = x->a;
	}
	leaf[n++] = x; /* leaf[n - 1] is the first operand */
	json_t *v[MAXLEAVES] = { 0 };
	int rv = 0, strings = 1;
	for (size_t i = n; i-- > 0 && rv == 0;) {
		rv = lle_tpl_eval_defined(R, leaf[i], &v[i]);
		strings &= rv == 0 && json_is_string(v[i]);
	}
	if (rv == 0 && strings) {
		for (size_t i = n; i-- > 0;)
			lle_buf_add(out, json_string_value(v[i]), json_string_length(v[i]));
	} else if (rv == 0) {
		json_t *acc = json_incref(v[n - 1]), *next = NULL;
		const struct expr *op = e;
		for (size_t i = n - 1; i-- > 0 && rv == 0;) {
			/* the node whose right operand is leaf[i] */
			op = e;
			for (size_t k = 0; k < i; k++)
				op = op->a;
			rv = lle_tpl_binary(R, op, OP_ADD, acc, v[i], &next);
			json_decref(acc);
			acc = rv == 0 ? next : NULL;
		}
		if (rv == 0) {
			lle_tpl_print(out, acc, 0);
			json_decref(acc);
		}
	}
	for (size_t i = 0; i < n; i++)
		put(v[i]);
	if (rv == 0 && out->oom)
		return lle_tpl_oom(R);
	return rv;
}

/* {{ e }}: ~ chains and + chains of strings print their operands directly. */
static int print_expr(struct tpl_render *R, const struct expr *e, struct lle_buf *out)
{
	if (e->kind == EXPR_BINARY && e->op == OP_CONCAT) {
		/* str(a) ~ str(b): an undefined operand is "" in a chat template */
		for (int side = 0; side < 2; side++) {
			const struct expr *x = side ? e->b : e->a;
			if (x->kind == EXPR_BINARY && (x->op == OP_CONCAT || x->op == OP_ADD)) {
				if (print_expr(R, x, out) < 0)
					return -1;
				continue;
			}
			json_t *v;
			if (eval_concat_operand(R, x, &v) < 0)
				return -1;
			lle_tpl_print(out, v, 0);
			json_decref(v);
		}
		return out->oom ? lle_tpl_oom(R) : 0;
	}
	if (e->kind == EXPR_BINARY && e->op == OP_ADD)
		return print_sum(R, e, out);
	json_t *v = NULL;
	if ((R->lenient ? eval_raw(R, e, &v) : eval_raw_defined(R, e, &v)) < 0)
		return -1;
	if (v) /* an undefined value prints as "" in a chat template */
		lle_tpl_print(out, v, 0);
	put(v);
	return out->oom ? lle_tpl_oom(R) : 0;
}

int lle_tpl_render_nodes(struct tpl_render *R, const struct nodelist *l, struct lle_buf *out)
{
	for (size_t i = 0; i < l->n && !R->loopctl; i++) {
		const struct node *n = l->v[i];
		switch (n->kind) {
		case NODE_TEXT:
			if (lle_buf_add(out, n->text, n->len) < 0)
				return lle_tpl_oom(R);
			break;
		case NODE_OUTPUT:
			if (print_expr(R, n->e, out) < 0)
				return -1;
			break;
		case NODE_SET:
		case NODE_SET_BLOCK:
			if (render_set(R, n, out) < 0)
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
		case NODE_BREAK: R->loopctl = 1; break;
		case NODE_CONTINUE: R->loopctl = 2; break;
		case NODE_MACRO: break; /* called by name (template_chat.c) */
		case NODE_GENERATION:
			if (lle_tpl_render_nodes(R, &n->body, out) < 0)
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
	R.lenient = t->chat;
	struct lle_buf out = LLE_BUF_INIT;
	int rv = lle_tpl_render_nodes(&R, &t->root, &out);
	lle_tpl_pop_vars(&R, 0);
	free(R.vars);
	free(R.loops);
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
