/* lle-testserver: an OpenAI-compatible HTTP server for the openai backend's
 * tests and benchmarks, on libmicrohttpd, listening on 127.0.0.1 only.
 *
 *   GET  /health, /v1/models
 *   POST /tokenize                 vLLM's form: {"prompt", "add_special_tokens"}
 *   POST /v1/completions           text generation; with echo + logprobs +
 *                                  max_tokens 0 the prompt's token
 *                                  log-probabilities (vLLM's way), or with
 *                                  prompt_logprobs vLLM's other form
 *   POST /v1/chat/completions      the last user message, in the chat template
 *                                  (--no-inference: any conversation)
 *
 * Real inference on a GGUF model: generation goes through the llama.cpp
 * backend plugin, loaded with src/backend/loader.c (so it is exactly what an
 * in-process run computes); prompt log-probabilities and /tokenize use
 * libllama directly, because the plugin ABI has neither per-token
 * log-probabilities nor a tokenizer call. One worker thread serves the model;
 * the generation requests waiting for it go to the plugin in one submission.
 * --no-inference answers fixed text (" 42", or --reply TEXT) and fake
 * log-probabilities without a model, for measuring the client's own overhead
 * and for tests that need a given answer (a reasoning model's thinking).
 *
 * Fault injection (for the client's retry and failover tests), on the POST
 * endpoints: --fault KIND:SHARE, repeatable, KIND one of 500, 503, 429 (with
 * Retry-After: --retry-after), drop (connection closed mid-body), malformed
 * (not JSON), truncated (JSON cut short), trickle (the answer a few bytes at a
 * time, --trickle-ms apart); which requests get a fault is a fixed sequence,
 * so a retried request is a new draw. --latency-ms adds latency to every
 * answer, --die-after N exits after N POST requests (a replica that dies),
 * --no-logprobs refuses prompt log-probabilities as llama-server does,
 * --bad-answer nonjson|nochoices answers every request badly.
 *
 * --log-requests FILE appends every POST request (its path and JSON body, one
 * line each) so a test can assert exactly what the client sent.
 *
 * Hostile answers (for the client's input checks), --hostile KIND[:VALUE],
 * repeatable:
 *   big-body:N          generations answer a valid completion N bytes long
 *                       (streamed, never held whole)
 *   gzip-bomb:N         the same N bytes gzip-compressed (Content-Encoding:
 *                       gzip), about N / 1000 bytes on the wire
 *   models-max-len:N    /v1/models gives max_model_len N (any 64-bit integer)
 *   logprob:X           every prompt token's log-probability is X
 *   completion-tokens:N usage.completion_tokens is N
 *   top-logprobs-list   echo answers give top_logprobs per token as a list of
 *                       {token, logprob} objects (the chat API's shape)
 *   nul-text            a NUL byte after the first byte of every generated
 *                       text, sent as \u0000 (as a real llama-server did)
 * --retry-after TEXT is sent verbatim, so "inf" or "1e9" can be tried.
 *
 * Prints "port N" on stdout once it listens (--port 0: an ephemeral port).
 *
 * Over 1,000 lines because it is one test program whose parts (options,
 * model worker, answers, faults, HTTP) share one option table; splitting it
 * would only spread that table over files. *
 * Over 1,000 lines: one program, so a test starts one binary whose every
 * endpoint and injected fault is described in this one file.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <zlib.h>

#include "backend/loader.h"
#include "llama.h"
#include "util/err.h"

/* ---- options -------------------------------------------------------------- */

enum fault { F_NONE, F_500, F_503, F_429, F_DROP, F_MALFORMED, F_TRUNC, F_TRICKLE, F_N };
static const char *fault_names[F_N] = { "none", "500", "503", "429", "drop", "malformed", "truncated", "trickle" };

static struct {
	const char *model_path, *key_env, *plugin, *served, *chat_template, *bad_answer, *system;
	int port, threads, no_inference, no_logprobs, latency_ms, trickle_ms, max_model_len;
	const char *retry_after;
	const char *reply;     /* --reply: the text --no-inference generates (default " 42") */
	const char *log_requests; /* --log-requests FILE: every POST, one JSON line each */
	long die_after;
	double share[F_N];
	/* --hostile */
	long long big_body, gzip_bomb, models_max_len, completion_tokens;
	int has_models_max_len, has_lp, has_completion_tokens, top_list, nul_text;
	double lp;
} opt = { .served = "tiny", .threads = 1, .chat_template = "chatml", .retry_after = "0.05", .trickle_ms = 20 };

static atomic_long n_post;
static FILE *req_log;
static pthread_mutex_t req_log_mu = PTHREAD_MUTEX_INITIALIZER;

/* --log-requests: {"url": URL, "body": BODY} per POST, in the order they
 * came, so a test can check exactly what a client sent. */
static void log_request(const char *url, const json_t *body)
{
	if (!req_log)
		return;
	json_t *line = json_pack("{s:s,s:O}", "url", url, "body", (json_t *)body);
	char *s = line ? json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	pthread_mutex_lock(&req_log_mu);
	if (s)
		fprintf(req_log, "%s\n", s);
	fflush(req_log);
	pthread_mutex_unlock(&req_log_mu);
	free(s);
	json_decref(line);
}

/* The fault of the k-th POST request: a low-discrepancy sequence, so the
 * shares hold over any stretch of requests and retries draw again. */
static enum fault fault_for(long k)
{
	double u = fmod((double)k * 0.6180339887498949 + 0.31, 1.0), acc = 0;
	for (int f = 1; f < F_N; f++) {
		acc += opt.share[f];
		if (u < acc)
			return (enum fault)f;
	}
	return F_NONE;
}

