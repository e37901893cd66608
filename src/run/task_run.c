/* One task of a model: read its documents (this shard's only, each through
 * process_docs) in chunks of --batch-size, run each chunk (chunk.c), show
 * progress and aggregate; before that, the journal's pass over the same
 * documents when responses are cached.
 *
 * Not here: a chunk's requests, submission and scoring (chunk.c), the
 * models and the backend (engine.c), results files (output.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/monitor.h"
#include "run/cache_glue.h"
#include "run/output.h"
#include "run/task_run.h"
#include "tasks/genargs.h"

static int task_journal(struct task_run *tr, struct lle_err *err);

/* A task's few-shot source: the one the plan opened while checking it
 * (nothing drawn from it yet), taken by the task's first run; else opened
 * again, as each later run (another model) needs its own from the seed. */
static struct lle_fewshot *run_fewshot(struct plan_task *pt, const struct lle_data_dir *dd,
				       const struct lle_run_opts *o, struct lle_err *err)
{
	if (pt->fs && pt->fs_seed == o->fewshot_seed) {
		struct lle_fewshot *fs = pt->fs;
		pt->fs = NULL;
		return fs;
	}
	return lle_fewshot_open(pt->task, dd, pt->k, o->fewshot_seed, err);
}
static int shard_skips(const struct lle_run_opts *o, struct lle_fewshot *fs, size_t doc_id, struct lle_err *err);

/* The next chunk of documents to evaluate: up to max of the task's first
 * pt->ndocs, this shard's only, each through process_docs. *seen counts the
 * documents read, kept or skipped. Returns how many were kept (0: none
 * left), or -1 with none kept. */
static long read_docs(const struct task_run *tr, struct lle_ds *ds, struct lle_fewshot *fs, long *seen,
		      json_t **docs, size_t *ids, size_t max, struct lle_err *err)
{
	const struct lle_task *t = tr->pt->task;
	size_t n = 0;
	while (n < max && *seen < tr->pt->ndocs) {
		json_t *doc = NULL;
		int r = lle_ds_next(ds, &doc, err);
		if (r < 0) {
			lle_err_prefix(err, "task '%s'", t->name);
			goto fail;
		}
		if (r == 0)
			break;
		int skip = shard_skips(tr->o, fs, (size_t)*seen, err);
		if (!skip && tr->samples && run_samples_skip(tr->samples, (size_t)*seen))
			skip = 1;
		if (skip) {
			json_decref(doc);
			if (skip < 0)
				goto fail;
			(*seen)++;
			continue;
		}
		if (lle_task_process_doc(t, doc, (size_t)*seen, err) < 0) {
			json_decref(doc);
			goto fail;
		}
		docs[n] = doc;
		ids[n++] = (size_t)(*seen)++;
	}
	return (long)n;
fail:
	for (size_t i = 0; i < n; i++)
		json_decref(docs[i]);
	return -1;
}

