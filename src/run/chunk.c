/* One chunk of a task's documents: build every document's requests
 * (prompts, continuations, generation arguments) with src/tasks, look them
 * up in the response cache, hand the rest to the backend in one submission,
 * then score each document whose responses are all in and log it. The
 * journal's pass builds the same requests and only keeps their cache keys.
 *
 * Not here: which documents make a chunk, shards and the journal of a task
 * (task_run.c), the cache itself (cache_glue.c), aggregation and files
 * (output.c, output_log.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/describe.h"
#include "monitor/monitor.h"
#include "hooks/hooks.h"
#include "run/cache_glue.h"
#include "run/chat.h"
#include "run/code_glue.h"
#include "run/output.h"
#include "run/task_run.h"
#include "tasks/genargs.h"
#include "util/buf.h"
#include "util/diag.h"
#include "util/utf8.h"

struct slot {
	int done, status;
	double logprob;
	int is_greedy, n_tokens;
	char *text;            /* bytes with a length: a model may emit NUL */
	size_t text_len;
	char *error;
};

struct chunk {
	struct slot *slots;
	size_t nslots;
	struct progress *pr;
	uint32_t *partial;       /* tokens each request reported before completing */
	struct chunk_cache *cc;  /* the response cache's part (cache_glue.c), or NULL */
	const struct lle_secrets *secrets; /* removed from the plugin's error texts */
};

static void chunk_cache_complete(struct chunk *c, const struct lle_request *req, const struct lle_result *res);

/* A copy of the model's text that is valid UTF-8, its length in *len: a
 * generation cut at the token limit can end inside a character, and a random
 * model emits byte tokens freely. Invalid bytes become U+FFFD, as Python's
 * errors="replace"; a NUL byte is valid UTF-8 and stays (issue 18 item 8). */
static char *valid_utf8(const char *p, size_t n, size_t *len)
{
	struct lle_buf b = LLE_BUF_INIT;
	size_t i = 0;
	while (i < n) {
		size_t k = (unsigned char)p[i] < 0x80 ? 1 : lle_utf8_valid_prefix((const unsigned char *)p + i, n - i);
		if (k == 0) {
			lle_buf_adds(&b, "\xef\xbf\xbd");
			i++;
		} else {
			lle_buf_add(&b, p + i, k);
			i += k;
		}
	}
	*len = b.n;
	return lle_buf_detach(&b);
}

static void on_complete(void *user, const struct lle_request *req, const struct lle_result *res)
{
	struct chunk *c = user;
	if (req->id >= c->nslots)
		return;
	struct slot *s = &c->slots[req->id];
	s->done = 1;
	s->status = (int)res->status;
	s->logprob = res->logprob;
	s->is_greedy = res->is_greedy;
	s->n_tokens = res->n_tokens;
	if (res->status == LLE_STATUS_OK && res->text)
		s->text = valid_utf8(res->text, res->text_len, &s->text_len);
	if (res->status != LLE_STATUS_OK)
		s->error = lle_secrets_scrub(c->secrets, res->error ? res->error : "request failed");
	chunk_cache_complete(c, req, res);
	int64_t prompt = res->status == LLE_STATUS_OK && LLE_HAS_FIELD(res, struct lle_result, n_prompt_tokens)
				 ? res->n_prompt_tokens : 0;
	progress_request(c->pr, req->id, res->n_tokens, prompt);
}

/* A sampled generation's seed: fixed by the run seed, the document and the
 * repeat, so results never depend on batching or order. */
