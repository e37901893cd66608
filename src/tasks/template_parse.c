/* The template's expression parser: tokens (template_lex.c) -> the
 * expression trees of template_int.h, with Jinja's precedence, loosest first:
 *
 *   a if c else b  <  or  <  and  <  not  <  comparisons (chained, in, not in)
 *   <  + -  <  ~  <  * / // %  <  **  <  unary - +  <  postfix (.a [i] [i:j]
 *   .m()) and then filters and tests (| f, is t)
 *
 * Names of filters, methods and tests are checked against the builtin
 * tables (template_builtins.c) here, so an unsupported one is an error when
 * the task is loaded, naming the position. Statements are
 * template_stmt.c's, evaluation template_eval.c's. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/template_int.h"

/* ---------- building expressions ---------- */

void lle_tpl_expr_free(struct expr *e)
{
	if (!e)
		return;
	free(e->name);
	if (e->literal)
		json_decref(e->literal);
	lle_tpl_expr_free(e->a);
	lle_tpl_expr_free(e->b);
	lle_tpl_expr_free(e->c);
	for (size_t i = 0; i < e->nargs; i++)
		lle_tpl_expr_free(e->args[i]);
	free(e->args);
	for (size_t i = 0; i < e->nkwargs; i++)
		free(e->kwnames[i]);
	free(e->kwnames);
	free(e->ops);
	free(e);
}

static struct expr *new_expr(struct tpl_parser *P, enum expr_kind kind, size_t pos)
{
	struct expr *e = calloc(1, sizeof(*e));
	if (!e) {
		lle_tpl_parser_oom(P);
		return NULL;
	}
	e->kind = kind;
	e->pos = pos;
	e->end = pos;
	return e;
}

/* a OP b; frees a and b when out of memory. */
static struct expr *new_binary(struct tpl_parser *P, enum expr_kind kind, int op, struct expr *a,
			       struct expr *b)
{
	struct expr *e = new_expr(P, kind, a->pos);
	if (!e) {
		lle_tpl_expr_free(a);
		lle_tpl_expr_free(b);
		return NULL;
	}
	e->op = op;
	e->a = a;
	e->b = b;
	e->end = b->end;
	return e;
}

/* Appends arg to e->args; frees arg when out of memory. */
static int expr_add_arg(struct tpl_parser *P, struct expr *e, struct expr *arg)
{
	struct expr **v = realloc(e->args, (e->nargs + 1) * sizeof(*v));
	if (!v) {
		lle_tpl_expr_free(arg);
		return lle_tpl_parser_oom(P);
	}
	e->args = v;
	e->args[e->nargs++] = arg;
	return 0;
}

/* ---------- expressions ---------- */

static struct expr *parse_unary(struct tpl_parser *P, int with_filters);

int lle_tpl_expect_op(struct tpl_parser *P, const char *op)
{
	if (!lle_tpl_tok_is_op(P, op))
		return lle_tpl_syntax_error(P, P->tok.pos, "expected '%s'", op);
	return lle_tpl_lex(P);
}

/* Whether the current token is the name of a keyword argument: `name =`
 * (and not `name ==`). */
static int at_keyword(const struct tpl_parser *P)
{
	if (P->tok.kind != TOK_NAME)
		return 0;
	size_t q = P->p;
	while (q < P->lim && (P->src[q] == ' ' || P->src[q] == '\t' || P->src[q] == '\n' || P->src[q] == '\r'))
		q++;
	return q < P->lim && P->src[q] == '=' && (q + 1 >= P->lim || P->src[q + 1] != '=');
}

