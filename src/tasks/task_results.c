/* Scoring through a task's Python process_results, and custom aggregation
 * functions, as lm-evaluation-harness's ConfigurableTask does:
 *
 *   metrics = process_results(doc, results)   a dict {metric: value}
 *
 * with `results` per output type (lm_eval/evaluator.py collects
 * `[req.filtered_resps[filter_key] for req in requests]`, one entry per
 * request of the document):
 *   generate_until          [filtered response]           (a string)
 *   multiple_choice         [[ll, is_greedy], ...]        one per choice, then
 *                                                         acc_mutual_info's
 *                                                         unconditional ones
 *   loglikelihood           [[ll, is_greedy]]
 *   loglikelihood_rolling   [ll]
 * (the harness's tuples arrive as lists). With process_results, metric_list
 * only names the returned metrics and their aggregations (the harness sets
 * their metric functions to None). A value becomes an item: a number x; a
 * pair [a, b] the (x, w) that f1, mcc and the weighted aggregations read.
 * A metric aggregated by a `!function` keeps each document's value as it
 * is (lists included) and hands the whole list to that function; its
 * standard error is N/A, as the harness gives none for a function it does
 * not know.
 *
 * Not here: the worker (src/hooks/), built-in metrics (metrics.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hooks/hooks.h"
#include "tasks/task.h"
#include "tasks/task_int.h"
#include "tasks/pystr.h"
#include "util/buf.h"

static int kerr(const struct lle_task *t, const struct lle_node *n, const char *key, struct lle_err *err,
		const char *msg)
{
	return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: task '%s': %s: %s", n->file, n->line, n->col, t->name,
			   key, msg);
}

static int is_fn(const struct lle_node *n)
{
	return n && n->tag && !strcmp(n->tag, "!function");
}

int lle_task_hook_process_results(struct lle_task *t, const struct lle_node *root, struct lle_err *err)
{
	const struct lle_node *n = lle_node_get(root, "process_results");
	if (!n || lle_node_is_null(n))
		return 0;
	if (!is_fn(n) || n->kind != LLE_NODE_SCALAR) /* a native one (results_builtin.c) */
		return lle_task_results_builtin_parse(t, n, err);
	return (t->process_results_hook = lle_task_hookref(t, n, "process_results", err)) ? 0 : -1;
}

static int agg_by_name(const char *s, enum lle_agg *a)
{
	for (int i = 0; i < LLE_AGG_COUNT; i++)
		if (!strcmp(s, lle_agg_name((enum lle_agg)i))) {
			*a = (enum lle_agg)i;
			return 0;
		}
	return -1;
}

int lle_task_hook_metrics(struct lle_task *t, const struct lle_node *list, struct lle_err *err)
{
	enum lle_metric_kind kind = t->output_type == LLE_OUT_GENERATE_UNTIL ? LLE_M_EXACT_MATCH : LLE_M_ACC;
	if (!list || lle_node_is_null(list)) /* process_results returns the defaults */
		return lle_task_default_metrics(t, err);
	if (list->kind != LLE_NODE_SEQ || list->n == 0)
		return kerr(t, list, "metric_list", err, "must be a non-empty list");
	t->metrics = calloc(list->n, sizeof(*t->metrics));
	t->agg_hooks = calloc(list->n, sizeof(*t->agg_hooks));
	if (!t->metrics || !t->agg_hooks)
		return lle_err_oom(err);
	for (size_t i = 0; i < list->n; i++) {
		const struct lle_node *e = list->items[i];
		const struct lle_node *m = lle_node_get(e, "metric");
		if (e->kind != LLE_NODE_MAP || !m || m->kind != LLE_NODE_SCALAR || is_fn(m))
			return kerr(t, e, "metric_list", err, "each entry needs 'metric: NAME' (a name, with "
				    "process_results)");
		struct lle_metric *mt = &t->metrics[i];
		if (!(mt->name = lle_strdup(m->str)))
			return lle_err_oom(err);
		t->nmetrics++;
		mt->kind = kind;
		mt->agg = LLE_AGG_MEAN;
		mt->higher_is_better = 1;
		const struct lle_node *a = lle_node_get(e, "aggregation");
		if (a && is_fn(a)) {
			if (!(t->agg_hooks[i] = lle_task_hookref(t, a, "aggregation", err)))
				return -1;
		} else if (a && (a->kind != LLE_NODE_SCALAR || agg_by_name(a->str, &mt->agg) < 0)) {
			char m2[300];
			snprintf(m2, sizeof(m2), "unknown aggregation '%s'", a->kind == LLE_NODE_SCALAR ? a->str : "");
			return kerr(t, a, "aggregation", err, m2);
		}
		const struct lle_node *h = lle_node_get(e, "higher_is_better");
		if (h && (mt->higher_is_better = lle_node_bool(h)) < 0)
			return kerr(t, h, "higher_is_better", err, "must be true or false");
		for (size_t j = 0; j < i; j++)
			if (!strcmp(t->metrics[j].name, mt->name))
				return kerr(t, e, "metric_list", err, "a metric is named twice");
	}
	return 0;
}

