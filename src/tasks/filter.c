/* Response filters: see filter.h.
 *
 * Regexes are compiled once with PCRE2 in UTF mode with Unicode properties
 * (so \d, \w and \s cover Unicode as Python's str patterns do) and
 * PCRE2_MATCH_INVALID_UTF so a model's broken UTF-8 cannot fail a match.
 * findall is reproduced: with no group a match is the whole match, with one
 * group that group ("" when unset), with several the tuple of groups, of
 * which the harness keeps the first non-empty one. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tasks/filter.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/pystr.h"
#include "util/buf.h"

enum step_kind { F_REGEX, F_TAKE_FIRST, F_MAP };

/* A function applied to each response on its own (F_MAP). */
typedef void (*map_fn)(struct lle_buf *b, const char *s, size_t n);

static void map_lower(struct lle_buf *b, const char *s, size_t n) { lle_py_lower(b, s, n); }
static void map_upper(struct lle_buf *b, const char *s, size_t n) { lle_py_upper(b, s, n); }
static void map_strip(struct lle_buf *b, const char *s, size_t n) { lle_py_strip(b, s, n, NULL, LLE_STRIP_BOTH); }

/* The filter functions a filter_list step may name, as metrics.c's
 * k_metrics: the one list of what is known (the "unknown filter" message
 * is written from it). Names and behaviour: lm-evaluation-harness's
 * lm_eval/filters (regex, take_first, lowercase, uppercase,
 * remove_whitespace and strip: both str.strip(), as extraction.py's
 * WhitespaceFilter strips both ends). Only regex takes arguments. */
static const struct fdef {
	const char *name;
	enum step_kind k;
	map_fn map;
} k_filters[] = {
	{ "regex", F_REGEX, NULL },
	{ "take_first", F_TAKE_FIRST, NULL },
	{ "lowercase", F_MAP, map_lower },
	{ "uppercase", F_MAP, map_upper },
	{ "remove_whitespace", F_MAP, map_strip },
	{ "strip", F_MAP, map_strip },
};
#define NFILTERS (sizeof(k_filters) / sizeof(k_filters[0]))

struct rx {
	pcre2_code *code;
	int group_select;
};

struct step {
	enum step_kind k;
	struct rx *rx;          /* F_REGEX: the pattern, then fallback_regex ones */
	size_t nrx;
	char *fallback;
	map_fn map;             /* F_MAP */
};

struct lle_filter_chain {
	char *name;
	struct step *steps;
	size_t n;
};

void lle_filter_chain_free(struct lle_filter_chain *fc)
{
	if (!fc)
		return;
	for (size_t i = 0; i < fc->n; i++) {
		for (size_t j = 0; j < fc->steps[i].nrx; j++)
			pcre2_code_free(fc->steps[i].rx[j].code);
		free(fc->steps[i].rx);
		free(fc->steps[i].fallback);
	}
	free(fc->steps);
	free(fc->name);
	free(fc);
}

const char *lle_filter_chain_name(const struct lle_filter_chain *fc) { return fc->name; }

static pcre2_code *compile_rx(const char *pat, const char *where, struct lle_err *err)
{
	int ec;
	PCRE2_SIZE off;
	pcre2_code *c = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
				      PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &ec, &off, NULL);
	if (!c) {
		PCRE2_UCHAR m[256];
		pcre2_get_error_message(ec, m, sizeof(m));
		lle_err_set(err, LLE_EXIT_CONFIG, "%s: regex '%s' does not compile: %s at offset %zu",
			    where, pat, (const char *)m, (size_t)off);
	}
	return c;
}

struct lle_filter_chain *lle_filter_chain_none(struct lle_err *err)
{
	struct lle_filter_chain *fc = calloc(1, sizeof(*fc));
	if (fc) {
		fc->name = lle_strdup("none");
		fc->steps = calloc(1, sizeof(*fc->steps));
	}
	if (!fc || !fc->name || !fc->steps) {
		lle_filter_chain_free(fc);
		lle_err_oom(err);
		return NULL;
	}
	fc->steps[0].k = F_TAKE_FIRST;
	fc->n = 1;
	return fc;
}

static int node_int(const struct lle_node *n, int *out)
{
	long v;
	if (!n || n->kind != LLE_NODE_SCALAR || lle_node_long(n, &v) < 0 || v < -1000000 || v > 1000000)
		return -1;
	*out = (int)v;
	return 0;
}