/* `name = expr` with the name current, for a callee taking `keywords`. */
static int parse_keyword_arg(struct tpl_parser *P, struct expr *e, const char *const *keywords)
{
	char *name = lle_tpl_tok_text(P);
	if (!name)
		return lle_tpl_parser_oom(P);
	size_t pos = P->tok.pos;
	int known = 0;
	for (const char *const *k = keywords; k && *k; k++)
		known |= !strcmp(*k, name) || !strcmp(*k, "*");
	if (!known) {
		if (keywords)
			lle_tpl_syntax_error(P, pos, "unsupported keyword argument '%s'", name);
		else
			lle_tpl_syntax_error(P, pos, "keyword arguments are not supported");
		free(name);
		return -1;
	}
	char **v = realloc(e->kwnames, (e->nkwargs + 1) * sizeof(*v));
	if (!v) {
		free(name);
		return lle_tpl_parser_oom(P);
	}
	e->kwnames = v;
	struct expr *a = NULL;
	if (lle_tpl_lex(P) < 0 || lle_tpl_expect_op(P, "=") < 0 || !(a = lle_tpl_parse_expression(P)) ||
	    expr_add_arg(P, e, a) < 0) {
		free(name);
		return -1;
	}
	e->kwnames[e->nkwargs++] = name;
	return 0;
}

/* "(args)" with the '(' current; appends to e->args, keyword arguments
 * (those in `keywords`, after the positional ones) last. */
static int parse_call_args(struct tpl_parser *P, struct expr *e, const char *const *keywords)
{
	if (lle_tpl_lex(P) < 0)
		return -1;
	while (!lle_tpl_tok_is_op(P, ")")) {
		if (at_keyword(P)) {
			if (parse_keyword_arg(P, e, keywords) < 0)
				return -1;
		} else if (e->nkwargs) {
			return lle_tpl_syntax_error(P, P->tok.pos,
						    "a positional argument after keyword arguments");
		} else {
			struct expr *a = lle_tpl_parse_expression(P);
			if (!a || expr_add_arg(P, e, a) < 0)
				return -1;
		}
		if (lle_tpl_tok_is_op(P, ",")) {
			if (lle_tpl_lex(P) < 0)
				return -1;
		} else if (!lle_tpl_tok_is_op(P, ")")) {
			return lle_tpl_syntax_error(P, P->tok.pos, "expected ',' or ')'");
		}
	}
	e->end = P->tok.pos + 1;
	return lle_tpl_lex(P);
}

/* A name: true/false/none in any of Jinja's spellings, a variable, or
 * range(...), the one function. */
static struct expr *parse_name(struct tpl_parser *P)
{
	size_t pos = P->tok.pos;
	char *n = lle_tpl_tok_text(P);
	if (!n) {
		lle_tpl_parser_oom(P);
		return NULL;
	}
	struct expr *e;
	if (!strcmp(n, "true") || !strcmp(n, "True") || !strcmp(n, "false") || !strcmp(n, "False") ||
	    !strcmp(n, "none") || !strcmp(n, "None")) {
		e = new_expr(P, EXPR_LITERAL, pos);
		if (e)
			e->literal = (n[0] == 't' || n[0] == 'T')   ? json_true()
				     : (n[0] == 'f' || n[0] == 'F') ? json_false()
								    : json_null();
		free(n);
	} else {
		e = new_expr(P, EXPR_NAME, pos);
		if (e)
			e->name = n;
		else
			free(n);
	}
	if (!e)
		return NULL;
	e->end = pos + P->tok.len;
	if (lle_tpl_lex(P) < 0)
		goto fail;
	if (e->kind == EXPR_NAME && lle_tpl_tok_is_op(P, "(") && P->chat && strcmp(e->name, "range")) {
		static const char *const any[] = { "*", NULL };
		e->kind = EXPR_CALL;
		if (parse_call_args(P, e, any) < 0)
			goto fail;
	} else if (e->kind == EXPR_NAME && lle_tpl_tok_is_op(P, "(")) {
		if (strcmp(e->name, "range")) {
			lle_tpl_syntax_error(P, pos, "unsupported function call '%s'", e->name);
			goto fail;
		}
		e->kind = EXPR_RANGE;
		if (parse_call_args(P, e, NULL) < 0)
			goto fail;
		if (e->nargs < 1 || e->nargs > 3) {
			lle_tpl_syntax_error(P, pos, "range() takes 1 to 3 arguments");
			goto fail;
		}
	}
	return e;
fail:
	lle_tpl_expr_free(e);
	return NULL;
}

