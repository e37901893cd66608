/* Reading a server's answers in the OpenAI backend (plugins/openai/):
 * scores (the prompt log-probabilities of echo + logprobs or
 * prompt_logprobs, checked to be finite and <= LP_MAX, and whether the
 * tokens were greedy), /tokenize token ids, generated text (cut at the
 * earliest stop string), and moving a job to its next step: the context /
 * continuation split and the rolling windows, as the llama.cpp backend
 * cuts them. Answers are not trusted: anything out of shape fails the
 * request with a message naming the server.
 *
 * Not here: HTTP status and transport errors (submit.c's on_done), bodies
 * (body.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openai.h"

/* A log-probability a server may give: finite and at most LP_MAX. */
static int lp_ok(double x)
{
	return isfinite(x) && x <= LP_MAX;
}

/* Sum the log-probabilities of the last s of the n prompt tokens. */
int oa_parse_score(struct lle_model *m, const char *body, size_t blen, const int32_t *toks, int n, int s,
		       double *lp, int *greedy, char *err, size_t len)
{
	json_t *j = json_loadb(body ? body : "", blen, 0, NULL);
	if (!j) {
		snprintf(err, len, "answer is not JSON");
		return -2;
	}
	json_t *ch = json_array_get(json_object_get(j, "choices"), 0);
	int rc = -1;
	*lp = 0;
	*greedy = 1;
	if (!ch) {
		snprintf(err, len, "answer has no 'choices'");
		goto out;
	}
	if (m->lp_mode == LP_PROMPT) {
		json_t *pl = json_object_get(ch, "prompt_logprobs");
		if (!json_is_array(pl) || (int)json_array_size(pl) < n) {
			snprintf(err, len, "answer has no 'prompt_logprobs' for the %d prompt tokens", n);
			goto out;
		}
		for (int i = n - s; i < n; i++) {
			char id[24];
			snprintf(id, sizeof(id), "%d", toks[i]);
			json_t *all = json_array_get(pl, (size_t)i);
			json_t *e = json_object_get(all, id);
			json_t *v = json_object_get(e, "logprob");
			if (!json_is_number(v)) {
				snprintf(err, len, "prompt_logprobs[%d] lacks token %s", i, id);
				goto out;
			}
			double x = json_number_value(v);
			if (!lp_ok(x)) {
				snprintf(err, len, "prompt_logprobs[%d] gives token %s a log-probability of %g, "
					 "not a finite number <= 0", i, id, x);
				goto out;
			}
			*lp += x;
			json_t *rk = json_object_get(e, "rank");
			if (rk && !(json_is_integer(rk) && json_integer_value(rk) >= 1)) {
				snprintf(err, len, "prompt_logprobs[%d]: the rank of token %s is not an integer >= 1", i, id);
				goto out;
			}
			if (rk && json_integer_value(rk) != 1)
				*greedy = 0;
			/* without a rank, a likelier alternative says it */
			const char *k;
			json_t *alt;
			json_object_foreach(all, k, alt) {
				json_t *av = json_object_get(alt, "logprob");
				if (!json_is_number(av) || !lp_ok(json_number_value(av))) {
					snprintf(err, len, "prompt_logprobs[%d]: alternative %.40s has no log-probability "
						 "that is a finite number <= 0", i, k);
					goto out;
				}
				if (!rk && json_number_value(av) > x + 1e-6)
					*greedy = 0;
			}
		}
	} else {
		json_t *lps = json_object_get(ch, "logprobs");
		json_t *tl = json_object_get(lps, "token_logprobs");
		json_t *top = json_object_get(lps, "top_logprobs");
		if (!json_is_array(tl) || (int)json_array_size(tl) < n) {
			snprintf(err, len, "answer has no 'logprobs.token_logprobs' for the %d prompt tokens "
				 "(echo with logprobs)", n);
			goto out;
		}
		/* the completions API: top_logprobs[i] is an object {token: log-probability} */
		if (!json_is_array(top) || (int)json_array_size(top) < n) {
			snprintf(err, len, "answer has no 'logprobs.top_logprobs' for the %d prompt tokens "
				 "(is_greedy needs them)", n);
			goto out;
		}
		for (int i = n - s; i < n; i++) {
			json_t *v = json_array_get(tl, (size_t)i);
			if (!json_is_number(v)) {
				snprintf(err, len, "token_logprobs[%d] is not a number", i);
				goto out;
			}
			double x = json_number_value(v);
			if (!lp_ok(x)) {
				snprintf(err, len, "token_logprobs[%d] is %g, not a finite log-probability <= 0", i, x);
				goto out;
			}
			*lp += x;
			json_t *t = json_array_get(top, (size_t)i);
			if (!json_is_object(t) || json_object_size(t) == 0) {
				snprintf(err, len, "top_logprobs[%d] is %s, not an object of token: log-probability "
					 "(the completions API's form)", i, json_is_array(t) ? "a list" :
					 json_is_object(t) ? "empty" : "not an object");
				goto out;
			}
			const char *k;
			json_t *tv;
			json_object_foreach(t, k, tv) {
				if (!json_is_number(tv) || !lp_ok(json_number_value(tv))) {
					snprintf(err, len, "top_logprobs[%d]: the log-probability of %.40s is not a "
						 "finite number <= 0", i, k);
					goto out;
				}
				if (json_number_value(tv) > x + 1e-6)
					*greedy = 0;
			}
		}
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

/* The token ids of a /tokenize answer's array: malloc()ed, count in *n; NULL
 * with *bad the index of an entry that is not an integer in 0..INT32_MAX (or
 * the array longer than TOKENS_MAX), or with *bad < 0 out of memory. */
int32_t *oa_tokens_from(json_t *t, int *n, int *bad)
{
	size_t k = json_array_size(t);
	*bad = -1;
	if (k > TOKENS_MAX) {
		*bad = TOKENS_MAX;
		return NULL;
	}
	int32_t *o = malloc(sizeof(int32_t) * (k + 1));
	if (!o)
		return NULL;
	for (size_t i = 0; i < k; i++) {
		json_t *v = json_array_get(t, i);
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX) {
			free(o);
			*bad = (int)i;
			return NULL;
		}
		o[i] = (int32_t)json_integer_value(v);
	}
	*n = (int)k;
	return o;
}

/* Set the window to score: x = seq[0, n) with its last s tokens scored, cut
 * from the left to max_length + 1 tokens as the llama.cpp backend does. */
int oa_set_window(struct lle_model *m, struct job *j, const int32_t *a, int na, const int32_t *b, int nb, int s)
{
	int nf = na + nb, L = m->max_length;
	int drop = nf > L + 1 ? nf - (L + 1) : 0;
	int n = nf - drop;
	free(j->x);
	j->x = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
	if (!j->x)
		return -1;
	for (int i = 0; i < n; i++) {
		int f = drop + i;
		j->x[i] = f < na ? a[f] : b[f - na];
	}
	j->nx = n;
	j->s = s < n - 1 ? s : n - 1;
	return 0;
}

/* Copy of text without the earliest stop string and what follows. */
static size_t cut_stop(const struct lle_request *q, const char *t, size_t n)
{
	size_t cut = n;
	for (size_t k = 0; k < q->n_until; k++) {
		size_t sl = strlen(q->until[k]);
		if (!sl)
			continue;
		const char *hit = memmem(t, n, q->until[k], sl);
		if (hit && (size_t)(hit - t) < cut)
			cut = (size_t)(hit - t);
	}
	return cut;
}

/* A successful (HTTP 200) answer to the job's step. 0: handled (advanced or
 * finished); 1: unreadable, retry; the message in why. */
int oa_on_answer(struct run *R, struct job *j, struct replica *r, struct sbuf *resp, char *why, size_t wl)
{
	struct lle_model *m = R->m;
	const struct lle_request *q = j->req;
	if (j->step == ST_SCORE) {
		double lp;
		int g;
		int rc = oa_parse_score(m, resp->p, resp->n, j->x, j->nx, j->s, &lp, &g, why, wl);
		if (rc == -2)
			return 1;
		if (rc < 0) {
			oa_fail_job(R, j, "server '%s': %s", r->api, why);
			return 0;
		}
		j->lp += lp;
		j->greedy &= g;
		j->ntok += j->s;
		if (q->kind == LLE_REQ_LOGLIKELIHOOD_ROLLING && j->predicted < j->ntext) {
			int L = m->max_length, wlen = j->ntext - j->predicted < L ? j->ntext - j->predicted : L;
			int end = j->predicted + wlen, cstart = end - L - 1 < 0 ? 0 : end - L - 1;
			if (oa_set_window(m, j, j->text_t + cstart, end - cstart, NULL, 0, wlen) < 0)
				goto oom;
			j->predicted = end;
			j->step = ST_SCORE;
			j->attempt = 0;
			return oa_build_body(R, j) < 0 ? (oa_fail_job(R, j, "out of memory"), 0) : 0;
		}
		oa_finish(R, j, LLE_STATUS_OK, NULL, NULL, 0);
		return 0;
	}
	json_t *js = json_loadb(resp->p ? resp->p : "", resp->n, 0, NULL);
	if (!js) {
		snprintf(why, wl, "answer is not JSON");
		return 1;
	}
	if (j->step == ST_GEN) {
		json_t *ch = json_array_get(json_object_get(js, "choices"), 0);
		const char *t = NULL;
		size_t tl = 0;
		json_t *tv = m->chat ? json_object_get(json_object_get(ch, "message"), "content")
				     : json_object_get(ch, "text");
		if (json_is_string(tv)) {
			t = json_string_value(tv);
			tl = json_string_length(tv);
		} else if (m->chat && ch && json_is_null(tv)) {
			t = "";
		}
		if (!ch) {
			json_decref(js);
			oa_fail_job(R, j, "server '%s': answer has no 'choices'", r->api);
			return 0;
		}
		if (!t) {
			json_decref(js);
			oa_fail_job(R, j, "server '%s': answer has no %s", r->api, m->chat ? "'choices[0].message.content'" : "'choices[0].text'");
			return 0;
		}
		json_t *ct = json_object_get(json_object_get(js, "usage"), "completion_tokens");
		if (ct && !json_is_null(ct) &&
		    (!json_is_integer(ct) || json_integer_value(ct) < 0 || json_integer_value(ct) > TOKENS_MAX)) {
			char v[64];
			if (json_is_integer(ct))
				snprintf(v, sizeof(v), "%" JSON_INTEGER_FORMAT, json_integer_value(ct));
			else
				snprintf(v, sizeof(v), "not an integer");
			json_decref(js);
			oa_fail_job(R, j, "server '%s': answer's usage.completion_tokens is %s, outside 0..%d", r->api,
				 v, TOKENS_MAX);
			return 0;
		}
		j->ntok = json_is_integer(ct) ? (int)json_integer_value(ct) : 0;
		oa_finish(R, j, LLE_STATUS_OK, NULL, t, cut_stop(q, t, tl));
		json_decref(js);
		return 0;
	}
	int n = 0, bad = -1;
	json_t *ta = json_object_get(js, "tokens");
	int is_array = json_is_array(ta); /* ta goes with js */
	int32_t *t = is_array ? oa_tokens_from(ta, &n, &bad) : NULL;
	json_decref(js);
	if (!t) {
		if (!is_array)
			oa_fail_job(R, j, "server '%s': /tokenize answer has no 'tokens' array", r->root);
		else if (bad >= 0)
			oa_fail_job(R, j, "server '%s': /tokenize answer: tokens[%d] is not a token id", r->root, bad);
		else
			oa_fail_job(R, j, "out of memory");
		return 0;
	}
	j->attempt = 0;
	switch (j->step) {
	case ST_TOK_CTX: {
		j->ctx_t = t;
		j->nctx = n;
		j->step = ST_TOK_WHOLE;
		struct ctx_ent *e = oa_ctx_slot(R, q->context);
		if (e && e->owner == j && (e->t = malloc(sizeof(int32_t) * (size_t)(n + 1)))) {
			memcpy(e->t, t, sizeof(int32_t) * (size_t)n);
			e->n = n;
			e->ready = 1;
			e->owner = NULL;
		}
		break;
	}
	case ST_TOK_WHOLE: {
		j->whole_t = t;
		j->nwhole = n;
		int nx = n > j->nctx ? n - j->nctx : 0;
		int rc;
		if ((j->nctx > 0 && nx == 0) || n == 0) {
			oa_fail_job(R, j, "server '%s': the continuation has no tokens (context + continuation "
				 "tokenise to %d tokens, the context alone to %d); lm-evaluation-harness refuses "
				 "an empty continuation too", r->root, n, j->nctx);
			return 0;
		}
		if (j->nctx == 0) {
			int32_t one = m->prefix_tok;
			if (one < 0) {
				oa_fail_job(R, j, "server '%s': the tokenizer adds no BOS token, which an empty context needs", r->root);
				return 0;
			}
			rc = oa_set_window(m, j, &one, 1, t, n, n);
		} else {
			rc = oa_set_window(m, j, j->ctx_t, j->nctx, t + j->nctx, nx, nx);
		}
		if (rc < 0)
			goto oom;
		j->step = ST_SCORE;
		break;
	}
	case ST_TOK_CONT: {
		int32_t one = m->prefix_tok;
		if (n == 0) {
			free(t);
			oa_fail_job(R, j, "server '%s': the continuation has no tokens; lm-evaluation-harness "
				 "refuses an empty continuation too", r->root);
			return 0;
		}
		if (one < 0) {
			free(t);
			oa_fail_job(R, j, "server '%s': the tokenizer adds no BOS token, which an empty context needs", r->root);
			return 0;
		}
		int rc = oa_set_window(m, j, &one, 1, t, n, n);
		free(t);
		if (rc < 0)
			goto oom;
		j->step = ST_SCORE;
		break;
	}
	case ST_TOK_TEXT: {
		j->text_t = t;
		j->ntext = n;
		if (n == 0) {
			oa_finish(R, j, LLE_STATUS_OK, NULL, NULL, 0);
			return 0;
		}
		int32_t one = m->prefix_tok;
		if (one < 0) {
			oa_fail_job(R, j, "server '%s': the tokenizer adds no BOS token, which rolling windows need", r->root);
			return 0;
		}
		int wlen = n < m->max_length ? n : m->max_length;
		if (oa_set_window(m, j, &one, 1, t, wlen, wlen) < 0)
			goto oom;
		j->predicted = wlen;
		j->step = ST_SCORE;
		break;
	}
	default:
		free(t);
		break;
	}
	if (oa_build_body(R, j) < 0)
		goto oom;
	return 0;
oom:
	oa_fail_job(R, j, "out of memory");
	return 0;
}