static int parse_step(const struct lle_node *f, struct step *st, const char *where,
		      struct lle_err *err)
{
	if (f->kind != LLE_NODE_MAP)
		return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: a filter step must be a map "
				   "with 'function'", f->file, f->line, f->col, where);
	const char *fn = lle_node_str(f, "function");
	if (!fn)
		return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: filter step without 'function'",
				   f->file, f->line, f->col, where);
	const struct lle_node *fnn = lle_node_get(f, "function");
	static const char *const known_keys[] = { "function", "regex_pattern", "group_select",
						  "fallback", "fallback_regex",
						  "fallback_regex_group_select", NULL };
	for (size_t i = 0; i < f->n; i++) {
		int ok = 0;
		for (size_t j = 0; known_keys[j]; j++)
			if (!strcmp(f->keys[i], known_keys[j]))
				ok = 1;
		if (!ok)
			return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: unknown key '%s' in filter '%s'",
					   f->items[i]->file, f->items[i]->line, f->items[i]->col, where,
					   f->keys[i], fn);
	}
	const struct fdef *def = NULL;
	for (size_t i = 0; i < NFILTERS && !def; i++)
		if (!strcmp(fn, k_filters[i].name))
			def = &k_filters[i];
	if (!def) {
		struct lle_buf known = LLE_BUF_INIT;
		for (size_t i = 0; i < NFILTERS; i++)
			lle_buf_printf(&known, "%s%s", i ? ", " : "", k_filters[i].name);
		if (known.oom) {
			lle_buf_free(&known);
			return lle_err_oom(err);
		}
		lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: unknown filter '%s' (known: %s)", fnn->file,
			    fnn->line, fnn->col, where, fn, lle_buf_str(&known));
		lle_buf_free(&known);
		return -1;
	}
	st->k = def->k;
	st->map = def->map;
	if (st->k != F_REGEX) {
		if (f->n > 1)
			return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: filter '%s' takes no "
					   "arguments ('%s' given)", f->items[1]->file, f->items[1]->line,
					   f->items[1]->col, where, fn, f->keys[1]);
		return 0;
	}
	const char *pat = "#### (\\-?[0-9\\.\\,]+)";
	const struct lle_node *pn = lle_node_get(f, "regex_pattern");
	if (pn) {
		if (pn->kind != LLE_NODE_SCALAR)
			return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: 'regex_pattern' must be a "
					   "string", pn->file, pn->line, pn->col, where);
		pat = pn->str;
	}
	int gs = 0;
	const struct lle_node *gn = lle_node_get(f, "group_select");
	if (gn && node_int(gn, &gs) < 0)
		return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: 'group_select' must be an integer",
				   gn->file, gn->line, gn->col, where);
	const struct lle_node *fb = lle_node_get(f, "fallback");
	if (fb && fb->kind != LLE_NODE_SCALAR)
		return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: 'fallback' must be a string",
				   fb->file, fb->line, fb->col, where);
	st->fallback = lle_strdup(fb ? fb->str : "[invalid]");
	const struct lle_node *fr = lle_node_get(f, "fallback_regex");
	const struct lle_node *frg = lle_node_get(f, "fallback_regex_group_select");
	size_t nfr = 0;
	if (fr) {
		if (fr->kind != LLE_NODE_SEQ)
			return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: 'fallback_regex' must be a "
					   "list of patterns", fr->file, fr->line, fr->col, where);
		nfr = fr->n;
		if (frg && (frg->kind != LLE_NODE_SEQ || frg->n != nfr))
			return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: 'fallback_regex_group_select' "
					   "must be a list as long as 'fallback_regex'", frg->file,
					   frg->line, frg->col, where);
	}
	st->rx = calloc(1 + nfr, sizeof(*st->rx));
	if (!st->rx || !st->fallback)
		return lle_err_oom(err);
	char w[700];
	snprintf(w, sizeof(w), "%s:%d:%d: %s", pn ? pn->file : f->file, pn ? pn->line : f->line,
		 pn ? pn->col : f->col, where);
	if (!(st->rx[0].code = compile_rx(pat, w, err)))
		return -1;
	st->rx[0].group_select = gs;
	st->nrx = 1;
	for (size_t i = 0; i < nfr; i++) {
		const struct lle_node *p = fr->items[i];
		snprintf(w, sizeof(w), "%s:%d:%d: %s", p->file, p->line, p->col, where);
		if (p->kind != LLE_NODE_SCALAR)
			return lle_err_set(err, LLE_EXIT_CONFIG, "%s: a fallback regex must be a string", w);
		if (!(st->rx[i + 1].code = compile_rx(p->str, w, err)))
			return -1;
		st->nrx++;
		/* the harness defaults each fallback's group to group_select */
		st->rx[i + 1].group_select = gs;
		if (frg && node_int(frg->items[i], &st->rx[i + 1].group_select) < 0)
			return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: group selects must be integers",
					   frg->items[i]->file, frg->items[i]->line, frg->items[i]->col, where);
	}
	return 0;
}

