/* Built-in process_results: the scoring functions of lm-evaluation-harness
 * task files that the built-in registry uses, written natively so those
 * tasks run without Python. A config selects one by name, with no
 * `!function` tag:
 *
 *   process_results: truthfulqa_mc2
 *       lm_eval/tasks/truthfulqa/utils.py, process_results_mc2: of a
 *       multiple_choice document's log-likelihoods ll[i], the probability
 *       mass of the true answers, p = exp(ll) / sum(exp(ll)) summed where
 *       doc["mc2_targets"]["labels"][i] == 1, reported as metric `acc`
 *       (both sums are numpy's pairwise summation, as np.sum adds float64)
 *   process_results: wikitext
 *       lm_eval/tasks/wikitext/preprocess_wikitext.py, process_results:
 *       word_perplexity, byte_perplexity and bits_per_byte of a
 *       loglikelihood_rolling document, with words = len(re.split(r"\s+",
 *       doc["page"])) and bytes = len(doc["page"].encode()) counted on the
 *       page BEFORE detokenisation (doc_to_target), unlike the default
 *   process_results: drop
 *       lm_eval/tasks/drop/utils.py, process_results: em and f1 of a
 *       generate_until response against doc["answers"] (made by
 *       process_docs: drop_answers), computed in drop.c
 *
 * metric_list is parsed as usual and must name only what the function
 * returns.
 *
 * Not here: Python process_results hooks (task_results.c), the metrics and
 * aggregations themselves (metrics.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/task.h"
#include "tasks/task_int.h"

/* indexed by enum lle_results_builtin - 1 */
static const char *const k_names[] = { "truthfulqa_mc2", "wikitext", "drop", NULL };

static int nerr(const struct lle_task *t, const struct lle_node *n, struct lle_err *err, const char *msg,
		const char *arg)
{
	char m[600];
	snprintf(m, sizeof(m), msg, arg);
	return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: task '%s': process_results: %s", n->file, n->line,
			   n->col, t->name ? t->name : "?", m);
}

int lle_task_results_builtin_parse(struct lle_task *t, const struct lle_node *n, struct lle_err *err)
{
	if (n->kind == LLE_NODE_SCALAR && !n->tag)
		for (int i = 0; k_names[i]; i++)
			if (!strcmp(n->str, k_names[i])) {
				t->process_results_builtin = (enum lle_results_builtin)(i + 1);
				return 0;
			}
	return nerr(t, n, err, "must be a '!function module.name' or a built-in scorer (truthfulqa_mc2, "
		    "wikitext, drop), not '%s'", n->kind == LLE_NODE_SCALAR ? n->str : "a collection");
}

int lle_task_results_builtin_check(const struct lle_task *t, const struct lle_node *root, struct lle_err *err)
{
	if (t->process_results_builtin == LLE_RESULTS_NONE)
		return 0;
	const struct lle_node *n = lle_node_get(root, "process_results");
	const char *name = k_names[t->process_results_builtin - 1];
	enum lle_results_builtin b = t->process_results_builtin;
	enum lle_output_type want = b == LLE_RESULTS_MC2 ? LLE_OUT_MULTIPLE_CHOICE
				    : b == LLE_RESULTS_DROP ? LLE_OUT_GENERATE_UNTIL : LLE_OUT_LOGLIKELIHOOD_ROLLING;
	if (t->output_type != want)
		return nerr(t, n, err, want == LLE_OUT_MULTIPLE_CHOICE ? "'%s' scores multiple_choice tasks only"
			    : want == LLE_OUT_GENERATE_UNTIL ? "'%s' scores generate_until tasks only"
			    : "'%s' scores loglikelihood_rolling tasks only", name);
	if (b == LLE_RESULTS_DROP) {
		if (t->process_docs != LLE_TRANSFORM_DROP_ANSWERS)
			return nerr(t, n, err, "'%s' needs process_docs: drop_answers (its gold answers)", name);
		for (size_t m = 0; m < t->nmetrics; m++)
			if ((strcmp(t->metrics[m].name, "em") && strcmp(t->metrics[m].name, "f1")) ||
			    (t->agg_hooks && t->agg_hooks[m]))
				return nerr(t, n, err, "'drop' returns only 'em' and 'f1' (built-in aggregations), "
					    "not '%s'", t->metrics[m].name);
		return 0;
	}
	for (size_t m = 0; m < t->nmetrics; m++) {
		enum lle_metric_kind k = t->metrics[m].kind;
		int ok = t->process_results_builtin == LLE_RESULTS_MC2
			 ? k == LLE_M_ACC
			 : k == LLE_M_WORD_PERPLEXITY || k == LLE_M_BYTE_PERPLEXITY || k == LLE_M_BITS_PER_BYTE;
		if (!ok || (t->metric_hooks && t->metric_hooks[m]))
			return nerr(t, n, err, t->process_results_builtin == LLE_RESULTS_MC2
				    ? "'truthfulqa_mc2' returns only 'acc', not '%s'"
				    : "'wikitext' returns only word_perplexity, byte_perplexity and bits_per_byte, "
				      "not '%s'", t->metrics[m].name);
	}
	return 0;
}

