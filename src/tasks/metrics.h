/* Metrics, aggregations and standard errors, as lm-evaluation-harness
 * computes them.
 *
 * A metric scores one document into an item (x, w): a value for `mean` and
 * `median`, a log-likelihood for `perplexity`, (log-likelihood, words or
 * bytes) for the weighted aggregations, (gold, prediction) for `f1` and
 * `matthews_corrcoef` over multiple-choice predictions, sacrebleu segment
 * statistics for `bleu`, `chrf` and `ter`. An aggregation turns
 * a task's items into one number; its standard error is
 *   mean:               sample standard deviation / sqrt(n)
 *   everything else:    bootstrap: `iters` resamples with replacement, in
 *                       chunks of 1000 seeded 0, 1, 2, ... with Python's
 *                       random.choices, then the sample standard deviation
 *                       of the resampled values (the harness's procedure, so
 *                       the same iters give the same number)
 * and NAN when n < 2 (the harness prints "N/A"). The harness bootstraps
 * median, perplexity, f1, mcc, bleu, chrf and ter (the last three with at
 * most 100 resamples) and gives no standard error for
 * weighted_perplexity and bits_per_byte; llm-eval bootstraps those too.
 * Groups combine subtasks weighted by size with the pooled variance.
 *
 * Not here: reading responses from a backend, choosing documents. */
#ifndef LLE_TASKS_METRICS_H
#define LLE_TASKS_METRICS_H

#include <jansson.h>
#include <stddef.h>

#include "data/yaml.h"
#include "util/err.h"

/* The harness's default for --bootstrap_iters. */
#define LLE_BOOTSTRAP_ITERS 100000

enum lle_output_type {
	LLE_OUT_GENERATE_UNTIL,
	LLE_OUT_MULTIPLE_CHOICE,
	LLE_OUT_LOGLIKELIHOOD,
	LLE_OUT_LOGLIKELIHOOD_ROLLING
};
const char *lle_output_type_name(enum lle_output_type t);

enum lle_agg {
	LLE_AGG_MEAN,
	LLE_AGG_MEDIAN,               /* the harness's: sorted(values)[n // 2] */
	LLE_AGG_PERPLEXITY,           /* exp(-mean(ll)) */
	LLE_AGG_WEIGHTED_PERPLEXITY,  /* exp(-sum(ll)/sum(w)) */
	LLE_AGG_BITS_PER_BYTE,        /* -sum(ll)/sum(bytes)/ln 2 */
	LLE_AGG_F1,                   /* binary F1 of (gold, pred), positive label 1 */
	LLE_AGG_MCC,                  /* Matthews correlation of (gold, pred) */
	LLE_AGG_BLEU,                 /* sacrebleu corpus scores from summed */
	LLE_AGG_CHRF,                 /* segment statistics (metric_mt.h) */
	LLE_AGG_TER
};
#define LLE_AGG_COUNT (LLE_AGG_TER + 1)
const char *lle_agg_name(enum lle_agg a);

enum lle_metric_kind {
	LLE_M_EXACT_MATCH, LLE_M_ACC, LLE_M_ACC_NORM, LLE_M_ACC_MUTUAL_INFO, LLE_M_F1, LLE_M_MCC,
	LLE_M_PERPLEXITY, LLE_M_WORD_PERPLEXITY, LLE_M_BYTE_PERPLEXITY, LLE_M_BITS_PER_BYTE,
	LLE_M_PASS_AT_K,         /* one k of a code_exec metric (code_metric.h) */
	LLE_M_ACC_BYTES,         /* acc with log-likelihoods per UTF-8 byte of the choice */
	LLE_M_BLEU, LLE_M_CHRF, LLE_M_TER,
	LLE_M_WER                /* word error rate (metric_wer.h) */
};

struct lle_code_cfg;

/* The most statistics a corpus metric's item carries (chrf's 6 x 3). */
#define LLE_ITEM_NSTATS 18

struct lle_item {
	double x, w;
	/* bleu, chrf, ter: the document's sacrebleu segment statistics, which
	 * the aggregation sums (lle_agg_nstats(agg) of them); x is then the
	 * score of the document alone, for the samples file */
	double s[LLE_ITEM_NSTATS];
};

struct lle_metric {
	char *name;              /* as in metric_list */
	enum lle_metric_kind kind;
	enum lle_agg agg;
	int higher_is_better;
	/* exact_match */
	int ignore_case, ignore_punctuation, ignore_numbers;
	void **regexes;          /* pcre2_code *, regexes_to_ignore in order */
	size_t nregexes;
	/* pass@k (code_exec): k, and the program and sandbox settings shared by
	 * the metric's ks (counted references) */
	unsigned pass_k;
	struct lle_code_cfg *code;
};