/* A number or string literal, decoded as Python's ast.literal_eval does. */
static struct expr *parse_literal(struct tpl_parser *P)
{
	size_t pos = P->tok.pos;
	char *t = lle_tpl_tok_text(P);
	if (!t) {
		lle_tpl_parser_oom(P);
		return NULL;
	}
	if (P->tok.kind != TOK_STRING) {
		char *w = t; /* drop '_' separators */
		for (char *r = t; *r; r++)
			if (*r != '_')
				*w++ = *r;
		*w = '\0';
		/* Python's ints are unbounded and its floats overflow to inf;
		 * here both must fit a JSON number */
		errno = 0;
		int too_big = P->tok.kind == TOK_INT ? (strtoll(t, NULL, 10), errno == ERANGE)
						     : !isfinite(strtod(t, NULL));
		if (too_big) {
			lle_tpl_syntax_error(P, pos, "number '%s' is out of range (integers are 64-bit)", t);
			free(t);
			return NULL;
		}
	}
	struct lle_err lit_err = { 0 };
	json_t *v = lle_py_literal_eval(t, &lit_err);
	free(t);
	if (!v) {
		lle_tpl_syntax_error(P, pos, "bad literal: %s", lit_err.msg);
		return NULL;
	}
	struct expr *e = new_expr(P, EXPR_LITERAL, pos);
	if (!e) {
		json_decref(v);
		return NULL;
	}
	e->literal = v;
	e->end = pos + P->tok.len;
	if (lle_tpl_lex(P) < 0) {
		lle_tpl_expr_free(e);
		return NULL;
	}
	return e;
}

/* [a, b, ...] with the '[' current. */
static struct expr *parse_list(struct tpl_parser *P)
{
	struct expr *e = new_expr(P, EXPR_LIST, P->tok.pos);
	if (!e || lle_tpl_lex(P) < 0)
		goto fail;
	while (!lle_tpl_tok_is_op(P, "]")) {
		struct expr *a = lle_tpl_parse_expression(P);
		if (!a || expr_add_arg(P, e, a) < 0)
			goto fail;
		if (lle_tpl_tok_is_op(P, ",")) {
			if (lle_tpl_lex(P) < 0)
				goto fail;
		} else if (!lle_tpl_tok_is_op(P, "]")) {
			lle_tpl_syntax_error(P, P->tok.pos, "expected ',' or ']'");
			goto fail;
		}
	}
	e->end = P->tok.pos + 1;
	if (lle_tpl_lex(P) < 0)
		goto fail;
	return e;
fail:
	lle_tpl_expr_free(e);
	return NULL;
}

/* {k: v, ...} with the '{' current, as Jinja's parse_dict (a trailing comma
 * allowed); keys and values alternate in args. */
static struct expr *parse_dict(struct tpl_parser *P)
{
	struct expr *e = new_expr(P, EXPR_DICT, P->tok.pos);
	if (!e || lle_tpl_lex(P) < 0)
		goto fail;
	while (!lle_tpl_tok_is_op(P, "}")) {
		struct expr *k = lle_tpl_parse_expression(P);
		if (!k || expr_add_arg(P, e, k) < 0 || lle_tpl_expect_op(P, ":") < 0)
			goto fail;
		struct expr *v = lle_tpl_parse_expression(P);
		if (!v || expr_add_arg(P, e, v) < 0)
			goto fail;
		if (lle_tpl_tok_is_op(P, ",")) {
			if (lle_tpl_lex(P) < 0)
				goto fail;
		} else if (!lle_tpl_tok_is_op(P, "}")) {
			lle_tpl_syntax_error(P, P->tok.pos, "expected ',' or '}'");
			goto fail;
		}
	}
	e->end = P->tok.pos + 1;
	if (lle_tpl_lex(P) < 0)
		goto fail;
	return e;
fail:
	lle_tpl_expr_free(e);
	return NULL;
}

