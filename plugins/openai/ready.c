/* Start-up of the OpenAI backend (plugins/openai/): wait_ready probes every
 * replica ({root}/health, then {api}/models, which must list the served
 * model and may give max_model_len), takes out the ones that do not answer,
 * finds the BOS token the server's tokenizer adds, and asks which way
 * (echo + logprobs, or prompt_logprobs) the server gives prompt
 * log-probabilities. Also the blocking /tokenize call count_tokens uses.
 *
 * Not here: the retries themselves (http.c), reading a score (answer.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openai.h"

/* Probe one replica: /health, then /v1/models with the served model. */
static int probe_replica(struct lle_model *m, struct replica *r, char *err, size_t len)
{
	char url[2048];
	struct call c;
	snprintf(url, sizeof(url), "%s/health", r->root);
	int rc = oa_call_retry(m, url, NULL, 0, &c);
	if (rc < 0 || (c.status != 200 && c.status != 404)) {
		char why[512];
		oa_describe_fail(&c, why, sizeof(why));
		snprintf(err, len, "server '%s' does not answer: %s", r->root, why);
		oa_sb_free(&c.resp);
		return -1;
	}
	oa_sb_free(&c.resp);
	snprintf(url, sizeof(url), "%s/models", r->api);
	rc = oa_call_retry(m, url, NULL, 1, &c);
	if (rc < 0 || c.status != 200) {
		char why[512];
		oa_describe_fail(&c, why, sizeof(why));
		snprintf(err, len, "server '%s': GET /models failed: %s", r->api, why);
		oa_sb_free(&c.resp);
		return -1;
	}
	json_error_t je;
	json_t *j = json_loadb(c.resp.p ? c.resp.p : "", c.resp.n, 0, &je);
	json_t *data = j ? json_object_get(j, "data") : NULL;
	if (!j || !json_is_array(data)) {
		char what[128];
		oa_server_message(c.resp.p, c.resp.n, what, sizeof(what));
		snprintf(err, len, "server '%s': /models answer is not an OpenAI model list (%s): '%s'", r->api,
			 j ? "no 'data' array" : "not JSON", what);
		json_decref(j);
		oa_sb_free(&c.resp);
		return -1;
	}
	size_t i;
	json_t *e;
	int found = 0;
	char served[512] = "";
	size_t so = 0;
	json_array_foreach(data, i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));
		if (!id)
			continue;
		if (strcmp(id, m->model) == 0) {
			found = 1;
			json_t *ml = json_object_get(e, "max_model_len");
			if (m->max_length <= 0 && ml && !json_is_null(ml)) {
				/* a context beyond what any request here could fill is a wrong answer */
				if (!json_is_integer(ml) || json_integer_value(ml) < 2 ||
				    json_integer_value(ml) > (json_int_t)TOKENS_MAX + 1) {
					char v[64];
					if (json_is_integer(ml))
						snprintf(v, sizeof(v), "%" JSON_INTEGER_FORMAT, json_integer_value(ml));
					else
						snprintf(v, sizeof(v), "that is not an integer");
					snprintf(err, len, "server '%s': /models gives model '%.200s' a max_model_len %s, "
						 "outside 2..%d; set max_length in the model's backends.openai",
						 r->api, m->model, v, TOKENS_MAX + 1);
					json_decref(j);
					oa_sb_free(&c.resp);
					return -1;
				}
				m->max_length = (int)json_integer_value(ml) - 1;
			}
		}
		if (so < sizeof(served) - 1)
			so += (size_t)snprintf(served + so, sizeof(served) - so, "%s'%s'", so ? ", " : "", id);
	}
	json_decref(j);
	oa_sb_free(&c.resp);
	if (!found) {
		snprintf(err, len, "server '%s' does not serve model '%.200s' (it serves: %s)", r->api, m->model,
			 so ? served : "nothing");
		return -1;
	}
	return 0;
}

/* Tokenise with the server: a malloc()ed array, its count in *n; -1 with err. */
int oa_tokenize_blocking(struct lle_model *m, struct replica *r, const char *text, int special,
			     int32_t **out, int *n, char *err, size_t len)
{
	json_t *b = json_pack("{s:s,s:s,s:b}", "model", m->model, "prompt", text, "add_special_tokens", special);
	char *body = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	char url[2048];
	snprintf(url, sizeof(url), "%s/tokenize", r->root);
	struct call c;
	*out = NULL;
	int rc = body ? oa_call_retry(m, url, body, 1, &c) : -1;
	free(body);
	if (rc < 0 || c.status != 200) {
		char why[512];
		oa_describe_fail(&c, why, sizeof(why));
		snprintf(err, len, "server '%s': POST /tokenize failed: %s (loglikelihood requests need the "
			 "server's tokenizer)", r->root, why);
		oa_sb_free(&c.resp);
		return -1;
	}
	json_t *j = json_loadb(c.resp.p ? c.resp.p : "", c.resp.n, 0, NULL);
	json_t *t = json_object_get(j, "tokens");
	oa_sb_free(&c.resp);
	if (!json_is_array(t)) {
		snprintf(err, len, "server '%s': /tokenize answer has no 'tokens' array", r->root);
		json_decref(j);
		return -1;
	}
	int bad = -1;
	*out = oa_tokens_from(t, n, &bad);
	json_decref(j);
	if (!*out) {
		if (bad >= 0)
			snprintf(err, len, "server '%s': /tokenize answer: tokens[%d] is not a token id", r->root, bad);
		else
			snprintf(err, len, "out of memory");
		return -1;
	}
	return 0;
}

/* Whether the server gives prompt log-probabilities in the given mode: 1 yes,
 * 0 it refuses or leaves them out, -1 it failed to answer (why says). */
