/* bleu, chrf and ter as lm-evaluation-harness computes them: its
 * aggregations of the same names (lm_eval/api/metrics.py) call
 * sacrebleu.corpus_bleu / corpus_chrf / corpus_ter with sacrebleu's defaults
 * on the documents' (reference, prediction) pairs, one reference each.
 *
 * sacrebleu's corpus scores are functions of per-segment statistics summed
 * over the corpus (Metric._aggregate_and_compute, sum_of_lists), so a
 * document's item carries its statistics and an aggregation (or a bootstrap
 * resample) sums them and applies the score formula:
 *   bleu: [hyp_len, ref_len, correct 1..4, total 1..4] of 13a tokens
 *         (BLEU._compute_segment_statistics); score: BLEU.compute_bleu with
 *         smooth_method 'exp', no effective order, max order 4
 *   chrf: [hyp, ref, match] per character n-gram order 1..6, whitespace
 *         removed (CHRF._compute_segment_statistics, word_order 0, beta 2);
 *         score: CHRF._compute_f_score without eps smoothing
 *   ter:  [edits, ref_len] of lower-cased whitespace tokens, shifts and the
 *         beam edit distance of metrics/lib_ter.py; score: 100 * edits / len
 * Source read: sacrebleu at f615c7286d4d (2.6.0): metrics/{bleu,chrf,ter,
 * lib_ter,helpers,base}.py, tokenizers/{tokenizer_13a,tokenizer_re,
 * tokenizer_ter}.py.
 *
 * Not here: several references per document (the harness turns such items
 * into 1.0 and its aggregation then fails), the items' bookkeeping
 * (metrics.c). */
#ifndef LLE_TASKS_METRIC_MT_H
#define LLE_TASKS_METRIC_MT_H

#include "util/buf.h"
#include "util/err.h"

#define LLE_BLEU_NSTATS 10
#define LLE_CHRF_NSTATS 18
#define LLE_TER_NSTATS 2

/* One segment's statistics into s (LLE_*_NSTATS numbers). -1 out of memory
 * (or, for ter, an edit-distance trace sacrebleu would fail on). */
int lle_bleu_stats(const char *hyp, const char *ref, double *s, struct lle_err *err);
int lle_chrf_stats(const char *hyp, const char *ref, double *s, struct lle_err *err);
int lle_ter_stats(const char *hyp, const char *ref, double *s, struct lle_err *err);

/* The corpus score from summed statistics, as sacrebleu's Score.score. */
double lle_bleu_score(const double *s);
double lle_chrf_score(const double *s);
double lle_ter_score(const double *s);

/* sacrebleu's 13a tokenizer after BLEU's rstrip(); appends to out. */
int lle_tokenize_13a(struct lle_buf *out, const char *s);

#endif
