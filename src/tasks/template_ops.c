/* Template operators with Python's semantics on jansson values: arithmetic
 * (+ - * / // % ** ~, unary -), comparison (== != < > <= >=) and
 * membership (in, not in), and the small value helpers the evaluator and
 * the builtins share.
 *
 * Python's ints are unbounded; here they are 64-bit, and every int
 * operation is checked (__builtin_*_overflow): a result that does not fit is
 * a render error naming the template, never a wrapped number or a trap
 * (LLONG_MIN // -1). Floats follow CPython's Objects/floatobject.c
 * (float_divmod for // and %, float_pow); inf and nan cannot be JSON
 * values, so a non-finite result is an error too. Evaluation order and
 * undefined values are template_eval.c's business. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tasks/template_int.h"

/* ---------- values ---------- */

const char *lle_tpl_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING: return "str";
	case JSON_INTEGER: return "int";
	case JSON_REAL: return "float";
	case JSON_TRUE:
	case JSON_FALSE: return "bool";
	case JSON_NULL: return "NoneType";
	case JSON_ARRAY: return "list";
	case JSON_OBJECT: return "dict";
	}
	return "?";
}

int lle_tpl_is_intlike(const json_t *v)
{
	return json_is_integer(v) || json_is_boolean(v);
}

long long lle_tpl_int_value(const json_t *v)
{
	return json_is_integer(v) ? json_integer_value(v) : json_is_true(v) ? 1 : 0;
}

static int is_numeric(const json_t *v)
{
	return json_is_number(v) || json_is_boolean(v);
}

static double float_value(const json_t *v)
{
	return json_is_boolean(v) ? json_is_true(v) : json_number_value(v);
}

json_t *lle_tpl_str(const json_t *v)
{
	if (json_is_string(v))
		return json_incref((json_t *)v);
	struct lle_buf b = LLE_BUF_INIT;
	if (lle_tpl_print(&b, v, 0) < 0) {
		lle_buf_free(&b);
		return NULL;
	}
	return lle_tpl_buf_to_str(&b);
}

json_t *lle_tpl_buf_to_str(struct lle_buf *b)
{
	json_t *j = b->oom ? NULL : json_stringn_nocheck(lle_buf_str(b), b->n);
	lle_buf_free(b);
	return j;
}

size_t lle_tpl_char_offset(const char *s, size_t n, size_t k)
{
	size_t i = 0, l;
	while (k-- && i < n) {
		lle_py_decode(s + i, n - i, &l);
		i += l;
	}
	return i;
}

long long lle_tpl_str_find(const char *s, size_t n, const char *sub, size_t m)
{
	if (m > n)
		return -1;
	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(s + i, sub, m) == 0)
			return (long long)lle_py_len(s, i);
	return -1;
}

int lle_tpl_float(struct tpl_render *R, const struct expr *e, double z, json_t **out)
{
	(void)e;
	*out = isfinite(z) ? json_real(z) : lle_tpl_nonfinite(z);
	return *out ? 0 : lle_tpl_oom(R);
}

/* ---------- arithmetic ---------- */

static const char *const k_op_text[] = {
	[OP_ADD] = "+", [OP_SUB] = "-", [OP_MUL] = "*", [OP_DIV] = "/", [OP_FLOORDIV] = "//",
	[OP_MOD] = "%", [OP_POW] = "**", [OP_CONCAT] = "~",
};

static int int_overflow(struct tpl_render *R, const struct expr *e, const char *op)
{
	return lle_tpl_render_error(R, e, "integer overflow: the result of '%s' does not fit in 64 bits",
				    op);
}

/* base ** exp for exp >= 0 by squaring; 1 on overflow. Once base * base
 * overflows with bits of exp left, the result would overflow too. */
static int int_pow(long long base, long long exp, long long *out)
{
	long long z = 1;
	while (exp) {
		if ((exp & 1) && __builtin_mul_overflow(z, base, &z))
			return 1;
		exp >>= 1;
		if (exp && __builtin_mul_overflow(base, base, &base))
			return 1;
	}
	*out = z;
	return 0;
}

/* Python's float ** float (float_pow) for finite operands. */
static int float_pow(struct tpl_render *R, const struct expr *e, double x, double y, json_t **out)
{
	if (y == 0)
		return lle_tpl_float(R, e, 1.0, out);
	if (x == 0 && y < 0)
		return lle_tpl_render_error(R, e, "0.0 cannot be raised to a negative power");
	if (x < 0 && y != floor(y))
		return lle_tpl_render_error(R, e, "a negative number to a fractional power is complex, "
					    "which templates do not support");
	double z = pow(x, y);
	if (isinf(z))
		return lle_tpl_render_error(R, e, "float overflow in '**'");
	return lle_tpl_float(R, e, z, out);
}

/* Python's floor division and modulo of ints: the quotient is floored, the
 * remainder takes the divisor's sign. */
