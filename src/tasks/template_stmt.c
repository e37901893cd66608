/* The template's statement parser and its entry point: the segments of
 * the source (template_lex.c) -> the node tree of template_int.h: text,
 * {{ expr }} (expressions are template_parse.c's), {% if %}/{% elif %}/
 * {% else %}, {% for %}, {% set %}; lle_tpl_compile, and the tree's
 * destructors. Evaluation is template_eval.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/template_int.h"

/* ---------- the tree ---------- */

static void nodelist_free(struct nodelist *l);

static void node_free(struct node *n)
{
	if (!n)
		return;
	free(n->text);
	lle_tpl_expr_free(n->e);
	free(n->var);
	free(n->var2);
	lle_tpl_expr_free(n->cond);
	nodelist_free(&n->else_body);
	for (size_t i = 0; i < n->nparams; i++) {
		free(n->params[i]);
		lle_tpl_expr_free(n->defaults[i]);
	}
	free(n->params);
	free(n->defaults);
	for (size_t i = 0; i < n->nbranches; i++) {
		lle_tpl_expr_free(n->conds[i]);
		nodelist_free(&n->bodies[i]);
	}
	free(n->conds);
	free(n->bodies);
	nodelist_free(&n->body);
	free(n);
}

static void nodelist_free(struct nodelist *l)
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
	nodelist_free(&t->root);
	free(t->macros);
	free(t->src);
	free(t);
}

const char *lle_tpl_source(const struct lle_tpl *t) { return t->src; }

static struct node *new_node(struct tpl_parser *P, enum node_kind kind, struct nodelist *into)
{
	struct node *n = calloc(1, sizeof(*n));
	if (!n) {
		lle_tpl_parser_oom(P);
		return NULL;
	}
	n->kind = kind;
	if (into->n == into->cap) {
		size_t cap = into->cap ? into->cap * 2 : 8;
		struct node **v = realloc(into->v, cap * sizeof(*v));
		if (!v) {
			free(n);
			lle_tpl_parser_oom(P);
			return NULL;
		}
		into->v = v;
		into->cap = cap;
	}
	into->v[into->n++] = n;
	return n;
}

/* ---------- statements ---------- */

static int parse_body(struct tpl_parser *P, struct segments *sg, struct nodelist *out,
		      const char *const *stops, char *stopped, size_t stopped_size);

