/* A Jinja subset: see template.h.
 *
 * Compilation splits the source into text and tags (applying whitespace
 * control there), parses expressions by Jinja's precedence (or < and < not <
 * comparisons < + - < ~ < * / // % < unary < postfix and filters), and builds
 * a small tree. Rendering walks the tree with jansson values; "undefined" is
 * a NULL value that only `is defined`, `is undefined` and `default` accept,
 * as with Jinja's StrictUndefined. Nothing here knows about tasks. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tasks/template.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/pystr.h"
#include "util/buf.h"

/* ---------- the tree ---------- */

enum ek {
	E_LIT, E_NAME, E_ATTR, E_INDEX, E_SLICE, E_METHOD, E_FILTER, E_TEST, E_BIN, E_CMP,
	E_NOT, E_NEG, E_AND, E_OR, E_COND, E_LIST, E_RANGE
};

enum op { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_POW, OP_CONCAT,
	  OP_EQ, OP_NE, OP_LT, OP_GT, OP_LE, OP_GE, OP_IN, OP_NOTIN };

struct expr {
	enum ek k;
	int op;                /* E_BIN, E_CMP (first op); E_TEST: negated */
	char *name;            /* E_NAME, E_ATTR, E_METHOD, E_FILTER, E_TEST */
	json_t *lit;           /* E_LIT */
	struct expr *a, *b, *c;
	struct expr **args;    /* E_METHOD, E_FILTER, E_LIST; E_CMP: the right operands */
	int *ops;              /* E_CMP: the operators */
	size_t nargs;
	size_t pos, end;       /* source span, for messages */
};

enum nk { N_TEXT, N_OUT, N_IF, N_FOR, N_SET };

struct node;
struct nodelist {
	struct node **v;
	size_t n, cap;
};

struct node {
	enum nk k;
	char *text;            /* N_TEXT */
	size_t len;
	struct expr *e;        /* N_OUT, N_FOR (iterable), N_SET */
	char *var;             /* N_FOR, N_SET */
	struct expr **conds;   /* N_IF: one per branch; NULL for else */
	struct nodelist *bodies;
	size_t nbr;
	struct nodelist body;  /* N_FOR */
};

struct lle_tpl {
	char *src;
	struct nodelist root;
};

static void expr_free(struct expr *e);
static void list_free(struct nodelist *l);

static void expr_free(struct expr *e)
{
	if (!e)
		return;
	free(e->name);
	if (e->lit)
		json_decref(e->lit);
	expr_free(e->a);
	expr_free(e->b);
	expr_free(e->c);
	for (size_t i = 0; i < e->nargs; i++)
		expr_free(e->args[i]);
	free(e->args);
	free(e->ops);
	free(e);
}

static void node_free(struct node *n)
{
	if (!n)
		return;
	free(n->text);
	expr_free(n->e);
	free(n->var);
	for (size_t i = 0; i < n->nbr; i++) {
		expr_free(n->conds[i]);
		list_free(&n->bodies[i]);
	}
	free(n->conds);
	free(n->bodies);
	list_free(&n->body);
	free(n);
}

static void list_free(struct nodelist *l)
{
	for (size_t i = 0; i < l->n; i++)
		node_free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

void lle_tpl_free(struct lle_tpl *t)
{
	if (!t)
		return;
	list_free(&t->root);
	free(t->src);
	free(t);
}

const char *lle_tpl_source(const struct lle_tpl *t) { return t->src; }

static int list_push(struct nodelist *l, struct node *n)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct node **v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = n;
	return 0;
}

/* ---------- compiling ---------- */

enum tk { T_END, T_NAME, T_INT, T_FLOAT, T_STR, T_OP };

struct tok {
	enum tk k;
	size_t pos, len;       /* offset in src */
	char op[3];
};

struct cc {                    /* compiler state */
	const char *src;
	const char *who;
	struct lle_err *err;
	int failed;
	/* the tag being parsed: [p, lim) */
	size_t p, lim;
	struct tok t;          /* current token */
};

static int cfail(struct cc *c, size_t pos, const char *fmt, const char *arg)
{
	if (c->failed)
		return -1;
	char m[1100];
	snprintf(m, sizeof(m), fmt, arg);
	c->failed = 1;
	return lle_err_set(c->err, LLE_EXIT_CONFIG, "%s: at character %zu: %s", c->who, pos + 1, m);
}