static int int_divmod(long long x, long long y, int op, long long *out)
{
	if (y == -1) { /* C's x / -1 traps for LLONG_MIN */
		if (op == OP_MOD) {
			*out = 0;
			return 0;
		}
		return __builtin_sub_overflow(0LL, x, out);
	}
	long long q = x / y, m = x % y;
	if (m != 0 && ((m < 0) != (y < 0))) {
		q--;
		m += y;
	}
	*out = op == OP_MOD ? m : q;
	return 0;
}

/* int OP int for + - * // % ** (/ is done on floats). */
static int int_arith(struct tpl_render *R, const struct expr *e, int op, long long x, long long y,
		     json_t **out)
{
	long long z = 0;
	int overflow = 0;
	switch (op) {
	case OP_ADD: overflow = __builtin_add_overflow(x, y, &z); break;
	case OP_SUB: overflow = __builtin_sub_overflow(x, y, &z); break;
	case OP_MUL: overflow = __builtin_mul_overflow(x, y, &z); break;
	case OP_FLOORDIV:
	case OP_MOD:
		if (y == 0)
			return lle_tpl_render_error(R, e, "division by zero");
		overflow = int_divmod(x, y, op, &z);
		break;
	case OP_POW:
		if (y < 0) /* Python: int ** negative int is a float */
			return float_pow(R, e, (double)x, (double)y, out);
		overflow = int_pow(x, y, &z);
		break;
	}
	if (overflow)
		return int_overflow(R, e, k_op_text[op]);
	*out = json_integer(z);
	return *out ? 0 : lle_tpl_oom(R);
}

/* Python's float_divmod: // and % of floats, signs and zeros included. */
static double float_divmod(double x, double y, int op)
{
	double mod = fmod(x, y), div = (x - mod) / y, floordiv;
	if (mod != 0) {
		if ((y < 0) != (mod < 0)) {
			mod += y;
			div -= 1.0;
		}
	} else {
		mod = copysign(0.0, y);
	}
	if (div != 0) {
		floordiv = floor(div);
		if (div - floordiv > 0.5)
			floordiv += 1.0;
	} else {
		floordiv = copysign(0.0, x / y);
	}
	return op == OP_MOD ? mod : floordiv;
}

static int float_arith(struct tpl_render *R, const struct expr *e, int op, double x, double y,
		       json_t **out)
{
	if ((op == OP_DIV || op == OP_FLOORDIV || op == OP_MOD) && y == 0)
		return lle_tpl_render_error(R, e, "division by zero");
	switch (op) {
	case OP_ADD: return lle_tpl_float(R, e, x + y, out);
	case OP_SUB: return lle_tpl_float(R, e, x - y, out);
	case OP_MUL: return lle_tpl_float(R, e, x * y, out);
	case OP_DIV: return lle_tpl_float(R, e, x / y, out);
	case OP_POW: return float_pow(R, e, x, y, out);
	default: return lle_tpl_float(R, e, float_divmod(x, y, op), out);
	}
}

/* Python's str * int and list * int: n copies, none when n <= 0. */
static int repeat(struct tpl_render *R, const struct expr *e, json_t *seq, long long n, json_t **out)
{
	size_t unit = json_is_string(seq) ? json_string_length(seq) : json_array_size(seq);
	if (n < 0 || unit == 0)
		n = 0;
	if (n && (unsigned long long)n > (64u << 20) / unit)
		return lle_tpl_render_error(R, e, "the result of '*' would be over 64 MiB");
	if (json_is_string(seq)) {
		struct lle_buf b = LLE_BUF_INIT;
		for (long long i = 0; i < n; i++)
			lle_buf_add(&b, json_string_value(seq), unit);
		*out = lle_tpl_buf_to_str(&b);
		return *out ? 0 : lle_tpl_oom(R);
	}
	json_t *x = json_array();
	for (long long i = 0; x && i < n; i++)
		if (json_array_extend(x, seq) < 0) {
			json_decref(x);
			x = NULL;
		}
	*out = x;
	return x ? 0 : lle_tpl_oom(R);
}

static int concat(struct tpl_render *R, json_t *a, json_t *b, json_t **out)
{
	struct lle_buf buf = LLE_BUF_INIT;
	lle_tpl_print(&buf, a, 0);
	lle_tpl_print(&buf, b, 0);
	*out = lle_tpl_buf_to_str(&buf);
	return *out ? 0 : lle_tpl_oom(R);
}

/* str + str and list + list. */
static int join_sequences(struct tpl_render *R, json_t *a, json_t *b, json_t **out)
{
	if (json_is_string(a)) {
		struct lle_buf buf = LLE_BUF_INIT;
		lle_buf_add(&buf, json_string_value(a), json_string_length(a));
		lle_buf_add(&buf, json_string_value(b), json_string_length(b));
		*out = lle_tpl_buf_to_str(&buf);
		return *out ? 0 : lle_tpl_oom(R);
	}
	json_t *x = json_copy(a);
	if (!x || json_array_extend(x, b) < 0) {
		if (x)
			json_decref(x);
		return lle_tpl_oom(R);
	}
	*out = x;
	return 0;
}