static int is_one_of(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

/* The first word of a statement tag, which becomes the current token. */
static int statement_word(struct tpl_parser *P, const struct segment *sg, char *word, size_t size)
{
	if (lle_tpl_lex_start(P, sg->pos, sg->len) < 0)
		return -1;
	if (P->tok.kind != TOK_NAME) {
		word[0] = '\0';
		return lle_tpl_syntax_error(P, P->tok.pos, "expected a statement name");
	}
	snprintf(word, size, "%.*s", (int)P->tok.len, P->src + P->tok.pos);
	return 0;
}

static int rest_is_empty(struct tpl_parser *P)
{
	if (lle_tpl_lex(P) < 0)
		return -1;
	if (P->tok.kind != TOK_END)
		return lle_tpl_syntax_error(P, P->tok.pos, "unexpected text in the tag");
	return 0;
}

/* A new branch of n with condition cond (NULL for else); frees cond on failure. */
static struct nodelist *add_branch(struct tpl_parser *P, struct node *n, struct expr *cond)
{
	struct expr **cv = realloc(n->conds, (n->nbranches + 1) * sizeof(*cv));
	if (cv)
		n->conds = cv;
	struct nodelist *bv = cv ? realloc(n->bodies, (n->nbranches + 1) * sizeof(*bv)) : NULL;
	if (!bv) {
		lle_tpl_expr_free(cond);
		lle_tpl_parser_oom(P);
		return NULL;
	}
	n->bodies = bv;
	n->conds[n->nbranches] = cond;
	memset(&n->bodies[n->nbranches], 0, sizeof(n->bodies[0]));
	return &n->bodies[n->nbranches++];
}

static int parse_if(struct tpl_parser *P, struct segments *sg, struct nodelist *out)
{
	static const char *const stops[] = { "elif", "else", "endif", NULL };
	struct node *n = new_node(P, NODE_IF, out);
	if (!n)
		return -1;
	int have_else = 0;
	size_t open_pos = P->tok.pos;
	for (;;) {
		struct expr *cond = NULL;
		if (!have_else) {
			if (!(cond = lle_tpl_parse_rest_as_expression(P)))
				return -1;
		} else if (rest_is_empty(P) < 0) {
			return -1;
		}
		struct nodelist *body = add_branch(P, n, cond);
		char stopped[16] = "";
		if (!body || parse_body(P, sg, body, stops, stopped, sizeof(stopped)) < 0)
			return -1;
		if (!stopped[0])
			return lle_tpl_syntax_error(P, open_pos, "'if' without 'endif'");
		if (!strcmp(stopped, "endif"))
			return rest_is_empty(P);
		if (have_else)
			return lle_tpl_syntax_error(P, P->tok.pos, "'%s' after 'else'", stopped);
		if (!strcmp(stopped, "else"))
			have_else = 1;
	}
}

static int parse_for(struct tpl_parser *P, struct segments *sg, struct nodelist *out)
{
	static const char *const stops[] = { "endfor", "else", NULL };
	size_t open_pos = P->tok.pos;
	if (lle_tpl_lex(P) < 0)
		return -1;
	struct node *n = new_node(P, NODE_FOR, out);
	if (!n || !(n->var = lle_tpl_tok_name(P, "expected a loop variable")))
		return -1;
	if (lle_tpl_lex(P) < 0)
		return -1;
	if (lle_tpl_tok_is_op(P, ",")) {
		if (!P->chat)
			return lle_tpl_syntax_error(P, P->tok.pos,
						    "unpacking several loop variables is not supported");
		if (lle_tpl_lex(P) < 0 || !(n->var2 = lle_tpl_tok_name(P, "expected a loop variable")) ||
		    lle_tpl_lex(P) < 0)
			return -1;
		if (lle_tpl_tok_is_op(P, ","))
			return lle_tpl_syntax_error(P, P->tok.pos, "unpacking more than two loop variables "
						    "is not supported");
	}
	if (!lle_tpl_tok_is_name(P, "in"))
		return lle_tpl_syntax_error(P, P->tok.pos, "expected 'in'");
	if (lle_tpl_lex(P) < 0)
		return -1;
	if (!(n->e = P->chat ? lle_tpl_parse_or(P) : lle_tpl_parse_expression(P)))
		return -1;
	if (P->chat && lle_tpl_tok_is_name(P, "if")) {
		if (lle_tpl_lex(P) < 0 || !(n->cond = lle_tpl_parse_expression(P)))
			return -1;
	}
	if (P->tok.kind != TOK_END)
		return lle_tpl_syntax_error(P, P->tok.pos, "unsupported text after the loop's list "
					    "(filters with 'if' or 'recursive' are not supported)");
	char stopped[16] = "";
	if (parse_body(P, sg, &n->body, stops, stopped, sizeof(stopped)) < 0)
		return -1;
	if (!stopped[0])
		return lle_tpl_syntax_error(P, open_pos, "'for' without 'endfor'");
	/* the loop object costs an allocation per item: made only when named */
	n->uses_loop = memmem(P->src + open_pos, P->tok.pos - open_pos, "loop", 4) != NULL;
	if (strcmp(stopped, "endfor")) {
		static const char *const end[] = { "endfor", NULL };
		if (!P->chat)
			return lle_tpl_syntax_error(P, P->tok.pos, "'else' in a for loop is not supported");
		if (rest_is_empty(P) < 0 || parse_body(P, sg, &n->else_body, end, stopped, sizeof(stopped)) < 0)
			return -1;
		if (!stopped[0])
			return lle_tpl_syntax_error(P, open_pos, "'for' without 'endfor'");
	}
	return rest_is_empty(P);
}

/* A body up to {% END %}, for the block statements of chat templates. */
static int parse_block_body(struct tpl_parser *P, struct segments *sg, struct nodelist *body,
			    const char *end, size_t open_pos, const char *what)
{
	const char *stops[] = { end, NULL };
	char stopped[16] = "";
	if (parse_body(P, sg, body, stops, stopped, sizeof(stopped)) < 0)
		return -1;
	if (!stopped[0])
		return lle_tpl_syntax_error(P, open_pos, "'%s' without '%s'", what, end);
	return rest_is_empty(P);
}

/* {% macro name(a, b=default) %}...{% endmacro %} */
static int parse_macro(struct tpl_parser *P, struct segments *sg, struct nodelist *out)
{
	size_t open_pos = P->tok.pos;
	if (lle_tpl_lex(P) < 0)
		return -1;
	struct node *n = new_node(P, NODE_MACRO, out);
	if (!n || !(n->var = lle_tpl_tok_name(P, "expected a macro name")) || lle_tpl_lex(P) < 0 ||
	    lle_tpl_expect_op(P, "(") < 0)
		return -1;
	while (!lle_tpl_tok_is_op(P, ")")) {
		char **pv = realloc(n->params, (n->nparams + 1) * sizeof(*pv));
		if (pv)
			n->params = pv;
		struct expr **dv = pv ? realloc(n->defaults, (n->nparams + 1) * sizeof(*dv)) : NULL;
		if (!dv)
			return lle_tpl_parser_oom(P);
		n->defaults = dv;
		n->params[n->nparams] = NULL;
		n->defaults[n->nparams] = NULL;
		n->nparams++;
		if (!(n->params[n->nparams - 1] = lle_tpl_tok_name(P, "expected a parameter name")) ||
		    lle_tpl_lex(P) < 0)
			return -1;
		if (lle_tpl_tok_is_op(P, "=")) {
			if (lle_tpl_lex(P) < 0 || !(n->defaults[n->nparams - 1] = lle_tpl_parse_expression(P)))
				return -1;
		}
		if (lle_tpl_tok_is_op(P, ",")) {
			if (lle_tpl_lex(P) < 0)
				return -1;
		} else if (!lle_tpl_tok_is_op(P, ")")) {
			return lle_tpl_syntax_error(P, P->tok.pos, "expected ',' or ')'");
		}
	}
	if (rest_is_empty(P) < 0)
		return -1;
	const struct node **mv = realloc(P->tpl->macros, (P->tpl->nmacros + 1) * sizeof(*mv));
	if (!mv)
		return lle_tpl_parser_oom(P);
	P->tpl->macros = mv;
	mv[P->tpl->nmacros++] = n;
	return parse_block_body(P, sg, &n->body, "endmacro", open_pos, "macro");
}

static int parse_set(struct tpl_parser *P, struct segments *sg, struct nodelist *out)
{
	size_t open_pos = P->tok.pos;
	if (lle_tpl_lex(P) < 0)
		return -1;
	struct node *n = new_node(P, NODE_SET, out);
	if (!n || !(n->var = lle_tpl_tok_name(P, "expected a variable name")))
		return -1;
	if (lle_tpl_lex(P) < 0)
		return -1;
	if (P->chat && lle_tpl_tok_is_op(P, ".")) { /* set ns.attr = value */
		if (lle_tpl_lex(P) < 0 || !(n->var2 = lle_tpl_tok_name(P, "expected an attribute name")) ||
		    lle_tpl_lex(P) < 0)
			return -1;
	}
	if (P->chat && !n->var2 && P->tok.kind == TOK_END) { /* {% set x %}...{% endset %} */
		n->kind = NODE_SET_BLOCK;
		return parse_block_body(P, sg, &n->body, "endset", open_pos, "set");
	}
	if (!lle_tpl_tok_is_op(P, "="))
		return lle_tpl_syntax_error(P, P->tok.pos, "expected '=' (block set is not supported)");
	n->e = lle_tpl_parse_rest_as_expression(P);
	return n->e ? 0 : -1;
}

static int parse_statement(struct tpl_parser *P, struct segments *sg, struct nodelist *out,
			   const char *word)
{
	static const char *const closers[] = { "elif", "else", "endif", "endfor", "endmacro", "endset",
					       "endgeneration", NULL };
	if (!strcmp(word, "if"))
		return parse_if(P, sg, out);
	if (!strcmp(word, "for"))
		return parse_for(P, sg, out);
	if (!strcmp(word, "set"))
		return parse_set(P, sg, out);
	if (P->chat && (!strcmp(word, "break") || !strcmp(word, "continue"))) {
		if (!new_node(P, word[0] == 'b' ? NODE_BREAK : NODE_CONTINUE, out))
			return -1;
		return rest_is_empty(P);
	}
	if (P->chat && !strcmp(word, "macro"))
		return parse_macro(P, sg, out);
	if (P->chat && !strcmp(word, "generation")) {
		size_t open_pos = P->tok.pos;
		struct node *n = new_node(P, NODE_GENERATION, out);
		if (!n || rest_is_empty(P) < 0)
			return -1;
		return parse_block_body(P, sg, &n->body, "endgeneration", open_pos, "generation");
	}
	if (is_one_of(closers, word))
		return lle_tpl_syntax_error(P, P->tok.pos, "'%s' without a matching opening tag", word);
	return lle_tpl_syntax_error(P, P->tok.pos, "unsupported statement '%s'", word);
}

/* Segments into out until a statement named in stops (its name copied to
 * stopped; the tag's first token current) or the end (stopped left empty). */
static int parse_body(struct tpl_parser *P, struct segments *sg, struct nodelist *out,
		      const char *const *stops, char *stopped, size_t stopped_size)
{
	while (sg->next < sg->n) {
		const struct segment *s = &sg->v[sg->next++];
		if (s->kind == SEG_TEXT) {
			struct node *n = new_node(P, NODE_TEXT, out);
			if (!n)
				return -1;
			if (!(n->text = lle_strndup(P->src + s->pos, s->len)))
				return lle_tpl_parser_oom(P);
			n->len = s->len;
			continue;
		}
		if (s->kind == SEG_OUTPUT) {
			P->p = s->pos;
			P->lim = s->pos + s->len;
			struct node *n = new_node(P, NODE_OUTPUT, out);
			if (!n || !(n->e = lle_tpl_parse_rest_as_expression(P)))
				return -1;
			continue;
		}
		char word[32];
		if (statement_word(P, s, word, sizeof(word)) < 0)
			return -1;
		if (stops && is_one_of(stops, word)) {
			snprintf(stopped, stopped_size, "%s", word);
			return 0;
		}
		if (parse_statement(P, sg, out, word) < 0)
			return -1;
	}
	return 0;
}

static struct lle_tpl *compile(const char *src, const char *who, int chat, struct lle_err *err)
{
	struct lle_tpl *t = calloc(1, sizeof(*t));
	if (!t || !(t->src = lle_strdup(src))) {
		free(t);
		lle_err_oom(err);
		return NULL;
	}
	t->chat = chat;
	if (chat) {
		/* Jinja turns \r\n and \r into \n, and drops one trailing newline
		 * (transformers does not set keep_trailing_newline) */
		size_t j = 0;
		for (size_t i = 0; t->src[i]; i++) {
			if (t->src[i] == '\r') {
				t->src[j++] = '\n';
				if (t->src[i + 1] == '\n')
					i++;
			} else {
				t->src[j++] = t->src[i];
			}
		}
		if (j && t->src[j - 1] == '\n')
			j--;
		t->src[j] = '\0';
	}
	struct tpl_parser P;
	memset(&P, 0, sizeof(P));
	P.src = t->src;
	P.who = who;
	P.err = err;
	P.chat = chat;
	P.tpl = t;
	struct segments sg = { 0 };
	int rv = lle_tpl_split_segments(&P, &sg);
	if (rv == 0)
		rv = parse_body(&P, &sg, &t->root, NULL, NULL, 0);
	free(sg.v);
	if (rv < 0 || P.failed) {
		lle_tpl_free(t);
		return NULL;
	}
	return t;
}

struct lle_tpl *lle_tpl_compile(const char *src, const char *who, struct lle_err *err)
{
	return compile(src, who, 0, err);
}

struct lle_tpl *lle_tpl_compile_chat(const char *src, const char *who, struct lle_err *err)
{
	return compile(src, who, 1, err);
}
