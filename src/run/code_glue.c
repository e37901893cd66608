/* Code tasks in the run: see code_glue.h.
 *
 * Each completion goes through a filter chain on its own (so a chain's
 * take_first keeps it: pass@k needs all n completions), then the task's
 * program template. Programs are indexed by (document, filter, config,
 * repeat); a task normally has one code_exec config, with several ks. */
#include "run/code_glue.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/sandbox.h"
#include "tasks/code_exec.h"
#include "tasks/code_metric.h"
#include "tasks/passk.h"
#include "util/buf.h"

struct prog {
	size_t cfg;
	int ran;
	struct lle_code_outcome out;
};

struct code_chunk {
	const struct lle_task *t;
	struct lle_code_cfg **cfgs;  /* distinct configs, in metric order */
	size_t ncfg;
	size_t *base;                /* per document: its first program, or SIZE_MAX */
	size_t *nrep;                /* per document: completions */
	struct prog *progs;
	size_t nprogs;
};

int code_task_has(const struct lle_task *t)
{
	for (size_t m = 0; m < t->nmetrics; m++)
		if (t->metrics[m].kind == LLE_M_PASS_AT_K)
			return 1;
	return 0;
}

int code_precheck(const struct lle_plan *p, const struct lle_run_opts *o, struct lle_err *err)
{
	for (size_t i = 0; i < p->ntasks; i++) {
		if (!code_task_has(p->tasks[i].task))
			continue;
		const struct lle_sandbox_probe *pr = lle_sandbox_probe();
		if (pr->missing[0] && !o->allow_weak_sandbox)
			return lle_err_set(err, LLE_EXIT_CONFIG, "task '%s' runs model-written code, but this "
					   "system does not allow a %s (pass --allow-weak-sandbox to run it "
					   "without that protection)", p->tasks[i].name, pr->missing);
		return 0;
	}
	return 0;
}

void code_chunk_free(struct code_chunk *cc)
{
	if (!cc)
		return;
	free(cc->cfgs);
	free(cc->base);
	free(cc->nrep);
	free(cc->progs);
	free(cc);
}

static size_t cfg_index(const struct code_chunk *cc, const struct lle_code_cfg *c)
{
	for (size_t i = 0; i < cc->ncfg; i++)
		if (cc->cfgs[i] == c)
			return i;
	return SIZE_MAX;
}

static size_t prog_at(const struct code_chunk *cc, size_t doc, size_t f, size_t c, size_t r)
{
	return cc->base[doc] + (f * cc->ncfg + c) * cc->nrep[doc] + r;
}

struct run_ud {
	struct code_chunk *cc;
	const size_t *idx;           /* program of the i-th job */
};

static void on_done(void *ud, size_t i, const struct lle_code_outcome *o, const struct lle_err *err)
{
	(void)err;
	struct run_ud *u = ud;
	struct prog *p = &u->cc->progs[u->idx[i]];
	if (o) {
		p->ran = 1;
		p->out = *o;
	}
}

/* The completion that runs: one response through the chain alone. */
static char *filtered_one(const struct lle_filter_chain *fc, json_t *resp, const json_t *doc,
			  struct lle_err *err)
{
	json_t *one = json_pack("[O]", resp);
	if (!one) {
		lle_err_oom(err);
		return NULL;
	}
	json_t *fr = lle_filter_apply(fc, one, doc, err);
	json_decref(one);
	if (!fr)
		return NULL;
	const char *s = lle_filter_prediction(fr, lle_filter_chain_name(fc), err);
	char *c = s ? lle_strdup(s) : NULL;
	json_decref(fr);
	if (s && !c)
		lle_err_oom(err);
	return c;
}

