/* The asynchronous engine of the OpenAI backend (plugins/openai/): submit
 * turns each request into a job that goes through its steps (tokenize,
 * score, generate), keeps up to num_concurrent transfers in flight on
 * libcurl's multi interface, balances them over the replicas by least
 * outstanding requests, takes out a replica that stops answering and probes
 * it again with backoff, retries failed calls, shares the context tokens
 * between the choices of a question, and hands every request exactly one
 * result.
 *
 * Not here: what an answer means (answer.c), bodies (body.c), curl set-up
 * (http.c). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openai.h"

struct ctx_ent *oa_ctx_slot(struct run *R, const char *ctx)
{
	if (!R->cache)
		return NULL;
	size_t h = ((uintptr_t)ctx >> 3) * 0x9E3779B97F4A7C15ull;
	for (size_t i = 0; i < R->ncache; i++) {
		struct ctx_ent *e = &R->cache[(h + i) & (R->ncache - 1)];
		if (!e->ctx || e->ctx == ctx)
			return e;
	}
	return NULL;
}

void oa_job_clear(struct job *j)
{
	free(j->body);
	free(j->ctx_t);
	free(j->whole_t);
	free(j->x);
	free(j->text_t);
	j->body = NULL;
	j->ctx_t = j->whole_t = j->x = j->text_t = NULL;
}

void oa_finish(struct run *R, struct job *j, int status, const char *error, const char *text, size_t tlen)
{
	struct lle_result res = { .size = sizeof(res), .id = j->req->id, .status = (uint32_t)status };
	res.error = error;
	if (status == LLE_STATUS_OK) {
		res.logprob = j->lp;
		res.is_greedy = j->greedy;
		res.n_tokens = j->ntok;
		res.text = text;
		res.text_len = tlen;
	}
	if (j->req->kind == LLE_REQ_LOGLIKELIHOOD) {
		struct ctx_ent *e = oa_ctx_slot(R, j->req->context);
		if (e && e->owner == j)
			e->owner = NULL; /* another request of the context may try */
	}
	j->step = ST_DONE;
	oa_job_clear(j);
	R->ndone++;
	R->cb(R->user, j->req, &res);
}

void oa_fail_job(struct run *R, struct job *j, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	oa_finish(R, j, LLE_STATUS_ERROR, msg, NULL, 0);
}

struct replica *oa_pick(struct lle_model *m)
{
	struct replica *best = NULL;
	for (int i = 0; i < m->nrep; i++) {
		struct replica *r = &m->reps[i];
		if (!r->down && (!best || r->outstanding < best->outstanding))
			best = r;
	}
	return best;
}

static int start_xfer(struct run *R, struct job *j, struct replica *r)
{
	struct lle_model *m = R->m;
	struct xfer *x = calloc(1, sizeof(*x));
	if (!x || !(x->h = oa_handle_get(m))) {
		free(x);
		return -1;
	}
	char url[2048];
	if (!j) {
		snprintf(url, sizeof(url), "%s/health", r->root);
	} else {
		const char *path = j->step == ST_GEN ? (m->chat ? "/chat/completions" : "/completions")
				 : j->step == ST_SCORE ? "/completions" : NULL;
		snprintf(url, sizeof(url), "%s%s", path ? r->api : r->root, path ? path : "/tokenize");
	}
	x->job = j;
	x->rep = r;
	x->hi.retry_after = -1;
	oa_setup(m, x->h, url, j ? j->body : NULL, j ? strlen(j->body) : 0, &x->resp, &x->hi, x->curl_err,
	      j ? m->timeout : (m->timeout < 10 ? m->timeout : 10));
	curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
	if (curl_multi_add_handle(m->multi, x->h) != CURLM_OK) {
		oa_handle_put(m, x->h);
		free(x);
		return -1;
	}
	if (j) {
		j->inflight = 1;
		R->inflight++;
	} else {
		r->probe = x->h;
	}
	r->outstanding++;
	m->n_http++;
	return 0;
}