/* ---- the model ------------------------------------------------------------ */

static struct lle_plugin *plugin;
static struct lle_model *gen_model, *chat_model;
static struct llama_model *lmodel;
static struct llama_context *lctx;
static const struct llama_vocab *vocab;
static int n_vocab, add_bos, max_len;
static pthread_mutex_t tok_mu = PTHREAD_MUTEX_INITIALIZER;

enum job_kind { J_GEN, J_CHAT, J_SCORE };

struct job {
	enum job_kind kind;
	struct lle_request req;
	int32_t *toks;
	int ntoks;
	/* results */
	int done, failed;
	char err[512];
	char *text;
	size_t text_len;
	int n_tokens;
	double *lp;         /* per token (lp[0] unused) */
	int32_t *argmax;
	double *amax_lp;    /* the argmax's log-probability */
	struct job *next;
};

static pthread_mutex_t q_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cv = PTHREAD_COND_INITIALIZER, done_cv = PTHREAD_COND_INITIALIZER;
static struct job *q_head;

static int tokenize(const char *text, size_t len, int special, int32_t **out)
{
	int cap = (int)len + 8;
	int32_t *t = malloc(sizeof(int32_t) * (size_t)cap);
	if (!t)
		return -1;
	pthread_mutex_lock(&tok_mu);
	int n = llama_tokenize(vocab, text, (int32_t)len, t, cap, special, false);
	if (n < 0) {
		cap = -n;
		int32_t *t2 = realloc(t, sizeof(int32_t) * (size_t)cap);
		if (t2) {
			t = t2;
			n = llama_tokenize(vocab, text, (int32_t)len, t, cap, special, false);
		}
	}
	pthread_mutex_unlock(&tok_mu);
	if (n < 0) {
		free(t);
		return -1;
	}
	*out = t;
	return n;
}

/* Text as JSON can carry it: each byte that is not part of valid UTF-8
 * becomes U+FFFD, as vLLM (and llm-eval's own results) write it. */
static char *utf8_clean(const char *p, size_t n, size_t *outlen)
{
	char *o = malloc(3 * n + 1);
	size_t k = 0;
	if (!o)
		return NULL;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)p[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		int ok = len > 0 && c != 0 && i + len <= n;
		for (size_t j = 1; ok && j < len; j++)
			ok = ((unsigned char)p[i + j] & 0xc0) == 0x80;
		if (ok && len > 1) {
			unsigned cp = c & (0x7f >> len);
			for (size_t j = 1; j < len; j++)
				cp = cp << 6 | ((unsigned char)p[i + j] & 0x3f);
			ok = !(len == 2 && cp < 0x80) && !(len == 3 && cp < 0x800) && !(len == 4 && cp < 0x10000) &&
			     cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
		}
		if (ok) {
			memcpy(o + k, p + i, len);
			k += len;
			i += len;
		} else {
			memcpy(o + k, "\xef\xbf\xbd", 3);
			k += 3;
			i++;
		}
	}
	o[k] = '\0';
	*outlen = k;
	return o;
}

static void piece(int32_t tok, char *buf, size_t len)
{
	char raw[64];
	int n = llama_token_to_piece(vocab, tok, raw, (int32_t)sizeof(raw) - 1, 0, true);
	size_t cl = 0;
	char *c = utf8_clean(raw, n > 0 ? (size_t)n : 0, &cl);
	snprintf(buf, len, "%s", c ? c : "");
	free(c);
}

/* Every prompt token's log-probability and the argmax before it. */
static void run_score(struct job *j)
{
	int n = j->ntoks;
	j->lp = calloc((size_t)n + 1, sizeof(double));
	j->argmax = calloc((size_t)n + 1, sizeof(int32_t));
	j->amax_lp = calloc((size_t)n + 1, sizeof(double));
	if (!j->lp || !j->argmax || !j->amax_lp) {
		j->failed = 1;
		snprintf(j->err, sizeof(j->err), "out of memory");
		return;
	}
	if (n > max_len + 1) {
		j->failed = 1;
		snprintf(j->err, sizeof(j->err), "prompt of %d tokens is longer than max_model_len %d", n, max_len + 1);
		return;
	}
	if (n < 2)
		return;
	llama_memory_seq_rm(llama_get_memory(lctx), -1, -1, -1);
	struct llama_batch b = llama_batch_init(n, 0, 1);
	for (int i = 0; i < n - 1; i++) {
		b.token[i] = j->toks[i];
		b.pos[i] = i;
		b.n_seq_id[i] = 1;
		b.seq_id[i][0] = 0;
		b.logits[i] = 1;
	}
	b.n_tokens = n - 1;
	if (llama_decode(lctx, b) != 0) {
		j->failed = 1;
		snprintf(j->err, sizeof(j->err), "llama_decode failed");
		llama_batch_free(b);
		return;
	}
	for (int i = 0; i < n - 1; i++) {
		const float *row = llama_get_logits_ith(lctx, i);
		int arg = 0;
		float mx = row[0];
		for (int v = 1; v < n_vocab; v++)
			if (row[v] > mx) {
				mx = row[v];
				arg = v;
			}
		double sum = 0;
		for (int v = 0; v < n_vocab; v++)
			sum += exp((double)row[v] - (double)mx);
		j->lp[i + 1] = (double)row[j->toks[i + 1]] - mx - log(sum);
		j->argmax[i + 1] = arg;
		j->amax_lp[i + 1] = -log(sum);
	}
	llama_batch_free(b);
}

