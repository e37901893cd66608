/* Response filters: see filter.h. Over 1,000 lines because every filter
 * the harness registers lives in the one table (k_filters) with its
 * argument parsing and per-response code; splitting them would spread one
 * table over files.
 *
 * Regexes are compiled once with PCRE2 in UTF mode with Unicode properties
 * (so \d, \w and \s cover Unicode as Python's str patterns do) and
 * PCRE2_MATCH_INVALID_UTF so a model's broken UTF-8 cannot fail a match.
 * findall is reproduced: with no group a match is the whole match, with one
 * group that group ("" when unset), with several the tuple of groups, of
 * which the harness keeps the first non-empty one. Python `re` and PCRE2
 * differ on syntax tasks rarely use (possessive quantifiers and \z exist
 * only in PCRE2, Python's \Z is PCRE2's \z, PCRE2 \w also takes marks) and
 * PCRE2's Unicode tables may be a version apart from Python's.
 *
 * Not here: scoring (task_score.c); Python filters (`custom`, `!function`
 * classes) are a step here, called through task_hooks.c. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tasks/filter.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "hooks/hooks.h"
#include "tasks/pystr.h"
#include "tasks/task.h"
#include "tasks/yamltruth.h"
#include "util/buf.h"
#include "util/suggest.h"

enum step_kind {
	F_REGEX, F_TAKE_FIRST, F_MAP, F_TAKE_K, F_MAJORITY, F_DICT, F_SPAN, F_POS, F_MCQ, F_REFUSED,
	F_PY     /* a Python filter: a `!function` class, or `custom` with filter_fn (task_hooks.c) */
};

/* A function applied to each response on its own (F_MAP). */
typedef void (*map_fn)(struct lle_buf *b, const char *s, size_t n);

static void map_lower(struct lle_buf *b, const char *s, size_t n) { lle_py_lower(b, s, n); }
static void map_upper(struct lle_buf *b, const char *s, size_t n) { lle_py_upper(b, s, n); }
static void map_strip(struct lle_buf *b, const char *s, size_t n) { lle_py_strip(b, s, n, NULL, LLE_STRIP_BOTH); }

/* The filter functions a filter_list step may name, as metrics.c's
 * k_metrics: the one list of what is known (the "unknown filter" message
 * is written from it). Every name lm-evaluation-harness registers
 * (lm_eval/filters/{selection,extraction,transformation,custom,
 * decontamination}.py, @register_filter) is here, with the keyword
 * arguments its constructor takes; `strip` is llm-eval's own. The two the
 * harness registers but llm-eval cannot run say why (`refused`). */
static const struct fdef {
	const char *name;
	enum step_kind k;
	map_fn map;
	const char *keys;       /* the arguments it takes, space-separated */
	const char *refused;    /* F_REFUSED: why */
} k_filters[] = {
	{ "regex", F_REGEX, NULL, "regex_pattern group_select fallback fallback_regex "
	  "fallback_regex_group_select", NULL },
	{ "take_first", F_TAKE_FIRST, NULL, "", NULL },
	{ "take_first_k", F_TAKE_K, NULL, "k", NULL },
	{ "majority_vote", F_MAJORITY, NULL, "", NULL },
	{ "lowercase", F_MAP, map_lower, "", NULL },
	{ "uppercase", F_MAP, map_upper, "", NULL },
	/* WhitespaceFilter: resp.strip() since the harness's #3408 (v0.4.10) */
	{ "remove_whitespace", F_MAP, map_strip, "", NULL },
	{ "strip", F_MAP, map_strip, "", NULL },
	{ "map", F_DICT, NULL, "mapping_dict default_value", NULL },
	{ "format_span", F_SPAN, NULL, "", NULL },
	{ "regex_pos", F_POS, NULL, "regex_pattern group_select fallback", NULL },
	{ "multi_choice_regex", F_MCQ, NULL, "regex_pattern group_select fallback ignore_case "
	  "ignore_punctuation regexes_to_ignore", NULL },
	{ "custom", F_PY, NULL, "filter_fn", NULL },
	{ "decontaminate", F_REFUSED, NULL, "", "it is a stub in the harness (its apply returns "
	  "nothing), so there is nothing to reproduce" },
};
#define NFILTERS (sizeof(k_filters) / sizeof(k_filters[0]))

struct rx {
	pcre2_code *code;
	int group_select;
};