static int is_sequence(const json_t *v)
{
	return json_is_string(v) || json_is_array(v);
}

int lle_tpl_binary(struct tpl_render *R, const struct expr *e, int op, json_t *a, json_t *b,
		   json_t **out)
{
	if (op == OP_CONCAT)
		return concat(R, a, b, out);
	if (op == OP_ADD && ((json_is_string(a) && json_is_string(b)) || (json_is_array(a) && json_is_array(b))))
		return join_sequences(R, a, b, out);
	if (op == OP_MUL && is_sequence(a) && lle_tpl_is_intlike(b))
		return repeat(R, e, a, lle_tpl_int_value(b), out);
	if (op == OP_MUL && lle_tpl_is_intlike(a) && is_sequence(b))
		return repeat(R, e, b, lle_tpl_int_value(a), out);
	if (!is_numeric(a) || !is_numeric(b))
		return lle_tpl_render_error(R, e, "unsupported operand types %s and %s",
					    lle_tpl_type_name(a), lle_tpl_type_name(b));
	if (lle_tpl_is_intlike(a) && lle_tpl_is_intlike(b) && op != OP_DIV)
		return int_arith(R, e, op, lle_tpl_int_value(a), lle_tpl_int_value(b), out);
	return float_arith(R, e, op, float_value(a), float_value(b), out);
}

int lle_tpl_negate(struct tpl_render *R, const struct expr *e, json_t *a, json_t **out)
{
	if (lle_tpl_is_intlike(a)) {
		if (lle_tpl_int_value(a) == LLONG_MIN)
			return int_overflow(R, e, "-");
		*out = json_integer(-lle_tpl_int_value(a));
	} else if (json_is_real(a)) {
		*out = json_real(-json_real_value(a));
	} else {
		return lle_tpl_render_error(R, e, "bad operand type for unary -: %s", lle_tpl_type_name(a));
	}
	return *out ? 0 : lle_tpl_oom(R);
}

/* ---------- comparison ---------- */

/* x in coll: 0/1, or -1 with the error. */
static int contains(struct tpl_render *R, const struct expr *e, json_t *x, json_t *coll)
{
	if (json_is_string(coll)) {
		if (!json_is_string(x))
			return lle_tpl_render_error(R, e, "'in <string>' needs a string on the left, not %s",
						    lle_tpl_type_name(x));
		return lle_tpl_str_find(json_string_value(coll), json_string_length(coll),
					json_string_value(x), json_string_length(x)) >= 0;
	}
	if (json_is_array(coll)) {
		for (size_t i = 0; i < json_array_size(coll); i++)
			if (lle_py_eq(json_array_get(coll, i), x))
				return 1;
		return 0;
	}
	if (json_is_object(coll))
		return json_is_string(x) && json_object_get(coll, json_string_value(x)) != NULL;
	return lle_tpl_render_error(R, e, "'in' needs a string, list or dict on the right, not %s",
				    lle_tpl_type_name(coll));
}

/* <, >, <=, >= on numbers or strings: -1 error, else the comparison
 * (-1/0/1) in *cmp. Two ints compare exactly (as doubles, 2**53 + 1 would
 * equal 2**53). */
static int order(struct tpl_render *R, const struct expr *e, json_t *a, json_t *b, int *cmp)
{
	if (lle_tpl_is_intlike(a) && lle_tpl_is_intlike(b)) {
		long long x = lle_tpl_int_value(a), y = lle_tpl_int_value(b);
		*cmp = x < y ? -1 : x > y ? 1 : 0;
		return 0;
	}
	if (is_numeric(a) && is_numeric(b)) {
		double x = float_value(a), y = float_value(b);
		*cmp = x < y ? -1 : x > y ? 1 : 0;
		return 0;
	}
	if (json_is_string(a) && json_is_string(b)) {
		int c = strcmp(json_string_value(a), json_string_value(b));
		*cmp = c < 0 ? -1 : c > 0;
		return 0;
	}
	return lle_tpl_render_error(R, e, "cannot order %s and another type", lle_tpl_type_name(a));
}

int lle_tpl_compare(struct tpl_render *R, const struct expr *e, int op, json_t *a, json_t *b,
		    int *result)
{
	int c = 0;
	switch (op) {
	case OP_EQ: *result = lle_py_eq(a, b); return 0;
	case OP_NE: *result = !lle_py_eq(a, b); return 0;
	case OP_IN:
	case OP_NOTIN:
		c = contains(R, e, a, b);
		if (c < 0)
			return -1;
		*result = op == OP_IN ? c : !c;
		return 0;
	}
	if (order(R, e, a, b, &c) < 0)
		return -1;
	*result = op == OP_LT ? c < 0 : op == OP_GT ? c > 0 : op == OP_LE ? c <= 0 : c >= 0;
	return 0;
}