int run_task(struct task_run *tr, struct lle_err *err)
{
	struct plan_task *pt = tr->pt;
	const struct lle_task *t = pt->task;
	const struct lle_run_opts *o = tr->o;
	struct lle_fewshot *fs = NULL;
	struct lle_ds *ds = NULL;
	struct lle_task_agg *agg = lle_task_agg_new(t);
	long bsz = lle_run_batch_size(o);
	json_t **docs = calloc((size_t)bsz, sizeof(*docs));
	size_t *ids = calloc((size_t)bsz, sizeof(*ids));
	int rc = -1;
	double t0 = run_now_s();
	if (!agg || !docs || !ids) {
		lle_err_oom(err);
		goto out;
	}
	if (pt->k > 0 && !(fs = run_fewshot(pt, &tr->plan->dd, o, err)))
		goto out;
	if (!(ds = lle_ds_open(pt->data_path, err)))
		goto out;
	tr->samples = run_task_samples(o, pt->name);
	progress_task(tr->pr, pt->name, pt->ndocs);
	if (task_journal(tr, err) < 0)
		goto out;
	progress_run(tr->pr);
	if (tr->pr->mon) {
		char phase[256];
		snprintf(phase, sizeof(phase), "task %s", pt->name);
		lle_monitor_phase(tr->pr->mon, phase);
	}
	long seen = 0;
	while (seen < pt->ndocs && !lle_run_interrupted) {
		long n = read_docs(tr, ds, fs, &seen, docs, ids, (size_t)bsz, err);
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		int crc = run_chunk(tr, agg, docs, ids, (size_t)n, fs, err);
		for (long i = 0; i < n; i++)
			json_decref(docs[i]);
		if (crc < 0)
			goto out;
		progress_docs(tr->pr, seen);
	}
	progress_show(tr->pr, 1);
	/* Stopped means documents are missing: Ctrl-C during the last chunk can
	 * cancel some of its requests, or come after every one was scored. */
	int stopped = lle_run_interrupted &&
		      (seen < pt->ndocs || lle_task_agg_count(agg) + (size_t)tr->failed < (size_t)pt->ndocs);
	rc = output_task(tr->out, pt, agg, o->bootstrap_iters, run_now_s() - t0, stopped, err);
	tr->out = NULL; /* output_task took it */
out:
	run_cache_task_end(tr->cache);
	output_task_abort(tr->out);
	lle_task_agg_free(agg);
	lle_fewshot_free(fs);
	lle_ds_close(ds);
	free(docs);
	free(ids);
	return rc;
}

int run_samples_skip(const struct lle_run_samples *s, size_t doc_id)
{
	size_t lo = 0, hi = s->nids;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->ids[mid] == doc_id)
			return 0;
		if (s->ids[mid] < doc_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 1;
}

/* --shard i/N: documents whose doc_id % N != i are skipped (not even
 * processed). 1: skip, 0: keep. */
static int shard_skips(const struct lle_run_opts *o, struct lle_fewshot *fs, size_t doc_id, struct lle_err *err)
{
	(void)fs;
	(void)err;
	return o->shard_n > 1 && (long)(doc_id % (size_t)o->shard_n) != o->shard_i;
}


/* The journal of a task: the keys of all its requests, in the order the run
 * sends them, from a pass that builds the prompts and sends nothing (with its
 * own dataset reader and few-shot sampler, so the run's are untouched). */
static int task_journal(struct task_run *tr, struct lle_err *err)
{
	if (!run_cache_enabled(tr->cache))
		return 0;
	struct plan_task *pt = tr->pt;
	const struct lle_run_opts *o = tr->o;
	struct lle_fewshot *fs = NULL;
	struct lle_ds *ds = NULL;
	long bsz = lle_run_batch_size(o);
	json_t **docs = calloc((size_t)bsz, sizeof(*docs));
	size_t *ids = calloc((size_t)bsz, sizeof(*ids));
	int rc = -1;
	tr->nkeys = 0;
	tr->jbase = 0;
	if (!docs || !ids) {
		lle_err_oom(err);
		goto out;
	}
	if (pt->k > 0 && !(fs = run_fewshot(pt, &tr->plan->dd, o, err)))
		goto out;
	if (!(ds = lle_ds_open(pt->data_path, err)))
		goto out;
	tr->next_doc = 0;
	long seen = 0;
	int bad = 0;
	while (seen < pt->ndocs && !bad && !lle_run_interrupted) {
		long n = read_docs(tr, ds, fs, &seen, docs, ids, (size_t)bsz, err);
		if (n <= 0) {
			bad = n < 0;
			break;
		}
		bad = journal_chunk(tr, docs, ids, (size_t)n, fs, err) < 0;
		progress_prompts(tr->pr, seen);
		for (long i = 0; i < n; i++)
			json_decref(docs[i]);
	}
	tr->jbase = 0;
	tr->next_doc = 0;
	if (!bad && lle_run_interrupted)
		rc = 0; /* stopped before the journal was complete: the task will not run */
	else if (!bad)
		rc = run_cache_task_begin(tr->cache, pt->name, (const unsigned char (*)[RUN_KEY_LEN])tr->keys,
					  tr->nkeys, err);
out:
	lle_fewshot_free(fs);
	lle_ds_close(ds);
	free(docs);
	free(ids);
	return rc;
}

