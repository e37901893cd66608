/* Metrics, aggregations, standard errors: see metrics.h.
 *
 * Sums run left to right in document order, as Python's sum() over a list
 * does, so values agree with the harness to the last bit for 0/1 metrics
 * and to rounding otherwise. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tasks/metrics.h"

#include <math.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/code_metric.h"
#include "tasks/metric_mt.h"
#include "tasks/metric_wer.h"
#include "tasks/pyrand.h"
#include "tasks/pystr.h"
#include "tasks/yamltruth.h"
#include "util/buf.h"
#include "util/suggest.h"

const char *lle_output_type_name(enum lle_output_type t)
{
	switch (t) {
	case LLE_OUT_GENERATE_UNTIL: return "generate_until";
	case LLE_OUT_MULTIPLE_CHOICE: return "multiple_choice";
	case LLE_OUT_LOGLIKELIHOOD: return "loglikelihood";
	case LLE_OUT_LOGLIKELIHOOD_ROLLING: return "loglikelihood_rolling";
	}
	return "?";
}

static const char *const k_agg_names[] = { "mean", "median", "perplexity", "weighted_perplexity",
					   "bits_per_byte", "f1", "matthews_corrcoef", "bleu", "chrf",
					   "ter" };

const char *lle_agg_name(enum lle_agg a) { return k_agg_names[a]; }

/* What a metric's items are, which aggregations fit them, and where it can
 * come from. */
enum item_kind { IK_VALUE, IK_WEIGHTED, IK_PAIR, IK_CORPUS };

static const struct mdef {
	const char *name;
	enum lle_metric_kind kind;
	enum lle_agg agg;
	int hib;
	unsigned outs; /* bit per output type */
	enum item_kind ik;
} k_metrics[] = {
	{ "exact_match", LLE_M_EXACT_MATCH, LLE_AGG_MEAN, 1,
	  1u << LLE_OUT_GENERATE_UNTIL | 1u << LLE_OUT_MULTIPLE_CHOICE, IK_VALUE },
	{ "acc", LLE_M_ACC, LLE_AGG_MEAN, 1, 1u << LLE_OUT_MULTIPLE_CHOICE | 1u << LLE_OUT_LOGLIKELIHOOD,
	  IK_VALUE },
	{ "acc_norm", LLE_M_ACC_NORM, LLE_AGG_MEAN, 1, 1u << LLE_OUT_MULTIPLE_CHOICE, IK_VALUE },
	{ "acc_mutual_info", LLE_M_ACC_MUTUAL_INFO, LLE_AGG_MEAN, 1, 1u << LLE_OUT_MULTIPLE_CHOICE, IK_VALUE },
	{ "f1", LLE_M_F1, LLE_AGG_MEAN, 1, 1u << LLE_OUT_GENERATE_UNTIL | 1u << LLE_OUT_MULTIPLE_CHOICE,
	  IK_VALUE },
	{ "mcc", LLE_M_MCC, LLE_AGG_MCC, 1, 1u << LLE_OUT_MULTIPLE_CHOICE, IK_PAIR },
	{ "perplexity", LLE_M_PERPLEXITY, LLE_AGG_PERPLEXITY, 0, 1u << LLE_OUT_LOGLIKELIHOOD, IK_VALUE },
	{ "word_perplexity", LLE_M_WORD_PERPLEXITY, LLE_AGG_WEIGHTED_PERPLEXITY, 0,
	  1u << LLE_OUT_LOGLIKELIHOOD_ROLLING, IK_WEIGHTED },
	{ "byte_perplexity", LLE_M_BYTE_PERPLEXITY, LLE_AGG_WEIGHTED_PERPLEXITY, 0,
	  1u << LLE_OUT_LOGLIKELIHOOD_ROLLING, IK_WEIGHTED },
	{ "bits_per_byte", LLE_M_BITS_PER_BYTE, LLE_AGG_BITS_PER_BYTE, 0,
	  1u << LLE_OUT_LOGLIKELIHOOD_ROLLING, IK_WEIGHTED },
	/* lm_eval/api/metrics.py: acc_bytes_fn, bleu_fn, chrf_fn, ter_fn
	 * (ter registered with higher_is_better=True, kept as the harness has it) */
	{ "acc_bytes", LLE_M_ACC_BYTES, LLE_AGG_MEAN, 1, 1u << LLE_OUT_MULTIPLE_CHOICE, IK_VALUE },
	{ "bleu", LLE_M_BLEU, LLE_AGG_BLEU, 1, 1u << LLE_OUT_GENERATE_UNTIL, IK_CORPUS },
	{ "chrf", LLE_M_CHRF, LLE_AGG_CHRF, 1, 1u << LLE_OUT_GENERATE_UNTIL, IK_CORPUS },
	{ "ter", LLE_M_TER, LLE_AGG_TER, 1, 1u << LLE_OUT_GENERATE_UNTIL, IK_CORPUS },
	/* Hugging Face evaluate's, which the harness loads for a name its
	 * registry lacks (metric_wer.h); the harness knows no aggregation or
	 * direction for it (tasks give both): mean and lower is better here */
	{ "wer", LLE_M_WER, LLE_AGG_MEAN, 0, 1u << LLE_OUT_GENERATE_UNTIL, IK_VALUE },
};