static int probe_logprobs(struct lle_model *m, struct replica *r, int mode, const int32_t *toks, int n,
			  char *why, size_t len)
{
	char *body = oa_score_body(m, toks, n, mode);
	char url[2048];
	snprintf(url, sizeof(url), "%s/completions", r->api);
	struct call c;
	int rc = body ? oa_call_retry(m, url, body, 1, &c) : -1;
	free(body);
	if (rc < 0 || c.status != 200) {
		oa_describe_fail(&c, why, len);
		int failed = rc < 0 || oa_retryable(&c);
		oa_sb_free(&c.resp);
		return failed ? -1 : 0;
	}
	double lp;
	int g, save = m->lp_mode;
	m->lp_mode = mode;
	int prc = oa_parse_score(m, c.resp.p, c.resp.n, toks, n, n - 1, &lp, &g, why, len);
	m->lp_mode = save;
	oa_sb_free(&c.resp);
	return prc == 0 ? 1 : prc == -2 ? -1 : 0;
}

int oa_wait_ready(struct lle_model *m, char *err, size_t len)
{
	if (m->ready) {
		if (m->ready < 0)
			snprintf(err, len, "%s", m->ready_err);
		return m->ready > 0 ? 0 : -1;
	}
	int up = 0;
	char first[1024] = "";
	for (int i = 0; i < m->nrep; i++) {
		struct replica *r = &m->reps[i];
		char e[1024];
		if (probe_replica(m, r, e, sizeof(e)) < 0) {
			/* a wrong model name or a non-OpenAI answer is the same on every replica: fail now */
			if (strstr(e, "does not serve") || strstr(e, "model list") || strstr(e, "max_model_len")) {
				snprintf(m->ready_err, sizeof(m->ready_err), "%s", e);
				goto fail;
			}
			r->down = 1;
			r->backoff = m->backoff > 0 ? m->backoff : 0.1;
			r->retry_at = oa_now() + r->backoff;
			snprintf(r->last_err, sizeof(r->last_err), "%.250s", e);
			if (!first[0])
				snprintf(first, sizeof(first), "%s", e);
			if (m->nrep > 1)
				oa_log(LLE_LOG_WARN, "openai: %s; taken out, probed again later", e);
			continue;
		}
		up++;
	}
	if (!up) {
		snprintf(m->ready_err, sizeof(m->ready_err), "%s%s", m->nrep > 1 ? "no replica answers: " : "",
			 first);
		goto fail;
	}
	struct replica *r = NULL;
	for (int i = 0; i < m->nrep && !r; i++)
		if (!m->reps[i].down)
			r = &m->reps[i];
	if (m->max_length <= 0)
		m->max_length = 2048;
	/* prompt log-probabilities: the BOS token and a two-token probe */
	if (m->lp_mode != LP_NONE) {
		int32_t *t = NULL, *b = NULL;
		int nt = 0, nb = 0;
		char e[1024] = "", w1[512] = "", w2[512] = "";
		if (oa_tokenize_blocking(m, r, "", 1, &b, &nb, e, sizeof(e)) == 0 && nb == 1)
			m->prefix_tok = b[0];
		free(b);
		int mode = LP_NONE, failed = 0;
		if (e[0])
			failed = 1;
		else if (oa_tokenize_blocking(m, r, "Hello world", 1, &t, &nt, e, sizeof(e)) < 0)
			failed = 1;
		else if (nt >= 2) {
			int a = m->lp_mode == LP_AUTO || m->lp_mode == LP_ECHO ? probe_logprobs(m, r, LP_ECHO, t, nt, w1, sizeof(w1)) : 0;
			if (a > 0)
				mode = LP_ECHO;
			int b2 = mode == LP_NONE && a >= 0 && (m->lp_mode == LP_AUTO || m->lp_mode == LP_PROMPT)
			       ? probe_logprobs(m, r, LP_PROMPT, t, nt, w2, sizeof(w2)) : 0;
			if (b2 > 0)
				mode = LP_PROMPT;
			failed = a < 0 || b2 < 0;
		}
		free(t);
		if (mode == LP_NONE && failed) {
			snprintf(m->ready_err, sizeof(m->ready_err), "server '%s' failed while probing prompt "
				 "log-probabilities: %s", r->api, e[0] ? e : w2[0] ? w2 : w1);
			if (m->ll_tasks && *m->ll_tasks)
				goto fail;
			oa_log(LLE_LOG_INFO, "openai: %s", m->ready_err);
		} else if (mode == LP_NONE) {
			snprintf(m->ready_err, sizeof(m->ready_err),
				 "server '%s' returns no prompt log-probabilities (echo with logprobs: %s%s%s): "
				 "loglikelihood requests need them", r->api, w1[0] ? w1 : "not tried",
				 w2[0] ? "; prompt_logprobs: " : "", w2);
			if (m->ll_tasks && *m->ll_tasks) {
				size_t o = strlen(m->ready_err);
				snprintf(m->ready_err + o, sizeof(m->ready_err) - o,
					 ", and tasks '%s' make them; run those tasks with --backend llamacpp, or "
					 "serve the model with vLLM (echo + logprobs)", m->ll_tasks);
				goto fail;
			}
			oa_log(LLE_LOG_INFO, "openai: %s", m->ready_err);
		}
		m->lp_mode = mode;
	}
	m->ready = 1;
	oa_log(LLE_LOG_INFO, "openai: model '%s' on %d server(s), %d up; max_length %d; prompt log-probabilities: %s",
	       m->model, m->nrep, up, m->max_length,
	       m->lp_mode == LP_ECHO ? "echo" : m->lp_mode == LP_PROMPT ? "prompt_logprobs" : "none");
	return 0;
fail:
	m->ready = -1;
	snprintf(err, len, "%s", m->ready_err);
	return -1;
}
