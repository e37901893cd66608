/* Scoring a document's responses (per filter x metric) and aggregating
 * them over the documents of a task. See task.h.
 *
 * Not here: the metrics themselves (metrics.c), writing results files and
 * aggregating groups (src/run/output.c, figures.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/task.h"
#include "tasks/task_int.h"
#include "hooks/hooks.h"
#include "tasks/pystr.h"
#include "util/buf.h"

/* ---------- scoring ---------- */

int lle_task_predict_only(struct lle_task *t, struct lle_err *err)
{
	if (t->config && json_is_object(t->config) &&
	    json_object_set_new(t->config, "metric_list", json_pack("[{s:s}]", "metric", "bypass")) < 0)
		return lle_err_oom(err);
	lle_hookref_free(t->process_results_hook);
	t->process_results_hook = NULL;
	for (size_t i = 0; i < t->nmetrics; i++) {
		if (t->agg_hooks)
			lle_hookref_free(t->agg_hooks[i]);
		if (t->metric_hooks)
			lle_hookref_free(t->metric_hooks[i]);
		lle_metric_fini(&t->metrics[i]);
	}
	free(t->agg_hooks);
	free(t->metric_hooks);
	free(t->metric_pass);
	free(t->metrics);
	t->agg_hooks = t->metric_hooks = NULL;
	t->metric_pass = NULL;
	t->metrics = NULL;
	t->nmetrics = 0;
	t->predict_only = 1;
	return 0;
}

int lle_task_score_generated(const struct lle_task *t, const struct lle_requests *rq, const json_t *doc,
			     const json_t *resps, json_t **filtered, struct lle_item *items, struct lle_err *err)
{
	if (filtered)
		*filtered = NULL;
	if (t->output_type != LLE_OUT_GENERATE_UNTIL)
		return lle_err_set(err, LLE_EXIT_INTERNAL, "task '%s' is not generate_until", t->name);
	if (!json_is_array(resps) || json_array_size(resps) == 0)
		return lle_err_set(err, LLE_EXIT_INTERNAL, "task '%s': no responses to score", t->name);
	json_t *all = filtered ? json_array() : NULL;
	if (filtered && !all)
		return lle_err_oom(err);
	for (size_t f = 0; f < t->nfilters; f++) {
		json_t *fr = lle_filter_apply(t->filters[f], resps, doc, err);
		if (!fr)
			goto fail;
		const char *pred = lle_filter_prediction(fr, lle_filter_chain_name(t->filters[f]), err);
		if (!pred) {
			json_decref(fr);
			goto fail;
		}
		if (t->process_results_hook) { /* results = [the filtered response] (task_results.c) */
			json_t *res = json_pack("[s]", pred);
			int hr = res ? lle_task_hook_score(t, rq, res, &items[f * t->nmetrics], err) : lle_err_oom(err);
			if (res)
				json_decref(res);
			if (hr < 0) {
				json_decref(fr);
				goto fail;
			}
		}
		if (t->process_results_builtin && /* results_builtin.c */
		    lle_task_results_builtin_generated(t, rq, pred, &items[f * t->nmetrics], err) < 0) {
			json_decref(fr);
			goto fail;
		}
		for (size_t m = 0; m < t->nmetrics && !t->process_results_hook && !t->process_results_builtin; m++) {
			if ((t->metric_hooks && t->metric_hooks[m]) || (t->metric_pass && t->metric_pass[m])) {
				/* a '!function' metric, or a passthrough one (task_results.c) */
				if (lle_task_hook_metric(t, m, pred, rq->gold ? rq->gold : rq->target, rq,
							 &items[f * t->nmetrics + m], err) < 0) {
					json_decref(fr);
					goto fail;
				}
				continue;
			}
			if (t->metrics[m].kind == LLE_M_PASS_AT_K) {
				/* scored from the programs' runs (the run's code glue) */
				items[f * t->nmetrics + m] = (struct lle_item){ .x = NAN };
				continue;
			}
			if (lle_score_generated(&t->metrics[m], pred, rq->gold,
						&items[f * t->nmetrics + m], err) < 0) {
				json_decref(fr);
				goto fail;
			}
		}
		if (all)
			json_array_append(all, fr);
		json_decref(fr);
	}
	if (filtered)
		*filtered = all;
	return 0;
fail:
	if (all)
		json_decref(all);
	return -1;
}

/* process_results(doc, results) with the harness's shapes (task_results.c) */
static int hook_loglik(const struct lle_task *t, const struct lle_requests *rq, const double *ll,
		       const int *is_greedy, struct lle_item *items, struct lle_err *err)
{
	json_t *res = json_array();
	size_t n = t->output_type == LLE_OUT_LOGLIKELIHOOD_ROLLING ? 1
		   : t->output_type == LLE_OUT_MULTIPLE_CHOICE ? rq->ncont : 1;
	for (size_t i = 0; res && i < n; i++) {
		json_t *v = t->output_type == LLE_OUT_LOGLIKELIHOOD_ROLLING
			    ? json_real(ll[i])
			    : json_pack("[fb]", ll[i], is_greedy ? is_greedy[i] : 0);
		if (!v || json_array_append_new(res, v) < 0) {
			json_decref(res);
			res = NULL;
		}
	}
	if (!res)
		return lle_err_oom(err);
	int rc = lle_task_hook_score(t, rq, res, items, err);
	json_decref(res);
	return rc;
}