/* One metric_list entry: `{metric: NAME, aggregation: ..., higher_is_better:
 * ..., ignore_case: ...}`. Defaults per metric follow the harness. Errors
 * (unknown metric, a metric the output type cannot give, an aggregation that
 * does not fit, a regex that does not compile) name `who` and file:line:col. */
int lle_metric_from_node(struct lle_metric *m, const struct lle_node *entry,
			 enum lle_output_type ot, const char *who, struct lle_err *err);
/* The metrics a task gets when metric_list is absent (the harness's defaults
 * per output type); fills up to 4 and returns how many, -1 on error. */
int lle_metric_defaults(struct lle_metric *out, enum lle_output_type ot, struct lle_err *err);
void lle_metric_fini(struct lle_metric *m);

/* generate_until: pred against gold (a string, or a list of strings: any
 * match counts, as the harness's multiple targets). */
int lle_score_generated(const struct lle_metric *m, const char *pred, const json_t *gold,
			struct lle_item *out, struct lle_err *err);
/* multiple_choice: ll[i] and is_greedy[i] per choice, ll_uncond per choice
 * (for acc_mutual_info, else NULL), the choices (strings) and gold (index,
 * choice text, or list of indices). */
int lle_score_choices(const struct lle_metric *m, const double *ll, const int *is_greedy,
		      const double *ll_uncond, const json_t *choices, const json_t *gold,
		      struct lle_item *out, struct lle_err *err);
/* loglikelihood: perplexity (ll) or acc (is_greedy). */
int lle_score_loglikelihood(const struct lle_metric *m, double ll, int is_greedy,
			    struct lle_item *out, struct lle_err *err);
/* loglikelihood_rolling: ll of the whole text. */
int lle_score_rolling(const struct lle_metric *m, double ll, const char *text,
		      struct lle_item *out, struct lle_err *err);

/* HF evaluate's exact_match for one pair, with the metric's options. 1/0, or
 * -1 on a regex error. */
int lle_exact_match(const struct lle_metric *m, const char *pred, const char *ref,
		    struct lle_err *err);
/* SQuAD token F1 of one prediction against one reference. */
double lle_token_f1(const char *pred, const char *ref);
/* len(re.split(r"\s+", text)) and len(text.encode()) as the harness counts. */
size_t lle_count_words(const char *text);
size_t lle_count_bytes(const char *text);

/* A document's item as lm-evaluation-harness writes it into a samples file
 * (process_results' value for the metric, lm_eval/api/task.py, dumped by
 * json with numpy integers as ints): a number for most metrics (an int for
 * exact_match on choices and acc on a loglikelihood, as int() makes them);
 * [gold, prediction] for f1 and mcc over choices; [log-likelihood, words or
 * bytes] for word_perplexity, byte_perplexity and bits_per_byte; [target,
 * response] for bleu, chrf and ter (their passthrough functions' fallback
 * `fn([gold, result])`). gold is the document's gold as scored, pred the
 * filtered response (generate_until; NULL otherwise). NULL when out of
 * memory. */
json_t *lle_item_sample(const struct lle_metric *m, enum lle_output_type ot, const struct lle_item *it,
			const json_t *gold, const json_t *pred);

/* How many of an item's s[] the aggregation reads (0 but for bleu, chrf,
 * ter). */
size_t lle_agg_nstats(enum lle_agg a);
double lle_aggregate(enum lle_agg a, const struct lle_item *items, size_t n);
/* NAN when n < 2 (or for the bootstrap when iters < 1). bleu, chrf and ter
 * bootstrap min(iters, 100) resamples, as the harness's
 * calculate_aggregate_metric asks for those three. */
double lle_agg_stderr(enum lle_agg a, const struct lle_item *items, size_t n, long iters);
double lle_mean_stderr(const double *v, size_t n);

/* Groups: sum(v_i * n_i) / sum(n_i) (sizes all 1 when !weight_by_size), and
 * sqrt(sum((n_i - 1) * se_i^2 * n_i) / (sum n_i - k) / sum n_i). */
double lle_group_value(const double *values, const size_t *sizes, size_t k, int weight_by_size);
double lle_group_pooled_stderr(const double *stderrs, const size_t *sizes, size_t k);

#endif