static int to_item(const struct lle_task *t, size_t m, json_t *v, struct lle_item *it, struct lle_err *err)
{
	*it = (struct lle_item){ .x = NAN, .w = 1 };
	if (json_is_object(v) && json_object_get(v, t->metrics[m].name)) /* HF evaluate's {name: value} */
		v = json_object_get(v, t->metrics[m].name);
	if (t->agg_hooks && t->agg_hooks[m]) {
		size_t idx;
		if (lle_task_hook_keep(t, v, &idx, err) < 0)
			return -1;
		if (json_is_number(v))
			it->x = json_number_value(v);
		else if (json_is_boolean(v))
			it->x = json_is_true(v);
		it->w = (double)idx;
		return 0;
	}
	if (json_is_number(v)) {
		it->x = json_number_value(v);
		return 0;
	}
	if (json_is_boolean(v)) {
		it->x = json_is_true(v);
		return 0;
	}
	if (json_is_null(v))
		return 0;
	if (json_is_array(v) && json_array_size(v) == 2) {
		json_t *a = json_array_get(v, 0), *b = json_array_get(v, 1);
		if ((json_is_number(a) || json_is_boolean(a)) && (json_is_number(b) || json_is_boolean(b))) {
			it->x = json_is_boolean(a) ? json_is_true(a) : json_number_value(a);
			it->w = json_is_boolean(b) ? json_is_true(b) : json_number_value(b);
			return 0;
		}
	}
	return lle_err_set(err, LLE_EXIT_DATA, "metric '%s': process_results gave a value that aggregation "
			   "'%s' cannot take (a number or a pair of numbers)", t->metrics[m].name,
			   lle_agg_name(t->metrics[m].agg));
}

int lle_task_hook_score(const struct lle_task *t, const struct lle_requests *rq, json_t *results,
			struct lle_item *items, struct lle_err *err)
{
	char who[300];
	json_t *args = json_pack("[OO]", rq->doc ? rq->doc : json_null(), results);
	if (!args)
		return lle_err_oom(err);
	json_t *d = lle_hooks_call(t->process_results_hook, args, err);
	json_decref(args);
	lle_task_who_doc(who, sizeof(who), t, rq->doc_id, "process_results");
	if (!d) {
		lle_err_prefix(err, "%s", who);
		return -1;
	}
	int rc = 0;
	if (!json_is_object(d)) {
		rc = lle_err_set(err, LLE_EXIT_DATA, "%s: '%s' returned no dict", who, t->process_results_hook->spec);
		goto out;
	}
	for (size_t m = 0; m < t->nmetrics; m++) {
		json_t *v = json_object_get(d, t->metrics[m].name);
		if (!v) {
			rc = lle_err_set(err, LLE_EXIT_DATA, "%s: '%s' returned no metric '%s'", who,
					 t->process_results_hook->spec, t->metrics[m].name);
			goto out;
		}
		if (to_item(t, m, v, &items[m], err) < 0) {
			lle_err_prefix(err, "%s", who);
			rc = -1;
			goto out;
		}
	}
out:
	json_decref(d);
	return rc;
}