static const char *step_name(int step)
{
	return step == ST_GEN ? "generation" : step == ST_SCORE ? "scoring" : "tokenize";
}

static void replica_failed(struct lle_model *m, struct replica *r, const char *why, int hard)
{
	r->fails++;
	snprintf(r->last_err, sizeof(r->last_err), "%.250s", why);
	if (!r->down && (hard || r->fails >= 3)) {
		r->down = 1;
		r->backoff = m->backoff > 0.05 ? m->backoff : 0.05;
		r->retry_at = oa_now() + r->backoff;
		oa_log(LLE_LOG_WARN, "openai: server '%s' stopped answering (%s); taken out, probed again later",
		       r->root, why);
	}
}

static void on_done(struct run *R, struct xfer *x, CURLcode cc)
{
	struct lle_model *m = R->m;
	struct replica *r = x->rep;
	long status = 0;
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(m->multi, x->h);
	curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, NULL);
	r->outstanding--;
	struct job *j = x->job;
	if (!j) { /* a probe of a down replica */
		r->probe = NULL;
		if (cc == CURLE_OK && (status == 200 || status == 404)) {
			r->down = 0;
			r->fails = 0;
			oa_log(LLE_LOG_INFO, "openai: server '%s' answers again; back in", r->root);
		} else {
			r->backoff = r->backoff * 2 < m->backoff_max ? r->backoff * 2 : m->backoff_max;
			if (r->backoff <= 0)
				r->backoff = 0.05;
			r->retry_at = oa_now() + r->backoff;
		}
		goto out;
	}
	j->inflight = 0;
	R->inflight--;
	char why[512] = "";
	int retry = 0;
	if (oa_too_large(&x->resp, cc)) {
		/* not retried: the same question would get the same answer */
		oa_fail_job(R, j, "server '%s': %s answer larger than max_response_mb (%.0f bytes); it was not read",
			 r->root, step_name(j->step), (double)x->resp.max);
	} else if (cc != CURLE_OK) {
		snprintf(why, sizeof(why), "%s", x->curl_err[0] ? x->curl_err : curl_easy_strerror(cc));
		replica_failed(m, r, why, cc == CURLE_COULDNT_CONNECT);
		retry = 1;
	} else if (status == 200) {
		r->fails = 0;
		retry = oa_on_answer(R, j, r, &x->resp, why, sizeof(why));
		if (x->resp.oom) {
			retry = 0;
			if (j->step != ST_DONE)
				oa_fail_job(R, j, "out of memory");
		}
	} else {
		r->fails = 0;
		char msg[300];
		oa_server_message(x->resp.p, x->resp.n, msg, sizeof(msg));
		snprintf(why, sizeof(why), "HTTP %ld: %s", status, msg);
		if (status == 429 || status >= 500)
			retry = 1;
		else
			oa_fail_job(R, j, "server '%s': %s failed: %s", r->root, step_name(j->step), why);
	}
	if (retry && j->step != ST_DONE) {
		if (j->attempt >= m->max_retries) {
			oa_fail_job(R, j, "server '%s': %s failed after %d tries: %s", r->root, step_name(j->step),
				 j->attempt + 1, why);
		} else {
			j->wake = oa_now() + oa_backoff_delay(m, j->attempt, x->hi.retry_after);
			j->attempt++;
			m->n_retries++;
			oa_log(LLE_LOG_DEBUG, "openai: retry %d of request %llu: %s", j->attempt,
			       (unsigned long long)j->req->id, why);
		}
	}
out:
	oa_handle_put(m, x->h);
	oa_sb_free(&x->resp);
	free(x);
}