static void gen_cb(void *user, const struct lle_request *req, const struct lle_result *res)
{
	struct job **jobs = user;
	struct job *j = jobs[req->id];
	if (res->status != LLE_STATUS_OK) {
		j->failed = 1;
		snprintf(j->err, sizeof(j->err), "%s", res->error ? res->error : "generation failed");
		return;
	}
	j->text = utf8_clean(res->text, res->text_len, &j->text_len);
	j->n_tokens = res->n_tokens;
}

static struct lle_model *open_model(int chat, char *err, size_t len)
{
	struct lle_open_params p = { 0 };
	p.size = sizeof(p);
	p.model = opt.model_path;
	p.apply_chat_template = chat;
	p.chat_template = chat ? opt.chat_template : NULL;
	p.system_message = chat ? opt.system : NULL;
	p.n_threads = opt.threads;
	struct lle_model *m = NULL;
	if (plugin->be->open(&p, &m, err, len) < 0)
		return NULL;
	if (plugin->be->wait_ready(m, err, len) < 0) {
		plugin->be->close(m);
		return NULL;
	}
	return m;
}

static void run_gen(struct job **js, size_t n, int chat)
{
	char err[1024] = "";
	struct lle_model *m = chat ? chat_model : gen_model;
	if (chat && !m)
		m = chat_model = open_model(1, err, sizeof(err));
	struct lle_request *reqs = calloc(n ? n : 1, sizeof(*reqs));
	if (m && reqs) {
		for (size_t i = 0; i < n; i++) {
			reqs[i] = js[i]->req;
			reqs[i].id = i;
		}
		if (plugin->be->submit(m, reqs, n, gen_cb, js, err, sizeof(err)) == 0) {
			free(reqs);
			return;
		}
	}
	for (size_t i = 0; i < n; i++) {
		js[i]->failed = 1;
		snprintf(js[i]->err, sizeof(js[i]->err), "%s", err[0] ? err : "out of memory");
	}
	free(reqs);
}

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&q_mu);
		while (!q_head)
			pthread_cond_wait(&q_cv, &q_mu);
		struct job *all = q_head;
		q_head = NULL;
		pthread_mutex_unlock(&q_mu);
		size_t n = 0;
		for (struct job *j = all; j; j = j->next)
			n++;
		struct job **gen = calloc(n, sizeof(*gen)), **chat = calloc(n, sizeof(*chat));
		size_t ng = 0, nc = 0;
		for (struct job *j = all; j; j = j->next) {
			if (j->kind == J_SCORE)
				run_score(j);
			else if (j->kind == J_GEN && gen)
				gen[ng++] = j;
			else if (chat)
				chat[nc++] = j;
			else
				j->failed = 1;
		}
		if (ng)
			run_gen(gen, ng, 0);
		if (nc)
			run_gen(chat, nc, 1);
		free(gen);
		free(chat);
		pthread_mutex_lock(&q_mu);
		for (struct job *j = all; j; j = j->next)
			j->done = 1;
		pthread_cond_broadcast(&done_cv);
		pthread_mutex_unlock(&q_mu);
	}
	return NULL;
}

static void run_job(struct job *j)
{
	pthread_mutex_lock(&q_mu);
	j->next = q_head;
	q_head = j;
	pthread_cond_signal(&q_cv);
	while (!j->done)
		pthread_cond_wait(&done_cv, &q_mu);
	pthread_mutex_unlock(&q_mu);
}

/* ---- answers -------------------------------------------------------------- */

struct reply {
	int status;
	char *body;      /* malloc()ed */
	size_t len;
	const char *retry_after;
	const char *encoding; /* Content-Encoding, or NULL */
};

static void reply_json(struct reply *r, int status, json_t *j)
{
	r->status = status;
	r->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (!r->body) {
		r->status = 500;
		r->body = strdup("{\"error\":{\"message\":\"out of memory\"}}");
	}
	r->len = r->body ? strlen(r->body) : 0;
	json_decref(j);
}