static enum item_kind items_of(const struct lle_metric *m, enum lle_output_type ot)
{
	/* f1 over multiple-choice predictions is the harness's corpus F1 */
	if (m->kind == LLE_M_F1 && ot == LLE_OUT_MULTIPLE_CHOICE)
		return IK_PAIR;
	for (size_t i = 0; i < sizeof(k_metrics) / sizeof(k_metrics[0]); i++)
		if (k_metrics[i].kind == m->kind)
			return k_metrics[i].ik;
	return IK_VALUE;
}

static int agg_fits(enum lle_agg a, enum item_kind ik)
{
	switch (ik) {
	case IK_VALUE: return a == LLE_AGG_MEAN || a == LLE_AGG_MEDIAN || a == LLE_AGG_PERPLEXITY;
	case IK_WEIGHTED: return a == LLE_AGG_WEIGHTED_PERPLEXITY || a == LLE_AGG_BITS_PER_BYTE;
	case IK_PAIR: return a == LLE_AGG_F1 || a == LLE_AGG_MCC;
	case IK_CORPUS: return a == LLE_AGG_BLEU || a == LLE_AGG_CHRF || a == LLE_AGG_TER;
	}
	return 0;
}

void lle_metric_fini(struct lle_metric *m)
{
	for (size_t i = 0; i < m->nregexes; i++)
		pcre2_code_free(m->regexes[i]);
	free(m->regexes);
	free(m->name);
	lle_code_cfg_unref(m->code);
	memset(m, 0, sizeof(*m));
}

static int set_from_def(struct lle_metric *m, const struct mdef *d, enum lle_output_type ot,
			struct lle_err *err)
{
	memset(m, 0, sizeof(*m));
	if (!(m->name = lle_strdup(d->name)))
		return lle_err_oom(err);
	m->kind = d->kind;
	m->agg = d->agg;
	if (d->kind == LLE_M_F1 && ot == LLE_OUT_MULTIPLE_CHOICE)
		m->agg = LLE_AGG_F1;
	m->higher_is_better = d->hib;
	return 0;
}

int lle_metric_defaults(struct lle_metric *out, enum lle_output_type ot, struct lle_err *err)
{
	static const char *const gen[] = { "exact_match", NULL };
	static const char *const mc[] = { "acc", "acc_norm", NULL };
	static const char *const ll[] = { "perplexity", "acc", NULL };
	static const char *const roll[] = { "word_perplexity", "byte_perplexity", "bits_per_byte", NULL };
	const char *const *names = ot == LLE_OUT_GENERATE_UNTIL ? gen
		: ot == LLE_OUT_MULTIPLE_CHOICE ? mc : ot == LLE_OUT_LOGLIKELIHOOD ? ll : roll;
	int n = 0;
	for (; names[n]; n++) {
		for (size_t i = 0; i < sizeof(k_metrics) / sizeof(k_metrics[0]); i++) {
			if (!strcmp(k_metrics[i].name, names[n]) && set_from_def(&out[n], &k_metrics[i], ot, err) < 0) {
				while (n-- > 0)
					lle_metric_fini(&out[n]);
				return -1;
			}
		}
	}
	return n;
}

/* A flag as the harness reads it: Python's truth of the YAML value
 * (`if ignore_case:` in exact_match_hf_evaluate, lm_eval/api/metrics.py). */
static void flag(const struct lle_node *e, const char *key, int *out)
{
	const struct lle_node *n = lle_node_get(e, key);
	if (n)
		*out = lle_yaml_truthy(n, *out);
}

/* Whether metric_list option `key` changes what the harness computes, is
 * ignored by it, or makes it fail (lm_eval/api/task.py): every key but
 * metric, aggregation, higher_is_better and hf_evaluate is passed to the
 * metric function as a keyword argument, and
 *   - multiple_choice, loglikelihood and loglikelihood_rolling tasks never
 *     call the metric functions (process_results builds the items itself):
 *     every option is ignored (belebele's `weight_by_size` on acc,
 *     evalita's `average: macro` on f1, whose aggregation stays the binary
 *     sklearn f1_score);
 *   - generate_until calls exact_match_hf_evaluate(**kwargs), which takes
 *     the four options below and raises TypeError on any other (so does its
 *     positional fallback); bleu, chrf, ter and f1 are passthroughs that
 *     raise TypeError on keywords, and the fallback `fn([gold, result])`
 *     drops them: ignored.
 * Returns 1 (used), 0 (ignored) or -1 (the harness fails: refused). */