static uint64_t request_seed(long seed, size_t doc_id, long rep)
{
	uint64_t z = (uint64_t)seed * 0x9E3779B97F4A7C15ull ^ ((uint64_t)doc_id << 20) ^ (uint64_t)rep;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static int chunk_cache_begin(struct task_run *tr, struct chunk *ck, struct lle_request *reqs, size_t nreq,
			     struct lle_request **send, size_t *nsend, struct lle_err *err);
static int chunk_cache_end(struct task_run *tr, struct chunk *ck, size_t nreq, struct lle_err *err);
static void chunk_cache_free(struct chunk *ck);
static int shard_catch_up(struct task_run *tr, struct lle_fewshot *fs, size_t doc_id, struct lle_err *err);

/* Code tasks: the responses of every document whose requests all succeeded,
 * run as programs at once (code_glue.c). */
static struct code_chunk *run_code(const struct lle_task *t, const struct lle_run_opts *o, json_t **docs,
				   const size_t *doc_ids, size_t ndocs, const struct chunk *ck,
				   const size_t *first, struct lle_err *err)
{
	json_t **cr = calloc(ndocs ? ndocs : 1, sizeof(*cr));
	if (!cr) {
		lle_err_oom(err);
		return NULL;
	}
	struct code_chunk *cc = NULL;
	for (size_t i = 0; i < ndocs; i++) {
		int ok = 1;
		for (size_t r = first[i]; r < first[i + 1]; r++)
			ok = ok && ck->slots[r].done && ck->slots[r].status == LLE_STATUS_OK;
		if (!ok)
			continue;
		if (!(cr[i] = json_array())) {
			lle_err_oom(err);
			goto out;
		}
		for (size_t r = first[i]; r < first[i + 1]; r++)
			if (json_array_append_new(cr[i], json_stringn(ck->slots[r].text ? ck->slots[r].text : "", ck->slots[r].text_len)) < 0) {
				lle_err_oom(err);
				goto out;
			}
	}
	cc = code_chunk_run(t, o, docs, doc_ids, cr, ndocs, err);
out:
	for (size_t i = 0; i < ndocs; i++)
		json_decref(cr[i]);
	free(cr);
	return cc;
}

/* A chunk's requests: each document's (lle_requests) and the backend's
 * requests in sending order, document i's at first[i]..first[i+1]-1. */
struct chunk_reqs {
	struct lle_requests *rqs;
	size_t *first;
	unsigned char *skip;  /* a document whose hook failed: no requests, not scored */
	struct lle_request *reqs;
	size_t ndocs, nreq;
	struct lle_message **msgv; /* per document: rqs[i].messages for the backend, or NULL */
	size_t *nmsg;
};

static void chunk_reqs_free(struct chunk_reqs *cr)
{
	if (cr->rqs)
		for (size_t i = 0; i < cr->ndocs; i++)
			lle_requests_free(&cr->rqs[i]);
	free(cr->rqs);
	for (size_t i = 0; cr->msgv && i < cr->ndocs; i++)
		free(cr->msgv[i]);
	free(cr->msgv);
	free(cr->nmsg);
	free(cr->first);
	free(cr->skip);
	free(cr->reqs);
	memset(cr, 0, sizeof(*cr));
}

/* Build every document's prompt and continuations, then the backend's
 * requests (generation arguments with --gen-kwargs applied). Advances the
 * few-shot sampler as the run does; sends nothing. A document whose Python
 * hook fails (an exception in doc_to_text, ...) is, with --on-error
 * continue, left out (cr->skip), and with report, reported and counted as
 * a failed document, as a backend's failure is; other errors end the
 * chunk. */
static int chunk_build(struct task_run *tr, json_t **docs, const size_t *doc_ids, size_t ndocs,
		       struct lle_fewshot *fs, struct chunk_reqs *cr, int report, struct lle_err *err)
{
	const struct lle_task *t = tr->pt->task;
	const struct lle_run_opts *o = tr->o;
	memset(cr, 0, sizeof(*cr));
	cr->ndocs = ndocs;
	cr->rqs = calloc(ndocs ? ndocs : 1, sizeof(*cr->rqs));
	cr->first = calloc(ndocs + 1, sizeof(*cr->first));
	cr->skip = calloc(ndocs ? ndocs : 1, sizeof(*cr->skip));
	if (!cr->rqs || !cr->first || !cr->skip)
		return lle_err_oom(err);
	/* With a chat template the system instruction is the system turn, which
	 * the backend adds (lle_open_params.system_message, see run_model): it
	 * must not also open the user turn's text. */
	/* tr->pm is NULL for --show-prompts without a model */
	const struct lle_chat *chat = o->apply_chat_template && tr->pm ? tr->pm->chat : NULL; /* rendered here */
	const char *think_end = tr->pm ? tr->pm->think_end : NULL;
	/* A backend that takes the conversation itself (a server's chat endpoint,
	 * LLE_CAP_CHAT_MESSAGES) gets the messages of its generation requests,
	 * gen_prefix turn and system instruction included (lle_chat_to_backend) */
	int to_backend = o->apply_chat_template && !chat && tr->be && t->output_type == LLE_OUT_GENERATE_UNTIL &&
			 (lle_backend_caps(tr->be) & LLE_CAP_CHAT_MESSAGES);
	struct lle_prompt_opts popts = { o->apply_chat_template && !chat ? NULL : o->system_instruction,
					 o->apply_chat_template, o->fewshot_as_multiturn, chat != NULL || to_backend };
	if (to_backend && (!(cr->msgv = calloc(ndocs ? ndocs : 1, sizeof(*cr->msgv))) ||
			   !(cr->nmsg = calloc(ndocs ? ndocs : 1, sizeof(*cr->nmsg)))))
		return lle_err_oom(err);
	size_t nreq = 0;
	long repeats = t->repeats > 0 ? t->repeats : 1;
	/* Python doc_to_* hooks: the chunk's values in one request */
	if (lle_task_hooks_prefetch(t, docs, ndocs, err) < 0)
		return -1;
	for (size_t i = 0; i < ndocs; i++) {
		if (shard_catch_up(tr, fs, doc_ids[i], err) < 0)
			return -1;
		cr->first[i] = nreq;
		unsigned long hook_failures = lle_hooks_failures();
		if (lle_task_build(t, fs, docs[i], doc_ids[i], &popts, &cr->rqs[i], err) < 0) {
			if (o->on_error_stop || lle_hooks_failures() == hook_failures)
				return -1;
			if (report) {
				lle_errorf("%s", err->msg);
				tr->failed++;
			}
			lle_err_clear(err);
			lle_requests_free(&cr->rqs[i]);
			memset(&cr->rqs[i], 0, sizeof(cr->rqs[i]));
			cr->skip[i] = 1;
			continue;
		}
		if ((chat && lle_chat_apply(chat, &cr->rqs[i], t->name, err) < 0) ||
		    (to_backend && lle_chat_to_backend(&cr->rqs[i], o->system_instruction, t->fewshot_delimiter, err) < 0))
			return -1;
		if (to_backend && cr->rqs[i].messages &&
		    !(cr->msgv[i] = lle_chat_message_array(cr->rqs[i].messages, &cr->nmsg[i])))
			return lle_err_oom(err);
		switch (t->output_type) {
		case LLE_OUT_GENERATE_UNTIL: nreq += (size_t)repeats; break;
		case LLE_OUT_LOGLIKELIHOOD_ROLLING: nreq += 1; break;
		default: nreq += cr->rqs[i].ncont; break;
		}
	}
	cr->first[ndocs] = nreq;
	cr->nreq = nreq;
	cr->reqs = calloc(nreq ? nreq : 1, sizeof(*cr->reqs));
	if (!cr->reqs)
		return lle_err_oom(err);
	struct lle_gen_params gp;
	lle_gen_args_apply(tr->ga, t, &gp);
	for (size_t i = 0; i < ndocs; i++) {
		const struct lle_requests *rq = &cr->rqs[i];
		for (size_t r = cr->first[i]; r < cr->first[i + 1]; r++) {
			struct lle_request *q = &cr->reqs[r];
			size_t j = r - cr->first[i];
			q->size = sizeof(*q);
			q->id = r;
			q->context = rq->context;
			switch (t->output_type) {
			case LLE_OUT_GENERATE_UNTIL:
				q->kind = LLE_REQ_GENERATE_UNTIL;
				/* a reasoning model's stops would end its thinking: only EOS
				 * stops it, the stops cut after (the harness's vllm_causallms) */
				q->until = think_end && *think_end ? NULL : gp.until;
				q->n_until = think_end && *think_end ? 0 : gp.nuntil;
				q->max_tokens = (int32_t)gp.max_gen_toks;
				q->temperature = gp.temperature;
				q->top_p = gp.top_p;
				q->seed = request_seed(o->seed, doc_ids[i], (long)j);
				if (cr->msgv) {
					q->messages = cr->msgv[i];
					q->n_messages = cr->nmsg[i];
				}
				break;
			case LLE_OUT_LOGLIKELIHOOD_ROLLING:
				q->kind = LLE_REQ_LOGLIKELIHOOD_ROLLING;
				break;
			default:
				q->kind = LLE_REQ_LOGLIKELIHOOD;
				q->continuation = rq->continuations[j];
				if (rq->contexts && j < rq->nchoices)
					q->context = rq->contexts[j]; /* multiple inputs */
				if (rq->unconditional && j >= rq->nchoices)
					q->context = "";
				break;
			}
		}
	}
	return 0;
}

/* Hand the requests the response cache does not have to the backend and
 * wait for them; every slot of ck is then done, failed or cancelled. */
static int chunk_send(struct task_run *tr, const struct chunk_reqs *cr, struct chunk *ck, struct lle_err *err)
{
	ck->slots = calloc(cr->nreq ? cr->nreq : 1, sizeof(*ck->slots));
	ck->nslots = cr->nreq;
	ck->pr = tr->pr;
	ck->secrets = &tr->pm->secrets;
	ck->partial = calloc(cr->nreq ? cr->nreq : 1, sizeof(*ck->partial));
	if (!ck->slots || !ck->partial)
		return lle_err_oom(err);
	/* The response cache: what it has fills its slots, only the rest is sent. */
	struct lle_request *send = cr->reqs;
	size_t nsend = cr->nreq;
	if (chunk_cache_begin(tr, ck, cr->reqs, cr->nreq, &send, &nsend, err) < 0)
		return -1;
	if (tr->pr->mon)
		lle_monitor_add_requests_total(tr->pr->mon, cr->nreq);
	char ebuf[1024] = "";
	progress_chunk_begin(tr->pr, ck->partial, cr->nreq);
	int src = nsend ? tr->be->submit(tr->model, send, nsend, on_complete, ck, ebuf, sizeof(ebuf)) : 0;
	progress_chunk_end(tr->pr);
	if (src < 0) {
		lle_secrets_scrub_buf(&tr->pm->secrets, ebuf, sizeof(ebuf));
		lle_err_set(err, LLE_EXIT_BACKEND, "model '%s': %s", tr->pm->name, ebuf);
		chunk_cache_end(tr, ck, cr->nreq, NULL);
		return -1;
	}
	/* Responses count only once committed to the cache. */
	return chunk_cache_end(tr, ck, cr->nreq, err);
}


/* The responses of requests [first, first + n) as the filters see them:
 * with a think_end_token, cut as the harness's postprocess_generated_text
 * (lle_think_cut), the raw texts then in *raw. NULL: out of memory. */
static json_t *think_cut_resps(struct task_run *tr, const struct chunk *ck, size_t first, size_t n, json_t **raw)
{
	const char *te = tr->pm ? tr->pm->think_end : NULL;
	json_t *resps = json_array();
	*raw = NULL;
	if (resps && te && *te && !(*raw = json_array()))
		return json_decref(resps), NULL;
	struct lle_gen_params gp;
	if (*raw)
		lle_gen_args_apply(tr->ga, tr->pt->task, &gp);
	for (size_t r = first; resps && r < first + n; r++) {
		/* text is bytes with a length (a NUL may sit inside); the cut
		 * text is a C string, so it stops at a NUL before the marker */
		const char *text = ck->slots[r].text ? ck->slots[r].text : "";
		size_t tlen = ck->slots[r].text ? ck->slots[r].text_len : 0;
		char *cut = *raw ? lle_think_cut(text, te, (const char *const *)gp.until, gp.nuntil) : NULL;
		if ((*raw && (!cut || json_array_append_new(*raw, json_stringn(text, tlen)) < 0)) ||
		    json_array_append_new(resps, cut ? json_string(cut) : json_stringn(text, tlen)) < 0) {
			json_decref(resps);
			resps = NULL;
		}
		free(cut);
	}
	if (!resps && *raw) {
		json_decref(*raw);
		*raw = NULL;
	}
	return resps;
}

/* The raw responses beside the cut ones in each filter's sample line. */
static int sample_raw_resps(const struct lle_task *t, json_t **extra, json_t *raw)
{
	int rc = 0;
	if (!*extra && !(*extra = json_array()))
		rc = -1;
	for (size_t f = 0; rc == 0 && f < t->nfilters; f++) {
		json_t *o = json_array_get(*extra, f);
		if (!o && (json_array_append_new(*extra, json_object()) < 0 || !(o = json_array_get(*extra, f))))
			rc = -1;
		if (rc == 0 && json_object_set(o, "raw_resps", raw) < 0)
			rc = -1;
	}
	json_decref(raw);
	return rc;
}

/* Score one document whose requests all succeeded, add its items to agg and
 * log it. 1: scored, 0: its scoring failed (reported, counted), -1: error. */
static int score_doc(struct task_run *tr, struct lle_task_agg *agg, const json_t *doc, size_t doc_id,
		     const struct chunk_reqs *cr, size_t i, const struct chunk *ck, struct code_chunk *cc,
		     struct lle_item *items, double *ll, int *greedy, struct lle_err *err)
{
	const struct lle_task *t = tr->pt->task;
	json_t *resps = NULL, *filtered = NULL, *extra = NULL;
	struct lle_err serr = { 0 };
	int src, rc = 1;
	size_t first = cr->first[i], n = cr->first[i + 1] - first;
	if (t->output_type == LLE_OUT_GENERATE_UNTIL) {
		json_t *raw = NULL;
		if (!(resps = think_cut_resps(tr, ck, first, n, &raw)))
			return lle_err_oom(err);
		src = lle_task_score_generated(t, &cr->rqs[i], doc, resps, &filtered, items, &serr);
		if (src == 0 && cc)
			src = code_chunk_score(cc, i, items, &extra, &serr);
		if (raw && sample_raw_resps(t, &extra, raw) < 0) {
			json_decref(resps);
			json_decref(filtered);
			json_decref(extra);
			return lle_err_oom(err);
		}
	} else {
		for (size_t r = 0; r < n; r++) {
			ll[r] = ck->slots[first + r].logprob;
			greedy[r] = ck->slots[first + r].is_greedy;
		}
		src = lle_task_score_loglik(t, &cr->rqs[i], ll, greedy, items, &serr);
		resps = json_array();
		for (size_t r = 0; r < n; r++) {
			json_t *pair = json_pack("[fb]", ll[r], greedy[r]);
			json_array_append_new(resps, json_pack("[o]", pair));
		}
	}
	if (src < 0) {
		/* a hook's error names the task and document itself */
		char who[300];
		snprintf(who, sizeof(who), "task '%s': doc %zu: ", t->name, doc_id);
		lle_errorf("%s%s", strncmp(serr.msg, who, strlen(who)) ? who : "", serr.msg);
		tr->failed++;
		rc = 0;
	} else if (lle_task_agg_add(agg, items) < 0) {
		rc = lle_err_oom(err);
	} else if (tr->out && output_sample_ex(tr->out, t, doc_id, doc, &cr->rqs[i], cr->reqs + first, n, resps,
					       filtered, items, extra, err) < 0) {
		rc = -1;
	}
	json_decref(resps);
	json_decref(filtered);
	json_decref(extra);
	return rc;
}

/* Score each document whose requests all succeeded (a cancelled one is
 * left out, a failed one reported and counted). */
static int chunk_score(struct task_run *tr, struct lle_task_agg *agg, json_t **docs, const size_t *doc_ids,
		       const struct chunk_reqs *cr, const struct chunk *ck, struct lle_err *err)
{
	const struct lle_task *t = tr->pt->task;
	size_t nitems = t->nfilters * t->nmetrics;
	struct lle_item *items = calloc(nitems ? nitems : 1, sizeof(*items));
	double *ll = calloc(cr->nreq ? cr->nreq : 1, sizeof(*ll));
	int *greedy = calloc(cr->nreq ? cr->nreq : 1, sizeof(*greedy));
	struct code_chunk *cc = NULL;
	int rc = -1;
	if (!items || !ll || !greedy) {
		lle_err_oom(err);
		goto out;
	}
	if (t->output_type == LLE_OUT_GENERATE_UNTIL && code_task_has(t) &&
	    !(cc = run_code(t, tr->o, docs, doc_ids, cr->ndocs, ck, cr->first, err)))
		goto out;
	for (size_t i = 0; i < cr->ndocs; i++) {
		const char *why = NULL;
		int cancelled = 0;
		if (cr->skip[i])
			continue; /* its hook failed: reported and counted when built */
		for (size_t r = cr->first[i]; r < cr->first[i + 1]; r++) {
			const struct slot *s = &ck->slots[r];
			if (!s->done || s->status == LLE_STATUS_CANCELLED)
				cancelled = 1;
			else if (s->status != LLE_STATUS_OK && !why)
				why = s->error ? s->error : "request failed";
		}
		if (cancelled)
			continue;
		if (why) {
			lle_errorf("task '%s': doc %zu: %s", t->name, doc_ids[i], why);
			tr->failed++;
			continue;
		}
		if (score_doc(tr, agg, docs[i], doc_ids[i], cr, i, ck, cc, items, ll, greedy, err) < 0)
			goto out;
	}
	if (tr->failed && tr->o->on_error_stop) {
		lle_err_set(err, LLE_EXIT_EVAL, "task '%s': stopped at the first failed document (--on-error stop)",
			    t->name);
		goto out;
	}
	rc = 0;
out:
	code_chunk_free(cc);
	free(items);
	free(ll);
	free(greedy);
	return rc;
}

/* --show-prompts / --write-out: each request of the chunk's documents as it
 * is sent, while the task has shown fewer than o->show_prompts documents. */
static void show_prompts(struct task_run *tr, const struct chunk_reqs *cr, const size_t *doc_ids)
{
	const struct lle_run_opts *o = tr->o;
	if (!o->on_prompt)
		return;
	for (size_t i = 0; i < cr->ndocs && tr->prompts_shown < o->show_prompts; i++, tr->prompts_shown++)
		for (size_t r = cr->first[i]; r < cr->first[i + 1]; r++)
			o->on_prompt(o->on_prompt_user, tr->pt->name, doc_ids[i], cr->reqs[r].context,
				     cr->reqs[r].continuation);
}

int prompts_chunk(struct task_run *tr, json_t **docs, size_t *doc_ids, size_t ndocs, struct lle_fewshot *fs,
		  struct lle_err *err)
{
	struct chunk_reqs cr;
	int rc = chunk_build(tr, docs, doc_ids, ndocs, fs, &cr, 1, err);
	if (rc == 0)
		show_prompts(tr, &cr, doc_ids);
	chunk_reqs_free(&cr);
	return rc;
}

/* One chunk of the run: build, send, score. */
int run_chunk(struct task_run *tr, struct lle_task_agg *agg, json_t **docs, size_t *doc_ids, size_t ndocs,
	      struct lle_fewshot *fs, struct lle_err *err)
{
	struct chunk_reqs cr;
	struct chunk ck = { 0 };
	int rc = -1;
	int brc = chunk_build(tr, docs, doc_ids, ndocs, fs, &cr, 1, err);
	if (brc == 0)
		show_prompts(tr, &cr, doc_ids);
	if (brc == 0 && chunk_send(tr, &cr, &ck, err) == 0 &&
	    chunk_score(tr, agg, docs, doc_ids, &cr, &ck, err) == 0)
		rc = 0;
	chunk_reqs_free(&cr);
	for (size_t i = 0; i < ck.nslots; i++) {
		free(ck.slots[i].text);
		free(ck.slots[i].error);
	}
	free(ck.slots);
	free(ck.partial);
	chunk_cache_free(&ck);
	return rc;
}

/* One chunk of the journal's pass: build the requests as run_chunk does and
 * keep their cache keys in tr->keys; nothing is sent. */
int journal_chunk(struct task_run *tr, json_t **docs, size_t *doc_ids, size_t ndocs,
		  struct lle_fewshot *fs, struct lle_err *err)
{
	struct chunk_reqs cr;
	int rc = chunk_build(tr, docs, doc_ids, ndocs, fs, &cr, 0, err);
	if (rc == 0 && tr->nkeys + cr.nreq > tr->capkeys) {
		size_t cap = tr->capkeys ? tr->capkeys : 1024;
		while (cap < tr->nkeys + cr.nreq)
			cap *= 2;
		unsigned char (*nk)[RUN_KEY_LEN] = realloc(tr->keys, cap * sizeof(*nk));
		if (!nk) {
			rc = lle_err_oom(err);
		} else {
			tr->keys = nk;
			tr->capkeys = cap;
		}
	}
	for (size_t r = 0; rc == 0 && r < cr.nreq; r++) {
		if (run_cache_key(tr->cache, &cr.reqs[r], tr->keys[tr->nkeys], err) < 0)
			rc = -1;
		else
			tr->nkeys++;
	}
	chunk_reqs_free(&cr);
	return rc;
}

/* ---------- the response cache's part of a chunk ---------- */

/* The cache's part of one chunk: the key of every request, and the array
 * of the requests actually sent. */
struct chunk_cache {
	struct task_run *tr;
	unsigned char (*keys)[RUN_KEY_LEN];
	struct lle_request *send;
	double t_last;
	double t_flush;           /* when the cache was last committed */
	int failed;               /* a put failed: the chunk fails after submit returns */
	struct lle_err err;
};

static int chunk_cache_begin(struct task_run *tr, struct chunk *ck, struct lle_request *reqs, size_t nreq,
			     struct lle_request **send, size_t *nsend, struct lle_err *err)
{
	if (!run_cache_enabled(tr->cache)) {
		run_cache_count(tr->cache, (long long)nreq, 0);
		return 0;
	}
	struct chunk_cache *cc = calloc(1, sizeof(*cc));
	if (!cc)
		return lle_err_oom(err);
	ck->cc = cc;
	cc->tr = tr;
	cc->keys = malloc((nreq ? nreq : 1) * sizeof(*cc->keys));
	if (!cc->keys)
		return lle_err_oom(err);
	for (size_t r = 0; r < nreq; r++)
		if (run_cache_key(tr->cache, &reqs[r], cc->keys[r], err) < 0)
			return -1;
	cc->send = malloc((nreq ? nreq : 1) * sizeof(*cc->send));
	if (!cc->send)
		return lle_err_oom(err);
	size_t n = 0, hits = 0;
	for (size_t r = 0; r < nreq; r++) {
		struct run_cached h;
		int found = run_cache_lookup(tr->cache, cc->keys[r], (int64_t)(tr->jbase + r), &h, err);
		if (found < 0)
			return -1;
		if (!found) {
			cc->send[n++] = reqs[r];
			continue;
		}
		struct slot *s = &ck->slots[r];
		s->done = 1;
		s->status = LLE_STATUS_OK;
		s->logprob = h.logprob;
		s->is_greedy = h.is_greedy;
		s->n_tokens = h.n_tokens;
		if (reqs[r].kind == LLE_REQ_GENERATE_UNTIL) {
			s->text = valid_utf8(h.text ? h.text : "", h.text ? h.text_len : 0, &s->text_len);
			if (!s->text) {
				free(h.text);
				return lle_err_oom(err);
			}
		}
		free(h.text);
		hits++;
	}
	progress_cached(tr->pr, hits);
	run_cache_count(tr->cache, (long long)n, (long long)hits);
	*send = cc->send;
	*nsend = n;
	cc->t_last = cc->t_flush = run_now_s();
	return 0;
}

static void chunk_cache_complete(struct chunk *c, const struct lle_request *req, const struct lle_result *res)
{
	struct chunk_cache *cc = c->cc;
	if (!cc) {
		return;
	}
	double t = run_now_s();
	/* the backend gives no time per request: the time since the previous completion */
	double secs = t - cc->t_last;
	cc->t_last = t;
	if (cc->failed || res->status != LLE_STATUS_OK)
		return;
	const struct slot *s = &c->slots[req->id];
	if (run_cache_add(cc->tr->cache, cc->keys[req->id], req, res, s->text, s->text_len, secs,
			  (int64_t)(cc->tr->jbase + req->id), &cc->err) < 0) {
		cc->failed = 1;
		return;
	}
	/* Commit at least every second, not only every BATCH_MAX responses or
	 * at the chunk's end: `llm-eval monitor` reads progress from the
	 * journal, and a chunk smaller than a batch would show none until done. */
	if (t - cc->t_flush >= 1.0) {
		cc->t_flush = t;
		if (run_cache_flush(cc->tr->cache, &cc->err) < 0)
			cc->failed = 1;
	}
}

static int chunk_cache_end(struct task_run *tr, struct chunk *ck, size_t nreq, struct lle_err *err)
{
	tr->jbase += nreq;
	struct chunk_cache *cc = ck->cc;
	if (!cc)
		return 0;
	struct lle_err ferr = { 0 };
	/* commit what completed, even when the chunk failed: it is paid for */
	int r = run_cache_flush(tr->cache, &ferr);
	if (!err)
		return 0;
	if (cc->failed) {
		*err = cc->err;
		return -1;
	}
	if (r < 0) {
		*err = ferr;
		return -1;
	}
	return 0;
}

static void chunk_cache_free(struct chunk *ck)
{
	if (!ck->cc)
		return;
	free(ck->cc->keys);
	free(ck->cc->send);
	free(ck->cc);
	ck->cc = NULL;
}

/* ---------- shards ---------- */

/* Before building doc_id's prompt: the few-shot sampler draws for every
 * document skipped since the last one built, in order, so the documents a
 * shard keeps get the very prompts an unsharded run gives them. */
static int shard_catch_up(struct task_run *tr, struct lle_fewshot *fs, size_t doc_id, struct lle_err *err)
{
	long k = fs ? lle_fewshot_k(fs) : 0;
	/* --samples: the sampler draws for the chosen documents only, in order,
	 * as the harness's does (it builds requests for those alone) */
	if (k > 0 && tr->next_doc < doc_id && !tr->samples) {
		size_t *idx = malloc(((size_t)k + 1) * sizeof(*idx));
		if (!idx)
			return lle_err_oom(err);
		for (; tr->next_doc < doc_id; tr->next_doc++)
			if (lle_fewshot_draw(fs, idx, err) < 0) {
				free(idx);
				return -1;
			}
		free(idx);
	}
	tr->next_doc = doc_id + 1;
	return 0;
}