/* ( expr ) with the '(' current: the span grows to the parentheses. In a
 * chat template, (a, b) and (a,) are tuples, which behave as lists here. */
static struct expr *parse_parenthesized(struct tpl_parser *P)
{
	size_t pos = P->tok.pos;
	if (lle_tpl_lex(P) < 0)
		return NULL;
	struct expr *e = lle_tpl_parse_expression(P);
	if (!e)
		return NULL;
	if (lle_tpl_tok_is_op(P, ",")) {
		if (!P->chat) {
			lle_tpl_syntax_error(P, P->tok.pos, "tuples are not supported");
			goto fail;
		}
		struct expr *t = new_expr(P, EXPR_LIST, pos);
		if (t)
			t->op = 1; /* a tuple: prints as (a, b) */
		if (!t || expr_add_arg(P, t, e) < 0) {
			lle_tpl_expr_free(t);
			goto fail;
		}
		e = t;
		while (lle_tpl_tok_is_op(P, ",")) {
			if (lle_tpl_lex(P) < 0)
				goto fail;
			if (lle_tpl_tok_is_op(P, ")"))
				break;
			struct expr *x = lle_tpl_parse_expression(P);
			if (!x || expr_add_arg(P, e, x) < 0)
				goto fail;
		}
	}
	size_t end = P->tok.pos + 1;
	if (lle_tpl_expect_op(P, ")") < 0)
		goto fail;
	e->pos = pos;
	e->end = end;
	return e;
fail:
	lle_tpl_expr_free(e);
	return NULL;
}

static struct expr *parse_primary(struct tpl_parser *P)
{
	size_t pos = P->tok.pos;
	switch (P->tok.kind) {
	case TOK_NAME:
		return parse_name(P);
	case TOK_INT:
	case TOK_FLOAT:
	case TOK_STRING:
		return parse_literal(P);
	case TOK_OP:
		if (lle_tpl_tok_is_op(P, "("))
			return parse_parenthesized(P);
		if (lle_tpl_tok_is_op(P, "["))
			return parse_list(P);
		if (lle_tpl_tok_is_op(P, "{"))
			return parse_dict(P);
		lle_tpl_syntax_error(P, pos, "unexpected '%s'", P->tok.op);
		return NULL;
	case TOK_END:
		lle_tpl_syntax_error(P, pos, "expected an expression");
		return NULL;
	}
	lle_tpl_syntax_error(P, pos, "unsupported construct");
	return NULL;
}

/* .name or .name(args) after e, with the '.' current. */
static struct expr *parse_attribute(struct tpl_parser *P, struct expr *e)
{
	if (lle_tpl_lex(P) < 0)
		goto fail;
	char *n = lle_tpl_tok_name(P, "expected a name after '.'");
	if (!n)
		goto fail;
	size_t npos = P->tok.pos, nend = P->tok.pos + P->tok.len;
	if (lle_tpl_lex(P) < 0) {
		free(n);
		goto fail;
	}
	int call = lle_tpl_tok_is_op(P, "(");
	if (call && !P->chat && !lle_tpl_method_exists(n)) { /* chat: an error when called */
		lle_tpl_syntax_error(P, npos, "unsupported method '%s'", n);
		free(n);
		goto fail;
	}
	struct expr *m = new_expr(P, call ? EXPR_METHOD : EXPR_ATTR, e->pos);
	if (!m) {
		free(n);
		goto fail;
	}
	m->name = n;
	m->a = e;
	m->end = nend;
	static const char *const any[] = { "*", NULL };
	if (call && parse_call_args(P, m, P->chat ? any : NULL) < 0) {
		lle_tpl_expr_free(m);
		return NULL;
	}
	return m;
fail:
	lle_tpl_expr_free(e);
	return NULL;
}

