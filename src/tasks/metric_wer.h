/* `wer`, the word error rate of one (reference, prediction) pair, as
 * lm-evaluation-harness computes it: `wer` is not in its metric registry
 * (lm_eval/api/metrics.py), so get_metric (lm_eval/api/registry.py) loads
 * Hugging Face evaluate's "wer" (metrics/wer/wer.py), which ConfigurableTask
 * calls per document with references=[gold], predictions=[result]; it sums
 * jiwer.compute_measures' counts:
 *   (S + D + I) / (S + D + H) = Levenshtein distance of the word lists /
 *   number of reference words
 * with jiwer's default transform on both sides (jiwer/transformations.py
 * wer_default: RemoveMultipleSpaces, re.sub(r"\s\s+", " ", s); Strip,
 * s.strip(); ReduceToListOfListOfWords, s.split(" ") without empty words).
 * Whitespace is Python's (str.isspace, which re's \s is for str patterns).
 * jiwer raises ValueError on a reference without words: so does this.
 *
 * Not here: aggregation (a mean, metrics.c). */
#ifndef LLE_TASKS_METRIC_WER_H
#define LLE_TASKS_METRIC_WER_H

#include "util/err.h"

/* The word error rate of pred against ref; -1 with err set when ref has no
 * words or memory runs out. */
int lle_wer(const char *pred, const char *ref, double *out, struct lle_err *err);

#endif