static void reply_error(struct reply *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void reply_error(struct reply *r, int status, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_json(r, status, json_pack("{s:{s:s,s:s,s:i}}", "error", "message", msg, "type", "invalid_request_error",
					"code", status));
}

static void do_models(struct reply *r)
{
	json_int_t ml = opt.has_models_max_len ? (json_int_t)opt.models_max_len : max_len + 1;
	reply_json(r, 200, json_pack("{s:s,s:[{s:s,s:s,s:s,s:I}]}", "object", "list", "data", "id", opt.served,
				     "object", "model", "owned_by", "llm-eval", "max_model_len", ml));
}

static void do_tokenize(struct reply *r, json_t *req)
{
	const char *text = json_string_value(json_object_get(req, "prompt"));
	if (!text)
		text = json_string_value(json_object_get(req, "content"));
	if (!text)
		return reply_error(r, 400, "'prompt' must be a string");
	json_t *sp = json_object_get(req, "add_special_tokens");
	int special = sp ? json_is_true(sp) : 1;
	json_t *arr = json_array();
	if (opt.no_inference) {
		if (special)
			json_array_append_new(arr, json_integer(1));
		for (const unsigned char *p = (const unsigned char *)text; *p; p++)
			json_array_append_new(arr, json_integer(*p + 3));
	} else {
		int32_t *t = NULL;
		int n = tokenize(text, strlen(text), special, &t);
		if (n < 0) {
			json_decref(arr);
			return reply_error(r, 500, "cannot tokenise");
		}
		for (int i = 0; i < n; i++)
			json_array_append_new(arr, json_integer(t[i]));
		free(t);
	}
	size_t n = json_array_size(arr);
	reply_json(r, 200, json_pack("{s:o,s:i,s:i}", "tokens", arr, "count", (int)n, "max_model_len", max_len + 1));
}

static int check_model(struct reply *r, json_t *req)
{
	const char *m = json_string_value(json_object_get(req, "model"));
	if (m && strcmp(m, opt.served) != 0) {
		reply_error(r, 404, "The model `%s` does not exist.", m);
		return -1;
	}
	return 0;
}

/* echo + logprobs (or prompt_logprobs): the prompt's token log-probabilities. */
static void do_prompt_logprobs(struct reply *r, json_t *prompt, int pl_mode)
{
	int32_t *t = NULL;
	int n = 0;
	if (json_is_array(prompt)) {
		n = (int)json_array_size(prompt);
		t = malloc(sizeof(int32_t) * (size_t)(n + 1));
		for (int i = 0; t && i < n; i++) {
			json_t *v = json_array_get(prompt, (size_t)i);
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    (!opt.no_inference && json_integer_value(v) >= n_vocab)) {
				free(t);
				return reply_error(r, 400, "prompt token %d is not a token id", i);
			}
			t[i] = (int32_t)json_integer_value(v);
		}
	} else if (opt.no_inference) {
		const char *s = json_string_value(prompt);
		n = (int)strlen(s) + 1;
		t = malloc(sizeof(int32_t) * (size_t)(n + 1));
		for (int i = 0; t && i < n; i++)
			t[i] = i ? (unsigned char)s[i - 1] + 3 : 1;
	} else {
		const char *s = json_string_value(prompt);
		n = tokenize(s, strlen(s), 1, &t);
	}
	if (!t || n < 0)
		return reply_error(r, 500, "out of memory");
	struct job j = { .kind = J_SCORE, .toks = t, .ntoks = n };
	if (opt.no_inference) {
		j.lp = calloc((size_t)n + 1, sizeof(double));
		j.argmax = calloc((size_t)n + 1, sizeof(int32_t));
		for (int i = 1; j.lp && j.argmax && i < n; i++) {
			j.lp[i] = -1.0;
			j.argmax[i] = t[i];
		}
	} else {
		run_job(&j);
	}
	if (opt.has_lp && j.lp && j.argmax)
		for (int i = 1; i < n; i++) {
			j.lp[i] = opt.lp;
			j.argmax[i] = t[i];
		}
	if (j.failed || !j.lp) {
		free(t);
		free(j.lp);
		free(j.argmax);
		free(j.amax_lp);
		return reply_error(r, 400, "%s", j.failed ? j.err : "out of memory");
	}
	json_t *ch = json_object();
	if (pl_mode) {
		json_t *pl = json_array();
		json_array_append_new(pl, json_null());
		for (int i = 1; i < n; i++) {
			char id[24], id2[24], pc[64];
			snprintf(id, sizeof(id), "%d", t[i]);
			json_t *e = json_object();
			if (opt.no_inference)
				snprintf(pc, sizeof(pc), "%c", t[i] - 3);
			else
				piece(t[i], pc, sizeof(pc));
			json_object_set_new(e, id, json_pack("{s:f,s:i,s:s}", "logprob", j.lp[i], "rank",
							     j.argmax[i] == t[i] ? 1 : 2, "decoded_token", pc));
			if (j.argmax[i] != t[i]) {
				snprintf(id2, sizeof(id2), "%d", j.argmax[i]);
				json_object_set_new(e, id2, json_pack("{s:f,s:i}", "logprob", j.amax_lp ? j.amax_lp[i] : 0.0, "rank", 1));
			}
			json_array_append_new(pl, e);
		}
		json_object_set_new(ch, "prompt_logprobs", pl);
		json_object_set_new(ch, "text", json_string(""));
	} else {
		json_t *toks = json_array(), *tl = json_array(), *top = json_array(), *off = json_array();
		json_t *text = json_string("");
		size_t o = 0;
		struct { char *p; size_t n; } all = { NULL, 0 };
		for (int i = 0; i < n; i++) {
			char pc[64], pa[64];
			if (opt.no_inference)
				snprintf(pc, sizeof(pc), "%c", i ? t[i] - 3 : ' ');
			else
				piece(t[i], pc, sizeof(pc));
			json_array_append_new(toks, json_string(pc));
			json_array_append_new(off, json_integer((json_int_t)o));
			o += strlen(pc);
			char *na = realloc(all.p, all.n + strlen(pc) + 1);
			if (na) {
				all.p = na;
				memcpy(all.p + all.n, pc, strlen(pc) + 1);
				all.n += strlen(pc);
			}
			if (i == 0) {
				json_array_append_new(tl, json_null());
				json_array_append_new(top, json_null());
				continue;
			}
			json_array_append_new(tl, json_real(j.lp[i]));
			json_t *d = json_object();
			json_object_set_new(d, pc, json_real(j.lp[i]));
			if (j.argmax[i] != t[i]) {
				piece(j.argmax[i], pa, sizeof(pa));
				if (strcmp(pa, pc) == 0)
					snprintf(pa + strlen(pa), sizeof(pa) - strlen(pa), "#%d", j.argmax[i]);
				json_object_set_new(d, pa, json_real(j.amax_lp ? j.amax_lp[i] : 0.0));
			}
			if (opt.top_list) { /* the chat API's shape, where the completions API has an object */
				json_t *l = json_array();
				const char *k;
				json_t *v;
				json_object_foreach(d, k, v)
					json_array_append_new(l, json_pack("{s:s,s:O}", "token", k, "logprob", v));
				json_decref(d);
				d = l;
			}
			json_array_append_new(top, d);
		}
		json_decref(text);
		json_object_set_new(ch, "text", json_string(all.p ? all.p : ""));
		free(all.p);
		json_object_set_new(ch, "logprobs", json_pack("{s:o,s:o,s:o,s:o}", "tokens", toks, "token_logprobs", tl,
							      "top_logprobs", top, "text_offset", off));
	}
	json_object_set_new(ch, "index", json_integer(0));
	json_object_set_new(ch, "finish_reason", json_string("length"));
	reply_json(r, 200, json_pack("{s:s,s:s,s:s,s:[o],s:{s:i,s:i,s:i}}", "id", "cmpl-lle", "object",
				     "text_completion", "model", opt.served, "choices", ch, "usage", "prompt_tokens", n,
				     "completion_tokens", 0, "total_tokens", n));
	free(t);
	free(j.lp);
	free(j.argmax);
	free(j.amax_lp);
}

