/* Fuzz driver: the OpenAI backend's reading of server answers
 * (plugins/openai/answer.c: oa_on_answer, oa_parse_score, oa_tokens_from,
 * cut_stop, oa_set_window; http.c: oa_server_message for error answers).
 *
 * The plugin exports only its entry function, so this driver is linked with
 * the plugin's source files (mk/fuzz.mk) and calls the answer handler
 * through the plugin's internal header; the plugin is not changed. No
 * connection is made: the answers are the input.
 *
 * Input: four header bytes, then answers separated by NUL bytes (JSON never
 * holds a raw NUL).
 *   byte 0   the step the job is in: tokenize context, tokenize whole,
 *            tokenize continuation, tokenize text (rolling), score, generate
 *   byte 1   bit 0: chat endpoint; bit 1: prompt_logprobs (else echo);
 *            bit 2: rolling (else loglikelihood) for a job that starts scoring
 *   byte 2   max_length, 1 to 16 (small, so windows are cut)
 *   byte 3   the BOS token the tokenizer adds, or none when >= 128
 * Each answer goes to the job's current step, as the transfer loop hands a
 * 200 answer over, until the job is finished; an unreadable answer keeps the
 * step (the loop would retry). Every job must finish exactly once with a
 * result, and an OK result's text must be within the answer. */
#include <stdlib.h>
#include <string.h>

#include "../../plugins/openai/openai.h"

#include "fuzz.h"

static void host_log(void *user, int level, const char *msg)
{
	(void)user;
	(void)level;
	(void)msg;
}

static const struct lle_host fuzz_host = { .size = sizeof(struct lle_host), .log = host_log };

struct outcome {
	int n;
	int status;
};

static void on_result(void *user, const struct lle_request *req, const struct lle_result *res)
{
	struct outcome *o = user;
	(void)req;
	o->n++;
	o->status = (int)res->status;
	if (res->status == LLE_STATUS_OK && res->text && strlen(res->text) < res->text_len)
		abort(); /* text_len counts bytes of the answer's string */
	if (res->status != LLE_STATUS_OK && !res->error)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	oa_host = &fuzz_host;
	static const int steps[] = { ST_TOK_CTX, ST_TOK_WHOLE, ST_TOK_CONT, ST_TOK_TEXT, ST_SCORE, ST_GEN };
	int step = steps[data[0] % 6];
	struct lle_model m;
	memset(&m, 0, sizeof(m));
	m.model = "fuzz-model";
	m.chat = data[1] & 1;
	m.lp_mode = data[1] & 2 ? LP_PROMPT : LP_ECHO;
	m.max_length = 1 + data[2] % 16;
	m.prefix_tok = data[3] < 128 ? data[3] : -1;
	struct replica rep = { .api = "http://127.0.0.1:1/v1", .root = "http://127.0.0.1:1" };

	static const char *const until[] = { "\n\n", "Q:", "" };
	struct lle_request q = { .size = sizeof(q), .id = 7, .context = "Question: 2+2?  ", .continuation = " 4",
				 .until = until, .n_until = 3, .max_tokens = 16 };
	if (step == ST_GEN)
		q.kind = LLE_REQ_GENERATE_UNTIL;
	else if (step == ST_TOK_TEXT || (step == ST_SCORE && (data[1] & 4)))
		q.kind = LLE_REQ_LOGLIKELIHOOD_ROLLING;
	else
		q.kind = LLE_REQ_LOGLIKELIHOOD;

	struct outcome o = { 0, -1 };
	struct run R;
	memset(&R, 0, sizeof(R));
	R.m = &m;
	R.n = 1;
	R.cb = on_result;
	R.user = &o;
	struct job j;
	memset(&j, 0, sizeof(j));
	j.req = &q;
	j.step = step;
	j.greedy = 1;
	R.jobs = &j;
	if (step == ST_SCORE) {
		/* A window over the header's bytes as token ids, as a job gets one. */
		int32_t toks[4] = { data[0], data[1], data[2], data[3] };
		if (oa_set_window(&m, &j, toks, 4, NULL, 0, 1 + data[3] % 4) < 0)
			abort();
	}
	if (oa_build_body(&R, &j) < 0)
		abort();

	const uint8_t *p = data + 4, *end = data + size;
	while (o.n == 0) {
		const uint8_t *z = memchr(p, 0, (size_t)(end - p));
		size_t n = z ? (size_t)(z - p) : (size_t)(end - p);
		struct sbuf sb = { 0 };
		oa_sb_add(&sb, p, n);
		if (sb.oom)
			abort();
		char why[256], msg[256];
		why[0] = '\0';
		oa_server_message(sb.p, sb.n, msg, sizeof(msg)); /* as for a non-200 answer */
		oa_on_answer(&R, &j, &rep, &sb, why, sizeof(why));
		oa_sb_free(&sb);
		if (!z)
			break;
		p = z + 1;
	}
	if (o.n > 1)
		abort(); /* one result per request */
	oa_job_clear(&j);
	return 0;
}
