/* The template engine's inside, shared by its phases and by nothing else:
 *
 *   template_lex.c       source -> text segments and tags; a tag -> tokens
 *   template_parse.c     tokens -> the expression trees below
 *   template_stmt.c      segments -> the node tree (statements);
 *                        lle_tpl_compile, lle_tpl_free
 *   template_eval.c      the tree + a document -> text: expressions, subscripts,
 *                        statements; lle_tpl_render
 *   template_ops.c       operators: arithmetic (Python's, checked), comparison,
 *                        membership; value helpers
 *   template_builtins.c  the tables of filters, methods and tests, and range()
 *   template_chat.c      chat templates only: calls (macros, namespace(),
 *                        raise_exception(), strftime_now()), tojson, and the
 *                        filters, tests and methods only they have
 *
 * Callers use template.h only. Values are jansson values taken as the
 * Python values json.loads gives; "undefined" is a NULL value. */
#ifndef LLE_TASKS_TEMPLATE_INT_H
#define LLE_TASKS_TEMPLATE_INT_H

#include <jansson.h>
#include <stddef.h>

#include "tasks/pystr.h"
#include "tasks/template.h"
#include "util/buf.h"
#include "util/err.h"

/* ---------- the tree ---------- */

enum expr_kind {
	EXPR_LITERAL,          /* literal */
	EXPR_NAME,             /* name */
	EXPR_ATTR,             /* a.name */
	EXPR_INDEX,            /* a[b] */
	EXPR_SLICE,            /* a[b:c], b and c optional */
	EXPR_METHOD,           /* a.name(args) */
	EXPR_FILTER,           /* a | name(args) */
	EXPR_TEST,             /* a is [not] name; negated in op */
	EXPR_BINARY,           /* a op b */
	EXPR_COMPARE,          /* a ops[0] args[0] ops[1] args[1] ... (chained) */
	EXPR_NOT,              /* not a */
	EXPR_NEGATE,           /* -a */
	EXPR_AND,              /* a and b */
	EXPR_OR,               /* a or b */
	EXPR_CONDITIONAL,      /* a if b else c, c optional */
	EXPR_LIST,             /* [args] */
	EXPR_DICT,             /* {args[0]: args[1], args[2]: args[3], ...} */
	EXPR_RANGE,            /* range(args) */
	EXPR_CALL,             /* name(args): a macro or a chat global (template_chat.c) */
};

enum binop {
	OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_POW, OP_CONCAT,
	OP_EQ, OP_NE, OP_LT, OP_GT, OP_LE, OP_GE, OP_IN, OP_NOTIN
};

struct tpl_builtin;
struct tpl_test;

struct expr {
	enum expr_kind kind;
	int op;                /* EXPR_BINARY: enum binop; EXPR_TEST: negated */
	char *name;            /* EXPR_NAME, EXPR_ATTR, EXPR_METHOD, EXPR_FILTER, EXPR_TEST */
	const struct tpl_builtin *filter;  /* EXPR_FILTER, resolved when compiling */
	const struct tpl_test *test;       /* EXPR_TEST, resolved when compiling */
	json_t *literal;       /* EXPR_LITERAL */
	struct expr *a, *b, *c;
	struct expr **args;    /* EXPR_METHOD, EXPR_FILTER, EXPR_LIST, EXPR_DICT, EXPR_RANGE;
				  EXPR_COMPARE: the right operands */
	int *ops;              /* EXPR_COMPARE: the operators */
	size_t nargs;
	char **kwnames;        /* the names of the last nkwargs args (keyword arguments) */
	size_t nkwargs;
	size_t pos, end;       /* source span, for messages */
};

enum node_kind {
	NODE_TEXT, NODE_OUTPUT, NODE_IF, NODE_FOR, NODE_SET,
	/* chat templates only (lle_tpl_compile_chat) */
	NODE_BREAK, NODE_CONTINUE,
	NODE_SET_BLOCK,        /* {% set var %}body{% endset %} */
	NODE_MACRO,            /* {% macro var(params) %}body{% endmacro %}: defines, renders nothing */
	NODE_GENERATION,       /* transformers' {% generation %}body{% endgeneration %} */
};

struct node;
struct nodelist {
	struct node **v;
	size_t n, cap;
};