/* [i], [i:j], [:j], [i:] after e, with the '[' current. */
static struct expr *parse_subscript(struct tpl_parser *P, struct expr *e)
{
	struct expr *lo = NULL, *hi = NULL, *step = NULL;
	int slice = 0;
	if (lle_tpl_lex(P) < 0)
		goto fail;
	if (!lle_tpl_tok_is_op(P, ":") && !(lo = lle_tpl_parse_expression(P)))
		goto fail;
	if (lle_tpl_tok_is_op(P, ":")) {
		slice = 1;
		if (lle_tpl_lex(P) < 0)
			goto fail;
		if (!lle_tpl_tok_is_op(P, "]") && !lle_tpl_tok_is_op(P, ":") && !(hi = lle_tpl_parse_expression(P)))
			goto fail;
		if (lle_tpl_tok_is_op(P, ":")) {
			if (!P->chat) {
				lle_tpl_syntax_error(P, P->tok.pos, "slice steps are not supported");
				goto fail;
			}
			if (lle_tpl_lex(P) < 0)
				goto fail;
			if (!lle_tpl_tok_is_op(P, "]") && !(step = lle_tpl_parse_expression(P)))
				goto fail;
		}
	}
	size_t end = P->tok.pos + 1;
	if (lle_tpl_expect_op(P, "]") < 0)
		goto fail;
	struct expr *x = new_expr(P, slice ? EXPR_SLICE : EXPR_INDEX, e->pos);
	if (!x)
		goto fail;
	x->a = e;
	x->b = lo;
	x->c = hi;
	x->end = end;
	if (step && expr_add_arg(P, x, step) < 0) { /* a[b:c:step]: the step is args[0] */
		lle_tpl_expr_free(x);
		return NULL;
	}
	return x;
fail:
	lle_tpl_expr_free(step);
	lle_tpl_expr_free(lo);
	lle_tpl_expr_free(hi);
	lle_tpl_expr_free(e);
	return NULL;
}

static struct expr *parse_postfix(struct tpl_parser *P, struct expr *e)
{
	while (e) {
		if (lle_tpl_tok_is_op(P, "."))
			e = parse_attribute(P, e);
		else if (lle_tpl_tok_is_op(P, "["))
			e = parse_subscript(P, e);
		else if (lle_tpl_tok_is_op(P, "(")) {
			lle_tpl_syntax_error(P, P->tok.pos, "unsupported call");
			lle_tpl_expr_free(e);
			return NULL;
		} else
			break;
	}
	return e;
}

/* | name or | name(args) after e, with the '|' current. */
static struct expr *parse_filter(struct tpl_parser *P, struct expr *e)
{
	if (lle_tpl_lex(P) < 0)
		goto fail;
	char *n = lle_tpl_tok_name(P, "expected a filter name after '|'");
	if (!n)
		goto fail;
	const struct tpl_builtin *f = lle_tpl_find_filter(n);
	if (!f && P->chat)
		f = lle_tpl_find_chat_filter(n);
	if (!f && !P->chat) { /* chat: Jinja fails only when such a filter runs */
		lle_tpl_syntax_error(P, P->tok.pos, "unsupported filter '%s'", n);
		free(n);
		goto fail;
	}
	struct expr *x = new_expr(P, EXPR_FILTER, e->pos);
	if (!x) {
		free(n);
		goto fail;
	}
	x->name = n;
	x->filter = f;
	x->a = e;
	x->end = P->tok.pos + P->tok.len;
	static const char *const any[] = { "*", NULL };
	if (lle_tpl_lex(P) < 0 ||
	    (lle_tpl_tok_is_op(P, "(") && parse_call_args(P, x, f ? f->keywords : any) < 0)) {
		lle_tpl_expr_free(x);
		return NULL;
	}
	return x;
fail:
	lle_tpl_expr_free(e);
	return NULL;
}