struct step {
	enum step_kind k;
	struct rx *rx;          /* F_REGEX: the pattern, then fallback_regex ones;
				 * F_MCQ: the pattern; F_POS: compiled, unused */
	size_t nrx;
	char *fallback;         /* F_REGEX, F_MCQ */
	map_fn map;             /* F_MAP */
	long kk;                /* F_TAKE_K: k */
	json_t *dict;           /* F_DICT: mapping_dict */
	json_t *dflt;           /* F_DICT: default_value; F_POS: fallback */
	int icase, ipunct;      /* F_MCQ */
	pcre2_code **ignore;    /* F_MCQ: regexes_to_ignore */
	size_t nignore;
	const char *name;       /* the function, for messages */
	struct lle_hookref *hook; /* F_PY */
	json_t *kwargs;         /* F_PY: the step's other keys */
	int custom;             /* F_PY: CustomFilter(filter_fn=...) rather than a class */
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
		struct step *st = &fc->steps[i];
		for (size_t j = 0; j < st->nrx; j++)
			pcre2_code_free(st->rx[j].code);
		free(st->rx);
		free(st->fallback);
		json_decref(st->dict);
		json_decref(st->dflt);
		for (size_t j = 0; j < st->nignore; j++)
			pcre2_code_free(st->ignore[j]);
		free(st->ignore);
		lle_hookref_free(st->hook);
		json_decref(st->kwargs);
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

static int key_known(const char *keys, const char *k)
{
	size_t n = strlen(k);
	if (!strcmp(k, "function"))
		return 1;
	for (const char *p = keys; (p = strstr(p, k)); p += n)
		if ((p == keys || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return 1;
	return 0;
}

/* regex_pattern, group_select and fallback, as RegexFilter's constructor
 * (defaults r"#### (\-?[0-9\.\,]+)", 0, "[invalid]"). */
static int parse_regex_args(const struct lle_node *f, struct step *st, size_t extra, const char *where,
			    struct lle_err *err)
{
	const char *pat = "#### (\\-?[0-9\\.\\,]+)";
	if (st->k == F_POS)
		pat = "\\['(.*?)'\\]"; /* POSFilter's default */
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
	if (st->k == F_POS) {
		/* POSFilter: fallback None means ["invalid"]; any value is kept */
		st->dflt = fb && !lle_node_is_null(fb) ? lle_node_to_json(fb) : json_pack("[s]", "invalid");
		if (!st->dflt)
			return lle_err_oom(err);
	} else {
		if (fb && fb->kind != LLE_NODE_SCALAR)
			return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: 'fallback' must be a string",
					   fb->file, fb->line, fb->col, where);
		if (!(st->fallback = lle_strdup(fb ? fb->str : "[invalid]")))
			return lle_err_oom(err);
	}
	if (!(st->rx = calloc(1 + extra, sizeof(*st->rx))))
		return lle_err_oom(err);
	char w[700];
	snprintf(w, sizeof(w), "%s:%d:%d: %s", pn ? pn->file : f->file, pn ? pn->line : f->line,
		 pn ? pn->col : f->col, where);
	if (!(st->rx[0].code = compile_rx(pat, w, err)))
		return -1;
	st->rx[0].group_select = gs;
	st->nrx = 1;
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
	if ((fnn->tag && !strcmp(fnn->tag, "!function")) || !strcmp(fn, "custom"))
	{
		if (lle_filter_py_step(f, &st->hook, &st->kwargs, &st->custom, where, err) < 0)
			return -1;
		st->k = F_PY;
		st->name = st->custom ? "custom" : st->hook->spec;
		return 0;
	}
	const struct fdef *def = NULL;
	for (size_t i = 0; i < NFILTERS && !def; i++)
		if (!strcmp(fn, k_filters[i].name))
			def = &k_filters[i];
	if (!def) {
		struct lle_suggest sg;
		lle_suggest_init(&sg, fn);
		for (size_t i = 0; i < NFILTERS; i++)
			if (k_filters[i].k != F_REFUSED)
				lle_suggest_add(&sg, k_filters[i].name);
		const char *near = lle_suggest_result(&sg);
		if (near)
			return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: unknown filter '%s' (did you mean '%s'?)",
					   fnn->file, fnn->line, fnn->col, where, fn, near);
		struct lle_buf known = LLE_BUF_INIT;
		for (size_t i = 0; i < NFILTERS; i++)
			if (k_filters[i].k != F_REFUSED)
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
	if (def->k == F_REFUSED)
		return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: filter '%s' is not supported: %s",
				   fnn->file, fnn->line, fnn->col, where, fn, def->refused);
	for (size_t i = 0; i < f->n; i++)
		if (!key_known(def->keys, f->keys[i]))
			return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: unknown key '%s' in filter "
					   "'%s'", f->items[i]->file, f->items[i]->line,
					   f->items[i]->col, where, f->keys[i], fn);
	st->k = def->k;
	st->map = def->map;
	st->name = def->name;
	switch (st->k) {
	case F_TAKE_K: {
		/* TakeKFilter: self.k = kwargs.pop("k"), a KeyError without it */
		const struct lle_node *kn = lle_node_get(f, "k");
		if (!kn || kn->kind != LLE_NODE_SCALAR || !kn->plain || lle_node_long(kn, &st->kk) < 0)
			return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: filter 'take_first_k' needs "
					   "an integer 'k'", kn ? kn->file : f->file, kn ? kn->line : f->line,
					   kn ? kn->col : f->col, where);
		return 0;
	}
	case F_DICT: {
		/* MapFilter(mapping_dict=None -> {}, default_value=None) */
		const struct lle_node *dn = lle_node_get(f, "mapping_dict");
		if (dn && dn->kind != LLE_NODE_MAP && !lle_node_is_null(dn))
			return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: 'mapping_dict' must be a map",
					   dn->file, dn->line, dn->col, where);
		st->dict = dn && dn->kind == LLE_NODE_MAP ? lle_node_to_json(dn) : json_object();
		st->dflt = lle_node_to_json(lle_node_get(f, "default_value"));
		if (!st->dict || !st->dflt)
			return lle_err_oom(err);
		return 0;
	}
	case F_POS:
		return parse_regex_args(f, st, 0, where, err);
	case F_MCQ: {
		if (parse_regex_args(f, st, 0, where, err) < 0)
			return -1;
		/* `if self.ignore_case:` (lm_eval/filters/extraction.py):
		 * Python's truth of the YAML value */
		st->icase = lle_yaml_truthy(lle_node_get(f, "ignore_case"), 0);
		st->ipunct = lle_yaml_truthy(lle_node_get(f, "ignore_punctuation"), 0);
		const struct lle_node *ig = lle_node_get(f, "regexes_to_ignore");
		if (!ig || lle_node_is_null(ig))
			return 0;
		if (ig->kind != LLE_NODE_SEQ)
			return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: 'regexes_to_ignore' must be a "
					   "list of patterns", ig->file, ig->line, ig->col, where);
		if (ig->n && !(st->ignore = calloc(ig->n, sizeof(*st->ignore))))
			return lle_err_oom(err);
		for (size_t i = 0; i < ig->n; i++) {
			const struct lle_node *p = ig->items[i];
			char w[700];
			snprintf(w, sizeof(w), "%s:%d:%d: %s", p->file, p->line, p->col, where);
			if (p->kind != LLE_NODE_SCALAR)
				return lle_err_set(err, LLE_EXIT_CONFIG, "%s: a regex to ignore must be a string", w);
			if (!(st->ignore[i] = compile_rx(p->str, w, err)))
				return -1;
			st->nignore++;
		}
		return 0;
	}
	case F_REGEX:
		break;
	default:
		return 0;
	}
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
	if (parse_regex_args(f, st, nfr, where, err) < 0)
		return -1;
	int gs = st->rx[0].group_select;
	for (size_t i = 0; i < nfr; i++) {
		const struct lle_node *p = fr->items[i];
		char w[700];
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

/* re.findall over the len bytes of text (a model's text may hold NUL),
 * reduced to one string per match as described above. 0 ok, -1 error. */
static int findall(pcre2_code *code, const char *text, size_t tlen, struct found *out, struct lle_err *err)
{
	uint32_t ngroups = 0;
	pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &ngroups);
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
	if (!md)
		return lle_err_oom(err);
	PCRE2_SIZE len = tlen, start = 0;
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
static char *regex_one(const struct step *st, const char *text, size_t tlen, struct lle_err *err)
{
	for (size_t r = 0; r < st->nrx; r++) {
		struct found f = { 0 };
		if (findall(st->rx[r].code, text, tlen, &f, err) < 0) {
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
		int in = gs >= 0 && (size_t)gs < f.n;
		const char *m = in ? f.v[gs] : NULL;
		struct lle_buf b = LLE_BUF_INIT;
		if (m)
			lle_py_strip(&b, m, strlen(m), NULL, LLE_STRIP_BOTH);
		else if (in) /* a tuple of empty groups: the fallback, stripped */
			lle_py_strip(&b, st->fallback, strlen(st->fallback), NULL, LLE_STRIP_BOTH);
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
	struct step st = { .k = F_REGEX, .rx = &rx, .nrx = 1, .fallback = (char *)fallback };
	char *s = regex_one(&st, text, strlen(text), err);
	pcre2_code_free(rx.code);
	return s;
}

/* ---------- multi_choice_regex ---------- */

/* MultiChoiceRegexFilter.find_match: findall, the group_select-th match (a
 * tuple: its first non-empty group, else ""), stripped, then converted
 * through conv (a JSON object) when it is a key. NULL with *out NULL: no
 * match (the harness's falsy []); a group_select past the matches counts
 * as no match, as regex's does. 0 ok, -1 error. */
static int find_match(pcre2_code *code, int group_select, const char *text, const json_t *conv,
		      char **out, struct lle_err *err)
{
	struct found f = { 0 };
	*out = NULL;
	if (findall(code, text, strlen(text), &f, err) < 0) {
		found_free(&f);
		return -1;
	}
	long long gs = group_select;
	if (gs < 0)
		gs += (long long)f.n;
	if (gs < 0 || (size_t)gs >= f.n) {
		found_free(&f);
		return 0;
	}
	const char *m = f.v[gs] ? f.v[gs] : "";
	struct lle_buf b = LLE_BUF_INIT;
	lle_py_strip(&b, m, strlen(m), NULL, LLE_STRIP_BOTH);
	found_free(&f);
	const json_t *c = conv && b.n ? json_object_get(conv, lle_buf_str(&b)) : NULL;
	if (c) {
		lle_buf_free(&b);
		*out = lle_strdup(json_string_value(c));
	} else {
		*out = lle_buf_detach(&b);
	}
	return *out ? 0 : lle_err_oom(err);
}

/* re.sub(pattern, "", s): an empty replacement makes Python's and PCRE2's
 * rules for empty matches agree. malloc()ed, NULL with err set. */
static char *sub_empty(pcre2_code *code, const char *s, struct lle_err *err)
{
	size_t len = strlen(s);
	PCRE2_SIZE cap = len + 1;
	for (int tries = 0; tries < 2; tries++) {
		char *out = malloc(cap);
		if (!out)
			break;
		PCRE2_SIZE olen = cap;
		int rc = pcre2_substitute(code, (PCRE2_SPTR)s, len, 0,
					  PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH, NULL,
					  NULL, (PCRE2_SPTR) "", 0, (PCRE2_UCHAR *)out, &olen);
		if (rc >= 0)
			return out;
		free(out);
		if (rc != PCRE2_ERROR_NOMEMORY) {
			PCRE2_UCHAR m[256];
			pcre2_get_error_message(rc, m, sizeof(m));
			lle_err_set(err, LLE_EXIT_EVAL, "regex substitution failed: %s", (const char *)m);
			return NULL;
		}
		cap = olen + 1;
	}
	lle_err_oom(err);
	return NULL;
}

static pcre2_code *punct_rx(struct lle_err *err)
{
	/* str.translate over every code point whose unicodedata category
	 * starts with "P": PCRE2's \p{P} (its Unicode tables may be a version
	 * apart from Python's unicodedata; punctuation rarely moves) */
	return compile_rx("\\p{P}", "punctuation", err);
}

/* MultiChoiceRegexFilter.filter_ignores: regexes_to_ignore removed, then
 * lower(), then punctuation removed. */
static char *filter_ignores(const struct step *st, pcre2_code *punct, const char *s, struct lle_err *err)
{
	char *cur = lle_strdup(s);
	if (!cur) {
		lle_err_oom(err);
		return NULL;
	}
	for (size_t i = 0; i < st->nignore && cur; i++) {
		char *n = sub_empty(st->ignore[i], cur, err);
		free(cur);
		cur = n;
	}
	if (cur && st->icase) {
		struct lle_buf b = LLE_BUF_INIT;
		lle_py_lower(&b, cur, strlen(cur));
		free(cur);
		if (!(cur = lle_buf_detach(&b)))
			lle_err_oom(err);
	}
	if (cur && st->ipunct) {
		char *n = sub_empty(punct, cur, err);
		free(cur);
		cur = n;
	}
	return cur;
}

/* re.escape's result matches exactly the text; PCRE2 takes a backslash
 * before any ASCII non-alphanumeric character as that character. */
static void rx_escape(struct lle_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x80 && !(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z'))
			lle_buf_addc(b, '\\');
		lle_buf_addc(b, (char)c);
	}
}

/* One document's fallback regexes (see MultiChoiceRegexFilter.apply): the
 * escaped choices joined by "|" mapped to "(A)", "(B)", ...; then
 * `:[\s]*(A|B|...)` mapped to "(A)", ... */
struct mcq_doc {
	pcre2_code *choice_rx, *letter_rx;
	json_t *choice_to_alpha, *letter_to_target;
};

static void mcq_doc_free(struct mcq_doc *d)
{
	pcre2_code_free(d->choice_rx);
	pcre2_code_free(d->letter_rx);
	json_decref(d->choice_to_alpha);
	json_decref(d->letter_to_target);
}

static int mcq_doc_init(struct mcq_doc *d, const struct step *st, pcre2_code *punct, const json_t *doc,
			const char *where, struct lle_err *err)
{
	memset(d, 0, sizeof(*d));
	const json_t *choices = json_is_object(doc) ? json_object_get(doc, "choices") : NULL;
	if (!json_is_array(choices))
		return lle_err_set(err, LLE_EXIT_EVAL, "%s: filter 'multi_choice_regex' needs the document's "
				   "'choices' list (the harness reads doc[\"choices\"])", where);
	if (json_array_size(choices) > 26)
		return lle_err_set(err, LLE_EXIT_EVAL, "%s: filter 'multi_choice_regex': %zu choices; past 'Z' "
				   "the harness's letter pattern does not compile", where, json_array_size(choices));
	d->choice_to_alpha = json_object();
	d->letter_to_target = json_object();
	struct lle_buf crx = LLE_BUF_INIT, lrx = LLE_BUF_INIT;
	lle_buf_adds(&lrx, ":[\\s]*(");
	int rv = 0;
	for (size_t i = 0; i < json_array_size(choices) && rv == 0; i++) {
		const json_t *c = json_array_get(choices, i);
		if (!json_is_string(c)) {
			rv = lle_err_set(err, LLE_EXIT_EVAL, "%s: filter 'multi_choice_regex': choice %zu is not a "
					 "string", where, i);
			break;
		}
		struct lle_buf sb = LLE_BUF_INIT;
		lle_py_strip(&sb, json_string_value(c), json_string_length(c), NULL, LLE_STRIP_BOTH);
		char *stripped = lle_buf_detach(&sb);
		char *m = stripped ? filter_ignores(st, punct, stripped, err) : NULL;
		free(stripped);
		if (!m) {
			rv = err->code ? -1 : lle_err_oom(err);
			break;
		}
		char alpha[4] = { '(', (char)('A' + i), ')', 0 }, letter[2] = { (char)('A' + i), 0 };
		if (i) {
			lle_buf_addc(&crx, '|');
			lle_buf_addc(&lrx, '|');
		}
		rx_escape(&crx, m);
		lle_buf_adds(&lrx, letter);
		/* a dict: a later equal choice overwrites the earlier one */
		if (!d->choice_to_alpha || json_object_set_new(d->choice_to_alpha, m, json_string(alpha)) < 0 ||
		    !d->letter_to_target || json_object_set_new(d->letter_to_target, letter, json_string(alpha)) < 0)
			rv = lle_err_oom(err);
		free(m);
	}
	lle_buf_addc(&lrx, ')');
	if (rv == 0 && (crx.oom || lrx.oom))
		rv = lle_err_oom(err);
	if (rv == 0 && !(d->choice_rx = compile_rx(crx.n ? lle_buf_str(&crx) : "", where, err)))
		rv = -1;
	if (rv == 0 && !(d->letter_rx = compile_rx(lle_buf_str(&lrx), where, err)))
		rv = -1;
	lle_buf_free(&crx);
	lle_buf_free(&lrx);
	if (rv < 0)
		mcq_doc_free(d);
	return rv;
}

/* One response: the pattern, else the choices' text in the ignored-form
 * response, else ": X"; else the fallback. */
static char *mcq_one(const struct step *st, const struct mcq_doc *d, pcre2_code *punct, const char *resp,
		     struct lle_err *err)
{
	int gs = st->rx[0].group_select;
	char *m = NULL;
	if (find_match(st->rx[0].code, gs, resp, NULL, &m, err) < 0)
		return NULL;
	if (!m || !*m) {
		free(m);
		char *ig = filter_ignores(st, punct, resp, err);
		if (!ig)
			return NULL;
		int r = find_match(d->choice_rx, gs, ig, d->choice_to_alpha, &m, err);
		free(ig);
		if (r < 0)
			return NULL;
		if (!m || !*m) {
			free(m);
			if (find_match(d->letter_rx, gs, resp, d->letter_to_target, &m, err) < 0)
				return NULL;
		}
	}
	if (!m || !*m) {
		free(m);
		m = lle_strdup(st->fallback);
		if (!m)
			lle_err_oom(err);
	}
	return m;
}

/* ---------- format_span, regex_pos ---------- */

/* SPANFilter (transformation.py): format_named_entities(format_ner_text(
 * resp.lower())). */
static char *span_one(const char *resp, struct lle_err *err)
{
	static const char *const labels[][2] = {
		{ "person", "PER" }, { "location", "LOC" }, { "organization", "ORG" }, { "counties", "LOC" },
		{ "places", "LOC" }, { "people", "PER" }, { "persons", "PER" }, { "company", "ORG" },
		{ "country", "LOC" }, { "continent", "LOC" }, { "time", "DATE" }, { "date", "DATE" },
		{ "per", "PER" }, { "loc", "LOC" }, { "org", "ORG" },
	};
	struct lle_buf b = LLE_BUF_INIT;
	lle_py_lower(&b, resp, strlen(resp)); /* lower() twice is lower() once */
	char *text = lle_buf_detach(&b);
	if (!text)
		goto oom;
	/* text = re.sub(rf"\b{re.escape(key)}\s*:", f"{value}:", text) */
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		char pat[64], rep[16];
		snprintf(pat, sizeof(pat), "\\b%s\\s*:", labels[i][0]);
		snprintf(rep, sizeof(rep), "%s:", labels[i][1]);
		pcre2_code *c = compile_rx(pat, "format_span", err);
		if (!c) {
			free(text);
			return NULL;
		}
		size_t len = strlen(text);
		PCRE2_SIZE cap = len * 2 + 16, olen = cap;
		char *out = malloc(cap);
		int rc = out ? pcre2_substitute(c, (PCRE2_SPTR)text, len, 0, PCRE2_SUBSTITUTE_GLOBAL |
						PCRE2_SUBSTITUTE_LITERAL, NULL, NULL, (PCRE2_SPTR)rep,
						PCRE2_ZERO_TERMINATED, (PCRE2_UCHAR *)out, &olen) : 0;
		pcre2_code_free(c);
		free(text);
		text = out;
		if (!out)
			goto oom;
		if (rc < 0) { /* the output is never more than len + one byte per match */
			free(text);
			return lle_err_set(err, LLE_EXIT_INTERNAL, "format_span: substitution failed (%d)", rc),
			       NULL;
		}
	}
	/* "$".join(text.split("$$")) is replace("$$", "$"); then rstrip("$$") */
	lle_py_replace(&b, text, strlen(text), "$$", "$");
	free(text);
	while (b.n && b.p[b.n - 1] == '$')
		b.p[--b.n] = 0;
	/* format_named_entities: "\n" -> "$", strip(), findall */
	struct lle_buf t2 = LLE_BUF_INIT;
	lle_py_replace(&t2, lle_buf_str(&b), b.n, "\n", "$");
	lle_buf_free(&b);
	lle_py_strip(&b, lle_buf_str(&t2), t2.n, NULL, LLE_STRIP_BOTH);
	lle_buf_free(&t2);
	if (b.oom)
		goto oomb;
	pcre2_code *c = compile_rx("\\b(PER|LOC|ORG|DATE):\\s*([^$]+)", "format_span", err);
	if (!c) {
		lle_buf_free(&b);
		return NULL;
	}
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(c, NULL);
	struct lle_buf out = LLE_BUF_INIT;
	const char *s = lle_buf_str(&b);
	PCRE2_SIZE start = 0, len = b.n;
	size_t nent = 0;
	/* the pattern cannot match empty, so no empty-match stepping */
	while (md && start <= len && pcre2_match(c, (PCRE2_SPTR)s, len, start, 0, md, NULL) > 0) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		char label[5] = { 0 };
		for (size_t k = 0; k < ov[3] - ov[2] && k < 4; k++)
			label[k] = (char)(s[ov[2] + k] - 'A' + 'a');
		json_t *ents = lle_py_split(s + ov[4], ov[5] - ov[4], ",");
		for (size_t k = 0; ents && k < json_array_size(ents); k++) {
			const json_t *e = json_array_get(ents, k);
			struct lle_buf eb = LLE_BUF_INIT, lb = LLE_BUF_INIT;
			lle_py_strip(&eb, json_string_value(e), json_string_length(e), NULL, LLE_STRIP_BOTH);
			lle_py_lower(&lb, lle_buf_str(&eb), eb.n);
			if (strcmp(lle_buf_str(&lb), "none") != 0)
				lle_buf_printf(&out, "%s%s: %s", nent++ ? " $ " : "", label, lle_buf_str(&eb));
			if (eb.oom || lb.oom)
				out.oom = 1;
			lle_buf_free(&eb);
			lle_buf_free(&lb);
		}
		if (!ents)
			out.oom = 1;
		json_decref(ents);
		start = ov[1];
	}
	int mdok = md != NULL;
	pcre2_match_data_free(md);
	pcre2_code_free(c);
	lle_buf_free(&b);
	if (!mdok || out.oom) {
		lle_buf_free(&out);
		goto oom;
	}
	char *r = lle_buf_detach(&out);
	if (!r)
		goto oom;
	return r;
oomb:
	lle_buf_free(&b);
oom:
	lle_err_oom(err);
	return NULL;
}

/* POSFilter.extract_pos_tags on a string: the second group of each
 * r"\('([^']*)', '([^']*)'\)" match, or the fallback when there is none. */
static json_t *pos_one(const struct step *st, const char *resp, struct lle_err *err)
{
	pcre2_code *c = compile_rx("\\('([^']*)', '([^']*)'\\)", "regex_pos", err);
	if (!c)
		return NULL;
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(c, NULL);
	json_t *tags = json_array();
	PCRE2_SIZE start = 0, len = strlen(resp);
	int ok = md && tags;
	while (ok && start <= len && pcre2_match(c, (PCRE2_SPTR)resp, len, start, 0, md, NULL) > 0) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		if (json_array_append_new(tags, json_stringn_nocheck(resp + ov[4], ov[5] - ov[4])) < 0)
			ok = 0;
		start = ov[1]; /* never an empty match */
	}
	pcre2_match_data_free(md);
	pcre2_code_free(c);
	if (ok && json_array_size(tags) == 0) {
		json_decref(tags);
		tags = json_deep_copy(st->dflt);
		ok = tags != NULL;
	}
	if (!ok) {
		json_decref(tags);
		lle_err_oom(err);
		return NULL;
	}
	return tags;
}

