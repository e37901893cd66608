/* Python's truth of a YAML value as PyYAML reads it: see yamltruth.h.
 *
 * The implicit resolvers are PyYAML's (yaml/resolver.py, YAML 1.1), matched
 * by hand rather than with a regex library:
 *   int    [-+]?0b[0-1_]+ | [-+]?0[0-7_]+ | [-+]?(0|[1-9][0-9_]*)
 *          | [-+]?0x[0-9a-fA-F_]+ | [-+]?[1-9][0-9_]*(:[0-5]?[0-9])+
 *   float  [-+]?[0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)? | \.[0-9_]+([eE][-+][0-9]+)?
 *          | [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]* | [-+]?\.(inf|Inf|INF)
 *          | \.(nan|NaN|NAN)
 * A value is a number zero when it matches one of them and every digit of
 * its mantissa is 0. */
#include "tasks/yamltruth.h"

#include <string.h>

static int in(char c, const char *set) { return c && strchr(set, c) != NULL; }

/* The end of the run of characters from `set` that starts at s. */
static const char *span(const char *s, const char *set)
{
	while (in(*s, set))
		s++;
	return s;
}

/* (:[0-5]?[0-9])+ from s; NULL when there is none. */
static const char *sexagesimal(const char *s)
{
	const char *p = s;
	while (*p == ':') {
		const char *q = p + 1;
		if (in(q[0], "012345") && in(q[1], "0123456789"))
			q += 2;
		else if (in(q[0], "0123456789"))
			q += 1;
		else
			break;
		p = q;
	}
	return p == s ? NULL : p;
}

/* Whether [s, e) has a digit other than 0 (separators and prefixes
 * already cut off). */
static int nonzero_digits(const char *s, const char *e)
{
	for (; s < e; s++)
		if (*s >= '1' && *s <= '9')
			return 1;
	return 0;
}

/* 1: a number zero to PyYAML; 0: a number that is not zero, or no number. */
static int yaml_zero(const char *s)
{
	const char *d = s + (*s == '-' || *s == '+');
	const char *e;
	/* int */
	if (d[0] == '0' && d[1] == 'b' && *(e = span(d + 2, "01_")) == '\0' && e > d + 2)
		return !nonzero_digits(d + 2, e);
	if (d[0] == '0' && d[1] == 'x' && *(e = span(d + 2, "0123456789abcdefABCDEF_")) == '\0' && e > d + 2)
		return !nonzero_digits(d + 2, e) && !strpbrk(d + 2, "abcdefABCDEF");
	if (d[0] == '0' && *(e = span(d + 1, "01234567_")) == '\0')
		return !nonzero_digits(d, e);
	if (in(d[0], "123456789")) {
		e = span(d + 1, "0123456789_");
		if (*e == '\0')
			return 0;
		const char *x = sexagesimal(e);
		if (x && *x == '\0')
			return 0;
	}
	/* float */
	if (in(d[0], "0123456789")) {
		e = span(d + 1, "0123456789_");
		const char *m = e;
		if (*m == ':') {
			const char *x = sexagesimal(m);
			if (x && *x == '.' && *span(x + 1, "0123456789_") == '\0')
				return !nonzero_digits(d, x + 1 + strlen(x + 1));
			return 0;
		}
		if (*m != '.')
			return 0;
		const char *f = span(m + 1, "0123456789_");
		if (*f == 'e' || *f == 'E') {
			const char *x = f + 1;
			if (!in(*x, "-+"))
				return 0;
			const char *y = span(x + 1, "0123456789");
			if (y == x + 1 || *y)
				return 0;
		} else if (*f) {
			return 0;
		}
		return !nonzero_digits(d, f);
	}
	if (s[0] == '.' && in(s[1], "0123456789_")) { /* no sign here */
		const char *f = span(s + 1, "0123456789_");
		if (*f == 'e' || *f == 'E') {
			const char *x = f + 1;
			const char *y = in(*x, "-+") ? span(x + 1, "0123456789") : x;
			if (y == x || y == x + 1 || *y)
				return 0;
		} else if (*f) {
			return 0;
		}
		return !nonzero_digits(s, f);
	}
	return 0; /* .inf, .nan and strings */
}

int lle_yaml_truthy(const struct lle_node *n, int dflt)
{
	if (!n)
		return dflt;
	if (n->kind != LLE_NODE_SCALAR)
		return n->n > 0;
	const char *tag = n->tag;
	if (tag && (!strcmp(tag, "!!str") || !strcmp(tag, "tag:yaml.org,2002:str")))
		return n->str[0] != '\0';
	int resolve = n->plain || (tag && !strncmp(tag, "tag:yaml.org,2002:", 18));
	if (tag && strncmp(tag, "tag:yaml.org,2002:", 18))
		return 1; /* !function and other application tags: an object */
	if (!resolve)
		return n->str[0] != '\0'; /* quoted: a string */
	if (lle_node_is_null(n) || (tag && !strcmp(tag, "tag:yaml.org,2002:null")))
		return 0;
	struct lle_node plain = *n;
	plain.plain = 1;
	int b = lle_node_bool(&plain);
	if (b >= 0)
		return b;
	if (yaml_zero(n->str))
		return 0;
	return n->str[0] != '\0';
}

int lle_yaml_is_true(const struct lle_node *n)
{
	return n && n->kind == LLE_NODE_SCALAR && n->plain && !n->tag && lle_node_bool(n) == 1;
}