static int is_name_start(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

static int is_name_char(char ch)
{
	return is_name_start(ch) || (ch >= '0' && ch <= '9');
}

static int lex(struct cc *c)
{
	const char *s = c->src;
	while (c->p < c->lim && (s[c->p] == ' ' || s[c->p] == '\t' || s[c->p] == '\n' || s[c->p] == '\r'))
		c->p++;
	struct tok *t = &c->t;
	memset(t, 0, sizeof(*t));
	t->pos = c->p;
	if (c->p >= c->lim) {
		t->k = T_END;
		return 0;
	}
	char ch = s[c->p];
	if (is_name_start(ch)) {
		size_t q = c->p;
		while (q < c->lim && is_name_char(s[q]))
			q++;
		t->k = T_NAME;
		t->len = q - c->p;
		c->p = q;
		return 0;
	}
	if (ch >= '0' && ch <= '9') {
		size_t q = c->p;
		int fl = 0;
		while (q < c->lim && ((s[q] >= '0' && s[q] <= '9') || s[q] == '_'))
			q++;
		if (q + 1 < c->lim && s[q] == '.' && s[q + 1] >= '0' && s[q + 1] <= '9') {
			fl = 1;
			q++;
			while (q < c->lim && s[q] >= '0' && s[q] <= '9')
				q++;
		}
		if (q < c->lim && (s[q] == 'e' || s[q] == 'E')) {
			size_t r = q + 1;
			if (r < c->lim && (s[r] == '+' || s[r] == '-'))
				r++;
			if (r < c->lim && s[r] >= '0' && s[r] <= '9') {
				fl = 1;
				q = r;
				while (q < c->lim && s[q] >= '0' && s[q] <= '9')
					q++;
			}
		}
		t->k = fl ? T_FLOAT : T_INT;
		t->len = q - c->p;
		c->p = q;
		return 0;
	}
	if (ch == '\'' || ch == '"') {
		size_t q = c->p + 1;
		while (q < c->lim && s[q] != ch) {
			if (s[q] == '\\')
				q++;
			q++;
		}
		if (q >= c->lim)
			return cfail(c, c->p, "unterminated string%s", "");
		t->k = T_STR;
		t->len = q + 1 - c->p;
		c->p = q + 1;
		return 0;
	}
	static const char *ops2[] = { "==", "!=", "<=", ">=", "//", "**", NULL };
	for (int i = 0; ops2[i]; i++) {
		if (c->p + 1 < c->lim && s[c->p] == ops2[i][0] && s[c->p + 1] == ops2[i][1]) {
			t->k = T_OP;
			memcpy(t->op, ops2[i], 2);
			t->len = 2;
			c->p += 2;
			return 0;
		}
	}
	if (strchr(".[](),|~+-*/%<>:={}", ch)) {
		t->k = T_OP;
		t->op[0] = ch;
		t->len = 1;
		c->p++;
		return 0;
	}
	char b[2] = { ch, 0 };
	return cfail(c, c->p, "unexpected character '%s'", b);
}

static int tok_is_op(const struct cc *c, const char *op)
{
	return c->t.k == T_OP && strcmp(c->t.op, op) == 0;
}

static int tok_is_name(const struct cc *c, const char *name)
{
	return c->t.k == T_NAME && c->t.len == strlen(name) &&
	       memcmp(c->src + c->t.pos, name, c->t.len) == 0;
}

static char *tok_text(const struct cc *c)
{
	return lle_strndup(c->src + c->t.pos, c->t.len);
}

static int expect_op(struct cc *c, const char *op)
{
	if (!tok_is_op(c, op))
		return cfail(c, c->t.pos, "expected '%s'", op);
	return lex(c);
}

static struct expr *mk(struct cc *c, enum ek k, size_t pos)
{
	struct expr *e = calloc(1, sizeof(*e));
	if (!e) {
		c->failed = 1;
		lle_err_oom(c->err);
		return NULL;
	}
	e->k = k;
	e->pos = pos;
	e->end = pos;
	return e;
}

static int add_arg(struct cc *c, struct expr *e, struct expr *a)
{
	struct expr **v = realloc(e->args, (e->nargs + 1) * sizeof(*v));
	if (!v) {
		expr_free(a);
		c->failed = 1;
		return lle_err_oom(c->err);
	}
	e->args = v;
	e->args[e->nargs++] = a;
	return 0;
}

static struct expr *p_expr(struct cc *c);
static struct expr *p_or(struct cc *c);
static struct expr *p_unary(struct cc *c, int with_filter);

/* ( args ) after the '(' was seen; appends to e->args. */
static int p_args(struct cc *c, struct expr *e)
{
	if (lex(c) < 0)
		return -1;
	while (!tok_is_op(c, ")")) {
		if (c->t.k == T_NAME && c->p < c->lim && c->src[c->p] == '=')
			return cfail(c, c->t.pos, "keyword arguments are not supported%s", "");
		struct expr *a = p_expr(c);
		if (!a || add_arg(c, e, a) < 0)
			return -1;
		if (tok_is_op(c, ",")) {
			if (lex(c) < 0)
				return -1;
		} else if (!tok_is_op(c, ")")) {
			return cfail(c, c->t.pos, "expected ',' or ')'%s", "");
		}
	}
	e->end = c->t.pos + 1;
	return lex(c);
}

static const char *const k_methods[] = { "strip", "lstrip", "rstrip", "split", "index", "find",
					 "lower", "upper", "replace", "join", "startswith",
					 "endswith", "get", "keys", "values", NULL };
static const char *const k_filters[] = { "trim", "lower", "upper", "capitalize", "join",
					 "replace", "int", "float", "string", "length", "count",
					 "first", "last", "default", "d", "list", "regex_replace", NULL };
static const char *const k_tests[] = { "defined", "undefined", "none", "string", "number", NULL };

static int in_list(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (strcmp(*l, s) == 0)
			return 1;
	return 0;
}

static struct expr *p_primary(struct cc *c)
{
	struct expr *e = NULL;
	size_t pos = c->t.pos;
	switch (c->t.k) {
	case T_NAME: {
		char *n = tok_text(c);
		if (!n)
			goto oom;
		if (!strcmp(n, "true") || !strcmp(n, "True") || !strcmp(n, "false") ||
		    !strcmp(n, "False") || !strcmp(n, "none") || !strcmp(n, "None")) {
			e = mk(c, E_LIT, pos);
			if (e)
				e->lit = (n[0] == 't' || n[0] == 'T') ? json_true()
					: (n[0] == 'f' || n[0] == 'F') ? json_false() : json_null();
			free(n);
		} else {
			e = mk(c, E_NAME, pos);
			if (!e) {
				free(n);
				return NULL;
			}
			e->name = n;
		}
		if (!e)
			return NULL;
		e->end = pos + c->t.len;
		if (lex(c) < 0)
			goto fail;
		if (e->k == E_NAME && tok_is_op(c, "(")) {
			if (strcmp(e->name, "range"))
				return cfail(c, pos, "unsupported function call '%s'", e->name), expr_free(e), NULL;
			e->k = E_RANGE;
			if (p_args(c, e) < 0)
				goto fail;
			if (e->nargs < 1 || e->nargs > 3) {
				cfail(c, pos, "range() takes 1 to 3 arguments%s", "");
				goto fail;
			}
		}
		return e;
	}
	case T_INT:
	case T_FLOAT:
	case T_STR: {
		char *t = tok_text(c);
		if (!t)
			goto oom;
		if (c->t.k != T_STR) { /* drop '_' separators */
			char *w = t;
			for (char *r = t; *r; r++)
				if (*r != '_')
					*w++ = *r;
			*w = '\0';
			/* Python's ints are unbounded and its floats overflow to inf;
			 * here both must fit a JSON number */
			errno = 0;
			int too_big = c->t.k == T_INT ? (strtoll(t, NULL, 10), errno == ERANGE)
						       : !isfinite(strtod(t, NULL));
			if (too_big) {
				cfail(c, pos, "number '%s' is out of range (integers are 64-bit)", t);
				free(t);
				return NULL;
			}
		}
		struct lle_err e2 = { 0 };
		json_t *v = lle_py_literal_eval(t, &e2);
		free(t);
		if (!v)
			return cfail(c, pos, "bad literal: %s", e2.msg), NULL;
		e = mk(c, E_LIT, pos);
		if (!e) {
			json_decref(v);
			return NULL;
		}
		e->lit = v;
		e->end = pos + c->t.len;
		if (lex(c) < 0)
			goto fail;
		return e;
	}
	case T_OP:
		if (tok_is_op(c, "(")) {
			if (lex(c) < 0)
				return NULL;
			e = p_expr(c);
			if (!e)
				return NULL;
			if (tok_is_op(c, ","))
				return cfail(c, c->t.pos, "tuples are not supported%s", ""), expr_free(e), NULL;
			size_t end = c->t.pos + 1;
			if (expect_op(c, ")") < 0)
				goto fail;
			e->pos = pos;
			e->end = end;
			return e;
		}
		if (tok_is_op(c, "[")) {
			e = mk(c, E_LIST, pos);
			if (!e || lex(c) < 0)
				goto fail;
			while (!tok_is_op(c, "]")) {
				struct expr *a = p_expr(c);
				if (!a || add_arg(c, e, a) < 0)
					goto fail;
				if (tok_is_op(c, ",")) {
					if (lex(c) < 0)
						goto fail;
				} else if (!tok_is_op(c, "]")) {
					cfail(c, c->t.pos, "expected ',' or ']'%s", "");
					goto fail;
				}
			}
			e->end = c->t.pos + 1;
			if (lex(c) < 0)
				goto fail;
			return e;
		}
		if (tok_is_op(c, "{")) {
			cfail(c, pos, "dict literals are not supported%s", "");
			return NULL;
		}
		cfail(c, pos, "unexpected '%s'", c->t.op);
		return NULL;
	case T_END:
		cfail(c, pos, "expected an expression%s", "");
		return NULL;
	}
	cfail(c, pos, "unsupported construct%s", "");
	return NULL;
oom:
	c->failed = 1;
	lle_err_oom(c->err);
	return NULL;
fail:
	expr_free(e);
	return NULL;
}

static struct expr *p_postfix(struct cc *c, struct expr *e)
{
	for (;;) {
		if (tok_is_op(c, ".")) {
			if (lex(c) < 0)
				goto fail;
			if (c->t.k != T_NAME) {
				cfail(c, c->t.pos, "expected a name after '.'%s", "");
				goto fail;
			}
			char *n = tok_text(c);
			size_t npos = c->t.pos, nend = c->t.pos + c->t.len;
			if (!n || lex(c) < 0) {
				free(n);
				goto fail;
			}
			int call = tok_is_op(c, "(");
			if (call && !in_list(k_methods, n)) {
				cfail(c, npos, "unsupported method '%s'", n);
				free(n);
				goto fail;
			}
			struct expr *m = mk(c, call ? E_METHOD : E_ATTR, e->pos);
			if (!m) {
				free(n);
				goto fail;
			}
			m->name = n;
			m->a = e;
			m->end = nend;
			e = m;
			if (call && p_args(c, e) < 0)
				goto fail;
		} else if (tok_is_op(c, "[")) {
			if (lex(c) < 0)
				goto fail;
			struct expr *i = NULL, *j = NULL;
			int slice = 0;
			if (!tok_is_op(c, ":")) {
				i = p_expr(c);
				if (!i)
					goto fail;
			}
			if (tok_is_op(c, ":")) {
				slice = 1;
				if (lex(c) < 0) {
					expr_free(i);
					goto fail;
				}
				if (!tok_is_op(c, "]")) {
					j = p_expr(c);
					if (!j) {
						expr_free(i);
						goto fail;
					}
				}
				if (tok_is_op(c, ":")) {
					expr_free(i);
					expr_free(j);
					cfail(c, c->t.pos, "slice steps are not supported%s", "");
					goto fail;
				}
			}
			size_t end = c->t.pos + 1;
			if (expect_op(c, "]") < 0) {
				expr_free(i);
				expr_free(j);
				goto fail;
			}
			struct expr *x = mk(c, slice ? E_SLICE : E_INDEX, e->pos);
			if (!x) {
				expr_free(i);
				expr_free(j);
				goto fail;
			}
			x->a = e;
			x->b = i;
			x->c = j;
			x->end = end;
			e = x;
		} else if (tok_is_op(c, "(")) {
			cfail(c, c->t.pos, "unsupported call%s", "");
			goto fail;
		} else {
			return e;
		}
	}
fail:
	expr_free(e);
	return NULL;
}

static struct expr *p_filters(struct cc *c, struct expr *e)
{
	for (;;) {
		if (tok_is_op(c, "|")) {
			if (lex(c) < 0)
				goto fail;
			if (c->t.k != T_NAME) {
				cfail(c, c->t.pos, "expected a filter name after '|'%s", "");
				goto fail;
			}
			char *n = tok_text(c);
			if (!n)
				goto fail;
			if (!in_list(k_filters, n)) {
				cfail(c, c->t.pos, "unsupported filter '%s'", n);
				free(n);
				goto fail;
			}
			struct expr *f = mk(c, E_FILTER, e->pos);
			if (!f) {
				free(n);
				goto fail;
			}
			f->name = n;
			f->a = e;
			f->end = c->t.pos + c->t.len;
			e = f;
			if (lex(c) < 0)
				goto fail;
			if (tok_is_op(c, "(") && p_args(c, e) < 0)
				goto fail;
		} else if (tok_is_name(c, "is")) {
			if (lex(c) < 0)
				goto fail;
			int neg = 0;
			if (tok_is_name(c, "not")) {
				neg = 1;
				if (lex(c) < 0)
					goto fail;
			}
			if (c->t.k != T_NAME) {
				cfail(c, c->t.pos, "expected a test name after 'is'%s", "");
				goto fail;
			}
			char *n = tok_text(c);
			if (!n)
				goto fail;
			if (!in_list(k_tests, n)) {
				cfail(c, c->t.pos, "unsupported test '%s'", n);
				free(n);
				goto fail;
			}
			struct expr *t = mk(c, E_TEST, e->pos);
			if (!t) {
				free(n);
				goto fail;
			}
			t->name = n;
			t->op = neg;
			t->a = e;
			t->end = c->t.pos + c->t.len;
			e = t;
			if (lex(c) < 0)
				goto fail;
		} else {
			return e;
		}
	}
fail:
	expr_free(e);
	return NULL;
}

static struct expr *p_unary(struct cc *c, int with_filter)
{
	struct expr *e;
	size_t pos = c->t.pos;
	if (tok_is_op(c, "-") || tok_is_op(c, "+")) {
		int neg = c->t.op[0] == '-';
		if (lex(c) < 0)
			return NULL;
		struct expr *a = p_unary(c, 0);
		if (!a)
			return NULL;
		if (!neg) {
			e = a;
		} else {
			e = mk(c, E_NEG, pos);
			if (!e) {
				expr_free(a);
				return NULL;
			}
			e->a = a;
			e->end = a->end;
		}
	} else {
		e = p_primary(c);
	}
	if (!e)
		return NULL;
	e = p_postfix(c, e);
	if (e && with_filter)
		e = p_filters(c, e);
	return e;
}

static struct expr *bin(struct cc *c, enum ek k, int op, struct expr *a, struct expr *b)
{
	struct expr *e = mk(c, k, a->pos);
	if (!e) {
		expr_free(a);
		expr_free(b);
		return NULL;
	}
	e->op = op;
	e->a = a;
	e->b = b;
	e->end = b->end;
	return e;
}

/* Jinja's `**` binds tighter than * and looser than unary minus, and
 * associates to the left: -2 ** 2 is 4 and 2 ** 3 ** 2 is 64, as Jinja gives. */
static struct expr *p_pow(struct cc *c)
{
	struct expr *e = p_unary(c, 1);
	while (e && tok_is_op(c, "**")) {
		if (lex(c) < 0)
			goto fail;
		struct expr *b = p_unary(c, 1);
		if (!b)
			goto fail;
		e = bin(c, E_BIN, OP_POW, e, b);
	}
	return e;
fail:
	expr_free(e);
	return NULL;
}

static struct expr *p_math2(struct cc *c)
{
	struct expr *e = p_pow(c);
	while (e) {
		int op;
		if (tok_is_op(c, "*"))
			op = OP_MUL;
		else if (tok_is_op(c, "/"))
			op = OP_DIV;
		else if (tok_is_op(c, "//"))
			op = OP_FLOORDIV;
		else if (tok_is_op(c, "%"))
			op = OP_MOD;
		else
			break;
		if (lex(c) < 0)
			goto fail;
		struct expr *b = p_pow(c);
		if (!b)
			goto fail;
		e = bin(c, E_BIN, op, e, b);
	}
	return e;
fail:
	expr_free(e);
	return NULL;
}

static struct expr *p_concat(struct cc *c)
{
	struct expr *e = p_math2(c);
	while (e && tok_is_op(c, "~")) {
		if (lex(c) < 0)
			goto fail;
		struct expr *b = p_math2(c);
		if (!b)
			goto fail;
		e = bin(c, E_BIN, OP_CONCAT, e, b);
	}
	return e;
fail:
	expr_free(e);
	return NULL;
}

static struct expr *p_math1(struct cc *c)
{
	struct expr *e = p_concat(c);
	while (e && (tok_is_op(c, "+") || tok_is_op(c, "-"))) {
		int op = c->t.op[0] == '+' ? OP_ADD : OP_SUB;
		if (lex(c) < 0)
			goto fail;
		struct expr *b = p_concat(c);
		if (!b)
			goto fail;
		e = bin(c, E_BIN, op, e, b);
	}
	return e;
fail:
	expr_free(e);
	return NULL;
}

static struct expr *p_compare(struct cc *c)
{
	struct expr *e = p_math1(c);
	struct expr *cmp = NULL;
	if (!e)
		return NULL;
	for (;;) {
		int op;
		if (tok_is_op(c, "=="))
			op = OP_EQ;
		else if (tok_is_op(c, "!="))
			op = OP_NE;
		else if (tok_is_op(c, "<"))
			op = OP_LT;
		else if (tok_is_op(c, ">"))
			op = OP_GT;
		else if (tok_is_op(c, "<="))
			op = OP_LE;
		else if (tok_is_op(c, ">="))
			op = OP_GE;
		else if (tok_is_name(c, "in"))
			op = OP_IN;
		else if (tok_is_name(c, "not")) {
			/* `not in` only; a lone `not` here is a syntax error below */
			size_t save = c->p;
			struct tok st = c->t;
			if (lex(c) < 0)
				goto fail;
			if (!tok_is_name(c, "in")) {
				c->p = save;
				c->t = st;
				break;
			}
			op = OP_NOTIN;
		} else
			break;
		if (lex(c) < 0)
			goto fail;
		struct expr *b = p_math1(c);
		if (!b)
			goto fail;
		if (!cmp) {
			cmp = mk(c, E_CMP, e->pos);
			if (!cmp) {
				expr_free(b);
				goto fail;
			}
			cmp->a = e;
			e = NULL;
		}
		int *ops = realloc(cmp->ops, (cmp->nargs + 1) * sizeof(*ops));
		if (!ops) {
			expr_free(b);
			goto oom;
		}
		cmp->ops = ops;
		cmp->ops[cmp->nargs] = op;
		cmp->end = b->end;
		if (add_arg(c, cmp, b) < 0)
			goto fail;
	}
	if (cmp)
		return cmp;
	return e;
oom:
	c->failed = 1;
	lle_err_oom(c->err);
fail:
	expr_free(e);
	expr_free(cmp);
	return NULL;
}

static struct expr *p_not(struct cc *c)
{
	if (tok_is_name(c, "not")) {
		size_t pos = c->t.pos;
		if (lex(c) < 0)
			return NULL;
		struct expr *a = p_not(c);
		if (!a)
			return NULL;
		struct expr *e = mk(c, E_NOT, pos);
		if (!e) {
			expr_free(a);
			return NULL;
		}
		e->a = a;
		e->end = a->end;
		return e;
	}
	return p_compare(c);
}

static struct expr *p_and(struct cc *c)
{
	struct expr *e = p_not(c);
	while (e && tok_is_name(c, "and")) {
		if (lex(c) < 0)
			goto fail;
		struct expr *b = p_not(c);
		if (!b)
			goto fail;
		e = bin(c, E_AND, 0, e, b);
	}
	return e;
fail:
	expr_free(e);
	return NULL;
}

static struct expr *p_or(struct cc *c)
{
	struct expr *e = p_and(c);
	while (e && tok_is_name(c, "or")) {
		if (lex(c) < 0)
			goto fail;
		struct expr *b = p_and(c);
		if (!b)
			goto fail;
		e = bin(c, E_OR, 0, e, b);
	}
	return e;
fail:
	expr_free(e);
	return NULL;
}

static struct expr *p_expr(struct cc *c)
{
	struct expr *e = p_or(c);
	while (e && tok_is_name(c, "if")) {
		if (lex(c) < 0)
			goto fail;
		struct expr *cond = p_or(c);
		if (!cond)
			goto fail;
		struct expr *other = NULL;
		if (tok_is_name(c, "else")) {
			if (lex(c) < 0) {
				expr_free(cond);
				goto fail;
			}
			other = p_expr(c);
			if (!other) {
				expr_free(cond);
				goto fail;
			}
		}
		struct expr *x = mk(c, E_COND, e->pos);
		if (!x) {
			expr_free(cond);
			expr_free(other);
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
	expr_free(e);
	return NULL;
}

/* A whole tag's expression: [p, lim) must hold exactly one. */
static struct expr *p_tag_expr(struct cc *c)
{
	if (lex(c) < 0)
		return NULL;
	struct expr *e = p_expr(c);
	if (!e)
		return NULL;
	if (c->t.k != T_END) {
		char b[64];
		snprintf(b, sizeof(b), "%.*s", (int)(c->t.len < 40 ? c->t.len : 40), c->src + c->t.pos);
		cfail(c, c->t.pos, "unexpected '%s'", b);
		expr_free(e);
		return NULL;
	}
	return e;
}

/* Segments of the source: text with whitespace control applied, and tags. */
enum sk { S_TEXT, S_VAR, S_STMT };
struct seg {
	enum sk k;
	size_t pos, len;      /* S_TEXT: the (trimmed) text; tags: the inside */
};

struct segs {
	struct seg *v;
	size_t n, cap, i;
};

static int seg_push(struct cc *c, struct segs *s, enum sk k, size_t pos, size_t len)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct seg *v = realloc(s->v, cap * sizeof(*v));
		if (!v) {
			c->failed = 1;
			return lle_err_oom(c->err);
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n].k = k;
	s->v[s->n].pos = pos;
	s->v[s->n].len = len;
	s->n++;
	return 0;
}

static int ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

static int split_segments(struct cc *c, struct segs *out)
{
	const char *s = c->src;
	size_t n = strlen(s), i = 0, text = 0;
	int lstrip_next = 0;
	while (i < n) {
		if (s[i] != '{' || i + 1 >= n || (s[i + 1] != '{' && s[i + 1] != '%' && s[i + 1] != '#')) {
			i++;
			continue;
		}
		char kind = s[i + 1];
		size_t open = i;
		size_t inner = i + 2;
		int rstrip_prev = 0;
		if (inner < n && s[inner] == '-') {
			rstrip_prev = 1;
			inner++;
		} else if (inner < n && s[inner] == '+') {
			inner++;
		}
		/* the text before the tag */
		size_t a = text, b = open;
		if (lstrip_next)
			while (a < b && ws(s[a]))
				a++;
		if (rstrip_prev)
			while (b > a && ws(s[b - 1]))
				b--;
		if (b > a && seg_push(c, out, S_TEXT, a, b - a) < 0)
			return -1;
		/* find the end, skipping string literals inside code */
		char close = kind == '{' ? '}' : kind;
		size_t j = inner;
		int found = 0;
		while (j + 1 < n) {
			if (kind != '#' && (s[j] == '\'' || s[j] == '"')) {
				char q = s[j++];
				while (j < n && s[j] != q) {
					if (s[j] == '\\')
						j++;
					j++;
				}
				j++;
				continue;
			}
			if (s[j] == close && s[j + 1] == '}') {
				found = 1;
				break;
			}
			j++;
		}
		if (!found)
			return cfail(c, open, "'%s' is not closed", kind == '{' ? "{{" : kind == '%' ? "{%" : "{#");
		size_t inner_end = j;
		lstrip_next = 0;
		if (inner_end > inner && s[inner_end - 1] == '-') {
			lstrip_next = 1;
			inner_end--;
		} else if (inner_end > inner && s[inner_end - 1] == '+') {
			inner_end--;
		}
		if (kind != '#' && seg_push(c, out, kind == '{' ? S_VAR : S_STMT, inner, inner_end - inner) < 0)
			return -1;
		i = text = j + 2;
	}
	size_t a = text, b = n;
	if (lstrip_next)
		while (a < b && ws(s[a]))
			a++;
	if (b > a && seg_push(c, out, S_TEXT, a, b - a) < 0)
		return -1;
	return 0;
}

/* The first word of a statement tag, and the parser set after it. */
static int stmt_word(struct cc *c, const struct seg *sg, char *word, size_t wn)
{
	c->p = sg->pos;
	c->lim = sg->pos + sg->len;
	if (lex(c) < 0)
		return -1;
	if (c->t.k != T_NAME) {
		word[0] = '\0';
		return cfail(c, c->t.pos, "expected a statement name%s", "");
	}
	snprintf(word, wn, "%.*s", (int)c->t.len, c->src + c->t.pos);
	return 0;
}

static int parse_body(struct cc *c, struct segs *sg, struct nodelist *out, const char *const *stops,
		      char *stopped, size_t stopn);

static struct node *mknode(struct cc *c, enum nk k)
{
	struct node *n = calloc(1, sizeof(*n));
	if (!n) {
		c->failed = 1;
		lle_err_oom(c->err);
	} else {
		n->k = k;
	}
	return n;
}

static int rest_is_end(struct cc *c)
{
	if (lex(c) < 0)
		return -1;
	if (c->t.k != T_END)
		return cfail(c, c->t.pos, "unexpected text in the tag%s", "");
	return 0;
}

static int parse_if(struct cc *c, struct segs *sg, struct nodelist *out)
{
	struct node *n = mknode(c, N_IF);
	if (!n || list_push(out, n) < 0) {
		node_free(n);
		return lle_err_oom(c->err);
	}
	static const char *const stops[] = { "elif", "else", "endif", NULL };
	int have_else = 0;
	size_t open_pos = c->t.pos;
	for (;;) {
		struct expr *cond = NULL;
		if (!have_else) {
			cond = p_tag_expr(c);
			if (!cond)
				return -1;
		} else if (rest_is_end(c) < 0) {
			return -1;
		}
		struct expr **cv = realloc(n->conds, (n->nbr + 1) * sizeof(*cv));
		struct nodelist *bv = cv ? realloc(n->bodies, (n->nbr + 1) * sizeof(*bv)) : NULL;
		if (cv)
			n->conds = cv;
		if (!cv || !bv) {
			expr_free(cond);
			c->failed = 1;
			return lle_err_oom(c->err);
		}
		n->bodies = bv;
		n->conds[n->nbr] = cond;
		memset(&n->bodies[n->nbr], 0, sizeof(n->bodies[0]));
		n->nbr++;
		char stopped[16] = "";
		if (parse_body(c, sg, &n->bodies[n->nbr - 1], stops, stopped, sizeof(stopped)) < 0)
			return -1;
		if (!stopped[0])
			return cfail(c, open_pos, "'if' without 'endif'%s", "");
		if (!strcmp(stopped, "endif"))
			return rest_is_end(c);
		if (have_else)
			return cfail(c, c->t.pos, "'%s' after 'else'", stopped);
		if (!strcmp(stopped, "else"))
			have_else = 1;
	}
}

static int parse_for(struct cc *c, struct segs *sg, struct nodelist *out)
{
	size_t open_pos = c->t.pos;
	if (lex(c) < 0)
		return -1;
	if (c->t.k != T_NAME)
		return cfail(c, c->t.pos, "expected a loop variable%s", "");
	struct node *n = mknode(c, N_FOR);
	if (!n || list_push(out, n) < 0) {
		node_free(n);
		return lle_err_oom(c->err);
	}
	if (!(n->var = tok_text(c)))
		return lle_err_oom(c->err);
	if (lex(c) < 0)
		return -1;
	if (tok_is_op(c, ","))
		return cfail(c, c->t.pos, "unpacking several loop variables is not supported%s", "");
	if (!tok_is_name(c, "in"))
		return cfail(c, c->t.pos, "expected 'in'%s", "");
	if (lex(c) < 0)
		return -1;
	n->e = p_expr(c);
	if (!n->e)
		return -1;
	if (c->t.k != T_END)
		return cfail(c, c->t.pos, "unsupported text after the loop's list (filters with "
			     "'if' or 'recursive' are not supported)%s", "");
	static const char *const stops[] = { "endfor", "else", NULL };
	char stopped[16] = "";
	if (parse_body(c, sg, &n->body, stops, stopped, sizeof(stopped)) < 0)
		return -1;
	if (!stopped[0])
		return cfail(c, open_pos, "'for' without 'endfor'%s", "");
	if (strcmp(stopped, "endfor"))
		return cfail(c, c->t.pos, "'else' in a for loop is not supported%s", "");
	return rest_is_end(c);
}

static int parse_set(struct cc *c, struct nodelist *out)
{
	if (lex(c) < 0)
		return -1;
	if (c->t.k != T_NAME)
		return cfail(c, c->t.pos, "expected a variable name%s", "");
	struct node *n = mknode(c, N_SET);
	if (!n || list_push(out, n) < 0) {
		node_free(n);
		return lle_err_oom(c->err);
	}
	if (!(n->var = tok_text(c)))
		return lle_err_oom(c->err);
	if (lex(c) < 0)
		return -1;
	if (!tok_is_op(c, "="))
		return cfail(c, c->t.pos, "expected '=' (block set is not supported)%s", "");
	n->e = p_tag_expr(c);
	return n->e ? 0 : -1;
}

static int parse_body(struct cc *c, struct segs *sg, struct nodelist *out, const char *const *stops,
		      char *stopped, size_t stopn)
{
	while (sg->i < sg->n) {
		const struct seg *s = &sg->v[sg->i++];
		if (s->k == S_TEXT) {
			struct node *n = mknode(c, N_TEXT);
			if (!n || list_push(out, n) < 0) {
				node_free(n);
				return lle_err_oom(c->err);
			}
			if (!(n->text = lle_strndup(c->src + s->pos, s->len)))
				return lle_err_oom(c->err);
			n->len = s->len;
			continue;
		}
		if (s->k == S_VAR) {
			c->p = s->pos;
			c->lim = s->pos + s->len;
			struct node *n = mknode(c, N_OUT);
			if (!n || list_push(out, n) < 0) {
				node_free(n);
				return lle_err_oom(c->err);
			}
			n->e = p_tag_expr(c);
			if (!n->e)
				return -1;
			continue;
		}
		char w[32];
		if (stmt_word(c, s, w, sizeof(w)) < 0)
			return -1;
		if (stops && in_list(stops, w)) {
			snprintf(stopped, stopn, "%s", w);
			return 0;
		}
		int r;
		if (!strcmp(w, "if"))
			r = parse_if(c, sg, out);
		else if (!strcmp(w, "for"))
			r = parse_for(c, sg, out);
		else if (!strcmp(w, "set"))
			r = parse_set(c, out);
		else if (!strcmp(w, "elif") || !strcmp(w, "else") || !strcmp(w, "endif") ||
			 !strcmp(w, "endfor"))
			r = cfail(c, c->t.pos, "'%s' without a matching opening tag", w);
		else
			r = cfail(c, c->t.pos, "unsupported statement '%s'", w);
		if (r < 0)
			return -1;
	}
	return 0;
}

struct lle_tpl *lle_tpl_compile(const char *src, const char *who, struct lle_err *err)
{
	struct lle_tpl *t = calloc(1, sizeof(*t));
	if (!t || !(t->src = lle_strdup(src))) {
		free(t);
		lle_err_oom(err);
		return NULL;
	}
	struct cc c;
	memset(&c, 0, sizeof(c));
	c.src = t->src;
	c.who = who;
	c.err = err;
	struct segs sg = { 0 };
	int r = split_segments(&c, &sg);
	if (r == 0)
		r = parse_body(&c, &sg, &t->root, NULL, NULL, 0);
	free(sg.v);
	if (r < 0 || c.failed) {
		lle_tpl_free(t);
		return NULL;
	}
	return t;
}

/* ---------- rendering ---------- */

struct var {
	const char *name;
	json_t *v;             /* owned reference */
};

struct rc {                    /* render state */
	const struct lle_tpl *t;
	const json_t *doc;
	const char *who;
	struct lle_err *err;
	struct var *vars;      /* locals, innermost last */
	size_t nvars, capvars;
};

static int rfail(struct rc *r, const struct expr *e, const char *fmt, const char *arg)
{
	char m[300];
	snprintf(m, sizeof(m), fmt, arg);
	if (e)
		return lle_err_set(r->err, LLE_EXIT_DATA, "%s: %s (at character %zu)", r->who, m,
				   e->pos + 1);
	return lle_err_set(r->err, LLE_EXIT_DATA, "%s: %s", r->who, m);
}

static int missing(struct rc *r, const struct expr *e)
{
	char f[200];
	size_t n = e->end > e->pos ? e->end - e->pos : 0;
	if (n > sizeof(f) - 1)
		n = sizeof(f) - 1;
	memcpy(f, r->t->src + e->pos, n);
	f[n] = '\0';
	return lle_err_set(r->err, LLE_EXIT_DATA, "%s: missing field '%s'", r->who, f);
}

static int eval(struct rc *r, const struct expr *e, json_t **out);
static int float_result(struct rc *r, const struct expr *e, double z, json_t **out);

/* Evaluate and insist on a defined value. */
static int need(struct rc *r, const struct expr *e, json_t **out)
{
	if (eval(r, e, out) < 0)
		return -1;
	if (!*out)
		return missing(r, e);
	return 0;
}

static const char *type_name(const json_t *v)
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

static json_t *str_of(const json_t *v)
{
	if (json_is_string(v))
		return json_incref((json_t *)v);
	struct lle_buf b = LLE_BUF_INIT;
	if (lle_py_str(&b, v) < 0) {
		lle_buf_free(&b);
		return NULL;
	}
	json_t *j = json_stringn_nocheck(lle_buf_str(&b), b.n);
	lle_buf_free(&b);
	return j;
}

static json_t *buf_to_str(struct lle_buf *b)
{
	json_t *j = b->oom ? NULL : json_stringn_nocheck(lle_buf_str(b), b->n);
	lle_buf_free(b);
	return j;
}

static int is_intlike(const json_t *v)
{
	return json_is_integer(v) || json_is_boolean(v);
}

static long long ival(const json_t *v)
{
	return json_is_integer(v) ? json_integer_value(v) : json_is_true(v) ? 1 : 0;
}

/* Python-style index normalisation: -1 is the last. */
static int norm_index(long long i, size_t n, size_t *out)
{
	if (i < 0)
		i += (long long)n;
	if (i < 0 || (unsigned long long)i >= n)
		return -1;
	*out = (size_t)i;
	return 0;
}

/* Byte offset of the k-th character. */
static size_t char_off(const char *s, size_t n, size_t k)
{
	size_t i = 0, l;
	while (k-- && i < n) {
		lle_py_decode(s + i, n - i, &l);
		i += l;
	}
	return i;
}

static int do_index(struct rc *r, const struct expr *e, json_t *base, json_t *key, json_t **out)
{
	*out = NULL;
	if (json_is_object(base)) {
		if (!json_is_string(key))
			return 0; /* undefined */
		json_t *v = json_object_get(base, json_string_value(key));
		*out = v ? json_incref(v) : NULL;
		return 0;
	}
	if (!is_intlike(key))
		return rfail(r, e, "index must be an integer, not %s", type_name(key));
	size_t i;
	if (json_is_array(base)) {
		if (norm_index(ival(key), json_array_size(base), &i) == 0)
			*out = json_incref(json_array_get(base, i));
		return 0;
	}
	if (json_is_string(base)) {
		const char *s = json_string_value(base);
		size_t n = json_string_length(base);
		if (norm_index(ival(key), lle_py_len(s, n), &i) == 0) {
			size_t a = char_off(s, n, i), b = char_off(s, n, i + 1);
			*out = json_stringn_nocheck(s + a, b - a);
			if (!*out)
				return lle_err_oom(r->err);
		}
		return 0;
	}
	return rfail(r, e, "cannot index a value of type %s", type_name(base));
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

static int do_slice(struct rc *r, const struct expr *e, json_t *base, json_t **out)
{
	json_t *lo = NULL, *hi = NULL;
	int rcv = -1;
	*out = NULL;
	if (e->b && need(r, e->b, &lo) < 0)
		goto done;
	if (e->c && need(r, e->c, &hi) < 0)
		goto done;
	if ((lo && !is_intlike(lo)) || (hi && !is_intlike(hi))) {
		rfail(r, e, "slice indices must be integers%s", "");
		goto done;
	}
	if (json_is_array(base)) {
		long long n = (long long)json_array_size(base);
		long long a = lo ? clamp_slice(ival(lo), n) : 0, b = hi ? clamp_slice(ival(hi), n) : n;
		json_t *x = json_array();
		for (long long i = a; x && i < b; i++)
			if (json_array_append(x, json_array_get(base, (size_t)i)) < 0) {
				json_decref(x);
				x = NULL;
			}
		if (!x) {
			lle_err_oom(r->err);
			goto done;
		}
		*out = x;
	} else if (json_is_string(base)) {
		const char *s = json_string_value(base);
		size_t sn = json_string_length(base);
		long long n = (long long)lle_py_len(s, sn);
		long long a = lo ? clamp_slice(ival(lo), n) : 0, b = hi ? clamp_slice(ival(hi), n) : n;
		if (b < a)
			b = a;
		size_t x = char_off(s, sn, (size_t)a), y = char_off(s, sn, (size_t)b);
		*out = json_stringn_nocheck(s + x, y - x);
		if (!*out) {
			lle_err_oom(r->err);
			goto done;
		}
	} else {
		rfail(r, e, "cannot slice a value of type %s", type_name(base));
		goto done;
	}
	rcv = 0;
done:
	if (lo)
		json_decref(lo);
	if (hi)
		json_decref(hi);
	return rcv;
}

/* Evaluate the arguments of a method or filter; all must be defined. */
static int eval_args(struct rc *r, const struct expr *e, json_t **av)
{
	for (size_t i = 0; i < e->nargs; i++) {
		if (need(r, e->args[i], &av[i]) < 0) {
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
		if (av[i])
			json_decref(av[i]);
}

static int nargs_ok(struct rc *r, const struct expr *e, size_t lo, size_t hi)
{
	if (e->nargs < lo || e->nargs > hi)
		return rfail(r, e, "wrong number of arguments to '%s'", e->name);
	return 0;
}

static int want_str(struct rc *r, const struct expr *e, const json_t *v, const char *what)
{
	if (!json_is_string(v)) {
		char m[160];
		snprintf(m, sizeof(m), "%s needs a string, not %s", what, type_name(v));
		return rfail(r, e, "%s", m);
	}
	return 0;
}

/* Position (in characters) of sub in s, or -1. */
static long long str_find(const char *s, size_t n, const char *sub, size_t m)
{
	if (m > n)
		return -1;
	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(s + i, sub, m) == 0)
			return (long long)lle_py_len(s, i);
	return -1;
}

static int call_method(struct rc *r, const struct expr *e, json_t *self, json_t **av, json_t **out)
{
	const char *m = e->name;
	struct lle_buf b = LLE_BUF_INIT;
	*out = NULL;
	if (json_is_object(self)) {
		if (!strcmp(m, "get")) {
			if (nargs_ok(r, e, 1, 2) < 0)
				return -1;
			json_t *v = json_is_string(av[0]) ? json_object_get(self, json_string_value(av[0])) : NULL;
			*out = json_incref(v ? v : e->nargs == 2 ? av[1] : json_null());
			return 0;
		}
		if (!strcmp(m, "keys") || !strcmp(m, "values")) {
			if (nargs_ok(r, e, 0, 0) < 0)
				return -1;
			json_t *a = json_array();
			const char *k;
			json_t *v;
			json_object_foreach(self, k, v) {
				if (a && json_array_append_new(a, m[0] == 'k' ? json_string(k) : json_incref(v)) < 0) {
					json_decref(a);
					a = NULL;
				}
			}
			if (!a)
				return lle_err_oom(r->err);
			*out = a;
			return 0;
		}
		return rfail(r, e, "a dict has no method '%s'", m);
	}
	if (json_is_array(self)) {
		if (!strcmp(m, "index")) {
			if (nargs_ok(r, e, 1, 1) < 0)
				return -1;
			for (size_t i = 0; i < json_array_size(self); i++) {
				if (lle_py_eq(json_array_get(self, i), av[0])) {
					*out = json_integer((json_int_t)i);
					return *out ? 0 : lle_err_oom(r->err);
				}
			}
			struct lle_buf rb = LLE_BUF_INIT;
			lle_py_repr(&rb, av[0]);
			rfail(r, e, "%s is not in list", lle_buf_str(&rb));
			lle_buf_free(&rb);
			return -1;
		}
		return rfail(r, e, "a list has no method '%s'", m);
	}
	if (!json_is_string(self))
		return rfail(r, e, "a value of this type has no method '%s'", m);
	const char *s = json_string_value(self);
	size_t n = json_string_length(self);
	if (!strcmp(m, "strip") || !strcmp(m, "lstrip") || !strcmp(m, "rstrip")) {
		if (nargs_ok(r, e, 0, 1) < 0)
			return -1;
		const char *chars = NULL;
		if (e->nargs == 1 && !json_is_null(av[0])) {
			if (want_str(r, e, av[0], m) < 0)
				return -1;
			chars = json_string_value(av[0]);
		}
		int mode = m[0] == 's' ? LLE_STRIP_BOTH : m[0] == 'l' ? LLE_STRIP_LEFT : LLE_STRIP_RIGHT;
		lle_py_strip(&b, s, n, chars, mode);
	} else if (!strcmp(m, "lower") || !strcmp(m, "upper")) {
		if (nargs_ok(r, e, 0, 0) < 0)
			return -1;
		if (m[0] == 'l')
			lle_py_lower(&b, s, n);
		else
			lle_py_upper(&b, s, n);
	} else if (!strcmp(m, "split")) {
		if (nargs_ok(r, e, 0, 1) < 0)
			return -1;
		const char *sep = NULL;
		if (e->nargs == 1 && !json_is_null(av[0])) {
			if (want_str(r, e, av[0], "split") < 0)
				return -1;
			sep = json_string_value(av[0]);
			if (!*sep)
				return rfail(r, e, "empty separator%s", "");
		}
		*out = lle_py_split(s, n, sep);
		return *out ? 0 : lle_err_oom(r->err);
	} else if (!strcmp(m, "index") || !strcmp(m, "find")) {
		if (nargs_ok(r, e, 1, 1) < 0 || want_str(r, e, av[0], m) < 0)
			return -1;
		long long k = str_find(s, n, json_string_value(av[0]), json_string_length(av[0]));
		if (k < 0 && m[0] == 'i')
			return rfail(r, e, "substring not found%s", "");
		*out = json_integer(k);
		return *out ? 0 : lle_err_oom(r->err);
	} else if (!strcmp(m, "replace")) {
		if (nargs_ok(r, e, 2, 2) < 0 || want_str(r, e, av[0], m) < 0 || want_str(r, e, av[1], m) < 0)
			return -1;
		lle_py_replace(&b, s, n, json_string_value(av[0]), json_string_value(av[1]));
	} else if (!strcmp(m, "join")) {
		if (nargs_ok(r, e, 1, 1) < 0)
			return -1;
		if (!json_is_array(av[0]))
			return rfail(r, e, "join needs a list%s", "");
		for (size_t i = 0; i < json_array_size(av[0]); i++) {
			json_t *x = json_array_get(av[0], i);
			if (!json_is_string(x))
				return rfail(r, e, "join: item is %s, not str", type_name(x));
			if (i)
				lle_buf_add(&b, s, n);
			lle_buf_add(&b, json_string_value(x), json_string_length(x));
		}
	} else if (!strcmp(m, "startswith") || !strcmp(m, "endswith")) {
		if (nargs_ok(r, e, 1, 1) < 0 || want_str(r, e, av[0], m) < 0)
			return -1;
		size_t k = json_string_length(av[0]);
		int yes = k <= n && memcmp(m[0] == 's' ? s : s + n - k, json_string_value(av[0]), k) == 0;
		*out = json_boolean(yes);
		return 0;
	} else {
		return rfail(r, e, "a str has no method '%s'", m);
	}
	*out = buf_to_str(&b);
	return *out ? 0 : lle_err_oom(r->err);
}

/* int(d) for a float: 0 and *out set, or -1 when the integer would not fit
 * in 64 bits (Python's would; converting such a double in C is undefined). */
static int float_to_int(double d, long long *out)
{
	if (!(d >= -0x1p63 && d < 0x1p63))
		return -1;
	*out = (long long)d;
	return 0;
}

/* Jinja's int filter: int(x), else int(float(x)), else the default (0).
 * 0 and *out set, or -1 with the error for a value past 64 bits. */
static int to_int(struct rc *r, const struct expr *e, const json_t *v, const json_t *dflt, json_t **out)
{
	long long x;
	*out = NULL;
	if (json_is_integer(v)) {
		*out = json_incref((json_t *)v);
		return 0;
	}
	if (json_is_boolean(v)) {
		*out = json_integer(json_is_true(v));
		return *out ? 0 : lle_err_oom(r->err);
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
			int erange = errno == ERANGE;
			if (!*end) {
				lle_buf_free(&b);
				if (erange)
					return rfail(r, e, "int: the value does not fit in 64 bits%s", "");
				*out = json_integer(x);
				return *out ? 0 : lle_err_oom(r->err);
			}
			double f = strtod(s, &end);
			if (!*end)
				d = f;
		}
		lle_buf_free(&b);
	}
	if (!isnan(d)) {
		if (!isfinite(d)) /* Jinja catches int(float('inf'))'s OverflowError */
			return *out = dflt ? json_incref((json_t *)dflt) : json_integer(0), *out ? 0 : lle_err_oom(r->err);
		if (float_to_int(d, &x) < 0)
			return rfail(r, e, "int: the value does not fit in 64 bits%s", "");
		*out = json_integer(x);
	} else {
		*out = dflt ? json_incref((json_t *)dflt) : json_integer(0);
	}
	return *out ? 0 : lle_err_oom(r->err);
}

/* Python's re.sub(pattern, repl, s, count): repl may use \\1..\\99 and
 * \\g<N> for groups and the usual backslash escapes. */
static int regex_sub(struct rc *r, const struct expr *e, const char *pat, const char *repl,
		     long long count, const char *s, struct lle_buf *out)
{
	int ec;
	PCRE2_SIZE off;
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
					 PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &ec, &off, NULL);
	if (!code) {
		PCRE2_UCHAR m[200];
		pcre2_get_error_message(ec, m, sizeof(m));
		char msg[300];
		snprintf(msg, sizeof(msg), "regex_replace: pattern does not compile: %s", (const char *)m);
		return rfail(r, e, "%s", msg);
	}
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
	if (!md) {
		pcre2_code_free(code);
		return lle_err_oom(r->err);
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
			start++;
			while (start < len && ((unsigned char)s[start] & 0xC0) == 0x80)
				start++;
			opts = 0;
			continue;
		}
		if (rc < 0) {
			rv = rfail(r, e, "regex_replace: match failed%s", "");
			break;
		}
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		lle_buf_add(out, s + copied, ov[0] - copied);
		for (const char *q = repl; *q; q++) {
			if (*q != '\\' || !q[1]) {
				lle_buf_addc(out, *q);
				continue;
			}
			q++;
			int g = -1;
			if (*q >= '0' && *q <= '9') {
				g = *q - '0';
				if (q[1] >= '0' && q[1] <= '9')
					g = g * 10 + (*++q - '0');
			} else if (*q == 'g' && q[1] == '<') {
				char *end;
				g = (int)strtol(q + 2, &end, 10);
				if (*end != '>' || end == q + 2) {
					rv = rfail(r, e, "regex_replace: bad group reference%s", "");
					break;
				}
				q = end;
			}
			if (g >= 0) {
				if (g >= rc || ov[2 * g] == PCRE2_UNSET) {
					if (g > 0 && (uint32_t)g > 0) {
						uint32_t ng = 0;
						pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &ng);
						if ((uint32_t)g > ng) {
							rv = rfail(r, e, "regex_replace: invalid group reference%s", "");
							break;
						}
					}
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
		if (rv < 0)
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

static int apply_filter(struct rc *r, const struct expr *e, json_t *v, json_t **av, json_t **out)
{
	const char *f = e->name;
	struct lle_buf b = LLE_BUF_INIT;
	*out = NULL;
	if (!strcmp(f, "default") || !strcmp(f, "d")) {
		if (nargs_ok(r, e, 0, 2) < 0)
			return -1;
		int use_default = !v || (e->nargs == 2 && lle_py_truthy(av[1]) && !lle_py_truthy(v));
		if (use_default)
			*out = e->nargs ? json_incref(av[0]) : json_string("");
		else
			*out = json_incref(v);
		return *out ? 0 : lle_err_oom(r->err);
	}
	if (!v)
		return missing(r, e->a);
	if (!strcmp(f, "trim") || !strcmp(f, "lower") || !strcmp(f, "upper") || !strcmp(f, "capitalize") ||
	    !strcmp(f, "string")) {
		if (nargs_ok(r, e, 0, !strcmp(f, "trim") ? 1 : 0) < 0)
			return -1;
		json_t *s = str_of(v);
		if (!s)
			return lle_err_oom(r->err);
		const char *p = json_string_value(s);
		size_t n = json_string_length(s);
		if (f[0] == 't') {
			const char *chars = NULL;
			if (e->nargs == 1 && !json_is_null(av[0])) {
				if (want_str(r, e, av[0], "trim") < 0) {
					json_decref(s);
					return -1;
				}
				chars = json_string_value(av[0]);
			}
			lle_py_strip(&b, p, n, chars, LLE_STRIP_BOTH);
		} else if (f[0] == 'l') {
			lle_py_lower(&b, p, n);
		} else if (f[0] == 'u') {
			lle_py_upper(&b, p, n);
		} else if (f[0] == 'c') {
			size_t l = 0;
			if (n)
				lle_py_decode(p, n, &l);
			lle_py_upper(&b, p, l);
			lle_py_lower(&b, p + l, n - l);
		} else {
			lle_buf_add(&b, p, n);
		}
		json_decref(s);
		*out = buf_to_str(&b);
		return *out ? 0 : lle_err_oom(r->err);
	}
	if (!strcmp(f, "join")) {
		if (nargs_ok(r, e, 0, 1) < 0)
			return -1;
		const char *sep = "";
		if (e->nargs == 1) {
			if (want_str(r, e, av[0], "join") < 0)
				return -1;
			sep = json_string_value(av[0]);
		}
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
				lle_py_str(&b, json_array_get(v, i));
			}
		} else {
			return rfail(r, e, "join needs a list, not %s", type_name(v));
		}
		*out = buf_to_str(&b);
		return *out ? 0 : lle_err_oom(r->err);
	}
	if (!strcmp(f, "replace")) {
		if (nargs_ok(r, e, 2, 2) < 0 || want_str(r, e, av[0], "replace") < 0 ||
		    want_str(r, e, av[1], "replace") < 0)
			return -1;
		json_t *s = str_of(v);
		if (!s)
			return lle_err_oom(r->err);
		lle_py_replace(&b, json_string_value(s), json_string_length(s), json_string_value(av[0]),
			       json_string_value(av[1]));
		json_decref(s);
		*out = buf_to_str(&b);
		return *out ? 0 : lle_err_oom(r->err);
	}
	if (!strcmp(f, "regex_replace")) {
		if (nargs_ok(r, e, 2, 3) < 0 || want_str(r, e, av[0], "regex_replace") < 0 ||
		    want_str(r, e, av[1], "regex_replace") < 0)
			return -1;
		if (e->nargs == 3 && !is_intlike(av[2]))
			return rfail(r, e, "regex_replace: count must be an integer%s", "");
		json_t *sv = str_of(v);
		if (!sv)
			return lle_err_oom(r->err);
		int rr = regex_sub(r, e, json_string_value(av[0]), json_string_value(av[1]),
				   e->nargs == 3 ? ival(av[2]) : 0, json_string_value(sv), &b);
		json_decref(sv);
		if (rr < 0) {
			lle_buf_free(&b);
			return -1;
		}
		*out = buf_to_str(&b);
		return *out ? 0 : lle_err_oom(r->err);
	}
	if (!strcmp(f, "int")) {
		if (nargs_ok(r, e, 0, 1) < 0)
			return -1;
		return to_int(r, e, v, e->nargs ? av[0] : NULL, out);
	}
	if (!strcmp(f, "float")) {
		if (nargs_ok(r, e, 0, 1) < 0)
			return -1;
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
			return *out ? 0 : lle_err_oom(r->err);
		}
		return float_result(r, e, d, out);
	}
	if (!strcmp(f, "length") || !strcmp(f, "count")) {
		if (nargs_ok(r, e, 0, 0) < 0)
			return -1;
		size_t n;
		if (json_is_string(v))
			n = lle_py_len(json_string_value(v), json_string_length(v));
		else if (json_is_array(v))
			n = json_array_size(v);
		else if (json_is_object(v))
			n = json_object_size(v);
		else
			return rfail(r, e, "a value of type %s has no length", type_name(v));
		*out = json_integer((json_int_t)n);
		return *out ? 0 : lle_err_oom(r->err);
	}
	if (!strcmp(f, "first") || !strcmp(f, "last")) {
		if (nargs_ok(r, e, 0, 0) < 0)
			return -1;
		json_t *k = json_integer(f[0] == 'f' ? 0 : -1);
		if (!k)
			return lle_err_oom(r->err);
		int rr = do_index(r, e, v, k, out);
		json_decref(k);
		return rr;
	}
	if (!strcmp(f, "list")) {
		if (json_is_array(v)) {
			*out = json_incref(v);
			return 0;
		}
		if (json_is_string(v)) {
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
			*out = a;
			return a ? 0 : lle_err_oom(r->err);
		}
		return rfail(r, e, "cannot make a list of %s", type_name(v));
	}
	return rfail(r, e, "unsupported filter '%s'", f);
}

static int py_in(struct rc *r, const struct expr *e, json_t *x, json_t *coll)
{
	if (json_is_string(coll)) {
		if (!json_is_string(x))
			return rfail(r, e, "'in <string>' needs a string on the left, not %s", type_name(x));
		return str_find(json_string_value(coll), json_string_length(coll), json_string_value(x),
				json_string_length(x)) >= 0;
	}
	if (json_is_array(coll)) {
		for (size_t i = 0; i < json_array_size(coll); i++)
			if (lle_py_eq(json_array_get(coll, i), x))
				return 1;
		return 0;
	}
	if (json_is_object(coll))
		return json_is_string(x) && json_object_get(coll, json_string_value(x)) != NULL;
	return rfail(r, e, "'in' needs a string, list or dict on the right, not %s", type_name(coll));
}

/* <, >, <=, >= on numbers or strings: -1 error, else the comparison (-1/0/1) in *cmp.
 * Two integers compare exactly (as doubles, 2**53 + 1 would equal 2**53). */
static int order(struct rc *r, const struct expr *e, json_t *a, json_t *b, int *cmp)
{
	if (is_intlike(a) && is_intlike(b)) {
		long long x = ival(a), y = ival(b);
		*cmp = x < y ? -1 : x > y ? 1 : 0;
		return 0;
	}
	if ((json_is_number(a) || json_is_boolean(a)) && (json_is_number(b) || json_is_boolean(b))) {
		double x = json_is_boolean(a) ? json_is_true(a) : json_number_value(a);
		double y = json_is_boolean(b) ? json_is_true(b) : json_number_value(b);
		*cmp = x < y ? -1 : x > y ? 1 : 0;
		return 0;
	}
	if (json_is_string(a) && json_is_string(b)) {
		int c = strcmp(json_string_value(a), json_string_value(b));
		*cmp = c < 0 ? -1 : c > 0;
		return 0;
	}
	return rfail(r, e, "cannot order %s and another type", type_name(a));
}

static const char *const k_op_text[] = {
	[OP_ADD] = "+", [OP_SUB] = "-", [OP_MUL] = "*", [OP_DIV] = "/", [OP_FLOORDIV] = "//",
	[OP_MOD] = "%", [OP_POW] = "**", [OP_CONCAT] = "~",
};

/* Python's ints are unbounded; ours are 64-bit, and a result that does not
 * fit is refused rather than wrapped (or, for LLONG_MIN // -1, a SIGFPE). */
static int int_overflow(struct rc *r, const struct expr *e, const char *op)
{
	return rfail(r, e, "integer overflow: the result of '%s' does not fit in 64 bits", op);
}

/* A float result. Python prints inf and nan, but JSON values cannot hold
 * them, so a non-finite result is refused cleanly. */
static int float_result(struct rc *r, const struct expr *e, double z, json_t **out)
{
	if (!isfinite(z))
		return rfail(r, e, "float result is %s, which templates cannot represent",
			     isnan(z) ? "nan" : "infinite");
	*out = json_real(z);
	return *out ? 0 : lle_err_oom(r->err);
}

/* base ** exp for exp >= 0 by squaring; 1 on overflow. Once base*base
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

/* Python's float ** float (Objects/floatobject.c float_pow), for finite operands. */
static int float_pow(struct rc *r, const struct expr *e, double x, double y, json_t **out)
{
	if (y == 0)
		return float_result(r, e, 1.0, out);
	if (x == 0 && y < 0)
		return rfail(r, e, "0.0 cannot be raised to a negative power%s", "");
	if (x < 0 && y != floor(y))
		return rfail(r, e, "a negative number to a fractional power is complex, which templates "
			     "do not support%s", "");
	double z = pow(x, y);
	if (isinf(z))
		return rfail(r, e, "float overflow in '**'%s", "");
	return float_result(r, e, z, out);
}

/* Python's int op int for + - * // % ** (/ is done on floats). */
static int int_arith(struct rc *r, const struct expr *e, int op, long long x, long long y, json_t **out)
{
	long long z = 0;
	int overflow = 0;
	switch (op) {
	case OP_ADD: overflow = __builtin_add_overflow(x, y, &z); break;
	case OP_SUB: overflow = __builtin_sub_overflow(x, y, &z); break;
	case OP_MUL: overflow = __builtin_mul_overflow(x, y, &z); break;
	case OP_FLOORDIV:
	case OP_MOD: {
		if (y == 0)
			return rfail(r, e, "division by zero%s", "");
		if (y == -1) { /* C's x / -1 traps for LLONG_MIN */
			if (op == OP_MOD)
				z = 0;
			else
				overflow = __builtin_sub_overflow(0LL, x, &z);
			break;
		}
		/* Python floors the quotient; the remainder takes the divisor's sign */
		long long q = x / y, m = x % y;
		if (m != 0 && ((m < 0) != (y < 0))) {
			q--;
			m += y;
		}
		z = op == OP_MOD ? m : q;
		break;
	}
	case OP_POW:
		if (y < 0) /* Python: int ** negative int is a float */
			return float_pow(r, e, (double)x, (double)y, out);
		overflow = int_pow(x, y, &z);
		break;
	}
	if (overflow)
		return int_overflow(r, e, k_op_text[op]);
	*out = json_integer(z);
	return *out ? 0 : lle_err_oom(r->err);
}

/* Python's float op float (Objects/floatobject.c: float_div, float_divmod, float_rem). */
static int float_arith(struct rc *r, const struct expr *e, int op, double x, double y, json_t **out)
{
	if ((op == OP_DIV || op == OP_FLOORDIV || op == OP_MOD) && y == 0)
		return rfail(r, e, "division by zero%s", "");
	switch (op) {
	case OP_ADD: return float_result(r, e, x + y, out);
	case OP_SUB: return float_result(r, e, x - y, out);
	case OP_MUL: return float_result(r, e, x * y, out);
	case OP_DIV: return float_result(r, e, x / y, out);
	case OP_POW: return float_pow(r, e, x, y, out);
	}
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
	return float_result(r, e, op == OP_MOD ? mod : floordiv, out);
}

/* Python's str * int and list * int (either order): n copies, none if n <= 0. */
static int repeat(struct rc *r, const struct expr *e, json_t *seq, long long n, json_t **out)
{
	size_t unit = json_is_string(seq) ? json_string_length(seq) : json_array_size(seq);
	if (n < 0 || unit == 0)
		n = 0;
	if (n && unit && (unsigned long long)n > (64u << 20) / unit)
		return rfail(r, e, "the result of '*' would be over 64 MiB%s", "");
	if (json_is_string(seq)) {
		struct lle_buf b = LLE_BUF_INIT;
		for (long long i = 0; i < n; i++)
			lle_buf_add(&b, json_string_value(seq), unit);
		*out = buf_to_str(&b);
		return *out ? 0 : lle_err_oom(r->err);
	}
	json_t *x = json_array();
	for (long long i = 0; x && i < n; i++)
		if (json_array_extend(x, seq) < 0) {
			json_decref(x);
			x = NULL;
		}
	*out = x;
	return x ? 0 : lle_err_oom(r->err);
}

static int arith(struct rc *r, const struct expr *e, int op, json_t *a, json_t *b, json_t **out)
{
	if (op == OP_CONCAT) {
		struct lle_buf buf = LLE_BUF_INIT;
		lle_py_str(&buf, a);
		lle_py_str(&buf, b);
		*out = buf_to_str(&buf);
		return *out ? 0 : lle_err_oom(r->err);
	}
	if (op == OP_ADD && json_is_string(a) && json_is_string(b)) {
		struct lle_buf buf = LLE_BUF_INIT;
		lle_buf_add(&buf, json_string_value(a), json_string_length(a));
		lle_buf_add(&buf, json_string_value(b), json_string_length(b));
		*out = buf_to_str(&buf);
		return *out ? 0 : lle_err_oom(r->err);
	}
	if (op == OP_ADD && json_is_array(a) && json_is_array(b)) {
		json_t *x = json_copy(a);
		if (!x || json_array_extend(x, b) < 0) {
			if (x)
				json_decref(x);
			return lle_err_oom(r->err);
		}
		*out = x;
		return 0;
	}
	if (op == OP_MUL && (json_is_string(a) || json_is_array(a)) && is_intlike(b))
		return repeat(r, e, a, ival(b), out);
	if (op == OP_MUL && is_intlike(a) && (json_is_string(b) || json_is_array(b)))
		return repeat(r, e, b, ival(a), out);
	int na = json_is_number(a) || json_is_boolean(a), nb = json_is_number(b) || json_is_boolean(b);
	if (!na || !nb) {
		char m[100];
		snprintf(m, sizeof(m), "unsupported operand types %s and %s", type_name(a), type_name(b));
		return rfail(r, e, "%s", m);
	}
	if (is_intlike(a) && is_intlike(b) && op != OP_DIV)
		return int_arith(r, e, op, ival(a), ival(b), out);
	double x = json_is_boolean(a) ? json_is_true(a) : json_number_value(a);
	double y = json_is_boolean(b) ? json_is_true(b) : json_number_value(b);
	return float_arith(r, e, op, x, y, out);
}

static json_t *lookup(struct rc *r, const char *name)
{
	for (size_t i = r->nvars; i-- > 0;)
		if (!strcmp(r->vars[i].name, name))
			return r->vars[i].v;
	return json_object_get(r->doc, name);
}

static int eval(struct rc *r, const struct expr *e, json_t **out)
{
	json_t *a = NULL, *b = NULL;
	int rv = -1;
	*out = NULL;
	switch (e->k) {
	case E_LIT:
		*out = json_incref(e->lit);
		return 0;
	case E_NAME: {
		json_t *v = lookup(r, e->name);
		*out = v ? json_incref(v) : NULL;
		return 0;
	}
	case E_ATTR:
		if (need(r, e->a, &a) < 0)
			return -1;
		if (json_is_object(a)) {
			json_t *v = json_object_get(a, e->name);
			*out = v ? json_incref(v) : NULL;
		}
		rv = 0; /* an attribute of anything else is undefined */
		break;
	case E_INDEX:
		if (need(r, e->a, &a) < 0 || need(r, e->b, &b) < 0)
			break;
		rv = do_index(r, e, a, b, out);
		break;
	case E_SLICE:
		if (need(r, e->a, &a) < 0)
			break;
		rv = do_slice(r, e, a, out);
		break;
	case E_METHOD: {
		json_t *av[4] = { 0 };
		if (e->nargs > 4) {
			rfail(r, e, "too many arguments to '%s'", e->name);
			break;
		}
		if (need(r, e->a, &a) < 0 || eval_args(r, e, av) < 0)
			break;
		rv = call_method(r, e, a, av, out);
		free_args(av, e->nargs);
		break;
	}
	case E_FILTER: {
		json_t *av[4] = { 0 };
		if (e->nargs > 4) {
			rfail(r, e, "too many arguments to '%s'", e->name);
			break;
		}
		if (eval(r, e->a, &a) < 0 || eval_args(r, e, av) < 0)
			break;
		rv = apply_filter(r, e, a, av, out);
		free_args(av, e->nargs);
		break;
	}
	case E_TEST: {
		if (eval(r, e->a, &a) < 0)
			break;
		int yes;
		if (!strcmp(e->name, "defined") || !strcmp(e->name, "undefined")) {
			yes = (a != NULL) == (e->name[0] == 'd');
		} else {
			if (!a) {
				missing(r, e->a);
				break;
			}
			yes = !strcmp(e->name, "none") ? json_is_null(a)
				: !strcmp(e->name, "string") ? json_is_string(a)
				: json_is_number(a) || json_is_boolean(a);
		}
		*out = json_boolean(e->op ? !yes : yes);
		rv = 0;
		break;
	}
	case E_BIN:
		if (need(r, e->a, &a) < 0 || need(r, e->b, &b) < 0)
			break;
		rv = arith(r, e, e->op, a, b, out);
		break;
	case E_CMP: {
		if (need(r, e->a, &a) < 0)
			break;
		int result = 1;
		for (size_t i = 0; i < e->nargs && result; i++) {
			if (need(r, e->args[i], &b) < 0)
				goto done;
			int op = e->ops[i], c = 0;
			switch (op) {
			case OP_EQ: result = lle_py_eq(a, b); break;
			case OP_NE: result = !lle_py_eq(a, b); break;
			case OP_IN:
			case OP_NOTIN:
				result = py_in(r, e, a, b);
				if (result < 0)
					goto done;
				if (op == OP_NOTIN)
					result = !result;
				break;
			default:
				if (order(r, e, a, b, &c) < 0)
					goto done;
				result = op == OP_LT ? c < 0 : op == OP_GT ? c > 0 : op == OP_LE ? c <= 0 : c >= 0;
			}
			json_decref(a);
			a = b;
			b = NULL;
		}
		*out = json_boolean(result);
		rv = 0;
		break;
	}
	case E_NOT:
		if (need(r, e->a, &a) < 0)
			break;
		*out = json_boolean(!lle_py_truthy(a));
		rv = 0;
		break;
	case E_NEG:
		if (need(r, e->a, &a) < 0)
			break;
		if (is_intlike(a) && ival(a) == LLONG_MIN) {
			int_overflow(r, e, "-");
			break;
		} else if (is_intlike(a))
			*out = json_integer(-ival(a));
		else if (json_is_real(a))
			*out = json_real(-json_real_value(a));
		else {
			rfail(r, e, "bad operand type for unary -: %s", type_name(a));
			break;
		}
		rv = *out ? 0 : lle_err_oom(r->err);
		break;
	case E_AND:
	case E_OR:
		/* Python returns the deciding operand itself */
		if (need(r, e->a, &a) < 0)
			break;
		if (lle_py_truthy(a) == (e->k == E_OR)) {
			*out = a;
			return 0;
		}
		return need(r, e->b, out) < 0 ? (json_decref(a), -1) : (json_decref(a), 0);
	case E_COND:
		if (need(r, e->b, &b) < 0)
			break;
		if (lle_py_truthy(b))
			rv = eval(r, e->a, out);
		else
			rv = e->c ? eval(r, e->c, out) : 0;
		break;
	case E_RANGE: {
		long long a3[3] = { 0, 0, 1 };
		for (size_t i = 0; i < e->nargs; i++) {
			json_t *x;
			if (need(r, e->args[i], &x) < 0)
				goto done;
			int ok = is_intlike(x);
			a3[e->nargs == 1 ? 1 : i] = ival(x);
			json_decref(x);
			if (!ok) {
				rfail(r, e, "range() needs integers%s", "");
				goto done;
			}
		}
		if (a3[2] == 0) {
			rfail(r, e, "range() step must not be zero%s", "");
			goto done;
		}
		json_t *l = json_array();
		for (long long i = a3[0]; l && (a3[2] > 0 ? i < a3[1] : i > a3[1]);) {
			if (json_array_size(l) >= 1000000 || json_array_append_new(l, json_integer(i)) < 0) {
				json_decref(l);
				l = NULL;
			}
			if (__builtin_add_overflow(i, a3[2], &i))
				break; /* past the 64-bit range, so past the stop */
		}
		if (!l) {
			rfail(r, e, "range() is too long%s", "");
			goto done;
		}
		*out = l;
		rv = 0;
		break;
	}
	case E_LIST: {
		json_t *l = json_array();
		if (!l) {
			lle_err_oom(r->err);
			break;
		}
		for (size_t i = 0; i < e->nargs; i++) {
			json_t *x;
			if (need(r, e->args[i], &x) < 0) {
				json_decref(l);
				goto done;
			}
			if (json_array_append_new(l, x) < 0) {
				json_decref(l);
				lle_err_oom(r->err);
				goto done;
			}
		}
		*out = l;
		rv = 0;
		break;
	}
	}
done:
	if (a)
		json_decref(a);
	if (b)
		json_decref(b);
	if (rv < 0 && *out) {
		json_decref(*out);
		*out = NULL;
	}
	return rv;
}

static int push_var(struct rc *r, const char *name, json_t *v)
{
	if (r->nvars == r->capvars) {
		size_t cap = r->capvars ? r->capvars * 2 : 8;
		struct var *nv = realloc(r->vars, cap * sizeof(*nv));
		if (!nv) {
			json_decref(v);
			return lle_err_oom(r->err);
		}
		r->vars = nv;
		r->capvars = cap;
	}
	r->vars[r->nvars].name = name;
	r->vars[r->nvars].v = v;
	r->nvars++;
	return 0;
}

static void pop_vars(struct rc *r, size_t to)
{
	while (r->nvars > to)
		json_decref(r->vars[--r->nvars].v);
}

static int render_list(struct rc *r, const struct nodelist *l, struct lle_buf *out);

static int render_for(struct rc *r, const struct node *n, struct lle_buf *out)
{
	json_t *it;
	if (need(r, n->e, &it) < 0)
		return -1;
	json_t *items;
	if (json_is_array(it)) {
		items = json_incref(it);
	} else if (json_is_object(it)) {
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
		items = json_array();
		const char *p = json_string_value(it);
		size_t len = json_string_length(it), i = 0, l;
		while (items && i < len) {
			lle_py_decode(p + i, len - i, &l);
			if (json_array_append_new(items, json_stringn_nocheck(p + i, l)) < 0) {
				json_decref(items);
				items = NULL;
			}
			i += l;
		}
	} else {
		json_decref(it);
		return rfail(r, n->e, "cannot loop over a value of type %s", type_name(it));
	}
	json_decref(it);
	if (!items)
		return lle_err_oom(r->err);
	size_t len = json_array_size(items), base = r->nvars;
	int rv = 0;
	for (size_t i = 0; i < len && rv == 0; i++) {
		json_t *loop = json_pack("{sIsIsIsIsbsbsI}", "index", (json_int_t)i + 1, "index0",
					 (json_int_t)i, "revindex", (json_int_t)(len - i), "revindex0",
					 (json_int_t)(len - i - 1), "first", i == 0, "last", i + 1 == len,
					 "length", (json_int_t)len);
		if (!loop) {
			rv = lle_err_oom(r->err);
			break;
		}
		if (push_var(r, "loop", loop) < 0 ||
		    push_var(r, n->var, json_incref(json_array_get(items, i))) < 0) {
			rv = -1;
			break;
		}
		size_t inner = r->nvars;
		rv = render_list(r, &n->body, out);
		/* a {% set %} inside the body does not outlive the iteration */
		pop_vars(r, inner);
		pop_vars(r, base);
	}
	pop_vars(r, base);
	json_decref(items);
	return rv;
}

static int render_list(struct rc *r, const struct nodelist *l, struct lle_buf *out)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct node *n = l->v[i];
		json_t *v = NULL;
		switch (n->k) {
		case N_TEXT:
			if (lle_buf_add(out, n->text, n->len) < 0)
				return lle_err_oom(r->err);
			break;
		case N_OUT:
			if (need(r, n->e, &v) < 0)
				return -1;
			lle_py_str(out, v);
			json_decref(v);
			if (out->oom)
				return lle_err_oom(r->err);
			break;
		case N_SET:
			if (need(r, n->e, &v) < 0 || push_var(r, n->var, v) < 0)
				return -1;
			break;
		case N_IF:
			for (size_t b = 0; b < n->nbr; b++) {
				int take = 1;
				if (n->conds[b]) {
					if (need(r, n->conds[b], &v) < 0)
						return -1;
					take = lle_py_truthy(v);
					json_decref(v);
				}
				if (take) {
					if (render_list(r, &n->bodies[b], out) < 0)
						return -1;
					break;
				}
			}
			break;
		case N_FOR:
			if (render_for(r, n, out) < 0)
				return -1;
			break;
		}
	}
	return 0;
}

char *lle_tpl_render(const struct lle_tpl *t, const json_t *doc, const char *who, size_t *len,
		     struct lle_err *err)
{
	struct rc r;
	memset(&r, 0, sizeof(r));
	r.t = t;
	r.doc = doc;
	r.who = who;
	r.err = err;
	struct lle_buf out = LLE_BUF_INIT;
	int rv = render_list(&r, &t->root, &out);
	pop_vars(&r, 0);
	free(r.vars);
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
