/* A task's per-document logs, written as its documents are scored:
 *
 *   samples_<task>_<date>.jsonl (--log-samples): one line per document and
 *       filter in lm-evaluation-harness's layout (doc, target, arguments,
 *       resps, filtered_resps, each metric's item, the three hashes)
 *   items_<task>_<date>.jsonl (--shard): per document its items (value and
 *       weight per filter x metric, and a corpus metric's statistics), which
 *       `llm-eval merge` re-aggregates
 *
 * Both are written as NAME.part and renamed when the task ends complete, so
 * the log of a stopped task is never taken for a whole one.
 *
 * What it does not do: aggregate (output_task, output.c), or write the
 * results file or the table (output.c). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run/output_int.h"
#include "util/buf.h"
#include "util/sha256.h"

/* ---------- the items log (--shard) ---------- */

struct items_log {
	FILE *f;
	char *path, *tmp;
};

char *output_items_name(const struct run_output *ro, const char *task)
{
	struct lle_buf b = LLE_BUF_INIT;
	lle_buf_printf(&b, "items_%s_%s.jsonl", task, ro->date);
	return lle_buf_detach(&b);
}

static struct items_log *items_open(struct run_output *ro, const struct plan_task *pt, struct lle_err *err)
{
	struct items_log *il = calloc(1, sizeof(*il));
	char *name = output_items_name(ro, pt->name);
	struct lle_buf b = LLE_BUF_INIT;
	if (!il || !name) {
		free(il);
		free(name);
		lle_err_oom(err);
		return NULL;
	}
	lle_buf_printf(&b, "%s/%s", ro->dir, name);
	il->path = lle_buf_detach(&b);
	lle_buf_printf(&b, "%s.part", il->path ? il->path : "");
	il->tmp = lle_buf_detach(&b);
	free(name);
	if (!il->path || !il->tmp) {
		lle_err_oom(err);
		goto fail;
	}
	/* .part until the task ends, as the sample logs */
	if (!(il->f = fopen(il->tmp, "w"))) {
		lle_err_set(err, LLE_EXIT_IO, "cannot write '%s': %s", il->tmp, strerror(errno));
		goto fail;
	}
	return il;
fail:
	free(il->path);
	free(il->tmp);
	free(il);
	return NULL;
}

static void put_double(FILE *f, double x)
{
	/* %.17g gives the double back exactly. JSON has no NaN or infinities: a
	 * NaN is "N/A" as in the results file (output_number); an infinity, which
	 * merge must get back to recompute the same figures, "inf" / "-inf". */
	if (isnan(x))
		fputs("\"N/A\"", f);
	else if (isinf(x))
		fputs(x > 0 ? "\"inf\"" : "\"-inf\"", f);
	else
		fprintf(f, "%.17g", x);
}

/* {"doc_id": 7, "items": [[x, w], ...]}: nfilters x nmetrics items, filter-major;
 * bleu, chrf and ter items add their statistics: [x, w, s0, s1, ...]. */
static int items_write(struct items_log *il, const struct lle_task *t, size_t doc_id, const struct lle_item *items,
		       struct lle_err *err)
{
	size_t n = t->nfilters * t->nmetrics;
	fprintf(il->f, "{\"doc_id\":%zu,\"items\":[", doc_id);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ",[" : "[", il->f);
		put_double(il->f, items[i].x);
		fputc(',', il->f);
		put_double(il->f, items[i].w);
		for (size_t k = 0; k < lle_agg_nstats(t->metrics[i % t->nmetrics].agg); k++) {
			fputc(',', il->f);
			put_double(il->f, items[i].s[k]);
		}
		fputc(']', il->f);
	}
	if (fputs("]}\n", il->f) == EOF || ferror(il->f))
		return lle_err_set(err, LLE_EXIT_IO, "cannot write '%s': %s", il->tmp, strerror(errno));
	return 0;
}

static int items_close(struct items_log *il, int complete, struct lle_err *err)
{
	if (!il)
		return 0;
	int bad = fflush(il->f) != 0 || fsync(fileno(il->f)) != 0;
	bad |= fclose(il->f) != 0;
	int rc = 0;
	if (bad)
		rc = err ? lle_err_set(err, LLE_EXIT_IO, "cannot write '%s': %s", il->tmp, strerror(errno)) : -1;
	else if (complete && rename(il->tmp, il->path) < 0)
		rc = err ? lle_err_set(err, LLE_EXIT_IO, "cannot rename '%s': %s", il->tmp, strerror(errno)) : -1;
	free(il->path);
	free(il->tmp);
	free(il);
	return rc;
}

static void items_abort(struct items_log *il)
{
	if (!il)
		return;
	fclose(il->f);
	free(il->path);
	free(il->tmp);
	free(il);
}