/* numpy's pairwise summation of float64 (numpy/_core/src/umath/
 * loops_utils.h.src, pairwise_sum): below 8 items in order, up to 128 in
 * eight interleaved partial sums, beyond that the two halves (the first a
 * multiple of 8 long). np.sum starts from the identity 0.0, which adds
 * nothing. */
static double np_pairwise_sum(const double *a, size_t n)
{
	if (n < 8) {
		double res = 0.;
		for (size_t i = 0; i < n; i++)
			res += a[i];
		return res;
	}
	if (n <= 128) {
		double r[8];
		size_t i;
		for (int j = 0; j < 8; j++)
			r[j] = a[j];
		for (i = 8; i < n - (n % 8); i += 8)
			for (int j = 0; j < 8; j++)
				r[j] += a[i + j];
		double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
		for (; i < n; i++)
			res += a[i];
		return res;
	}
	size_t n2 = n / 2;
	n2 -= n2 % 8;
	return np_pairwise_sum(a, n2) + np_pairwise_sum(a + n2, n - n2);
}

static int score_mc2(const struct lle_task *t, const struct lle_requests *rq, const double *ll,
		     struct lle_item *items, struct lle_err *err)
{
	char who[300];
	const json_t *labels = json_object_get(json_object_get(rq->doc, "mc2_targets"), "labels");
	size_t n = rq->nchoices;
	if (!json_is_array(labels) || json_array_size(labels) != n)
		return lle_err_set(err, LLE_EXIT_DATA, "%s: mc2_targets.labels must be a list with one label per "
				   "choice (%zu)", lle_task_who_doc(who, sizeof(who), t, rq->doc_id, "process_results"),
				   n);
	double *p = malloc(2 * n * sizeof(*p) + 1);
	if (!p)
		return lle_err_oom(err);
	double *sel = p + n;
	size_t ns = 0;
	for (size_t i = 0; i < n; i++)
		p[i] = exp(ll[i]);
	double total = np_pairwise_sum(p, n);
	for (size_t i = 0; i < n; i++) {
		const json_t *l = json_array_get(labels, i);
		/* labels == 1: numpy compares the ints (True == 1 too) */
		int one = (json_is_integer(l) && json_integer_value(l) == 1) || json_is_true(l) ||
			  (json_is_real(l) && json_real_value(l) == 1.0);
		if (one)
			sel[ns++] = p[i] / total;
	}
	double pm = np_pairwise_sum(sel, ns);
	free(p);
	for (size_t m = 0; m < t->nmetrics; m++)
		items[m] = (struct lle_item){ .x = pm, .w = 1 };
	return 0;
}

static int score_wikitext(const struct lle_task *t, const struct lle_requests *rq, const double *ll,
			  struct lle_item *items, struct lle_err *err)
{
	char who[300];
	const json_t *page = json_object_get(rq->doc, "page");
	if (!json_is_string(page))
		return lle_err_set(err, LLE_EXIT_DATA, "%s: the document has no string 'page'",
				   lle_task_who_doc(who, sizeof(who), t, rq->doc_id, "process_results"));
	for (size_t m = 0; m < t->nmetrics; m++)
		if (lle_score_rolling(&t->metrics[m], ll[0], json_string_value(page), &items[m], err) < 0)
			return -1;
	return 0;
}

int lle_task_results_builtin_generated(const struct lle_task *t, const struct lle_requests *rq, const char *pred,
				       struct lle_item *items, struct lle_err *err)
{
	char who[300];
	const json_t *answers = json_object_get(rq->doc, "answers");
	if (t->process_results_builtin != LLE_RESULTS_DROP)
		return lle_err_set(err, LLE_EXIT_INTERNAL, "task '%s': no built-in process_results for "
				   "generations", t->name);
	if (!json_is_array(answers))
		return lle_err_set(err, LLE_EXIT_DATA, "%s: the document has no 'answers' list",
				   lle_task_who_doc(who, sizeof(who), t, rq->doc_id, "process_results"));
	for (size_t i = 0; i < json_array_size(answers); i++) {
		const json_t *a = json_array_get(answers, i);
		int ok = json_is_array(a) && json_array_size(a) > 0;
		for (size_t j = 0; ok && j < json_array_size(a); j++)
			ok = json_is_string(json_array_get(a, j));
		if (!ok)
			return lle_err_set(err, LLE_EXIT_DATA, "%s: answer %zu is not a non-empty list of strings",
					   lle_task_who_doc(who, sizeof(who), t, rq->doc_id, "process_results"), i);
	}
	double em, f1;
	if (lle_drop_score(pred, answers, &em, &f1) < 0)
		return lle_err_oom(err);
	for (size_t m = 0; m < t->nmetrics; m++)
		items[m] = (struct lle_item){ .x = strcmp(t->metrics[m].name, "em") ? f1 : em, .w = 1 };
	return 0;
}

int lle_task_results_builtin_score(const struct lle_task *t, const struct lle_requests *rq, const double *ll,
				   struct lle_item *items, struct lle_err *err)
{
	switch (t->process_results_builtin) {
	case LLE_RESULTS_MC2:
		return score_mc2(t, rq, ll, items, err);
	case LLE_RESULTS_WIKITEXT:
		return score_wikitext(t, rq, ll, items, err);
	default:
		return lle_err_set(err, LLE_EXIT_INTERNAL, "task '%s': no built-in process_results", t->name);
	}
}