struct lle_filter_chain *lle_filter_chain_from_node(const struct lle_node *entry, const char *who,
						    struct lle_err *err)
{
	if (entry->kind != LLE_NODE_MAP) {
		lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: a filter_list entry must be a map with "
			    "'name' and 'filter'", entry->file, entry->line, entry->col, who);
		return NULL;
	}
	const char *name = lle_node_str(entry, "name");
	const struct lle_node *steps = lle_node_get(entry, "filter");
	if (!name) {
		lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: filter_list entry without 'name'",
			    entry->file, entry->line, entry->col, who);
		return NULL;
	}
	if (!steps || steps->kind != LLE_NODE_SEQ || steps->n == 0) {
		lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: filter '%s' needs a non-empty 'filter' list",
			    entry->file, entry->line, entry->col, who, name);
		return NULL;
	}
	struct lle_filter_chain *fc = calloc(1, sizeof(*fc));
	if (!fc || !(fc->name = lle_strdup(name)) || !(fc->steps = calloc(steps->n, sizeof(*fc->steps)))) {
		lle_filter_chain_free(fc);
		lle_err_oom(err);
		return NULL;
	}
	char where[600];
	snprintf(where, sizeof(where), "%s: filter '%s'", who, name);
	for (size_t i = 0; i < steps->n; i++) {
		fc->n++;
		if (parse_step(steps->items[i], &fc->steps[i], where, err) < 0) {
			lle_filter_chain_free(fc);
			return NULL;
		}
	}
	return fc;
}

/* One findall result item, as text (a tuple gives its first non-empty
 * group, or NULL when all are empty). */
struct found {
	char **v;
	size_t n, cap;
};

static int found_push(struct found *f, char *s)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		char **v = realloc(f->v, cap * sizeof(*v));
		if (!v) {
			free(s);
			return -1;
		}
		f->v = v;
		f->cap = cap;
	}
	f->v[f->n++] = s;
	return 0;
}

static void found_free(struct found *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i]);
	free(f->v);
}

/* re.findall, reduced to one string per match as described above.
 * 0 ok, -1 error. */
static int findall(pcre2_code *code, const char *text, struct found *out, struct lle_err *err)
{
	uint32_t ngroups = 0;
	pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &ngroups);
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
	if (!md)
		return lle_err_oom(err);
	PCRE2_SIZE len = strlen(text), start = 0;
	uint32_t opts = 0;
	int rv = 0;
	for (;;) {
		int rc = pcre2_match(code, (PCRE2_SPTR)text, len, start, opts, md, NULL);
		if (rc == PCRE2_ERROR_NOMATCH) {
			if (opts == 0 || start >= len)
				break;
			/* an empty match here was refused: advance one character */
			start++;
			while (start < len && ((unsigned char)text[start] & 0xC0) == 0x80)
				start++;
			opts = 0;
			continue;
		}
		if (rc < 0) {
			PCRE2_UCHAR m[256];
			pcre2_get_error_message(rc, m, sizeof(m));
			rv = lle_err_set(err, LLE_EXIT_EVAL, "regex match failed: %s", (const char *)m);
			break;
		}
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		char *item = NULL;
		if (ngroups == 0) {
			item = lle_strndup(text + ov[0], ov[1] - ov[0]);
			if (!item) {
				rv = lle_err_oom(err);
				break;
			}
		} else {
			uint32_t first = ngroups == 1 ? 1 : 0;
			for (uint32_t g = 1; g <= ngroups; g++) {
				PCRE2_SIZE a = g < (uint32_t)rc ? ov[2 * g] : PCRE2_UNSET;
				PCRE2_SIZE b = g < (uint32_t)rc ? ov[2 * g + 1] : PCRE2_UNSET;
				if (a == PCRE2_UNSET)
					continue;
				if (ngroups == 1 || b > a) {
					first = g;
					item = lle_strndup(text + a, b - a);
					if (!item) {
						rv = lle_err_oom(err);
						goto done;
					}
					break;
				}
			}
			/* one group that did not take part: findall gives "" */
			if (!item && ngroups == 1 && !(item = lle_strdup(""))) {
				rv = lle_err_oom(err);
				break;
			}
			(void)first;
		}
		if (item) {
			if (found_push(out, item) < 0) {
				rv = lle_err_oom(err);
				break;
			}
		} else if (found_push(out, NULL) < 0) { /* a tuple of empty groups */
			rv = lle_err_oom(err);
			break;
		}
		start = ov[1];
		opts = ov[0] == ov[1] ? PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED : 0;
		if (start > len)
			break;
	}