/* is [not] name after e, with 'is' current. */
static struct expr *parse_test(struct tpl_parser *P, struct expr *e)
{
	int negated = 0;
	if (lle_tpl_lex(P) < 0)
		goto fail;
	if (lle_tpl_tok_is_name(P, "not")) {
		negated = 1;
		if (lle_tpl_lex(P) < 0)
			goto fail;
	}
	char *n = lle_tpl_tok_name(P, "expected a test name after 'is'");
	if (!n)
		goto fail;
	const struct tpl_test *test = lle_tpl_find_test(n);
	if (!test && P->chat)
		test = lle_tpl_find_chat_test(n);
	if (!test && !P->chat) {
		lle_tpl_syntax_error(P, P->tok.pos, "unsupported test '%s'", n);
		free(n);
		goto fail;
	}
	struct expr *x = new_expr(P, EXPR_TEST, e->pos);
	if (!x) {
		free(n);
		goto fail;
	}
	x->name = n;
	x->test = test;
	x->op = negated;
	x->a = e;
	x->end = P->tok.pos + P->tok.len;
	if (lle_tpl_lex(P) < 0) {
		lle_tpl_expr_free(x);
		return NULL;
	}
	/* an argument: `is equalto(x)` or, as Jinja reads it, `is equalto x` */
	if (lle_tpl_tok_is_op(P, "(")) {
		if (parse_call_args(P, x, NULL) < 0) {
			lle_tpl_expr_free(x);
			return NULL;
		}
	} else if ((P->tok.kind == TOK_NAME && !lle_tpl_tok_is_name(P, "else") && !lle_tpl_tok_is_name(P, "or") &&
		    !lle_tpl_tok_is_name(P, "and")) || P->tok.kind == TOK_STRING || P->tok.kind == TOK_INT ||
		   P->tok.kind == TOK_FLOAT || lle_tpl_tok_is_op(P, "[") || lle_tpl_tok_is_op(P, "{")) {
		struct expr *a = parse_postfix(P, parse_primary(P));
		if (!a || expr_add_arg(P, x, a) < 0) {
			lle_tpl_expr_free(x);
			return NULL;
		}
		x->end = a->end;
	}
	if (test && x->nargs != test->nargs) {
		lle_tpl_syntax_error(P, x->pos, "test '%s' takes %u argument%s", n, test->nargs,
				     test->nargs == 1 ? "" : "s");
		lle_tpl_expr_free(x);
		return NULL;
	}
	return x;
fail:
	lle_tpl_expr_free(e);
	return NULL;
}

static struct expr *parse_filters_and_tests(struct tpl_parser *P, struct expr *e)
{
	while (e) {
		if (lle_tpl_tok_is_op(P, "|"))
			e = parse_filter(P, e);
		else if (lle_tpl_tok_is_name(P, "is"))
			e = parse_test(P, e);
		else
			break;
	}
	return e;
}

/* -a and +a take a postfix expression without filters as the operand; the
 * filters after it apply to the negation, as in Jinja's parse_unary. */
static struct expr *parse_unary(struct tpl_parser *P, int with_filters)
{
	struct expr *e;
	size_t pos = P->tok.pos;
	if (lle_tpl_tok_is_op(P, "-") || lle_tpl_tok_is_op(P, "+")) {
		int negate = P->tok.op[0] == '-';
		if (lle_tpl_lex(P) < 0)
			return NULL;
		struct expr *a = parse_unary(P, 0);
		if (!a)
			return NULL;
		if (!negate) {
			e = a;
		} else {
			e = new_expr(P, EXPR_NEGATE, pos);
			if (!e) {
				lle_tpl_expr_free(a);
				return NULL;
			}
			e->a = a;
			e->end = a->end;
		}
	} else {
		e = parse_primary(P);
	}
	e = parse_postfix(P, e);
	if (e && with_filters)
		e = parse_filters_and_tests(P, e);
	return e;
}

