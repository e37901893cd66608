/* Request bodies of the OpenAI backend (plugins/openai/): the JSON sent for
 * each step of a job: /completions or /chat/completions for generation
 * (with the system message and stop strings), /completions with echo +
 * logprobs or prompt_logprobs for scoring token ids, and {root}/tokenize for
 * a context, a context + continuation, a continuation or a rolling text.
 *
 * Not here: sending them (submit.c, http.c), reading the answers (answer.c). */
#include <stdlib.h>
#include <string.h>

#include "openai.h"

/* ---- request bodies and answers --------------------------------------------- */

char *oa_score_body(struct lle_model *m, const int32_t *toks, int n, int mode)
{
	json_t *ids = json_array();
	for (int i = 0; ids && i < n; i++)
		json_array_append_new(ids, json_integer(toks[i]));
	json_t *b = ids ? json_pack("{s:s,s:o,s:f}", "model", m->model, "prompt", ids, "temperature", 0.0) : NULL;
	if (!b)
		return NULL;
	if (mode == LP_PROMPT) {
		json_object_set_new(b, "max_tokens", json_integer(1));
		json_object_set_new(b, "prompt_logprobs", json_integer(1));
	} else {
		json_object_set_new(b, "max_tokens", json_integer(0));
		json_object_set_new(b, "echo", json_true());
		json_object_set_new(b, "logprobs", json_integer(1));
	}
	char *s = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	return s;
}

static char *gen_body(struct lle_model *m, const struct lle_request *q)
{
	json_t *b = json_object();
	if (!b)
		return NULL;
	json_object_set_new(b, "model", json_string(m->model));
	if (m->chat && LLE_HAS_FIELD(q, struct lle_request, n_messages) && q->n_messages) {
		/* the host's conversation, as the harness's chat models send it
		 * (lm_eval/models/openai_completions.py, LocalChatCompletion:
		 * the messages as they are, a gen_prefix turn last) */
		json_t *msgs = json_array();
		for (size_t i = 0; msgs && i < q->n_messages; i++) {
			const struct lle_message *u = &q->messages[i];
			if (json_array_append_new(msgs, json_pack("{s:s,s:s%}", "role", u->role, "content", u->content,
								  u->content_len)) < 0) {
				json_decref(msgs);
				msgs = NULL;
			}
		}
		if (!msgs || json_object_set_new(b, "messages", msgs) < 0) {
			json_decref(b);
			return NULL;
		}
		const char *last = q->messages[q->n_messages - 1].role;
		if (m->continue_final && last && !strcmp(last, "assistant")) {
			/* vLLM's and SGLang's way to continue that turn */
			json_object_set_new(b, "continue_final_message", json_true());
			json_object_set_new(b, "add_generation_prompt", json_false());
		}
	} else if (m->chat) {
		json_t *msgs = json_array();
		if (m->system)
			json_array_append_new(msgs, json_pack("{s:s,s:s}", "role", "system", "content", m->system));
		json_array_append_new(msgs, json_pack("{s:s,s:s}", "role", "user", "content", q->context));
		json_object_set_new(b, "messages", msgs);
	} else {
		json_object_set_new(b, "prompt", json_string(q->context));
	}
	json_object_set_new(b, "max_tokens", json_integer(q->max_tokens > 0 ? q->max_tokens : GEN_DEFAULT_MAX));
	json_object_set_new(b, "temperature", json_real(q->temperature > 0 ? q->temperature : 0.0));
	if (q->top_p > 0 && q->top_p < 1)
		json_object_set_new(b, "top_p", json_real(q->top_p));
	if (q->temperature > 0)
		json_object_set_new(b, "seed", json_integer((json_int_t)(q->seed & 0x7fffffffffffffffull)));
	if (q->n_until) {
		/* the chat API takes at most 4 (OpenAI's limit), and the
		 * harness's chat models send `stop[:4]`; the text is cut at
		 * every stop string here anyway (answer.c) */
		json_t *st = json_array();
		for (size_t i = 0; i < q->n_until && (!m->chat || json_array_size(st) < 4); i++)
			if (q->until[i][0])
				json_array_append_new(st, json_string(q->until[i]));
		json_object_set_new(b, "stop", st);
	}
	char *s = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	return s;
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1f);
}

static char *tok_body(struct lle_model *m, const char *text, size_t n, int special)
{
	json_t *b = json_object();
	json_object_set_new(b, "model", json_string(m->model));
	json_object_set_new(b, "prompt", json_stringn(text, n));
	json_object_set_new(b, "add_special_tokens", json_boolean(special));
	char *s = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	return s;
}

/* Build the body of the job's current step; -1 on no memory. */
int oa_build_body(struct run *R, struct job *j)
{
	struct lle_model *m = R->m;
	const struct lle_request *q = j->req;
	free(j->body);
	j->body = NULL;
	switch (j->step) {
	case ST_GEN: j->body = gen_body(m, q); break;
	case ST_TOK_CTX: {
		size_t k = strlen(q->context);
		while (k > 0 && is_space((unsigned char)q->context[k - 1]))
			k--;
		j->body = tok_body(m, q->context, k, 1);
		break;
	}
	case ST_TOK_WHOLE: {
		size_t a = strlen(q->context), b = strlen(q->continuation);
		char *w = malloc(a + b + 1);
		if (!w)
			return -1;
		memcpy(w, q->context, a);
		memcpy(w + a, q->continuation, b + 1);
		j->body = tok_body(m, w, a + b, 1);
		free(w);
		break;
	}
	case ST_TOK_CONT: j->body = tok_body(m, q->continuation, strlen(q->continuation), 0); break;
	case ST_TOK_TEXT: j->body = tok_body(m, q->context, strlen(q->context), 0); break;
	case ST_SCORE: j->body = oa_score_body(m, j->x, j->nx, m->lp_mode); break;
	}
	return j->body ? 0 : -1;
}