done:
	pcre2_match_data_free(md);
	return rv;
}

/* The harness's RegexFilter on one response: malloc()ed result. */
static char *regex_one(const struct step *st, const char *text, struct lle_err *err)
{
	for (size_t r = 0; r < st->nrx; r++) {
		struct found f = { 0 };
		if (findall(st->rx[r].code, text, &f, err) < 0) {
			found_free(&f);
			return NULL;
		}
		if (f.n == 0) {
			found_free(&f);
			continue;
		}
		long long gs = st->rx[r].group_select;
		if (gs < 0)
			gs += (long long)f.n;
		const char *m = (gs >= 0 && (size_t)gs < f.n) ? f.v[gs] : NULL;
		struct lle_buf b = LLE_BUF_INIT;
		if (m)
			lle_py_strip(&b, m, strlen(m), NULL, LLE_STRIP_BOTH);
		else
			lle_buf_adds(&b, st->fallback);
		found_free(&f);
		char *s = lle_buf_detach(&b);
		if (!s)
			lle_err_oom(err);
		return s;
	}
	char *s = lle_strdup(st->fallback);
	if (!s)
		lle_err_oom(err);
	return s;
}

char *lle_regex_extract(const char *pattern, int group_select, const char *fallback,
			const char *text, struct lle_err *err)
{
	struct rx rx = { compile_rx(pattern, "regex", err), group_select };
	if (!rx.code)
		return NULL;
	struct step st = { F_REGEX, &rx, 1, (char *)fallback, NULL };
	char *s = regex_one(&st, text, err);
	pcre2_code_free(rx.code);
	return s;
}

json_t *lle_filter_apply(const struct lle_filter_chain *fc, const json_t *resps, struct lle_err *err)
{
	json_t *cur = json_deep_copy(resps);
	if (!cur) {
		lle_err_oom(err);
		return NULL;
	}
	for (size_t i = 0; i < fc->n; i++) {
		const struct step *st = &fc->steps[i];
		if (st->k == F_TAKE_FIRST) {
			while (json_array_size(cur) > 1)
				json_array_remove(cur, json_array_size(cur) - 1);
			continue;
		}
		for (size_t j = 0; j < json_array_size(cur); j++) {
			json_t *v = json_array_get(cur, j);
			if (!json_is_string(v)) {
				json_decref(cur);
				lle_err_set(err, LLE_EXIT_INTERNAL, "filter '%s': response is not a string", fc->name);
				return NULL;
			}
			const char *s = json_string_value(v);
			size_t n = json_string_length(v);
			char *res = NULL;
			struct lle_buf b = LLE_BUF_INIT;
			switch (st->k) {
			case F_REGEX:
				res = regex_one(st, s, err);
				if (!res) {
					json_decref(cur);
					return NULL;
				}
				break;
			case F_MAP: st->map(&b, s, n); break;
			case F_TAKE_FIRST: break;
			}
			if (!res)
				res = lle_buf_detach(&b);
			json_t *nv = res ? json_string_nocheck(res) : NULL;
			free(res);
			if (!nv || json_array_set_new(cur, j, nv) < 0) {
				json_decref(cur);
				lle_err_oom(err);
				return NULL;
			}
		}
	}
	return cur;
}