static void start_job(struct run *R, struct job *j)
{
	const struct lle_request *q = j->req;
	j->greedy = 1;
	if (q->kind == LLE_REQ_GENERATE_UNTIL)
		j->step = ST_GEN;
	else if (q->kind == LLE_REQ_LOGLIKELIHOOD)
		j->step = q->context[0] ? ST_TOK_CTX : ST_TOK_CONT;
	else if (q->kind == LLE_REQ_LOGLIKELIHOOD_ROLLING)
		j->step = ST_TOK_TEXT;
	else {
		oa_fail_job(R, j, "openai: unknown request kind %u", q->kind);
		return;
	}
	if (q->kind == LLE_REQ_LOGLIKELIHOOD && !q->continuation) {
		oa_fail_job(R, j, "openai: loglikelihood request without a continuation");
		return;
	}
	if (oa_build_body(R, j) < 0)
		oa_fail_job(R, j, "out of memory");
}

int oa_submit(struct lle_model *m, const struct lle_request *reqs, size_t n, lle_complete_fn cb,
		     void *user, char *err, size_t len)
{
	if (oa_wait_ready(m, err, len) < 0)
		return -1;
	if (m->lp_mode == LP_NONE)
		for (size_t i = 0; i < n; i++)
			if (reqs[i].kind != LLE_REQ_GENERATE_UNTIL) {
				snprintf(err, len, "%s; run the tasks that need them with --backend llamacpp, "
					 "or serve the model with vLLM (echo + logprobs)", m->ready_err[0] ? m->ready_err :
					 "the server returns no prompt log-probabilities");
				return -1;
			}
	/* when every replica is out, one more look before giving up on the run */
	int up = 0;
	for (int i = 0; i < m->nrep; i++)
		up += !m->reps[i].down;
	for (int i = 0; i < m->nrep && !up; i++) {
		struct replica *r = &m->reps[i];
		char url[2048];
		struct call c;
		snprintf(url, sizeof(url), "%s/health", r->root);
		oa_call_blocking(m, url, NULL, m->timeout < 10 ? m->timeout : 10, &c);
		if (c.cc == CURLE_OK && (c.status == 200 || c.status == 404)) {
			r->down = 0;
			r->fails = 0;
			up = 1;
		} else {
			oa_describe_fail(&c, r->last_err, sizeof(r->last_err));
		}
		oa_sb_free(&c.resp);
	}
	if (!up) {
		snprintf(err, len, "no server answers: '%s': %s%s", m->reps[0].root, m->reps[0].last_err,
			 m->nrep > 1 ? " (and every other replica)" : "");
		return -1;
	}
	struct run R = { m, calloc(n ? n : 1, sizeof(struct job)), n, 0, 0, cb, user, NULL, 0 };
	if (!R.jobs) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	R.ncache = 16;
	while (R.ncache < 2 * n)
		R.ncache *= 2;
	R.cache = calloc(R.ncache, sizeof(*R.cache)); /* without it, every request tokenises its context */
	for (size_t i = 0; i < n; i++) {
		R.jobs[i].req = &reqs[i];
		start_job(&R, &R.jobs[i]);
	}
	size_t next = 0; /* jobs before next are all started at least once */
	double all_down_since = -1;
	while (R.ndone < n) {
		double t = oa_now();
		if (oa_host->interrupted(oa_host->user)) {
			for (size_t i = 0; i < n; i++)
				if (R.jobs[i].step != ST_DONE && !R.jobs[i].inflight)
					oa_finish(&R, &R.jobs[i], LLE_STATUS_CANCELLED, "interrupted", NULL, 0);
			if (R.inflight == 0)
				break;
		}
		/* probes of replicas that are out */
		int nup = 0;
		for (int i = 0; i < m->nrep; i++) {
			struct replica *r = &m->reps[i];
			nup += !r->down;
			if (r->down && !r->probe && t >= r->retry_at)
				start_xfer(&R, NULL, r);
		}
		if (!nup) {
			if (all_down_since < 0)
				all_down_since = t;
			/* nothing answers: give the replicas max_retries probe rounds, then fail */
			double limit = 0;
			for (int a = 0; a <= m->max_retries; a++)
				limit += fmin(m->backoff * pow(2.0, a), m->backoff_max);
			if (t - all_down_since > limit + 1.0 && R.inflight == 0) {
				char msg[768];
				snprintf(msg, sizeof(msg), "no server answers (%s%s)", m->reps[0].last_err,
					 m->nrep > 1 ? ", and every other replica" : "");
				for (size_t i = 0; i < n; i++)
					if (R.jobs[i].step != ST_DONE)
						oa_finish(&R, &R.jobs[i], LLE_STATUS_ERROR, msg, NULL, 0);
				break;
			}
		} else {
			all_down_since = -1;
		}
		/* start what may start, oldest first */
		double wake = t + 0.5;
		for (size_t i = 0; i < n && nup && R.inflight < m->num_concurrent; i++) {
			struct job *j = &R.jobs[i];
			if (j->step == ST_DONE || j->inflight)
				continue;
			if (j->wake > t) {
				if (j->wake < wake)
					wake = j->wake;
				continue;
			}
			if (j->step == ST_TOK_CTX) {
				struct ctx_ent *e = oa_ctx_slot(&R, j->req->context);
				if (e && e->ready) {
					/* another choice of the same context had it tokenised */
					free(j->ctx_t);
					j->ctx_t = malloc(sizeof(int32_t) * (size_t)(e->n + 1));
					if (!j->ctx_t) {
						oa_fail_job(&R, j, "out of memory");
						continue;
					}
					memcpy(j->ctx_t, e->t, sizeof(int32_t) * (size_t)e->n);
					j->nctx = e->n;
					j->step = ST_TOK_WHOLE;
					if (oa_build_body(&R, j) < 0) {
						oa_fail_job(&R, j, "out of memory");
						continue;
					}
				} else if (e && e->owner && e->owner != j) {
					continue; /* wait for that call */
				} else if (e) {
					e->ctx = j->req->context;
					e->owner = j;
				}
			}
			struct replica *r = oa_pick(m);
			if (!r)
				break;
			if (start_xfer(&R, j, r) < 0) {
				oa_fail_job(&R, j, "out of memory");
				continue;
			}
			if (i >= next)
				next = i + 1;
		}
		for (int i = 0; i < m->nrep; i++)
			if (m->reps[i].down && !m->reps[i].probe && m->reps[i].retry_at < wake)
				wake = m->reps[i].retry_at;
		int running = 0;
		curl_multi_perform(m->multi, &running);
		CURLMsg *msg;
		int left, any = 0;
		while ((msg = curl_multi_info_read(m->multi, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct xfer *x = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			on_done(&R, x, msg->data.result);
			any = 1;
		}
		if (any)
			continue;
		double ms = (wake - oa_now()) * 1000;
		int tmo = ms < 1 ? 1 : ms > 500 ? 500 : (int)ms;
		curl_multi_poll(m->multi, NULL, 0, tmo, NULL);
	}
	/* nothing may stay in flight past submit: the requests' strings die with it */
	for (int i = 0; i < m->nrep; i++)
		if (m->reps[i].probe) {
			CURL *h = m->reps[i].probe;
			struct xfer *x = NULL;
			curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&x);
			curl_multi_remove_handle(m->multi, h);
			m->reps[i].probe = NULL;
			m->reps[i].outstanding--;
			oa_handle_put(m, h);
			if (x) {
				oa_sb_free(&x->resp);
				free(x);
			}
		}
	for (size_t i = 0; i < n; i++)
		oa_job_clear(&R.jobs[i]);
	free(R.jobs);
	for (size_t i = 0; R.cache && i < R.ncache; i++)
		free(R.cache[i].t);
	free(R.cache);
	oa_log(LLE_LOG_DEBUG, "openai: %zu requests, %lld HTTP calls so far, %lld retries", n, m->n_http, m->n_retries);
	return 0;
}