static void do_generate(struct reply *r, json_t *req, int chat)
{
	if (check_model(r, req) < 0)
		return;
	const char *prompt = NULL;
	if (chat) {
		json_t *msgs = json_object_get(req, "messages");
		size_t i;
		json_t *m;
		json_array_foreach(msgs, i, m) {
			const char *role = json_string_value(json_object_get(m, "role"));
			const char *c = json_string_value(json_object_get(m, "content"));
			if (!role || !c)
				return reply_error(r, 400, "message %zu needs 'role' and 'content' strings", i);
			if (strcmp(role, "user") == 0)
				prompt = c;
			else if (strcmp(role, "system") == 0 && !opt.no_inference && (!opt.system || strcmp(opt.system, c) != 0))
				return reply_error(r, 400, "this test server takes the system message from --system");
		}
		if (!prompt)
			return reply_error(r, 400, "'messages' has no user message");
	} else {
		json_t *p = json_object_get(req, "prompt");
		json_t *echo = json_object_get(req, "echo");
		json_t *pl = json_object_get(req, "prompt_logprobs");
		if ((json_is_true(echo) || (pl && !json_is_null(pl))) && opt.no_logprobs)
			return reply_error(r, 400, "echo and prompt_logprobs are not supported");
		if (json_is_true(echo) || (pl && !json_is_null(pl))) {
			json_t *mt = json_object_get(req, "max_tokens");
			if (json_is_true(echo) && !(json_is_integer(mt) && json_integer_value(mt) == 0))
				return reply_error(r, 400, "this test server does echo with max_tokens 0 only");
			if (!json_is_string(p) && !json_is_array(p))
				return reply_error(r, 400, "'prompt' must be a string or a list of token ids");
			return do_prompt_logprobs(r, p, pl && !json_is_null(pl));
		}
		prompt = json_string_value(p);
		if (!prompt)
			return reply_error(r, 400, "'prompt' must be a string");
	}
	const char *stops[64];
	size_t nstop = 0;
	json_t *st = json_object_get(req, "stop");
	if (json_is_string(st))
		stops[nstop++] = json_string_value(st);
	else if (json_is_array(st))
		for (size_t i = 0; i < json_array_size(st) && nstop < 64; i++)
			if (json_is_string(json_array_get(st, i)))
				stops[nstop++] = json_string_value(json_array_get(st, i));
	json_t *mt = json_object_get(req, "max_tokens");
	if (!mt)
		mt = json_object_get(req, "max_completion_tokens");
	struct job j = { .kind = chat ? J_CHAT : J_GEN };
	j.req.size = sizeof(j.req);
	j.req.kind = LLE_REQ_GENERATE_UNTIL;
	j.req.context = prompt;
	j.req.until = stops;
	j.req.n_until = nstop;
	j.req.max_tokens = json_is_integer(mt) ? (int32_t)json_integer_value(mt) : 16;
	j.req.temperature = json_is_number(json_object_get(req, "temperature"))
			  ? json_number_value(json_object_get(req, "temperature")) : 1.0;
	j.req.top_p = json_is_number(json_object_get(req, "top_p")) ? json_number_value(json_object_get(req, "top_p")) : 1.0;
	j.req.seed = json_is_integer(json_object_get(req, "seed")) ? (uint64_t)json_integer_value(json_object_get(req, "seed")) : 0;
	if (opt.no_inference) {
		j.text = strdup(opt.reply ? opt.reply : " 42");
		j.text_len = j.text ? strlen(j.text) : 0;
		j.n_tokens = 2;
	} else {
		run_job(&j);
	}
	if (j.failed) {
		free(j.text);
		return reply_error(r, 500, "%s", j.err);
	}
	if (opt.nul_text && j.text) {
		char *t = malloc(j.text_len + 2);
		if (!t) {
			free(j.text);
			return reply_error(r, 500, "out of memory");
		}
		size_t k = j.text_len > 0 ? 1 : 0;
		memcpy(t, j.text, k);
		t[k] = '\0';
		memcpy(t + k + 1, j.text + k, j.text_len - k + 1);
		free(j.text);
		j.text = t;
		j.text_len++;
	}
	json_t *ch = chat ? json_pack("{s:i,s:{s:s,s:s%},s:s}", "index", 0, "message", "role", "assistant", "content",
				      j.text ? j.text : "", j.text_len, "finish_reason", "stop")
			  : json_pack("{s:i,s:s%,s:n,s:s}", "index", 0, "text", j.text ? j.text : "", j.text_len,
				      "logprobs", "finish_reason", "stop");
	free(j.text);
	json_int_t ct = opt.has_completion_tokens ? (json_int_t)opt.completion_tokens : j.n_tokens;
	reply_json(r, 200, json_pack("{s:s,s:s,s:s,s:[o],s:{s:i,s:I,s:I}}", "id", "cmpl-lle", "object",
				     chat ? "chat.completion" : "text_completion", "model", opt.served, "choices", ch,
				     "usage", "prompt_tokens", 0, "completion_tokens", ct, "total_tokens", ct));
}