struct node {
	enum node_kind kind;
	char *text;            /* NODE_TEXT */
	size_t len;
	struct expr *e;        /* NODE_OUTPUT, NODE_FOR (the iterable), NODE_SET */
	char *var;             /* NODE_FOR, NODE_SET */
	struct expr **conds;   /* NODE_IF: one per branch; NULL for else */
	struct nodelist *bodies;
	size_t nbranches;
	struct nodelist body;  /* NODE_FOR, NODE_SET_BLOCK, NODE_MACRO, NODE_GENERATION */
	char *var2;            /* NODE_FOR: the second name of `for a, b in`; NODE_SET: the
				  attribute of `set ns.attr =` (var the namespace) */
	struct expr *cond;     /* NODE_FOR: `for x in xs if cond` */
	struct nodelist else_body;  /* NODE_FOR: {% else %}, rendered when nothing was iterated */
	char **params;         /* NODE_MACRO: parameter names */
	struct expr **defaults;/* NODE_MACRO: their defaults (NULL: none) */
	size_t nparams;
	int uses_loop;         /* NODE_FOR: `loop` appears in the tag or body (else none is made) */
};

struct lle_tpl {
	char *src;
	struct nodelist root;
	int chat;              /* compiled by lle_tpl_compile_chat */
	const struct node **macros;  /* NODE_MACROs anywhere in the tree, by name */
	size_t nmacros;
};

/* ---------- lexing (template_lex.c) ---------- */

/* The source cut into text (whitespace control applied) and tags. */
enum segment_kind { SEG_TEXT, SEG_OUTPUT, SEG_STATEMENT };
struct segment {
	enum segment_kind kind;
	size_t pos, len;       /* SEG_TEXT: the (trimmed) text; tags: the inside */
};
struct segments {
	struct segment *v;
	size_t n, cap;
	size_t next;           /* the parser's position */
};

enum token_kind { TOK_END, TOK_NAME, TOK_INT, TOK_FLOAT, TOK_STRING, TOK_OP };
struct token {
	enum token_kind kind;
	size_t pos, len;       /* offset in src */
	char op[3];
};

struct tpl_parser {
	const char *src;
	const char *who;
	struct lle_err *err;
	int failed;            /* an error is set: later ones are dropped */
	size_t p, lim;         /* the tag being parsed: [p, lim) */
	struct token tok;      /* the current token */
	int chat;              /* chat template syntax and environment */
	struct lle_tpl *tpl;   /* being compiled (macros are registered on it) */
};

/* "WHO: at character N: MESSAGE" (code LLE_EXIT_CONFIG); only the first
 * error of a compilation is kept. Returns -1. */