int lle_task_score_loglik(const struct lle_task *t, const struct lle_requests *rq, const double *ll,
			  const int *is_greedy, struct lle_item *items, struct lle_err *err)
{
	if (t->process_results_hook)
		return hook_loglik(t, rq, ll, is_greedy, items, err);
	if (t->process_results_builtin) /* results_builtin.c */
		return lle_task_results_builtin_score(t, rq, ll, items, err);
	for (size_t m = 0; m < t->nmetrics; m++) {
		const struct lle_metric *mt = &t->metrics[m];
		int r;
		switch (t->output_type) {
		case LLE_OUT_MULTIPLE_CHOICE:
			r = lle_score_choices(mt, ll, is_greedy, rq->unconditional ? ll + rq->nchoices : NULL,
					      rq->choices, rq->gold ? rq->gold : rq->target, &items[m], err);
			break;
		case LLE_OUT_LOGLIKELIHOOD:
			r = lle_score_loglikelihood(mt, ll[0], is_greedy ? is_greedy[0] : 0, &items[m], err);
			break;
		case LLE_OUT_LOGLIKELIHOOD_ROLLING:
			r = lle_score_rolling(mt, ll[0], rq->context, &items[m], err);
			break;
		default:
			return lle_err_set(err, LLE_EXIT_INTERNAL, "task '%s' is generate_until", t->name);
		}
		if (r < 0) {
			lle_err_prefix(err, "task '%s'", t->name);
			return -1;
		}
	}
	return 0;
}

/* ---------- aggregation ---------- */

struct lle_task_agg {
	const struct lle_task *t;
	size_t per;             /* items per document */
	struct lle_item *v;
	size_t n, cap;          /* documents */
};

struct lle_task_agg *lle_task_agg_new(const struct lle_task *t)
{
	struct lle_task_agg *a = calloc(1, sizeof(*a));
	if (a) {
		a->t = t;
		a->per = t->nfilters * t->nmetrics;
	}
	return a;
}

void lle_task_agg_free(struct lle_task_agg *a)
{
	if (a)
		free(a->v);
	free(a);
}

size_t lle_task_agg_count(const struct lle_task_agg *a) { return a->n; }

int lle_task_agg_add(struct lle_task_agg *a, const struct lle_item *items)
{
	if (a->per == 0) { /* no metrics (--predict-only): only the count */
		a->n++;
		return 0;
	}
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 256;
		struct lle_item *v = realloc(a->v, cap * a->per * sizeof(*v));
		if (!v)
			return -1;
		a->v = v;
		a->cap = cap;
	}
	memcpy(a->v + a->n * a->per, items, a->per * sizeof(*items));
	a->n++;
	return 0;
}

int lle_task_agg_results(const struct lle_task_agg *a, long iters, struct lle_metric_result **out,
			 size_t *nout, struct lle_err *err)
{
	const struct lle_task *t = a->t;
	*out = calloc(a->per ? a->per : 1, sizeof(**out));
	struct lle_item *col = malloc((a->n ? a->n : 1) * sizeof(*col));
	if (!*out || !col) {
		free(*out);
		free(col);
		*out = NULL;
		return lle_err_oom(err);
	}
	for (size_t f = 0; f < t->nfilters; f++) {
		for (size_t m = 0; m < t->nmetrics; m++) {
			size_t k = f * t->nmetrics + m;
			for (size_t d = 0; d < a->n; d++)
				col[d] = a->v[d * a->per + k];
			struct lle_metric_result *r = &(*out)[k];
			r->metric = t->metrics[m].name;
			r->filter = lle_filter_chain_name(t->filters[f]);
			r->agg = t->metrics[m].agg;
			r->higher_is_better = t->metrics[m].higher_is_better;
			r->n = a->n;
			if (t->agg_hooks && t->agg_hooks[m]) { /* a !function (task_results.c) */
				r->stderr_ = NAN;
				if (lle_task_hook_aggregate(t, m, col, a->n, &r->value, err) < 0) {
					free(col);
					free(*out);
					*out = NULL;
					return -1;
				}
				continue;
			}
			r->value = lle_aggregate(r->agg, col, a->n);
			r->stderr_ = lle_agg_stderr(r->agg, col, a->n, iters);
		}
	}
	free(col);
	*nout = a->per;
	return 0;
}

/* ---------- results ---------- */

json_t *lle_task_higher_is_better(const struct lle_task *t)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < t->nmetrics; i++) {
		if (json_object_set_new(o, t->metrics[i].name, json_boolean(t->metrics[i].higher_is_better)) < 0) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