int lle_task_hook_aggregate(const struct lle_task *t, size_t m, const struct lle_item *col, size_t n,
			    double *value, struct lle_err *err)
{
	json_t *vals;
	if (t->process_results_hook || (t->metric_hooks && t->metric_hooks[m]) || (t->metric_pass && t->metric_pass[m])) {
		vals = lle_task_hook_values(t, col, n, err); /* as the hook returned them */
	} else {
		/* a built-in metric's per-document value as the harness's: a
		 * (gold, pred) or (ll, count) pair for these, else the number */
		enum lle_metric_kind k = t->metrics[m].kind;
		int pair = k == LLE_M_F1 || k == LLE_M_MCC || k == LLE_M_WORD_PERPLEXITY ||
			   k == LLE_M_BYTE_PERPLEXITY || k == LLE_M_BITS_PER_BYTE;
		vals = json_array();
		for (size_t i = 0; vals && i < n; i++) {
			json_t *v = pair ? json_pack("[ff]", col[i].x, col[i].w) : json_real(col[i].x);
			if (!v || json_array_append_new(vals, v) < 0) {
				json_decref(vals);
				vals = NULL;
			}
		}
		if (!vals)
			lle_err_oom(err);
	}
	if (!vals)
		return -1;
	json_t *args = json_pack("[o]", vals);
	json_t *res = args ? lle_hooks_call(t->agg_hooks[m], args, err) : NULL;
	if (!args)
		lle_err_oom(err);
	if (args)
		json_decref(args);
	if (!res) {
		lle_err_prefix(err, "task '%s': metric '%s': aggregation", t->name, t->metrics[m].name);
		return -1;
	}
	*value = json_is_number(res) ? json_number_value(res) : json_is_boolean(res) ? json_is_true(res) : NAN;
	int ok = json_is_number(res) || json_is_boolean(res);
	json_decref(res);
	if (!ok)
		return lle_err_set(err, LLE_EXIT_DATA, "task '%s': metric '%s': aggregation '%s' returned no number",
				   t->name, t->metrics[m].name, t->agg_hooks[m]->spec);
	return 0;
}

/* ---------- !function metrics and aggregations without process_results ---------- */

int lle_task_hook_entry_is(const struct lle_node *e)
{
	return e && e->kind == LLE_NODE_MAP &&
	       (is_fn(lle_node_get(e, "metric")) || is_fn(lle_node_get(e, "aggregation")));
}

static int ensure_arrays(struct lle_task *t, size_t cap, struct lle_err *err)
{
	if (!t->agg_hooks && !(t->agg_hooks = calloc(cap, sizeof(*t->agg_hooks))))
		return lle_err_oom(err);
	if (!t->metric_hooks && !(t->metric_hooks = calloc(cap, sizeof(*t->metric_hooks))))
		return lle_err_oom(err);
	if (!t->metric_kwargs && !(t->metric_kwargs = json_object()))
		return lle_err_oom(err);
	return 0;
}

/* A copy of map e without key k (NULL when out of memory). */
static struct lle_node *without_key(const struct lle_node *e, const char *k)
{
	struct lle_node *c = lle_node_copy(e);
	for (size_t i = 0; c && i < c->n; i++) {
		if (strcmp(c->keys[i], k))
			continue;
		free(c->keys[i]);
		lle_node_free(c->items[i]);
		memmove(c->keys + i, c->keys + i + 1, (c->n - i - 1) * sizeof(*c->keys));
		memmove(c->items + i, c->items + i + 1, (c->n - i - 1) * sizeof(*c->items));
		c->n--;
		break;
	}
	return c;
}

static int passthrough(const char *name)
{
	static const char *const p[] = { "acc", "acc_norm", "acc_mutual_info", "acc_bytes", "brier_score",
					 "likelihood", "perplexity", "word_perplexity", "byte_perplexity",
					 "bits_per_byte", "mcc", "f1", "bleu", "chrf", "ter", "bypass", NULL };
	for (int i = 0; p[i]; i++)
		if (!strcmp(p[i], name))
			return 1;
	return 0;
}

