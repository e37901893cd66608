/* The template lexer: cuts the source into text and tags ({{ }}, {% %},
 * {# #}), applying Jinja's whitespace control ({%- -%} {{- -}}) to the text
 * between them, and cuts the inside of a tag into tokens (names, numbers,
 * strings, operators). It does not know the grammar (template_parse.c) and
 * does not decode literals (the parser does, with pystr.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/template_int.h"

int lle_tpl_syntax_error(struct tpl_parser *P, size_t pos, const char *fmt, ...)
{
	if (P->failed)
		return -1;
	char msg[1100];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	P->failed = 1;
	return lle_err_set(P->err, LLE_EXIT_CONFIG, "%s: at character %zu: %s", P->who, pos + 1, msg);
}

int lle_tpl_parser_oom(struct tpl_parser *P)
{
	P->failed = 1;
	return lle_err_oom(P->err);
}

/* ---------- segments ---------- */

static int segment_push(struct tpl_parser *P, struct segments *s, enum segment_kind kind, size_t pos,
			size_t len)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct segment *v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return lle_tpl_parser_oom(P);
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n].kind = kind;
	s->v[s->n].pos = pos;
	s->v[s->n].len = len;
	s->n++;
	return 0;
}

static int is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* Where the tag whose inside starts at `inner` ends: the index of its
 * closing "}}", "%}" or "#}", string literals inside code skipped; or n.
 * As Jinja's lexer balances braces, "}}" closes {{ only outside a dict
 * literal: {{ {'a': 1}}} is a dict. */
static size_t find_tag_end(const char *s, size_t n, size_t inner, char kind)
{
	char close = kind == '{' ? '}' : kind;
	size_t j = inner;
	int depth = 0;
	while (j + 1 < n) {
		if (kind == '{' && s[j] == '{') {
			depth++;
		} else if (kind == '{' && s[j] == '}' && depth > 0) {
			depth--;
			j++;
			continue;
		}
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
		if (s[j] == close && s[j + 1] == '}')
			return j;
		j++;
	}
	return n;
}

/* The text [from, to) with whitespace stripped on the sides that ask for it.
 * lstrip_line: Jinja's lstrip_blocks before a statement or comment tag:
 * spaces and tabs between the line's start and the tag go, when nothing
 * else is there and the text starts a line (after a newline in it, or
 * `line_starting`: at the template's start or after a tag whose end took a
 * newline). */
static int push_text(struct tpl_parser *P, struct segments *out, size_t from, size_t to, int lstrip,
		     int rstrip, int lstrip_line, int line_starting)
{
	const char *s = P->src;
	if (lstrip)
		while (from < to && is_space(s[from]))
			from++;
	if (rstrip) {
		while (to > from && is_space(s[to - 1]))
			to--;
	} else if (lstrip_line) {
		size_t l = to;
		while (l > from && s[l - 1] != '\n')
			l--;
		if (l > from || line_starting) {
			size_t q = l;
			while (q < to && is_space(s[q]))
				q++;
			if (q == to)
				to = l;
		}
	}
	if (to > from)
		return segment_push(P, out, SEG_TEXT, from, to - from);
	return 0;
}

int lle_tpl_split_segments(struct tpl_parser *P, struct segments *out)
{
	const char *s = P->src;
	size_t n = strlen(s), i = 0, text = 0;
	int lstrip_next = 0, line_starting = 1;
	while (i < n) {
		if (s[i] != '{' || i + 1 >= n || (s[i + 1] != '{' && s[i + 1] != '%' && s[i + 1] != '#')) {
			i++;
			continue;
		}
		char kind = s[i + 1];
		size_t open = i, inner = i + 2;
		int rstrip_prev = 0, plus = 0;
		if (inner < n && s[inner] == '-') {
			rstrip_prev = 1;
			inner++;
		} else if (inner < n && s[inner] == '+') {
			plus = 1;
			inner++;
		}
		if (lstrip_next) { /* the previous tag's '-' takes the whitespace, newlines included */
			size_t from = text;
			while (text < open && is_space(s[text]))
				text++;
			if (text > from)
				line_starting = s[text - 1] == '\n';
		}
		if (push_text(P, out, text, open, 0, rstrip_prev, P->chat && !plus && kind != '{',
			      line_starting) < 0)
			return -1;
		size_t close = find_tag_end(s, n, inner, kind);
		if (close >= n)
			return lle_tpl_syntax_error(P, open, "'%s' is not closed",
						    kind == '{' ? "{{" : kind == '%' ? "{%" : "{#");
		size_t inner_end = close;
		lstrip_next = 0;
		plus = 0;
		if (inner_end > inner && s[inner_end - 1] == '-') {
			lstrip_next = 1;
			inner_end--;
		} else if (inner_end > inner && s[inner_end - 1] == '+') {
			plus = 1;
			inner_end--;
		}
		if (kind != '#' && segment_push(P, out, kind == '{' ? SEG_OUTPUT : SEG_STATEMENT, inner,
						inner_end - inner) < 0)
			return -1;
		i = text = close + 2;
		line_starting = 0;
		/* trim_blocks: the newline right after a statement or comment tag goes */
		if (P->chat && kind != '{' && !lstrip_next && !plus && text < n && s[text] == '\n') {
			i = ++text;
			line_starting = 1;
		}
	}
	if (lstrip_next)
		while (text < n && is_space(s[text]))
			text++;
	return push_text(P, out, text, n, 0, 0, 0, 0);
}