struct code_chunk *code_chunk_run(const struct lle_task *t, const struct lle_run_opts *o,
				  json_t *const *docs, const size_t *doc_ids, json_t *const *resps,
				  size_t ndocs, struct lle_err *err)
{
	struct code_chunk *cc = calloc(1, sizeof(*cc));
	char **texts = NULL;
	size_t *idx = NULL;
	if (!cc || !(cc->cfgs = calloc(t->nmetrics ? t->nmetrics : 1, sizeof(*cc->cfgs))) ||
	    !(cc->base = calloc(ndocs ? ndocs : 1, sizeof(*cc->base))) ||
	    !(cc->nrep = calloc(ndocs ? ndocs : 1, sizeof(*cc->nrep))))
		goto oom;
	cc->t = t;
	for (size_t m = 0; m < t->nmetrics; m++)
		if (t->metrics[m].kind == LLE_M_PASS_AT_K && cfg_index(cc, t->metrics[m].code) == SIZE_MAX)
			cc->cfgs[cc->ncfg++] = t->metrics[m].code;
	size_t n = 0;
	for (size_t i = 0; i < ndocs; i++) {
		cc->base[i] = SIZE_MAX;
		if (!resps[i])
			continue;
		cc->base[i] = n;
		cc->nrep[i] = json_array_size(resps[i]);
		n += t->nfilters * cc->ncfg * cc->nrep[i];
	}
	cc->nprogs = n;
	if (!(cc->progs = calloc(n ? n : 1, sizeof(*cc->progs))) || !(texts = calloc(n ? n : 1, sizeof(*texts))) ||
	    !(idx = calloc(n ? n : 1, sizeof(*idx))))
		goto oom;
	for (size_t i = 0; i < ndocs; i++) {
		if (!resps[i])
			continue;
		char who[300];
		snprintf(who, sizeof(who), "task '%s': doc %zu: program", t->name, doc_ids[i]);
		for (size_t f = 0; f < t->nfilters; f++) {
			for (size_t r = 0; r < cc->nrep[i]; r++) {
				char *comp = filtered_one(t->filters[f], json_array_get(resps[i], r), docs[i], err);
				if (!comp)
					goto fail;
				for (size_t c = 0; c < cc->ncfg; c++) {
					size_t k = prog_at(cc, i, f, c, r);
					cc->progs[k].cfg = c;
					if (!(texts[k] = lle_code_program(cc->cfgs[c], docs[i], comp, who, err))) {
						free(comp);
						goto fail;
					}
				}
				free(comp);
			}
		}
	}
	/* One pool run per config (each has its own interpreter and limits). */
	const char **batch = calloc(n ? n : 1, sizeof(*batch));
	if (!batch)
		goto oom;
	for (size_t c = 0; c < cc->ncfg; c++) {
		size_t nb = 0;
		for (size_t k = 0; k < n; k++)
			if (cc->progs[k].cfg == c) {
				idx[nb] = k;
				batch[nb++] = texts[k];
			}
		const struct lle_code_cfg *cfg = cc->cfgs[c];
		struct lle_code_exec_opts xo = { 0 };
		xo.interpreter = cfg->interpreter;
		xo.raw = cfg->raw;
		xo.sandbox.timeout_s = cfg->timeout_s;
		xo.sandbox.memory_mb = cfg->memory_mb;
		xo.sandbox.allow_weak = o->allow_weak_sandbox;
		struct run_ud u = { cc, idx };
		if (lle_code_exec_run(&xo, batch, nb, on_done, &u, err) < 0) {
			free(batch);
			lle_err_prefix(err, "task '%s'", t->name);
			goto fail;
		}
	}
	free(batch);
	for (size_t k = 0; k < n; k++)
		free(texts[k]);
	free(texts);
	free(idx);
	return cc;
oom:
	lle_err_oom(err);
fail:
	if (texts)
		for (size_t k = 0; cc && k < cc->nprogs; k++)
			free(texts[k]);
	free(texts);
	free(idx);
	code_chunk_free(cc);
	return NULL;
}

int code_chunk_score(const struct code_chunk *cc, size_t i, struct lle_item *items, json_t **log,
		     struct lle_err *err)
{
	const struct lle_task *t = cc->t;
	*log = NULL;
	if (cc->base[i] == SIZE_MAX)
		return lle_err_set(err, LLE_EXIT_INTERNAL, "task '%s': document %zu has no programs", t->name, i);
	size_t nrep = cc->nrep[i];
	json_t *all = json_array();
	if (!all)
		return lle_err_oom(err);
	for (size_t f = 0; f < t->nfilters; f++) {
		json_t *per_cfg = json_array();
		for (size_t c = 0; c < cc->ncfg; c++) {
			unsigned passed = 0;
			json_t *outs = json_array();
			for (size_t r = 0; r < nrep; r++) {
				const struct prog *p = &cc->progs[prog_at(cc, i, f, c, r)];
				if (!p->ran) {
					json_decref(outs);
					json_decref(per_cfg);
					json_decref(all);
					return lle_err_set(err, LLE_EXIT_INTERNAL, "task '%s': a program did not run",
							   t->name);
				}
				passed += p->out.status == LLE_CODE_PASSED;
				json_array_append_new(outs, json_pack("{s:s,s:s,s:s,s:f}", "status",
								      lle_code_status_name(p->out.status),
								      "exception", p->out.exception, "detail",
								      p->out.detail, "wall_s", p->out.wall_s));
			}
			for (size_t m = 0; m < t->nmetrics; m++) {
				const struct lle_metric *mt = &t->metrics[m];
				if (mt->kind != LLE_M_PASS_AT_K || cfg_index(cc, mt->code) != c)
					continue;
				double v = lle_pass_at_k((unsigned)nrep, passed, mt->pass_k);
				if (isnan(v)) {
					json_decref(outs);
					json_decref(per_cfg);
					json_decref(all);
					return lle_err_set(err, LLE_EXIT_EVAL, "task '%s': %s needs at least %u "
							   "completions, the document has %zu", t->name, mt->name,
							   mt->pass_k, nrep);
				}
				items[f * t->nmetrics + m] = (struct lle_item){ .x = v };
			}
			json_array_append_new(per_cfg, json_pack("{s:s,s:I,s:I,s:o}", "interpreter",
								 cc->cfgs[c]->interpreter, "n", (json_int_t)nrep,
								 "passed", (json_int_t)passed, "outcomes", outs));
		}
		json_array_append_new(all, json_pack("{s:o}", "code_exec", per_cfg));
	}
	if (json_array_size(all) != t->nfilters) {
		json_decref(all);
		return lle_err_oom(err);
	}
	*log = all;
	return 0;
}