int lle_tpl_syntax_error(struct tpl_parser *P, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int lle_tpl_parser_oom(struct tpl_parser *P);
int lle_tpl_split_segments(struct tpl_parser *P, struct segments *out);
/* Start lexing the tag [pos, pos + len) and read its first token. */
int lle_tpl_lex_start(struct tpl_parser *P, size_t pos, size_t len);
/* The next token into P->tok; -1 on a lexical error. */
int lle_tpl_lex(struct tpl_parser *P);
int lle_tpl_tok_is_op(const struct tpl_parser *P, const char *op);
int lle_tpl_tok_is_name(const struct tpl_parser *P, const char *name);
char *lle_tpl_tok_text(const struct tpl_parser *P);
/* The current token's text when it is a name (a new string); otherwise a
 * syntax error `expected` at the token, or out of memory: NULL. */
char *lle_tpl_tok_name(struct tpl_parser *P, const char *expected);

/* ---------- parsing (template_parse.c: expressions; template_stmt.c: statements) ---------- */

void lle_tpl_expr_free(struct expr *e);
/* An expression from the current token on; NULL (the error set) if none. */
struct expr *lle_tpl_parse_expression(struct tpl_parser *P);
/* An expression without `a if b else c` (a for loop's list, which `if` filters). */
struct expr *lle_tpl_parse_or(struct tpl_parser *P);
/* The rest of the tag, after the current token, as exactly one expression. */
struct expr *lle_tpl_parse_rest_as_expression(struct tpl_parser *P);
/* The current token must be op: read past it. */
int lle_tpl_expect_op(struct tpl_parser *P, const char *op);

/* ---------- rendering (template_eval.c) ---------- */

struct tpl_var {
	const char *name;
	json_t *v;             /* owned reference */
};

/* A for loop being rendered: `loop` is its marker (one object per loop,
 * not per item), read field by field (template_eval.c). */
struct tpl_loop {
	json_t *marker, *items;
	size_t i, len;
};

struct tpl_render {
	const struct lle_tpl *t;
	const json_t *doc;
	const char *who;
	struct lle_err *err;
	struct tpl_var *vars;  /* locals, innermost last */
	size_t nvars, capvars;
	int lenient;           /* chat: Jinja's default Undefined (prints "", is false) */
	int loopctl;           /* chat: 1 after {% break %}, 2 after {% continue %} */
	int depth;             /* macro call depth */
	struct tpl_loop *loops;  /* the for loops being rendered, innermost last */
	size_t nloops, caploops;
};

/* "WHO: MESSAGE (at character N)" (code LLE_EXIT_DATA); e may be NULL.
 * Returns -1. */
int lle_tpl_render_error(struct tpl_render *R, const struct expr *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "WHO: missing field 'SOURCE TEXT OF e'". Returns -1. */
int lle_tpl_missing(struct tpl_render *R, const struct expr *e);
int lle_tpl_oom(struct tpl_render *R);
/* Call filter or method b for the call e on self (evaluated) with args av:
 * checks the positional argument count and an undefined self. */
int lle_tpl_call_builtin(struct tpl_render *R, const struct expr *e, const struct tpl_builtin *b,
			 json_t *self, json_t **av, json_t **out);
/* *out: a new reference, or NULL for undefined. 0 or -1. */
int lle_tpl_eval(struct tpl_render *R, const struct expr *e, json_t **out);
/* The same, undefined being a "missing field" error. */
int lle_tpl_eval_defined(struct tpl_render *R, const struct expr *e, json_t **out);
/* base[key] as Python (a dict's missing key, a list's index past the end:
 * undefined). */
int lle_tpl_subscript(struct tpl_render *R, const struct expr *e, json_t *base, json_t *key,
		      json_t **out);

/* Render nodes (template_eval.c), for macro calls. */
int lle_tpl_render_nodes(struct tpl_render *R, const struct nodelist *l, struct lle_buf *out);
int lle_tpl_push_var(struct tpl_render *R, const char *name, json_t *v); /* v stolen */
void lle_tpl_pop_vars(struct tpl_render *R, size_t to);

/* ---------- chat templates (template_chat.c) ---------- */

/* name(args) (EXPR_CALL): a macro, namespace(), raise_exception(),
 * strftime_now(). */
int lle_tpl_call(struct tpl_render *R, const struct expr *e, json_t **out);
/* Whether name is a function a chat template may call (checked when compiling). */
int lle_tpl_chat_function(const struct lle_tpl *t, const char *name);
/* Namespaces are dicts marked with a key no document has. */
int lle_tpl_is_namespace(const json_t *v);
/* fn(user, v) for each literal value of t's tree (its expressions'
 * constants), stopping at the first -1, which it returns. For a caller
 * that pins them (run/chat.c): they live as long as t and are only read. */
typedef int (*lle_tpl_literal_fn)(void *user, json_t *v);
int lle_tpl_each_literal(const struct lle_tpl *t, lle_tpl_literal_fn fn, void *user);
/* json.dumps(v, ensure_ascii=False, indent, separators, sort_keys) as Python writes it. */
int lle_tpl_json_dumps(struct lle_buf *out, const json_t *v, long long indent, const char *item_sep,
		       const char *key_sep, int sort_keys, int level);

/* ---------- views (template_eval.c) ---------- */

/* range(), dict.keys() and dict.values() give Python objects that are not
 * lists and print otherwise: range(0, 3), dict_keys(['a']). Such a "view"
 * is a JSON object with one key no document can have (it starts with a NUL
 * byte), holding the items and how to print them. lle_tpl_eval hands every
 * consumer the items, a list; only printing, {% set %}, list and dict
 * literals, and/or and if-else keep the view itself. */
json_t *lle_tpl_view_new(const char *kind, json_t *items, long long start, long long stop,
			 long long step); /* items stolen; NULL out of memory */
/* Python's inf, -inf or nan (z not finite), which JSON cannot hold: a
 * view that prints as Python prints it; operators refuse it. NULL: out of memory. */
json_t *lle_tpl_nonfinite(double z);
/* The items of a view (a tuple inside a list, say), or v itself. */
const json_t *lle_tpl_unview(const json_t *v);
/* str(v) (repr: repr(v)) as Python prints it, views included. */
int lle_tpl_print(struct lle_buf *out, const json_t *v, int repr);

/* ---------- operators and values (template_ops.c) ---------- */

const char *lle_tpl_type_name(const json_t *v);
int lle_tpl_is_intlike(const json_t *v);  /* int or bool */
long long lle_tpl_int_value(const json_t *v);
/* str(v) as a new JSON string; NULL out of memory. */
json_t *lle_tpl_str(const json_t *v);
/* A string's characters (code points) as a list of one-character strings,
 * as Python iterates a str; NULL out of memory (template_builtins.c). */
json_t *lle_tpl_characters(const json_t *v);
/* b's text as a new JSON string, b freed; NULL out of memory. */
json_t *lle_tpl_buf_to_str(struct lle_buf *b);
/* Byte offset of the k-th character of s[0, n). */
size_t lle_tpl_char_offset(const char *s, size_t n, size_t k);
/* Position, in characters, of sub in s, or -1. */
long long lle_tpl_str_find(const char *s, size_t n, const char *sub, size_t m);
/* A float value; a non-finite one (Python's inf, nan) is an error. */
int lle_tpl_float(struct tpl_render *R, const struct expr *e, double z, json_t **out);
/* a OP b for + - * / // % ** ~. */
int lle_tpl_binary(struct tpl_render *R, const struct expr *e, int op, json_t *a, json_t *b,
		   json_t **out);
int lle_tpl_negate(struct tpl_render *R, const struct expr *e, json_t *a, json_t **out);
/* a OP b for == != < > <= >= in, not in: 0/1 in *result. */
int lle_tpl_compare(struct tpl_render *R, const struct expr *e, int op, json_t *a, json_t *b,
		    int *result);

/* ---------- builtins (template_builtins.c) ---------- */

/* A filter or method: self is the value filtered or the method's object
 * (NULL when undefined, for a filter that accepts_undefined), args the
 * evaluated arguments (their count already checked against min/max). */
typedef int (*lle_tpl_builtin_fn)(struct tpl_render *R, const struct expr *e, json_t *self,
				  json_t **args, json_t **out);
struct tpl_builtin {
	const char *name;
	json_type self_type;   /* methods: the object's type */
	unsigned char min_args, max_args;   /* positional arguments */
	unsigned char accepts_undefined;
	lle_tpl_builtin_fn fn;
	const char *const *keywords;        /* keyword arguments it takes, NULL-ended; or NULL */
	unsigned char undefined_as_empty;   /* chat: an undefined value filters as "" (Jinja's
					       Undefined is "" as str, 0 long, iterates nothing) */
};
struct tpl_test {
	const char *name;
	unsigned char accepts_undefined;
	int (*fn)(const json_t *v);
	unsigned char nargs;   /* 1: fn2 with the argument (equalto x) */
	int (*fn2)(const json_t *v, const json_t *arg);
};

enum { LLE_TPL_MAX_ARGS = 4 };

const struct tpl_builtin *lle_tpl_find_filter(const char *name);
/* The method `name` of a value of type t; NULL when it has none. */
const struct tpl_builtin *lle_tpl_find_method(const char *name, json_type t);
/* Whether any type has a method `name` (checked when compiling). */
int lle_tpl_method_exists(const char *name);
const struct tpl_test *lle_tpl_find_test(const char *name);
/* The filters, methods and tests only chat templates have (template_chat.c). */
const struct tpl_builtin *lle_tpl_find_chat_filter(const char *name);
const struct tpl_builtin *lle_tpl_find_chat_method(const char *name, json_type t);
const struct tpl_test *lle_tpl_find_chat_test(const char *name);
/* range(args): a view of its items (see views above). */
int lle_tpl_range(struct tpl_render *R, const struct expr *e, json_t **out);

#endif