/* One level of left-associative binary operators: `next` parses the
 * operands; ops/codes list the level's operator tokens and their enum binop. */
static struct expr *parse_binary_level(struct tpl_parser *P, struct expr *(*next)(struct tpl_parser *),
				       const char *const *ops, const int *codes)
{
	struct expr *e = next(P);
	while (e) {
		int op = -1;
		for (int i = 0; ops[i]; i++)
			if (lle_tpl_tok_is_op(P, ops[i]))
				op = codes[i];
		if (op < 0)
			break;
		if (lle_tpl_lex(P) < 0)
			goto fail;
		struct expr *b = next(P);
		if (!b)
			goto fail;
		e = new_binary(P, EXPR_BINARY, op, e, b);
	}
	return e;
fail:
	lle_tpl_expr_free(e);
	return NULL;
}

static struct expr *parse_unary_filtered(struct tpl_parser *P)
{
	return parse_unary(P, 1);
}

/* Jinja's `**` binds tighter than * and looser than unary minus, and
 * associates to the left: -2 ** 2 is 4 and 2 ** 3 ** 2 is 64, as Jinja gives. */
static struct expr *parse_power(struct tpl_parser *P)
{
	static const char *const ops[] = { "**", NULL };
	static const int codes[] = { OP_POW };
	return parse_binary_level(P, parse_unary_filtered, ops, codes);
}

static struct expr *parse_product(struct tpl_parser *P)
{
	static const char *const ops[] = { "*", "/", "//", "%", NULL };
	static const int codes[] = { OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD };
	return parse_binary_level(P, parse_power, ops, codes);
}

static struct expr *parse_concat(struct tpl_parser *P)
{
	static const char *const ops[] = { "~", NULL };
	static const int codes[] = { OP_CONCAT };
	return parse_binary_level(P, parse_product, ops, codes);
}

static struct expr *parse_sum(struct tpl_parser *P)
{
	static const char *const ops[] = { "+", "-", NULL };
	static const int codes[] = { OP_ADD, OP_SUB };
	return parse_binary_level(P, parse_concat, ops, codes);
}

/* The comparison operator at the current token, or -1 (the token is not
 * consumed). `not` counts only as the start of `not in`. */
static int comparison_op(struct tpl_parser *P)
{
	static const char *const ops[] = { "==", "!=", "<", ">", "<=", ">=", NULL };
	static const int codes[] = { OP_EQ, OP_NE, OP_LT, OP_GT, OP_LE, OP_GE };
	for (int i = 0; ops[i]; i++)
		if (lle_tpl_tok_is_op(P, ops[i]))
			return codes[i];
	if (lle_tpl_tok_is_name(P, "in"))
		return OP_IN;
	if (lle_tpl_tok_is_name(P, "not")) {
		size_t save = P->p;
		struct token saved = P->tok;
		if (lle_tpl_lex(P) < 0)
			return -2;
		if (lle_tpl_tok_is_name(P, "in"))
			return OP_NOTIN;
		P->p = save; /* a lone `not` here is a syntax error later */
		P->tok = saved;
	}
	return -1;
}

/* a < b < c ...: one EXPR_COMPARE holding every operand, as Python chains them. */
static struct expr *parse_comparison(struct tpl_parser *P)
{
	struct expr *e = parse_sum(P), *cmp = NULL;
	if (!e)
		return NULL;
	for (;;) {
		int op = comparison_op(P);
		if (op == -2)
			goto fail;
		if (op < 0)
			break;
		if (lle_tpl_lex(P) < 0)
			goto fail;
		struct expr *b = parse_sum(P);
		if (!b)
			goto fail;
		if (!cmp) {
			cmp = new_expr(P, EXPR_COMPARE, e->pos);
			if (!cmp) {
				lle_tpl_expr_free(b);
				goto fail;
			}
			cmp->a = e;
			e = NULL;
		}
		int *ops = realloc(cmp->ops, (cmp->nargs + 1) * sizeof(*ops));
		if (!ops) {
			lle_tpl_expr_free(b);
			lle_tpl_parser_oom(P);
			goto fail;
		}
		cmp->ops = ops;
		cmp->ops[cmp->nargs] = op;
		cmp->end = b->end;
		if (expr_add_arg(P, cmp, b) < 0)
			goto fail;
	}
	return cmp ? cmp : e;
fail:
	lle_tpl_expr_free(e);
	lle_tpl_expr_free(cmp);
	return NULL;
}