const struct lle_run_samples *run_task_samples(const struct lle_run_opts *o, const char *task)
{
	for (size_t i = 0; i < o->nsamples; i++)
		if (!strcmp(o->samples[i].task, task))
			return &o->samples[i];
	return NULL;
}

int run_check_samples(const struct lle_plan *p, const struct lle_run_opts *o, struct lle_err *err)
{
	for (size_t i = 0; i < o->nsamples; i++) {
		const struct lle_run_samples *s = &o->samples[i];
		const struct plan_task *pt = NULL;
		for (size_t t = 0; t < p->ntasks && !pt; t++)
			if (!strcmp(p->tasks[t].name, s->task))
				pt = &p->tasks[t];
		if (!pt)
			return lle_err_set(err, LLE_EXIT_USAGE, "--samples: task '%s' is not one this run evaluates",
					   s->task);
		if (s->nids && s->ids[s->nids - 1] >= (size_t)pt->ndocs)
			return lle_err_set(err, LLE_EXIT_USAGE,
					   "--samples: task '%s' has %ld documents, there is no document %zu",
					   s->task, pt->ndocs, s->ids[s->nids - 1]);
	}
	return 0;
}

/* --show-prompts N: the first N documents of each task, built as the run
 * builds them (its few-shot sampler, shards and --samples), given to
 * o->on_prompt; no model, no cache. */
int lle_run_prompts(struct lle_plan *p, const struct lle_run_opts *o, struct lle_err *err)
{
	struct lle_gen_args ga;
	if (run_check_samples(p, o, err) < 0 || lle_gen_args_parse(&ga, o->gen_kwargs, err) < 0)
		return err->code;
	long bsz = o->show_prompts > 0 ? o->show_prompts : 1;
	json_t **docs = calloc((size_t)bsz, sizeof(*docs));
	size_t *ids = calloc((size_t)bsz, sizeof(*ids));
	int rc = (docs && ids) ? 0 : lle_err_oom(err);
	long failed = 0; /* documents whose hooks failed (--on-error continue) */
	for (size_t t = 0; rc == 0 && t < p->ntasks; t++) {
		struct plan_task *pt = &p->tasks[t];
		struct task_run tr = { 0 };
		tr.plan = p;
		tr.pt = pt;
		tr.pm = p->nmodels ? &p->models[0] : NULL; /* its chat template, if any */
		tr.o = o;
		tr.ga = &ga;
		tr.samples = run_task_samples(o, pt->name);
		struct lle_fewshot *fs = NULL;
		struct lle_ds *ds = NULL;
		long seen = 0, n = 0;
		if ((pt->k > 0 && !(fs = run_fewshot(pt, &p->dd, o, err))) ||
		    !(ds = lle_ds_open(pt->data_path, err)) ||
		    (n = read_docs(&tr, ds, fs, &seen, docs, ids, (size_t)bsz, err)) < 0 ||
		    prompts_chunk(&tr, docs, ids, (size_t)n, fs, err) < 0)
			rc = -1;
		failed += tr.failed;
		for (long i = 0; i < n; i++)
			json_decref(docs[i]);
		lle_fewshot_free(fs);
		lle_ds_close(ds);
	}
	free(docs);
	free(ids);
	lle_gen_args_fini(&ga);
	if (rc == 0 && failed) {
		lle_err_set(err, LLE_EXIT_EVAL, "some documents failed (see the errors above)");
		return LLE_EXIT_EVAL;
	}
	return rc < 0 ? (err->code ? err->code : LLE_EXIT_INTERNAL) : 0;
}