/* big-body: a completion whose text is 'a' repeated, n bytes in all, made
 * as it is sent. */
struct big {
	size_t n;
	char head[128], tail[64];
	size_t hn, tn;
};

static ssize_t big_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct big *b = cls;
	if (pos >= b->n)
		return MHD_CONTENT_READER_END_OF_STREAM;
	size_t k = 0;
	while (k < max && pos + k < b->n) {
		uint64_t p = pos + k;
		buf[k++] = p < b->hn ? b->head[p] : p >= b->n - b->tn ? b->tail[p - (b->n - b->tn)] : 'a';
	}
	return (ssize_t)k;
}

static void big_init(struct big *b, size_t n)
{
	b->hn = (size_t)snprintf(b->head, sizeof(b->head), "{\"object\":\"text_completion\",\"choices\":"
				 "[{\"index\":0,\"text\":\"");
	b->tn = (size_t)snprintf(b->tail, sizeof(b->tail), "\",\"finish_reason\":\"stop\"}]}");
	b->n = n > b->hn + b->tn ? n : b->hn + b->tn;
}

/* gzip-bomb: the big body, gzip-compressed (with gzip's header, as HTTP's
 * Content-Encoding: gzip wants), into a malloc()ed buffer. */
static char *gzip_bomb(size_t n, size_t *out_len)
{
	struct big b;
	big_init(&b, n);
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	size_t cap = n / 500 + 4096, len = 0;
	char *out = malloc(cap), in[1 << 16];
	uint64_t pos = 0;
	int rc = Z_OK;
	while (out && rc != Z_STREAM_END) {
		ssize_t k = pos < b.n ? big_read(&b, pos, in, sizeof(in)) : 0;
		if (k < 0)
			k = 0;
		pos += (uint64_t)k;
		z.next_in = (unsigned char *)in;
		z.avail_in = (unsigned)k;
		do {
			if (cap - len < 4096) {
				char *o = realloc(out, cap * 2);
				if (!o) {
					free(out);
					out = NULL;
					break;
				}
				out = o;
				cap *= 2;
			}
			z.next_out = (unsigned char *)out + len;
			z.avail_out = (unsigned)(cap - len);
			rc = deflate(&z, pos >= b.n ? Z_FINISH : Z_NO_FLUSH);
			len = cap - z.avail_out;
		} while (out && (z.avail_in > 0 || (pos >= b.n && rc != Z_STREAM_END)));
	}
	deflateEnd(&z);
	*out_len = len;
	return out;
}

/* ---- HTTP ----------------------------------------------------------------- */

struct conn {
	char *body;
	size_t len, cap;
};

struct slow {
	char *body;
	size_t len;
	enum fault f;
};

static ssize_t slow_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct slow *s = cls;
	if (s->f == F_DROP && pos >= s->len / 2)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (pos >= s->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	size_t n = s->len - pos;
	if (s->f == F_TRICKLE) {
		usleep((useconds_t)opt.trickle_ms * 1000);
		if (n > 16)
			n = 16;
	} else if (s->f == F_DROP && n > s->len / 2 - pos) {
		n = s->len / 2 - pos;
	}
	if (n > max)
		n = max;
	memcpy(buf, s->body + pos, n);
	return (ssize_t)n;
}