static int option_use(const struct lle_metric *m, enum lle_output_type ot, const char *key)
{
	static const char *const em[] = { "ignore_case", "ignore_punctuation", "ignore_numbers",
					   "regexes_to_ignore", NULL };
	if (!strcmp(key, "metric") || !strcmp(key, "aggregation") || !strcmp(key, "higher_is_better") ||
	    !strcmp(key, "hf_evaluate"))
		return 1;
	if (ot != LLE_OUT_GENERATE_UNTIL)
		return 0;
	/* Hugging Face evaluate's WER._compute(predictions, references,
	 * concatenate_texts=False): the same for one pair either way */
	if (m->kind == LLE_M_WER)
		return !strcmp(key, "concatenate_texts") ? 1 : -1;
	if (m->kind != LLE_M_EXACT_MATCH)
		return 0;
	for (int i = 0; em[i]; i++)
		if (!strcmp(key, em[i]))
			return 1;
	return -1;
}

int lle_metric_from_node(struct lle_metric *m, const struct lle_node *e, enum lle_output_type ot,
			 const char *who, struct lle_err *err)
{
	memset(m, 0, sizeof(*m));
	if (e->kind != LLE_NODE_MAP)
		return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: a metric_list entry must be a map "
				   "with 'metric'", e->file, e->line, e->col, who);
	const struct lle_node *mn = lle_node_get(e, "metric");
	if (!mn || mn->kind != LLE_NODE_SCALAR)
		return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: metric_list entry without 'metric'",
				   e->file, e->line, e->col, who);
	/* registered in the harness, but its items only a Python aggregation
	 * can take */
	if (!strcmp(mn->str, "likelihood"))
		return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: metric 'likelihood' is not supported: its "
				   "items are (gold, log-likelihoods) pairs, which only a Python aggregation combines "
				   "(lm-evaluation-harness's mean fails on them)", mn->file, mn->line, mn->col, who);
	const struct mdef *d = NULL;
	for (size_t i = 0; i < sizeof(k_metrics) / sizeof(k_metrics[0]); i++)
		if (!strcmp(k_metrics[i].name, mn->str))
			d = &k_metrics[i];
	struct lle_suggest sg;
	lle_suggest_init(&sg, mn->str);
	for (size_t i = 0; !d && i < sizeof(k_metrics) / sizeof(k_metrics[0]); i++)
		lle_suggest_add(&sg, k_metrics[i].name);
	if (!d && lle_suggest_result(&sg))
		return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: unknown metric '%s' (did you mean '%s'?)",
				   mn->file, mn->line, mn->col, who, mn->str, lle_suggest_result(&sg));
	if (!d)
		return lle_err_set(err, LLE_EXIT_CONFIG,
				   "%s:%d:%d: %s: unknown metric '%s' (known: exact_match, acc, acc_norm, "
				   "acc_mutual_info, acc_bytes, f1, mcc, perplexity, word_perplexity, "
				   "byte_perplexity, bits_per_byte, bleu, chrf, ter, wer, code_exec)", mn->file, mn->line, mn->col, who,
				   mn->str);
	if (!(d->outs & (1u << ot)))
		return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: metric '%s' does not apply to "
				   "output_type '%s'", mn->file, mn->line, mn->col, who, d->name,
				   lle_output_type_name(ot));
	if (set_from_def(m, d, ot, err) < 0)
		return -1;
	for (size_t i = 0; i < e->n; i++) {
		if (option_use(m, ot, e->keys[i]) < 0) {
			lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: unknown option '%s' for metric '%s' "
				    "(lm-evaluation-harness fails on it too: %s)",
				    e->items[i]->file, e->items[i]->line, e->items[i]->col, who,
				    e->keys[i], d->name, m->kind == LLE_M_WER
				    ? "Hugging Face evaluate's wer takes only concatenate_texts"
				    : "exact_match_hf_evaluate takes only ignore_case, ignore_punctuation, "
				      "ignore_numbers and regexes_to_ignore");
			goto fail;
		}
	}
	/* `hf_evaluate: true` (tested `is True`) loads Hugging Face evaluate's
	 * metric of that name for generate_until; its exact_match is the one
	 * ported into the harness, wer is evaluate's anyway, others are
	 * different code */
	const struct lle_node *hf = lle_node_get(e, "hf_evaluate");
	if (ot == LLE_OUT_GENERATE_UNTIL && m->kind != LLE_M_EXACT_MATCH && m->kind != LLE_M_WER &&
	    lle_yaml_is_true(hf)) {
		lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: metric '%s' with 'hf_evaluate: true' is Hugging "
			    "Face evaluate's '%s', which llm-eval does not implement", hf->file, hf->line,
			    hf->col, who, d->name, d->name);
		goto fail;
	}
	const struct lle_node *an = lle_node_get(e, "aggregation");
	if (an) {
		size_t k = 0, na = sizeof(k_agg_names) / sizeof(k_agg_names[0]);
		const char *s = an->kind == LLE_NODE_SCALAR ? an->str : "";
		if (!strcmp(s, "mcc"))
			s = "matthews_corrcoef";
		while (k < na && strcmp(k_agg_names[k], s))
			k++;
		if (k == na) {
			lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: unknown aggregation '%s' (known: mean, "
				    "median, perplexity, weighted_perplexity, bits_per_byte, f1, "
				    "matthews_corrcoef, bleu, chrf, ter)", an->file, an->line, an->col, who, s);
			goto fail;
		}
		/* a corpus metric's statistics fit its own aggregation only */
		if (!agg_fits((enum lle_agg)k, items_of(m, ot)) ||
		    (items_of(m, ot) == IK_CORPUS && (enum lle_agg)k != d->agg)) {
			lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: aggregation '%s' does not fit metric "
				    "'%s'", an->file, an->line, an->col, who, s, d->name);
			goto fail;
		}
		m->agg = (enum lle_agg)k;
	}
	flag(e, "higher_is_better", &m->higher_is_better);
	if (option_use(m, ot, "ignore_case") > 0) {
		flag(e, "ignore_case", &m->ignore_case);
		flag(e, "ignore_punctuation", &m->ignore_punctuation);
		flag(e, "ignore_numbers", &m->ignore_numbers);
	}
	const struct lle_node *rx = option_use(m, ot, "regexes_to_ignore") > 0 ?
		lle_node_get(e, "regexes_to_ignore") : NULL;
	if (rx && !lle_node_is_null(rx)) { /* None: `if regexes_to_ignore is not None` */
		if (rx->kind != LLE_NODE_SEQ) {
			lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: 'regexes_to_ignore' must be a list",
				    rx->file, rx->line, rx->col, who);
			goto fail;
		}
		m->regexes = calloc(rx->n ? rx->n : 1, sizeof(*m->regexes));
		if (!m->regexes) {
			lle_err_oom(err);
			goto fail;
		}
		for (size_t i = 0; i < rx->n; i++) {
			const struct lle_node *p = rx->items[i];
			if (p->kind != LLE_NODE_SCALAR) {
				lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: a regex must be a string", p->file,
					    p->line, p->col, who);
				goto fail;
			}
			int ec;
			PCRE2_SIZE off;
			pcre2_code *c = pcre2_compile((PCRE2_SPTR)p->str, PCRE2_ZERO_TERMINATED,
						      PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &ec,
						      &off, NULL);
			if (!c) {
				PCRE2_UCHAR msg[256];
				pcre2_get_error_message(ec, msg, sizeof(msg));
				lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: regex '%s' does not compile: %s "
					    "at offset %zu", p->file, p->line, p->col, who, p->str,
					    (const char *)msg, (size_t)off);
				goto fail;
			}
			m->regexes[m->nregexes++] = c;
		}
	}
	return 0;