/* ---------- applying a chain ---------- */

/* The responses of a document as a list; after take_first the harness
 * holds one bare value instead (TakeFirstFilter returns r[0]), and a later
 * per-response step then iterates that value: a string by its characters.
 * A bare string becomes the list of its characters here. */
static json_t *chars_of(const char *s, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n;) {
		size_t l;
		lle_py_decode(s + i, n - i, &l);
		if (json_array_append_new(a, json_stringn_nocheck(s + i, l)) < 0) {
			json_decref(a);
			return NULL;
		}
		i += l;
	}
	return a;
}

/* Counter(resps).most_common(1)[0][0]: the most frequent value; of equal
 * counts the one seen first (Counter keeps insertion order and
 * most_common(1) is max(), which keeps the first maximum). */
static json_t *majority(const json_t *list, const char *where, struct lle_err *err)
{
	size_t n = json_array_size(list), best = 0, bestc = 0;
	if (n == 0) {
		lle_err_set(err, LLE_EXIT_EVAL, "%s: majority_vote of no responses (the harness stops with "
			    "an IndexError)", where);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(list, i);
		if (json_is_array(v) || json_is_object(v)) {
			lle_err_set(err, LLE_EXIT_EVAL, "%s: majority_vote of lists (the harness stops: a "
				    "list is not hashable)", where);
			return NULL;
		}
		size_t first = i, c = 0;
		for (size_t j = 0; j < n; j++)
			if (lle_py_eq(json_array_get(list, j), v)) {
				if (j < first)
					first = j;
				c++;
			}
		if (first == i && c > bestc) {
			best = i;
			bestc = c;
		}
	}
	return json_pack("[O]", json_array_get(list, best));
}