static void slow_free(void *cls)
{
	struct slow *s = cls;
	free(s->body);
	free(s);
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct reply *r, enum fault f)
{
	struct MHD_Response *resp;
	if (f == F_DROP || f == F_TRICKLE) {
		struct slow *s = malloc(sizeof(*s));
		if (!s) {
			free(r->body);
			return MHD_NO;
		}
		*s = (struct slow){ r->body, r->len, f };
		resp = MHD_create_response_from_callback(r->len, 1024, slow_read, s, slow_free);
	} else {
		resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "application/json");
	if (r->status == 429 && r->retry_after)
		MHD_add_response_header(resp, "Retry-After", r->retry_after);
	if (r->encoding)
		MHD_add_response_header(resp, "Content-Encoding", r->encoding);
	enum MHD_Result rc = MHD_queue_response(c, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			       const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	(void)cls;
	(void)version;
	int post = strcmp(method, "POST") == 0;
	if (post) {
		struct conn *cn = *con_cls;
		if (!cn) {
			if (!(cn = calloc(1, sizeof(*cn))))
				return MHD_NO;
			*con_cls = cn;
			return MHD_YES;
		}
		if (*upload_size) {
			if (cn->len + *upload_size + 1 > cn->cap) {
				size_t cap = (cn->len + *upload_size + 1) * 2;
				char *b = realloc(cn->body, cap);
				if (!b)
					return MHD_NO;
				cn->body = b;
				cn->cap = cap;
			}
			memcpy(cn->body + cn->len, upload, *upload_size);
			cn->len += *upload_size;
			cn->body[cn->len] = '\0';
			*upload_size = 0;
			return MHD_YES;
		}
	}
	struct reply r = { 0 };
	enum fault f = F_NONE;
	if (opt.latency_ms)
		usleep((useconds_t)opt.latency_ms * 1000);
	if (post) {
		long k = atomic_fetch_add(&n_post, 1) + 1;
		if (opt.die_after > 0 && k > opt.die_after)
			_exit(3); /* a replica that dies: connections reset, no answer */
		f = fault_for(k);
	}
	if (opt.key_env && strcmp(url, "/health") != 0) {
		const char *want = getenv(opt.key_env), *got = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
		if (!want || !got || strncmp(got, "Bearer ", 7) != 0 || strcmp(got + 7, want) != 0) {
			reply_error(&r, 401, "Incorrect API key provided");
			return send_reply(c, &r, F_NONE);
		}
	}
	if (opt.bad_answer && strcmp(url, "/health") != 0) {
		if (strcmp(opt.bad_answer, "nonjson") == 0) {
			r.status = 200;
			r.body = strdup("<html><body>It works!</body></html>");
		} else if (strcmp(url, "/v1/models") == 0) {
			do_models(&r);
		} else if (strcmp(url, "/tokenize") == 0) {
			json_t *req = json_loads(((struct conn *)*con_cls)->body ? ((struct conn *)*con_cls)->body : "", 0, NULL);
			do_tokenize(&r, req);
			json_decref(req);
		} else {
			r.status = 200;
			r.body = strdup("{\"object\":\"text_completion\",\"model\":\"tiny\"}");
		}
		r.len = r.body ? strlen(r.body) : 0;
		return send_reply(c, &r, F_NONE);
	}
	if (f == F_500 || f == F_503 || f == F_429) {
		reply_error(&r, f == F_500 ? 500 : f == F_503 ? 503 : 429, "injected fault %s", fault_names[f]);
		r.retry_after = opt.retry_after;
		return send_reply(c, &r, F_NONE);
	}
	if (post && (opt.big_body || opt.gzip_bomb) &&
	    (strcmp(url, "/v1/completions") == 0 || strcmp(url, "/v1/chat/completions") == 0)) {
		struct MHD_Response *resp;
		if (opt.big_body) {
			struct big *b = malloc(sizeof(*b));
			if (!b)
				return MHD_NO;
			big_init(b, (size_t)opt.big_body);
			resp = MHD_create_response_from_callback(b->n, 1 << 16, big_read, b, free);
		} else {
			size_t n = 0;
			char *z = gzip_bomb((size_t)opt.gzip_bomb, &n);
			if (!z)
				return MHD_NO;
			resp = MHD_create_response_from_buffer(n, z, MHD_RESPMEM_MUST_FREE);
			if (resp)
				MHD_add_response_header(resp, "Content-Encoding", "gzip");
		}
		if (!resp)
			return MHD_NO;
		MHD_add_response_header(resp, "Content-Type", "application/json");
		enum MHD_Result rc = MHD_queue_response(c, 200, resp);
		MHD_destroy_response(resp);
		return rc;
	}
	if (strcmp(url, "/health") == 0 && !post) {
		r.status = 200;
		r.body = strdup("{}");
		r.len = 2;
	} else if (strcmp(url, "/v1/models") == 0 && !post) {
		do_models(&r);
	} else if (post) {
		struct conn *cn = *con_cls;
		json_error_t je;
		json_t *req = json_loadb(cn->body ? cn->body : "", cn->len, 0, &je);
		if (json_is_object(req))
			log_request(url, req);
		if (!json_is_object(req))
			reply_error(&r, 400, "the body is not a JSON object: %s", je.text);
		else if (strcmp(url, "/tokenize") == 0)
			do_tokenize(&r, req);
		else if (strcmp(url, "/v1/completions") == 0)
			do_generate(&r, req, 0);
		else if (strcmp(url, "/v1/chat/completions") == 0)
			do_generate(&r, req, 1);
		else
			reply_error(&r, 404, "no endpoint '%s'", url);
		json_decref(req);
	} else {
		reply_error(&r, 404, "no endpoint '%s'", url);
	}
	if (f == F_MALFORMED && r.body) {
		free(r.body);
		r.body = strdup("Internal error: <pre>Traceback (most recent call last)</pre>");
		r.len = r.body ? strlen(r.body) : 0;
	} else if (f == F_TRUNC && r.len > 2) {
		r.len /= 2;
	}
	return send_reply(c, &r, f);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode tc)
{
	(void)cls;
	(void)c;
	(void)tc;
	struct conn *cn = *con_cls;
	if (cn) {
		free(cn->body);
		free(cn);
	}
	*con_cls = NULL;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: lle-testserver [--model FILE.gguf --plugin llamacpp.so | --no-inference [--reply TEXT]] [--port N]\n"
		"       [--served-name NAME] [--latency-ms N] [--fault KIND:SHARE]... [--retry-after S]\n"
		"       [--trickle-ms N] [--die-after N] [--no-logprobs] [--bad-answer nonjson|nochoices]\n"
		"       [--chat-template NAME] [--system TEXT] [--max-model-len N] [--threads N]\n"
		"       [--hostile big-body:N|gzip-bomb:N|models-max-len:N|logprob:X|completion-tokens:N|\n"
		"                  top-logprobs-list|nul-text]...\n"
		"       [--require-key-env VAR]   answer 401 unless \"Authorization: Bearer $VAR\"\n"
		"       [--log-requests FILE]     append every POST as {\"url\", \"body\"}, one JSON line each\n"
		"  KIND: 500 503 429 drop malformed truncated trickle\n");
	exit(2);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && v && ++i)
		if (strcmp(a, "--no-inference") == 0)
			opt.no_inference = 1;
		else if (strcmp(a, "--no-logprobs") == 0)
			opt.no_logprobs = 1;
		else if (ARG("--reply"))
			opt.reply = v;
		else if (ARG("--log-requests"))
			opt.log_requests = v;
		else if (ARG("--model"))
			opt.model_path = v;
		else if (ARG("--plugin"))
			opt.plugin = v;
		else if (ARG("--served-name"))
			opt.served = v;
		else if (ARG("--port"))
			opt.port = atoi(v);
		else if (ARG("--require-key-env"))
			opt.key_env = v;
		else if (ARG("--threads"))
			opt.threads = atoi(v);
		else if (ARG("--latency-ms"))
			opt.latency_ms = atoi(v);
		else if (ARG("--trickle-ms"))
			opt.trickle_ms = atoi(v);
		else if (ARG("--retry-after"))
			opt.retry_after = v;
		else if (ARG("--hostile")) {
			const char *val = strchr(v, ':');
			val = val ? val + 1 : "";
#define HK(k) (strncmp(v, k, strlen(k)) == 0 && (v[strlen(k)] == ':' || v[strlen(k)] == '\0'))
			if (HK("big-body"))
				opt.big_body = atoll(val);
			else if (HK("gzip-bomb"))
				opt.gzip_bomb = atoll(val);
			else if (HK("models-max-len"))
				opt.models_max_len = atoll(val), opt.has_models_max_len = 1;
			else if (HK("logprob"))
				opt.lp = atof(val), opt.has_lp = 1;
			else if (HK("completion-tokens"))
				opt.completion_tokens = atoll(val), opt.has_completion_tokens = 1;
			else if (HK("top-logprobs-list"))
				opt.top_list = 1;
			else if (HK("nul-text"))
				opt.nul_text = 1;
			else {
				fprintf(stderr, "lle-testserver: bad --hostile '%s'\n", v);
				return 2;
			}
#undef HK
		}
		else if (ARG("--die-after"))
			opt.die_after = atol(v);
		else if (ARG("--bad-answer"))
			opt.bad_answer = v;
		else if (ARG("--chat-template"))
			opt.chat_template = v;
		else if (ARG("--system"))
			opt.system = v;
		else if (ARG("--max-model-len"))
			opt.max_model_len = atoi(v);
		else if (ARG("--fault")) {
			const char *colon = strchr(v, ':');
			int f = 0;
			for (int k = 1; k < F_N && colon; k++)
				if (strlen(fault_names[k]) == (size_t)(colon - v) && strncmp(v, fault_names[k], (size_t)(colon - v)) == 0)
					f = k;
			if (!f) {
				fprintf(stderr, "lle-testserver: bad --fault '%s'\n", v);
				return 2;
			}
			opt.share[f] = atof(colon + 1);
		} else
			usage();