/* ---------- the sample log ---------- */

struct task_output *output_task_begin(struct run_output *ro, const struct plan_task *pt, struct lle_err *err)
{
	struct task_output *to = calloc(1, sizeof(*to));
	if (!to) {
		lle_err_oom(err);
		return NULL;
	}
	to->ro = ro;
	if (ro->o->log_samples && ro->dir) {
		struct lle_buf b = LLE_BUF_INIT;
		lle_buf_printf(&b, "%s/samples_%s_%s.jsonl", ro->dir, pt->name, ro->date);
		to->samples_path = lle_buf_detach(&b);
		lle_buf_printf(&b, "%s.part", to->samples_path ? to->samples_path : "");
		to->samples_tmp = lle_buf_detach(&b);
		if (!to->samples_path || !to->samples_tmp) {
			lle_err_oom(err);
			goto fail;
		}
		/* Written as .part and renamed when the task ends, so a complete
		 * log is never confused with the log of a stopped task. */
		to->samples = fopen(to->samples_tmp, "w");
		if (!to->samples) {
			lle_err_set(err, LLE_EXIT_IO, "cannot write '%s': %s", to->samples_tmp, strerror(errno));
			goto fail;
		}
	}
	if (ro->o->shard_n > 0 && ro->dir && !(to->items = items_open(ro, pt, err))) {
		if (to->samples) {
			fclose(to->samples);
			unlink(to->samples_tmp);
		}
		goto fail;
	}
	return to;
fail:
	free(to->samples_path);
	free(to->samples_tmp);
	free(to);
	return NULL;
}

static void hash_hex(const char *s, char hex[65])
{
	unsigned char d[LLE_SHA256_LEN];
	lle_sha256(s, strlen(s), d);
	lle_sha256_hex(d, hex);
}

static json_t *target_json(const json_t *target)
{
	return target ? json_deep_copy(target) : json_null();
}

int output_sample(struct task_output *to, const struct lle_task *t, size_t doc_id, const json_t *doc,
		  const struct lle_requests *rq, const struct lle_request *reqs, size_t nreqs,
		  const json_t *resps, const json_t *filtered, const struct lle_item *items,
		  struct lle_err *err)
{
	return output_sample_ex(to, t, doc_id, doc, rq, reqs, nreqs, resps, filtered, items, NULL, err);
}