json_t *lle_filter_apply(const struct lle_filter_chain *fc, const json_t *resps, const json_t *doc,
			 struct lle_err *err)
{
	json_t *cur = json_deep_copy(resps);
	int bare = 0; /* cur is [the bare value] */
	pcre2_code *punct = NULL;
	char where[300];
	snprintf(where, sizeof(where), "filter '%s'", fc->name);
	if (!cur) {
		lle_err_oom(err);
		return NULL;
	}
	for (size_t i = 0; i < fc->n; i++) {
		const struct step *st = &fc->steps[i];
		const json_t *b0 = bare ? json_array_get(cur, 0) : NULL;
		if (bare && !json_is_string(b0)) {
			lle_err_set(err, LLE_EXIT_EVAL, "%s: '%s' after take_first on a value that is not a "
				    "string (the harness stops with a TypeError)", where, st->name);
			goto fail;
		}
		if (st->k == F_TAKE_FIRST || st->k == F_TAKE_K) {
			/* r[0] / r[:k] on the list, or on a bare string's characters */
			json_t *l = bare ? chars_of(json_string_value(b0), json_string_length(b0)) : json_incref(cur);
			if (!l)
				goto oom;
			size_t n = json_array_size(l);
			if (st->k == F_TAKE_FIRST && n == 0) {
				json_decref(l);
				lle_err_set(err, LLE_EXIT_EVAL, "%s: take_first of nothing (the harness stops with "
					    "an IndexError)", where);
				goto fail;
			}
			if (st->k == F_TAKE_K && (long long)n < st->kk) {
				json_decref(l);
				lle_err_set(err, LLE_EXIT_EVAL, "%s: take_first_k needs at least %ld responses per "
					    "document, got %zu (raise repeats)", where, st->kk, n);
				goto fail;
			}
			size_t keep = 1;
			if (st->k == F_TAKE_K)
				keep = st->kk >= 0 ? (size_t)st->kk : (size_t)((long long)n + st->kk > 0 ? (long long)n + st->kk : 0);
			json_t *nl = json_array();
			for (size_t j = 0; nl && j < keep && j < n; j++)
				if (json_array_append(nl, json_array_get(l, j)) < 0) {
					json_decref(nl);
					nl = NULL;
				}
			json_decref(l);
			if (!nl)
				goto oom;
			if (bare && st->k == F_TAKE_K) { /* a str slice stays a str */
				struct lle_buf sb = LLE_BUF_INIT;
				for (size_t j = 0; j < json_array_size(nl); j++)
					lle_buf_add(&sb, json_string_value(json_array_get(nl, j)),
						    json_string_length(json_array_get(nl, j)));
				json_decref(nl);
				size_t slen = sb.n;
				char *str = lle_buf_detach(&sb);
				nl = str ? json_pack("[s%]", str, slen) : NULL;
				free(str);
				if (!nl)
					goto oom;
			}
			json_decref(cur);
			cur = nl;
			bare = bare || st->k == F_TAKE_FIRST;
			continue;
		}
		if (st->k == F_PY) { /* apply([resps], [doc]) of the harness's Filter */
			json_t *nv = lle_filter_py_apply(st->hook, st->kwargs, st->custom, bare ? b0 : cur, doc, where, err);
			if (!nv)
				goto fail;
			json_decref(cur);
			bare = !json_is_array(nv);
			cur = bare ? json_pack("[o]", nv) : nv;
			if (!cur)
				goto oom;
			continue;
		}
		if (bare) {
			json_t *l = chars_of(json_string_value(b0), json_string_length(b0));
			if (!l)
				goto oom;
			json_decref(cur);
			cur = l;
			bare = 0;
		}
		if (st->k == F_MAJORITY) {
			json_t *v = majority(cur, where, err);
			if (!v)
				goto fail;
			json_decref(cur);
			cur = v;
			continue;
		}
		struct mcq_doc md = { 0 };
		if (st->k == F_MCQ) {
			if ((!punct && !(punct = punct_rx(err))) || mcq_doc_init(&md, st, punct, doc, where, err) < 0)
				goto fail;
		}
		for (size_t j = 0; j < json_array_size(cur); j++) {
			json_t *v = json_array_get(cur, j);
			json_t *nv = NULL;
			if (st->k == F_DICT) {
				/* mapping_dict.get(resp, default_value): keys are strings */
				const json_t *m = json_is_string(v) ? json_object_get(st->dict, json_string_value(v)) : NULL;
				nv = json_deep_copy(m ? m : st->dflt);
			} else if (!json_is_string(v) && st->k != F_REGEX && st->k != F_MCQ) {
				mcq_doc_free(&md);
				lle_err_set(err, LLE_EXIT_EVAL, "%s: '%s' on a response that is not a string (the "
					    "harness stops)", where, st->name);
				goto fail;
			} else {
				/* regex and multi_choice_regex take a non-string as "" */
				const char *s = json_is_string(v) ? json_string_value(v) : "";
				size_t n = json_is_string(v) ? json_string_length(v) : 0;
				char *res = NULL;
				size_t rlen = (size_t)-1; /* a length where res may hold NUL */
				struct lle_buf b = LLE_BUF_INIT;
				switch (st->k) {
				case F_REGEX: res = regex_one(st, s, n, err); break;
				case F_MCQ: res = mcq_one(st, &md, punct, s, err); break;
				case F_SPAN: res = span_one(s, err); break;
				case F_POS: nv = pos_one(st, s, err); break;
				case F_MAP:
					st->map(&b, s, n);
					rlen = b.n;
					if (!(res = lle_buf_detach(&b)))
						lle_err_oom(err);
					break;
				default: break;
				}
				if (!res && !nv) {
					mcq_doc_free(&md);
					goto fail;
				}
				if (res) {
					nv = rlen != (size_t)-1 ? json_stringn_nocheck(res, rlen) : json_string_nocheck(res);
					free(res);
				}
			}
			if (!nv || json_array_set_new(cur, j, nv) < 0) {
				mcq_doc_free(&md);
				goto oom;
			}
		}
		mcq_doc_free(&md);
	}
	pcre2_code_free(punct);
	return cur;
oom:
	lle_err_oom(err);
fail:
	pcre2_code_free(punct);
	json_decref(cur);
	return NULL;
}

const char *lle_filter_prediction(const json_t *out, const char *chain, struct lle_err *err)
{
	if (json_array_size(out) != 1) {
		lle_err_set(err, LLE_EXIT_EVAL, "filter '%s' leaves %zu responses, not one: the harness "
			    "would score the list itself (end the chain with take_first)", chain,
			    json_array_size(out));
		return NULL;
	}
	const json_t *v = json_array_get(out, 0);
	if (!json_is_string(v)) {
		lle_err_set(err, LLE_EXIT_EVAL, "filter '%s' gives %s, not a string, to the metrics "
			    "(llm-eval scores strings only)", chain, json_is_array(v) ? "a list" :
			    json_is_null(v) ? "None" : "a number");
		return NULL;
	}
	return json_string_value(v);
}