/* ---------- tokens ---------- */

static int is_name_start(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

static int is_name_char(char ch)
{
	return is_name_start(ch) || (ch >= '0' && ch <= '9');
}

static int is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* A number: digits with '_' separators, an optional fraction and exponent. */
static void lex_number(struct tpl_parser *P)
{
	const char *s = P->src;
	size_t q = P->p;
	int is_float = 0;
	while (q < P->lim && (is_digit(s[q]) || s[q] == '_'))
		q++;
	if (q + 1 < P->lim && s[q] == '.' && is_digit(s[q + 1])) {
		is_float = 1;
		q++;
		while (q < P->lim && is_digit(s[q]))
			q++;
	}
	if (q < P->lim && (s[q] == 'e' || s[q] == 'E')) {
		size_t r = q + 1;
		if (r < P->lim && (s[r] == '+' || s[r] == '-'))
			r++;
		if (r < P->lim && is_digit(s[r])) {
			is_float = 1;
			q = r;
			while (q < P->lim && is_digit(s[q]))
				q++;
		}
	}
	P->tok.kind = is_float ? TOK_FLOAT : TOK_INT;
	P->tok.len = q - P->p;
	P->p = q;
}

/* A quoted string, escapes left for the parser to decode. */
static int lex_string(struct tpl_parser *P)
{
	const char *s = P->src;
	char quote = s[P->p];
	size_t q = P->p + 1;
	while (q < P->lim && s[q] != quote) {
		if (s[q] == '\\')
			q++;
		q++;
	}
	if (q >= P->lim)
		return lle_tpl_syntax_error(P, P->p, "unterminated string");
	P->tok.kind = TOK_STRING;
	P->tok.len = q + 1 - P->p;
	P->p = q + 1;
	return 0;
}

static int lex_operator(struct tpl_parser *P)
{
	static const char *const two_char[] = { "==", "!=", "<=", ">=", "//", "**", NULL };
	const char *s = P->src;
	for (int i = 0; two_char[i]; i++) {
		if (P->p + 1 < P->lim && s[P->p] == two_char[i][0] && s[P->p + 1] == two_char[i][1]) {
			P->tok.kind = TOK_OP;
			memcpy(P->tok.op, two_char[i], 2);
			P->tok.len = 2;
			P->p += 2;
			return 0;
		}
	}
	char ch = s[P->p];
	if (strchr(".[](),|~+-*/%<>:={}", ch)) {
		P->tok.kind = TOK_OP;
		P->tok.op[0] = ch;
		P->tok.len = 1;
		P->p++;
		return 0;
	}
	return lle_tpl_syntax_error(P, P->p, "unexpected character '%c'", ch);
}

int lle_tpl_lex(struct tpl_parser *P)
{
	const char *s = P->src;
	while (P->p < P->lim && (s[P->p] == ' ' || s[P->p] == '\t' || s[P->p] == '\n' || s[P->p] == '\r'))
		P->p++;
	memset(&P->tok, 0, sizeof(P->tok));
	P->tok.pos = P->p;
	if (P->p >= P->lim) {
		P->tok.kind = TOK_END;
		return 0;
	}
	char ch = s[P->p];
	if (is_name_start(ch)) {
		size_t q = P->p;
		while (q < P->lim && is_name_char(s[q]))
			q++;
		P->tok.kind = TOK_NAME;
		P->tok.len = q - P->p;
		P->p = q;
		return 0;
	}
	if (is_digit(ch)) {
		lex_number(P);
		return 0;
	}
	if (ch == '\'' || ch == '"')
		return lex_string(P);
	return lex_operator(P);
}

int lle_tpl_lex_start(struct tpl_parser *P, size_t pos, size_t len)
{
	P->p = pos;
	P->lim = pos + len;
	return lle_tpl_lex(P);
}

int lle_tpl_tok_is_op(const struct tpl_parser *P, const char *op)
{
	return P->tok.kind == TOK_OP && strcmp(P->tok.op, op) == 0;
}

int lle_tpl_tok_is_name(const struct tpl_parser *P, const char *name)
{
	return P->tok.kind == TOK_NAME && P->tok.len == strlen(name) &&
	       memcmp(P->src + P->tok.pos, name, P->tok.len) == 0;
}

char *lle_tpl_tok_text(const struct tpl_parser *P)
{
	return lle_strndup(P->src + P->tok.pos, P->tok.len);
}

char *lle_tpl_tok_name(struct tpl_parser *P, const char *expected)
{
	if (P->tok.kind != TOK_NAME) {
		lle_tpl_syntax_error(P, P->tok.pos, "%s", expected);
		return NULL;
	}
	char *n = lle_tpl_tok_text(P);
	if (!n)
		lle_tpl_parser_oom(P);
	return n;
}