int output_sample_ex(struct task_output *to, const struct lle_task *t, size_t doc_id, const json_t *doc,
		     const struct lle_requests *rq, const struct lle_request *reqs, size_t nreqs,
		     const json_t *resps, const json_t *filtered, const struct lle_item *items,
		     const json_t *extra, struct lle_err *err)
{
	if (to->items && items_write(to->items, t, doc_id, items, err) < 0)
		return -1;
	if (!to->samples)
		return 0;
	json_t *args = json_array();
	for (size_t r = 0; r < nreqs; r++) {
		const struct lle_request *q = &reqs[r];
		if (q->kind == LLE_REQ_LOGLIKELIHOOD) {
			json_array_append_new(args, json_pack("[ss]", q->context, q->continuation));
		} else if (q->kind == LLE_REQ_LOGLIKELIHOOD_ROLLING) {
			json_array_append_new(args, json_pack("[s]", q->context));
		} else {
			json_t *until = json_array();
			for (size_t u = 0; u < q->n_until; u++)
				json_array_append_new(until, json_string(q->until[u]));
			json_array_append_new(args, json_pack("[s{s:o,s:i,s:f,s:b}]", q->context, "until", until,
							      "max_gen_toks", (int)q->max_tokens, "temperature",
							      q->temperature, "do_sample", q->temperature > 0));
		}
	}
	char *docs = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	char *tgt = rq->target ? (json_is_string(rq->target) ? lle_strdup(json_string_value(rq->target))
				 : json_dumps(rq->target, JSON_ENCODE_ANY | JSON_COMPACT))
			       : lle_strdup("");
	char dh[65], ph[65], th[65];
	hash_hex(docs ? docs : "", dh);
	hash_hex(rq->context ? rq->context : "", ph);
	hash_hex(tgt ? tgt : "", th);
	free(docs);
	free(tgt);
	int rc = 0;
	for (size_t f = 0; f < t->nfilters && rc == 0; f++) {
		json_t *line = json_object();
		json_t *metrics = json_array();
		json_object_set_new(line, "doc_id", json_integer((json_int_t)doc_id));
		json_object_set_new(line, "doc", json_deep_copy(doc));
		json_object_set_new(line, "target", target_json(rq->target));
		json_object_set(line, "arguments", args);
		/* the harness logs [req.resps for req in requests] (lm_eval/evaluator.py
		 * evaluate): a generation is one request whose resps list holds every
		 * repeat, so [[text, ...]]; a log-likelihood request's is [[ll, greedy]] */
		if (t->output_type == LLE_OUT_GENERATE_UNTIL)
			json_object_set_new(line, "resps", json_pack("[O]", resps));
		else if (t->output_type != LLE_OUT_LOGLIKELIHOOD_ROLLING)
			json_object_set_new(line, "resps", json_deep_copy(resps));
		if (filtered && json_is_array(filtered)) {
			json_object_set_new(line, "filtered_resps", json_deep_copy(json_array_get(filtered, f)));
		} else {
			/* log-likelihoods: one [logprob, is_greedy] per request, unwrapped;
			 * loglikelihood_rolling answers a bare float (LM.loglikelihood_rolling),
			 * so its resps are [[logprob]] and its filtered_resps [logprob] */
			json_t *fr = json_array(), *rr = json_array();
			size_t i;
			json_t *r;
			json_array_foreach(resps, i, r) {
				json_t *one = json_array_get(r, 0);
				if (t->output_type == LLE_OUT_LOGLIKELIHOOD_ROLLING) {
					json_array_append(fr, json_array_get(one, 0));
					json_array_append_new(rr, json_pack("[O]", json_array_get(one, 0)));
				} else {
					json_array_append(fr, one);
				}
			}
			if (t->output_type == LLE_OUT_LOGLIKELIHOOD_ROLLING)
				json_object_set_new(line, "resps", rr);
			else
				json_decref(rr);
			json_object_set_new(line, "filtered_resps", fr);
		}
		json_object_set_new(line, "filter", json_string(lle_filter_chain_name(t->filters[f])));
		for (size_t m = 0; m < t->nmetrics; m++) {
			json_array_append_new(metrics, json_string(t->metrics[m].name));
			/* the harness's per-document item: a number or a pair (metrics.h) */
			json_t *fr = filtered && json_is_array(filtered) ? json_array_get(filtered, f) : NULL;
			json_object_set_new(line, t->metrics[m].name,
					    lle_item_sample(&t->metrics[m], t->output_type, &items[f * t->nmetrics + m],
							    rq->gold ? rq->gold : rq->target,
							    json_is_array(fr) ? json_array_get(fr, 0) : NULL));
		}
		if (t->predict_only && t->output_type == LLE_OUT_GENERATE_UNTIL) {
			/* the harness's bypass metric: None per document */
			json_array_append_new(metrics, json_string("bypass"));
			json_object_set_new(line, "bypass", json_null());
		}
		json_object_set_new(line, "metrics", metrics);
		json_object_set_new(line, "doc_hash", json_string(dh));
		json_object_set_new(line, "prompt_hash", json_string(ph));
		json_object_set_new(line, "target_hash", json_string(th));
		if (extra && json_is_object(json_array_get(extra, f)))
			json_object_update(line, json_array_get(extra, f));
		char *s = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
		json_decref(line);
		if (!s) {
			rc = lle_err_oom(err);
			break;
		}
		if (fputs(s, to->samples) == EOF || fputc('\n', to->samples) == EOF)
			rc = lle_err_set(err, LLE_EXIT_IO, "cannot write '%s': %s", to->samples_tmp, strerror(errno));
		free(s);
	}
	json_decref(args);
	return rc;
}

static int close_samples(struct task_output *to, int complete, struct lle_err *err)
{
	if (!to->samples)
		return 0;
	int bad = fflush(to->samples) != 0 || fsync(fileno(to->samples)) != 0;
	bad |= fclose(to->samples) != 0;
	to->samples = NULL;
	if (bad)
		return lle_err_set(err, LLE_EXIT_IO, "cannot write '%s': %s", to->samples_tmp, strerror(errno));
	if (complete && rename(to->samples_tmp, to->samples_path) < 0)
		return lle_err_set(err, LLE_EXIT_IO, "cannot rename '%s': %s", to->samples_tmp, strerror(errno));
	return 0;
}

void output_task_abort(struct task_output *to)
{
	if (!to)
		return;
	struct lle_err ignored = { 0 };
	close_samples(to, 0, &ignored);
	items_abort(to->items);
	free(to->samples_path);
	free(to->samples_tmp);
	free(to);
}

int output_task_logs_end(struct task_output *to, int complete, struct lle_err *err)
{
	int rc = close_samples(to, complete, err);
	if (items_close(to->items, complete, rc < 0 ? NULL : err) < 0)
		rc = -1;
	free(to->samples_path);
	free(to->samples_tmp);
	free(to);
	return rc;
}