static struct expr *parse_not(struct tpl_parser *P)
{
	if (!lle_tpl_tok_is_name(P, "not"))
		return parse_comparison(P);
	size_t pos = P->tok.pos;
	if (lle_tpl_lex(P) < 0)
		return NULL;
	struct expr *a = parse_not(P);
	if (!a)
		return NULL;
	struct expr *e = new_expr(P, EXPR_NOT, pos);
	if (!e) {
		lle_tpl_expr_free(a);
		return NULL;
	}
	e->a = a;
	e->end = a->end;
	return e;
}

/* A level of `and` or `or` (word operators). */
static struct expr *parse_logic_level(struct tpl_parser *P, struct expr *(*next)(struct tpl_parser *),
				      const char *word, enum expr_kind kind)
{
	struct expr *e = next(P);
	while (e && lle_tpl_tok_is_name(P, word)) {
		if (lle_tpl_lex(P) < 0)
			goto fail;
		struct expr *b = next(P);
		if (!b)
			goto fail;
		e = new_binary(P, kind, 0, e, b);
	}
	return e;
fail:
	lle_tpl_expr_free(e);
	return NULL;
}

static struct expr *parse_and(struct tpl_parser *P)
{
	return parse_logic_level(P, parse_not, "and", EXPR_AND);
}

static struct expr *parse_or(struct tpl_parser *P)
{
	return parse_logic_level(P, parse_and, "or", EXPR_OR);
}

struct expr *lle_tpl_parse_or(struct tpl_parser *P)
{
	return parse_or(P);
}

/* a if cond [else b], repeatable. */
struct expr *lle_tpl_parse_expression(struct tpl_parser *P)
{
	struct expr *e = parse_or(P);
	while (e && lle_tpl_tok_is_name(P, "if")) {
		struct expr *cond = NULL, *other = NULL;
		if (lle_tpl_lex(P) < 0 || !(cond = parse_or(P)))
			goto fail;
		if (lle_tpl_tok_is_name(P, "else")) {
			if (lle_tpl_lex(P) < 0 || !(other = lle_tpl_parse_expression(P))) {
				lle_tpl_expr_free(cond);
				goto fail;
			}
		}
		struct expr *x = new_expr(P, EXPR_CONDITIONAL, e->pos);
		if (!x) {
			lle_tpl_expr_free(cond);
			lle_tpl_expr_free(other);
			goto fail;
		}
		x->a = e;
		x->b = cond;
		x->c = other;
		x->end = other ? other->end : cond->end;
		e = x;
	}
	return e;
fail:
	lle_tpl_expr_free(e);
	return NULL;
}

/* The rest of the tag, after the current token, as exactly one expression. */
struct expr *lle_tpl_parse_rest_as_expression(struct tpl_parser *P)
{
	if (lle_tpl_lex(P) < 0)
		return NULL;
	struct expr *e = lle_tpl_parse_expression(P);
	if (!e)
		return NULL;
	if (P->tok.kind != TOK_END) {
		int n = (int)(P->tok.len < 40 ? P->tok.len : 40);
		lle_tpl_syntax_error(P, P->tok.pos, "unexpected '%.*s'", n, P->src + P->tok.pos);
		lle_tpl_expr_free(e);
		return NULL;
	}
	return e;
}