fail:
	lle_metric_fini(m);
	return -1;
}

/* re.sub(pattern, "", s): a malloc()ed result. */
static char *sub_empty(pcre2_code *c, const char *s, struct lle_err *err)
{
	size_t len = strlen(s);
	PCRE2_SIZE outlen = len + 1;
	for (int tries = 0; tries < 2; tries++) {
		PCRE2_UCHAR *out = malloc(outlen);
		if (!out) {
			lle_err_oom(err);
			return NULL;
		}
		PCRE2_SIZE ol = outlen;
		int rc = pcre2_substitute(c, (PCRE2_SPTR)s, len, 0,
					  PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH, NULL,
					  NULL, (PCRE2_SPTR) "", 0, out, &ol);
		if (rc >= 0)
			return (char *)out;
		free(out);
		if (rc != PCRE2_ERROR_NOMEMORY) {
			PCRE2_UCHAR m[256];
			pcre2_get_error_message(rc, m, sizeof(m));
			lle_err_set(err, LLE_EXIT_EVAL, "regex substitution failed: %s", (const char *)m);
			return NULL;
		}
		outlen = ol;
	}
	lle_err_oom(err);
	return NULL;
}

static int is_punct(unsigned char c)
{
	return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

/* The normalisation exact_match applies to both sides; malloc()ed. */
static char *em_normalise(const struct lle_metric *m, const char *s, struct lle_err *err)
{
	char *cur = lle_strdup(s);
	if (!cur) {
		lle_err_oom(err);
		return NULL;
	}
	for (size_t i = 0; i < m->nregexes; i++) {
		char *n = sub_empty(m->regexes[i], cur, err);
		free(cur);
		if (!n)
			return NULL;
		cur = n;
	}
	if (m->ignore_case) {
		struct lle_buf b = LLE_BUF_INIT;
		lle_py_lower(&b, cur, strlen(cur));
		free(cur);
		if (!(cur = lle_buf_detach(&b))) {
			lle_err_oom(err);
			return NULL;
		}
	}
	if (m->ignore_punctuation || m->ignore_numbers) {
		char *w = cur;
		for (char *r = cur; *r; r++) {
			unsigned char c = (unsigned char)*r;
			if ((m->ignore_punctuation && is_punct(c)) || (m->ignore_numbers && c >= '0' && c <= '9'))
				continue;
			*w++ = *r;
		}
		*w = '\0';
	}
	return cur;
}

int lle_exact_match(const struct lle_metric *m, const char *pred, const char *ref, struct lle_err *err)
{
	char *a = em_normalise(m, pred, err);
	if (!a)
		return -1;
	char *b = em_normalise(m, ref, err);
	if (!b) {
		free(a);
		return -1;
	}
	int eq = strcmp(a, b) == 0;
	free(a);
	free(b);
	return eq;
}

/* SQuAD's normalize_answer, then split into tokens (a JSON array). */
static json_t *squad_tokens(const char *s)
{
	struct lle_buf low = LLE_BUF_INIT, np = LLE_BUF_INIT;
	lle_py_lower(&low, s, strlen(s));
	for (size_t i = 0; i < low.n; i++)
		if (!is_punct((unsigned char)low.p[i]))
			lle_buf_addc(&np, low.p[i]);
	lle_buf_free(&low);
	json_t *toks = np.oom ? NULL : lle_py_split(lle_buf_str(&np), np.n, NULL);
	lle_buf_free(&np);
	if (!toks)
		return NULL;
	/* articles are whole words once punctuation is gone */
	for (size_t i = json_array_size(toks); i-- > 0;) {
		const char *t = json_string_value(json_array_get(toks, i));
		if (!strcmp(t, "a") || !strcmp(t, "an") || !strcmp(t, "the"))
			json_array_remove(toks, i);
	}
	return toks;
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

double lle_token_f1(const char *pred, const char *ref)
{
	json_t *g = squad_tokens(ref), *p = squad_tokens(pred);
	double f1 = 0;
	if (!g || !p)
		goto done;
	size_t ng = json_array_size(g), npr = json_array_size(p);
	if (ng == 0 || npr == 0) {
		f1 = ng == npr;
		goto done;
	}
	const char **a = malloc(ng * sizeof(*a)), **b = malloc(npr * sizeof(*b));
	if (!a || !b) {
		free(a);
		free(b);
		goto done;
	}
	for (size_t i = 0; i < ng; i++)
		a[i] = json_string_value(json_array_get(g, i));
	for (size_t i = 0; i < npr; i++)
		b[i] = json_string_value(json_array_get(p, i));
	qsort(a, ng, sizeof(*a), cmp_cstr);
	qsort(b, npr, sizeof(*b), cmp_cstr);
	size_t i = 0, j = 0, same = 0; /* multiset intersection */
	while (i < ng && j < npr) {
		int c = strcmp(a[i], b[j]);
		if (c == 0) {
			same++;
			i++;
			j++;
		} else if (c < 0) {
			i++;
		} else {
			j++;
		}
	}
	free(a);
	free(b);
	if (same) {
		double prec = 1.0 * (double)same / (double)npr, rec = 1.0 * (double)same / (double)ng;
		f1 = (2 * prec * rec) / (prec + rec);
	}
done:
	if (g)
		json_decref(g);
	if (p)
		json_decref(p);
	return f1;
}

size_t lle_count_words(const char *text)
{
	size_t n = strlen(text), i = 0, l, pieces = 1;
	int in_ws = 0;
	while (i < n) {
		uint32_t cp = lle_py_decode(text + i, n - i, &l);
		int w = lle_py_isspace(cp);
		if (w && !in_ws)
			pieces++;
		in_ws = w;
		i += l;
	}
	return pieces;
}

size_t lle_count_bytes(const char *text) { return strlen(text); }

/* bleu, chrf, ter: one document's statistics, and its score alone as x. */
static int score_corpus(const struct lle_metric *m, const char *pred, const json_t *gold,
			struct lle_item *out, struct lle_err *err)
{
	/* the harness scores each of several targets into 1.0 and its
	 * aggregation then fails on those numbers */
	if (!json_is_string(gold))
		return lle_err_set(err, LLE_EXIT_DATA, "metric '%s' needs one target string per document "
				   "(lm-evaluation-harness fails on several)", m->name);
	const char *ref = json_string_value(gold);
	int r = m->kind == LLE_M_BLEU ? lle_bleu_stats(pred, ref, out->s, err)
		: m->kind == LLE_M_CHRF ? lle_chrf_stats(pred, ref, out->s, err)
		: lle_ter_stats(pred, ref, out->s, err);
	if (r < 0)
		return -1;
	out->x = lle_aggregate(m->agg, out, 1);
	return 0;
}

int lle_score_generated(const struct lle_metric *m, const char *pred, const json_t *gold,
			struct lle_item *out, struct lle_err *err)
{
	memset(out, 0, sizeof(*out));
	if (m->kind == LLE_M_BLEU || m->kind == LLE_M_CHRF || m->kind == LLE_M_TER)
		return score_corpus(m, pred, gold, out, err);
	size_t n = json_is_array(gold) ? json_array_size(gold) : 1;
	double best = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *g = json_is_array(gold) ? json_array_get(gold, i) : gold;
		if (!json_is_string(g))
			return lle_err_set(err, LLE_EXIT_INTERNAL, "metric '%s': target is not a string", m->name);
		double v;
		if (m->kind == LLE_M_EXACT_MATCH) {
			int r = lle_exact_match(m, pred, json_string_value(g), err);
			if (r < 0)
				return -1;
			v = r;
		} else if (m->kind == LLE_M_F1) {
			v = lle_token_f1(pred, json_string_value(g));
		} else if (m->kind == LLE_M_WER) {
			if (lle_wer(pred, json_string_value(g), &v, err) < 0)
				return -1;
		} else {
			return lle_err_set(err, LLE_EXIT_INTERNAL, "metric '%s' does not score generated text",
					   m->name);
		}
		if (v > best)
			best = v;
	}
	/* several targets: exact_match is 1 when any matches (the harness);
	 * other metrics are `1.0 if any(scores) else 0.0` there, which wer
	 * follows (scores are >= 0, so any is best > 0; f1 keeps llm-eval's
	 * best match) */
	int any = n > 1 && (m->kind == LLE_M_EXACT_MATCH || m->kind == LLE_M_WER);
	out->x = any ? (best > 0 ? 1.0 : 0.0) : best;
	return 0;
}

static size_t argmax(const double *v, size_t n)
{
	size_t k = 0;
	for (size_t i = 1; i < n; i++)
		if (v[i] > v[k])
			k = i;
	return k;
}

int lle_score_choices(const struct lle_metric *m, const double *ll, const int *is_greedy,
		      const double *ll_uncond, const json_t *choices, const json_t *gold,
		      struct lle_item *out, struct lle_err *err)
{
	memset(out, 0, sizeof(*out));
	size_t n = json_array_size(choices);
	if (n == 0)
		return lle_err_set(err, LLE_EXIT_DATA, "no choices to score");
	/* gold as indices; -100 marks one out of range, as the harness does */
	long long golds[64];
	size_t ng = 0;
	if (json_is_array(gold)) {
		for (size_t i = 0; i < json_array_size(gold) && ng < 64; i++) {
			json_t *g = json_array_get(gold, i);
			long long v = json_is_integer(g) ? json_integer_value(g) : -100;
			golds[ng++] = v >= 0 && (size_t)v < n ? v : -100;
		}
	} else if (json_is_integer(gold)) {
		long long v = json_integer_value(gold);
		golds[ng++] = v >= 0 && (size_t)v < n ? v : -100;
	} else if (json_is_string(gold)) {
		long long v = -100;
		for (size_t i = 0; i < n; i++)
			if (lle_py_eq(json_array_get(choices, i), gold)) {
				v = (long long)i;
				break;
			}
		golds[ng++] = v;
	} else {
		return lle_err_set(err, LLE_EXIT_DATA, "target is neither an index nor a choice");
	}
	double *tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return lle_err_oom(err);
	size_t pred;
	switch (m->kind) {
	case LLE_M_ACC_NORM:
		for (size_t i = 0; i < n; i++) {
			const json_t *c = json_array_get(choices, i);
			double len = json_is_string(c) ? (double)lle_py_len(json_string_value(c),
									  json_string_length(c)) : 0;
			tmp[i] = ll[i] / len; /* len 0 gives +-inf, as numpy does */
		}
		pred = argmax(tmp, n);
		break;
	case LLE_M_ACC_BYTES:
		/* np.argmax(lls / byte_length), len(choice.encode("utf-8")) */
		for (size_t i = 0; i < n; i++) {
			const json_t *c = json_array_get(choices, i);
			tmp[i] = ll[i] / (double)(json_is_string(c) ? json_string_length(c) : 0);
		}
		pred = argmax(tmp, n);
		break;
	case LLE_M_ACC_MUTUAL_INFO:
		if (!ll_uncond) {
			free(tmp);
			return lle_err_set(err, LLE_EXIT_INTERNAL, "acc_mutual_info needs unconditional scores");
		}
		for (size_t i = 0; i < n; i++)
			tmp[i] = ll[i] - ll_uncond[i];
		pred = argmax(tmp, n);
		break;
	default:
		pred = argmax(ll, n);
	}
	free(tmp);
	int hit = 0;
	for (size_t i = 0; i < ng; i++)
		if (golds[i] == (long long)pred)
			hit = 1;
	out->w = 0;
	switch (m->kind) {
	case LLE_M_ACC:
	case LLE_M_ACC_NORM:
	case LLE_M_ACC_BYTES:
	case LLE_M_ACC_MUTUAL_INFO:
		out->x = hit ? 1.0 : 0.0;
		return 0;
	case LLE_M_EXACT_MATCH: {
		int any = 0;
		for (size_t i = 0; i < ng; i++)
			if (golds[i] != -100 && is_greedy[golds[i]])
				any = 1;
		out->x = any;
		return 0;
	}
	case LLE_M_F1:
	case LLE_M_MCC:
		out->x = (double)golds[0];
		out->w = (double)pred;
		return 0;
	default:
		return lle_err_set(err, LLE_EXIT_INTERNAL, "metric '%s' does not score choices", m->name);
	}
}

int lle_score_loglikelihood(const struct lle_metric *m, double ll, int is_greedy,
			    struct lle_item *out, struct lle_err *err)
{
	memset(out, 0, sizeof(*out));
	if (m->kind == LLE_M_PERPLEXITY)
		out->x = ll;
	else if (m->kind == LLE_M_ACC)
		out->x = is_greedy ? 1 : 0;
	else
		return lle_err_set(err, LLE_EXIT_INTERNAL, "metric '%s' does not score a loglikelihood",
				   m->name);
	return 0;
}

int lle_score_rolling(const struct lle_metric *m, double ll, const char *text, struct lle_item *out,
		      struct lle_err *err)
{
	memset(out, 0, sizeof(*out));
	out->x = ll;
	if (m->kind == LLE_M_WORD_PERPLEXITY)
		out->w = (double)lle_count_words(text);
	else if (m->kind == LLE_M_BYTE_PERPLEXITY || m->kind == LLE_M_BITS_PER_BYTE)
		out->w = (double)lle_count_bytes(text);
	else
		return lle_err_set(err, LLE_EXIT_INTERNAL, "metric '%s' does not score a rolling loglikelihood",
				   m->name);
	return 0;
}

json_t *lle_item_sample(const struct lle_metric *m, enum lle_output_type ot, const struct lle_item *it,
			const json_t *gold, const json_t *pred)
{
	switch (items_of(m, ot)) {
	case IK_PAIR:
		return json_pack("[II]", (json_int_t)it->x, (json_int_t)it->w);
	case IK_WEIGHTED:
		return json_pack("[fI]", it->x, (json_int_t)it->w);
	case IK_CORPUS:
		return json_pack("[OO]", gold ? gold : json_null(), pred ? pred : json_null());
	case IK_VALUE:
		break;
	}
	if ((m->kind == LLE_M_EXACT_MATCH && ot == LLE_OUT_MULTIPLE_CHOICE) ||
	    (m->kind == LLE_M_ACC && ot == LLE_OUT_LOGLIKELIHOOD))
		return json_integer((json_int_t)it->x);
	return json_real(it->x);
}

/* ---- aggregation ---- */

/* The aggregations read item i as AT(i): it[idx[i]] for a bootstrap
 * resample (no copy of the items), it[i] otherwise. */
#define AT(i) (it[idx ? idx[i] : (i)])

static double mean_x(const struct lle_item *it, const size_t *idx, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += AT(i).x;
	return s / (double)n;
}

static double weighted_mean(const struct lle_item *it, const size_t *idx, size_t n)
{
	double a = 0, b = 0;
	for (size_t i = 0; i < n; i++) {
		a += AT(i).x;
		b += AT(i).w;
	}
	return a / b;
}

static double f1_binary(const struct lle_item *it, const size_t *idx, size_t n)
{
	double tp = 0, fp = 0, fn = 0;
	for (size_t i = 0; i < n; i++) {
		int g = AT(i).x == 1, p = AT(i).w == 1;
		tp += g && p;
		fp += !g && p;
		fn += g && !p;
	}
	double d = 2 * tp + fp + fn;
	return d > 0 ? 2 * tp / d : 0.0;
}

static double mcc(const struct lle_item *it, const size_t *idx, size_t n)
{
	/* multiclass: (c*s - sum t_k p_k) / sqrt((s^2 - sum p_k^2)(s^2 - sum t_k^2)) */
	double labels[256];
	double t[256] = { 0 }, p[256] = { 0 };
	size_t nl = 0;
	double c = 0, s = (double)n;
	for (size_t i = 0; i < n; i++) {
		double v[2] = { AT(i).x, AT(i).w };
		size_t k[2];
		for (int j = 0; j < 2; j++) {
			size_t q = 0;
			while (q < nl && labels[q] != v[j])
				q++;
			if (q == nl) {
				if (nl == 256)
					return NAN;
				labels[nl++] = v[j];
			}
			k[j] = q;
		}
		t[k[0]] += 1;
		p[k[1]] += 1;
		c += AT(i).x == AT(i).w;
	}
	double tp = 0, pp = 0, tt = 0;
	for (size_t q = 0; q < nl; q++) {
		tp += t[q] * p[q];
		pp += p[q] * p[q];
		tt += t[q] * t[q];
	}
	double den = sqrt((s * s - pp) * (s * s - tt));
	return den == 0 ? 0.0 : (c * s - tp) / den;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The harness's median: sorted(values)[n // 2] (the upper one for even n). */
static double median_x(const struct lle_item *it, const size_t *idx, size_t n)
{
	double *v = malloc(n * sizeof(*v));
	if (!v)
		return NAN;
	for (size_t i = 0; i < n; i++)
		v[i] = AT(i).x;
	qsort(v, n, sizeof(*v), cmp_double);
	double m = v[n / 2];
	free(v);
	return m;
}

size_t lle_agg_nstats(enum lle_agg a)
{
	return a == LLE_AGG_BLEU ? LLE_BLEU_NSTATS : a == LLE_AGG_CHRF ? LLE_CHRF_NSTATS
		: a == LLE_AGG_TER ? LLE_TER_NSTATS : 0;
}

/* sacrebleu's sum_of_lists over the segments, in order, then the score. */
static double corpus(enum lle_agg a, const struct lle_item *it, const size_t *idx, size_t n)
{
	double sum[LLE_ITEM_NSTATS] = { 0 };
	size_t k = lle_agg_nstats(a);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < k; j++)
			sum[j] += AT(i).s[j];
	return a == LLE_AGG_BLEU ? lle_bleu_score(sum) : a == LLE_AGG_CHRF ? lle_chrf_score(sum)
		: lle_ter_score(sum);
}

static double agg_at(enum lle_agg a, const struct lle_item *it, const size_t *idx, size_t n)
{
	if (n == 0)
		return NAN;
	switch (a) {
	case LLE_AGG_MEAN: return mean_x(it, idx, n);
	case LLE_AGG_MEDIAN: return median_x(it, idx, n);
	case LLE_AGG_PERPLEXITY: return exp(-mean_x(it, idx, n));
	case LLE_AGG_WEIGHTED_PERPLEXITY: return exp(-weighted_mean(it, idx, n));
	case LLE_AGG_BITS_PER_BYTE: return -weighted_mean(it, idx, n) / log(2.0);
	case LLE_AGG_F1: return f1_binary(it, idx, n);
	case LLE_AGG_MCC: return mcc(it, idx, n);
	case LLE_AGG_BLEU:
	case LLE_AGG_CHRF:
	case LLE_AGG_TER: return corpus(a, it, idx, n);
	}
	return NAN;
}

#undef AT

double lle_aggregate(enum lle_agg a, const struct lle_item *it, size_t n)
{
	return agg_at(a, it, NULL, n);
}

static double sample_stddev(const double *v, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += v[i];
	double mu = s / (double)n, q = 0;
	for (size_t i = 0; i < n; i++)
		q += (v[i] - mu) * (v[i] - mu);
	return sqrt(q / (double)(n - 1));
}

double lle_mean_stderr(const double *v, size_t n)
{
	if (n < 2)
		return NAN;
	return sample_stddev(v, n) / sqrt((double)n);
}

double lle_agg_stderr(enum lle_agg a, const struct lle_item *it, size_t n, long iters)
{
	if (n < 2)
		return NAN;
	if (a == LLE_AGG_MEAN) {
		double s = 0;
		for (size_t i = 0; i < n; i++)
			s += it[i].x;
		double mu = s / (double)n, q = 0;
		for (size_t i = 0; i < n; i++)
			q += (it[i].x - mu) * (it[i].x - mu);
		return sqrt(q / (double)(n - 1)) / sqrt((double)n);
	}
	if (iters < 1)
		return NAN;
	/* evaluator_utils.py: bootstrap_iters=min(bootstrap_iters, 100) if
	 * metric in ["bleu", "chrf", "ter"] */
	if ((a == LLE_AGG_BLEU || a == LLE_AGG_CHRF || a == LLE_AGG_TER) && iters > 100)
		iters = 100;
	long chunk = iters < 1000 ? iters : 1000, nchunks = iters / chunk;
	double *res = malloc((size_t)(nchunks * chunk) * sizeof(*res));
	size_t *idx = malloc(n * sizeof(*idx));
	double out = NAN;
	if (!res || !idx)
		goto done;
	size_t k = 0;
	for (long c = 0; c < nchunks; c++) {
		struct lle_pyrand r;
		lle_pyrand_seed(&r, c);
		for (long j = 0; j < chunk; j++) {
			lle_pyrand_choices(&r, n, n, idx);
			res[k++] = agg_at(a, it, idx, n);
		}
	}
	out = k >= 2 ? sample_stddev(res, k) : NAN;
done:
	free(res);
	free(idx);
	return out;
}

double lle_group_value(const double *values, const size_t *sizes, size_t k, int weight_by_size)
{
	double num = 0, den = 0;
	for (size_t i = 0; i < k; i++) {
		double w = weight_by_size ? (double)sizes[i] : 1.0;
		num += values[i] * w;
		den += w;
	}
	return den > 0 ? num / den : NAN;
}

double lle_group_pooled_stderr(const double *stderrs, const size_t *sizes, size_t k)
{
	double num = 0, total = 0;
	for (size_t i = 0; i < k; i++) {
		if (isnan(stderrs[i]))
			return NAN;
		double n = (double)sizes[i];
		num += (n - 1) * stderrs[i] * stderrs[i] * n;
		total += n;
	}
	if (total - (double)k <= 0)
		return NAN;
	return sqrt(num / (total - (double)k) / total);
}