int lle_task_hook_metric_entry(struct lle_task *t, struct lle_metric *mt, const struct lle_node *e, size_t at,
			       size_t cap, struct lle_err *err)
{
	char who[300];
	snprintf(who, sizeof(who), "task '%s'", t->name);
	if (ensure_arrays(t, cap, err) < 0)
		return -1;
	const struct lle_node *m = lle_node_get(e, "metric");
	const struct lle_node *a = lle_node_get(e, "aggregation");
	if (is_fn(m)) {
		/* lm_eval/api/task.py: a callable metric is named by its __name__ and
		 * called per document as fn(references=[gold], predictions=[result],
		 * **kwargs), or fn([gold, result]) when that raises TypeError */
		if (t->output_type != LLE_OUT_GENERATE_UNTIL)
			return kerr(t, m, "metric", err, "a '!function' metric is supported for generate_until tasks");
		if (!(t->metric_hooks[at] = lle_task_hookref(t, m, "metric", err)))
			return -1;
		if (!(mt->name = lle_strdup(t->metric_hooks[at]->fn)))
			return lle_err_oom(err);
		mt->kind = LLE_M_EXACT_MATCH;
		mt->agg = LLE_AGG_MEAN;
		mt->higher_is_better = 1;
		json_t *kw = json_object();
		for (size_t i = 0; kw && i < e->n; i++) {
			const char *k = e->keys[i];
			if (!strcmp(k, "metric") || !strcmp(k, "aggregation") || !strcmp(k, "higher_is_better") ||
			    !strcmp(k, "hf_evaluate"))
				continue;
			json_t *v = lle_node_to_json(e->items[i]);
			if (!v || json_object_set_new(kw, k, v) < 0) {
				json_decref(kw);
				kw = NULL;
			}
		}
		if (!kw || json_object_set_new(t->metric_kwargs, mt->name, kw) < 0)
			return lle_err_oom(err);
		const struct lle_node *h = lle_node_get(e, "higher_is_better");
		if (h && (mt->higher_is_better = lle_node_bool(h)) < 0)
			return kerr(t, h, "higher_is_better", err, "must be true or false");
		if (a && !is_fn(a) && (a->kind != LLE_NODE_SCALAR || agg_by_name(a->str, &mt->agg) < 0))
			return kerr(t, a, "aggregation", err, "unknown aggregation");
	} else if (t->output_type == LLE_OUT_GENERATE_UNTIL && is_fn(a) && m && m->kind == LLE_NODE_SCALAR &&
		   passthrough(m->str)) {
		/* lm_eval/api/metrics.py: these metrics' functions return their
		 * items, so for a generation process_results' fn(references=,
		 * predictions=) raises TypeError and fn([gold, result]) gives the
		 * pair itself: the aggregation function gets (gold, result) pairs */
		if (!(mt->name = lle_strdup(m->str)) || !(t->metric_pass || (t->metric_pass = calloc(cap, 1))))
			return lle_err_oom(err);
		t->metric_pass[at] = 1;
		mt->kind = LLE_M_EXACT_MATCH;
		mt->agg = LLE_AGG_MEAN;
		const struct lle_node *h = lle_node_get(e, "higher_is_better");
		mt->higher_is_better = !h || lle_node_bool(h) != 0;
	} else {
		/* a built-in metric aggregated by a function: the metric as usual */
		struct lle_node *c = without_key(e, "aggregation");
		if (!c)
			return lle_err_oom(err);
		int rc = lle_metric_from_node(mt, c, t->output_type, who, err);
		lle_node_free(c);
		if (rc < 0)
			return -1;
	}
	if (is_fn(a) && !(t->agg_hooks[at] = lle_task_hookref(t, a, "aggregation", err)))
		return -1;
	return 0;
}

int lle_task_hook_metric(const struct lle_task *t, size_t m, const char *pred, const json_t *gold,
			 const struct lle_requests *rq, struct lle_item *item, struct lle_err *err)
{
	char who[300];
	if (t->metric_pass && t->metric_pass[m]) { /* the (gold, result) pair itself */
		json_t *pair = json_pack("[Os]", gold ? gold : json_null(), pred);
		if (!pair)
			return lle_err_oom(err);
		int rc = to_item(t, m, pair, item, err);
		json_decref(pair);
		return rc;
	}
	const struct lle_hookref *h = t->metric_hooks[m];
	json_t *g = gold && json_is_array(gold) ? json_incref((json_t *)gold) : NULL;
	if (!g) { /* the harness casts gold to the result's type: str(gold) */
		struct lle_buf b = LLE_BUF_INIT;
		if (gold)
			lle_py_str(&b, gold);
		g = b.oom ? NULL : json_string(lle_buf_str(&b));
		lle_buf_free(&b);
	}
	json_t *kw = json_object_get(t->metric_kwargs, t->metrics[m].name);
	json_t *req = g ? json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:O,s:s}", "op", "metric", "module", h->module,
				    "name", h->name, "base", h->base, "fn", h->fn, "gold", g, "pred", pred, "kwargs",
				    kw ? kw : json_null(), "metric", t->metrics[m].name)
		     : NULL;
	if (!req)
		return lle_err_oom(err);
	json_t *v = lle_hooks_request(h, req, err);
	json_decref(req);
	lle_task_who_doc(who, sizeof(who), t, rq->doc_id, "metric");
	if (!v) {
		lle_err_prefix(err, "%s", who);
		return -1;
	}
	int rc = to_item(t, m, v, item, err);
	json_decref(v);
	if (rc < 0)
		lle_err_prefix(err, "%s", who);
	return rc;
}