#undef ARG
	}
	if (opt.log_requests && !(req_log = fopen(opt.log_requests, "a"))) {
		fprintf(stderr, "lle-testserver: --log-requests '%s': %s\n", opt.log_requests, strerror(errno));
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	/* every thread blocks SIGTERM and SIGINT; main waits for them and stops cleanly */
	sigset_t ss;
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	pthread_sigmask(SIG_BLOCK, &ss, NULL);
	max_len = opt.max_model_len > 1 ? opt.max_model_len - 1 : 512;
	if (!opt.no_inference) {
		if (!opt.model_path || !opt.plugin)
			usage();
		struct lle_err err = { 0 };
		if (!(plugin = lle_plugin_open(opt.plugin, NULL, &err))) {
			fprintf(stderr, "lle-testserver: %s\n", err.msg);
			return 1;
		}
		char e[1024];
		/* the plugin registers llama.cpp's compute backends: open it first */
		if (!(gen_model = open_model(0, e, sizeof(e)))) {
			fprintf(stderr, "lle-testserver: %s\n", e);
			return 1;
		}
		struct llama_model_params mp = llama_model_default_params();
		if (!(lmodel = llama_model_load_from_file(opt.model_path, mp))) {
			fprintf(stderr, "lle-testserver: cannot load '%s'\n", opt.model_path);
			return 1;
		}
		int n_train = llama_model_n_ctx_train(lmodel);
		if (!opt.max_model_len)
			max_len = n_train > 0 && n_train < 2048 ? n_train : 2048;
		struct llama_context_params cp = llama_context_default_params();
		cp.n_ctx = (uint32_t)max_len + 8;
		cp.n_batch = cp.n_ubatch = (uint32_t)max_len + 8;
		cp.n_seq_max = 1;
		cp.no_perf = true;
		cp.n_threads = cp.n_threads_batch = opt.threads;
		if (!(lctx = llama_init_from_model(lmodel, cp))) {
			fprintf(stderr, "lle-testserver: cannot create a llama.cpp context\n");
			return 1;
		}
		vocab = llama_model_get_vocab(lmodel);
		n_vocab = llama_vocab_n_tokens(vocab);
		add_bos = llama_vocab_get_add_bos(vocab);
		(void)add_bos;
		pthread_t th;
		if (pthread_create(&th, NULL, worker, NULL) != 0) {
			fprintf(stderr, "lle-testserver: cannot start the worker\n");
			return 1;
		}
	}
	struct sockaddr_in sa = { 0 };
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)opt.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
						0, NULL, NULL, handler, NULL,
						MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
						MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
						MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
						MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "lle-testserver: cannot listen on 127.0.0.1:%d\n", opt.port);
		return 1;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("port %u\n", di ? (unsigned)di->port : (unsigned)opt.port);
	fflush(stdout);
	int sig;
	sigwait(&ss, &sig);
	MHD_stop_daemon(d);
	return 0;
}
