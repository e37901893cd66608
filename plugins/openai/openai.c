/* The OpenAI-compatible backend plugin: evaluates a model served by vLLM,
 * SGLang, llama-server, Ollama or a hosted API over HTTP, with libcurl's multi
 * interface (many requests in flight on keep-alive connections, one thread).
 *
 *   generate_until         POST {api}/completions, or {api}/chat/completions
 *                          with the chat template (endpoint=chat)
 *   loglikelihood          the context/continuation split from the server's
 *                          POST {root}/tokenize, as the llama.cpp backend
 *                          splits it (trailing whitespace of the context goes
 *                          with the continuation), then the whole prompt as
 *                          token ids with echo + logprobs + max_tokens 0 (the
 *                          vLLM way) or prompt_logprobs; the continuation's
 *                          token log-probabilities are summed
 *   loglikelihood_rolling  the text's tokens in windows of max_length, as the
 *                          llama.cpp backend cuts them
 *
 * At wait_ready every base URL is probed ({root}/health, {api}/models: the
 * served model must be listed) and so is the server's support for prompt
 * log-probabilities. Several base URLs are load-balanced by least outstanding
 * requests; one that stops answering is taken out and probed again later with
 * backoff; requests fail only when no replica answers. Connection errors,
 * timeouts, 429 (Retry-After honoured, up to retry_after_max), 5xx and
 * unreadable answers are retried with exponential backoff and jitter, up to
 * max_retries.
 *
 * Answers are not trusted: a body (after gzip/deflate decoding) larger than
 * max_response_mb fails its request without being kept; log-probabilities
 * must be finite and not above LP_MAX, token ids and counts in range,
 * top_logprobs in the completions API's shape, and a continuation must have
 * at least one token; a server's max_model_len out of range is refused.
 *
 * The API key is read from the variable api_key_env names and goes only into
 * the Authorization header: it is never logged or put in a message.
 *
 * Not here: a local tokenizer file (tokenizer= accepts only "server"), the
 * legacy Ollama /api endpoints, streaming. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "llm-eval/backend.h"

#define OA_VERSION "1.0"
#define GEN_DEFAULT_MAX 256
/* The largest answer body kept, decoded (max_response_mb); the default holds
 * the echo answer of a 128k-token window (about 80 bytes a token) with room. */
#define RESPONSE_MAX_DEFAULT (32.0 * 1024 * 1024)
/* The longest wait a Retry-After header may ask for (retry_after_max). */
#define RETRY_AFTER_MAX_DEFAULT 60.0
/* The largest log-probability accepted: 0, plus rounding in the server's
 * float32 log-softmax (a value in (0, LP_MAX] is summed as given, as
 * lm-evaluation-harness does). */
#define LP_MAX 1e-4
/* The largest context (max_model_len, max_length) and token count accepted. */
#define TOKENS_MAX (1 << 24)

static const struct lle_host *H;

static void oa_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void oa_log(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	H->log(H->user, level, msg);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *xstrndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* ---- a growable byte buffer ------------------------------------------------ */

struct sbuf {
	char *p;
	size_t n, cap;
	int oom;
	size_t max;           /* 0: no limit; else more is refused (toolarge) */
	int toolarge;
};

static void sb_add(struct sbuf *b, const void *d, size_t n)
{
	if (b->oom || b->toolarge)
		return;
	if (b->max && n > b->max - b->n) {
		b->toolarge = 1;
		return;
	}
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void sb_free(struct sbuf *b)
{
	size_t max = b->max;
	free(b->p);
	memset(b, 0, sizeof(*b));
	b->max = max;
}

/* ---- the model ------------------------------------------------------------- */

struct replica {
	char *api;            /* base URL of the OpenAI API (".../v1") */
	char *root;           /* the server root (/health, /tokenize) */
	int outstanding;
	int down;             /* taken out: probed again at retry_at */
	int fails;            /* transport failures in a row */
	double retry_at;
	double backoff;
	CURL *probe;          /* the /health probe in flight, or NULL */
	char last_err[256];
};

enum lp_mode { LP_AUTO = 0, LP_ECHO, LP_PROMPT, LP_NONE };

struct lle_model {
	char *model;          /* served model name */
	struct replica *reps;
	int nrep;
	struct curl_slist *headers;
	int num_concurrent;
	int max_retries;
	double timeout;       /* seconds per request */
	double backoff, backoff_max;
	double max_response;  /* bytes */
	double retry_after_max;
	int chat;
	char *system;
	int max_length;
	int lp_mode;          /* enum lp_mode; after wait_ready: LP_ECHO, LP_PROMPT or LP_NONE */
	char *ll_tasks;       /* host hint: the tasks that need log-likelihoods */
	int32_t prefix_tok;   /* BOS from /tokenize(""), -1: none */
	int ready;            /* wait_ready done: 1 ok, -1 failed */
	char ready_err[1024];
	CURLM *multi;
	CURL **pool;          /* idle easy handles (keep their connections) */
	int npool, cappool;
	unsigned rng;
	/* counters for the benchmark (debug log) */
	long long n_http, n_retries;
};

static CURL *handle_get(struct lle_model *m)
{
	if (m->npool > 0)
		return m->pool[--m->npool];
	return curl_easy_init();
}

static void handle_put(struct lle_model *m, CURL *h)
{
	if (m->npool == m->cappool) {
		int cap = m->cappool ? 2 * m->cappool : 16;
		CURL **p = realloc(m->pool, sizeof(*p) * (size_t)cap);
		if (!p) {
			curl_easy_cleanup(h);
			return;
		}
		m->pool = p;
		m->cappool = cap;
	}
	m->pool[m->npool++] = h;
}

/* Returning less than given makes curl stop the transfer: out of memory, or
 * an answer past max_response_mb (counted after gzip/deflate decoding, so a
 * small compressed bomb stops as early as a large plain body). */
static size_t write_cb(char *d, size_t sz, size_t n, void *user)
{
	struct sbuf *b = user;
	sb_add(b, d, sz * n);
	return b->oom || b->toolarge ? 0 : sz * n;
}

struct hdr_info {
	double retry_after;
};

/* Retry-After in seconds: a finite number >= 0 and nothing else; an HTTP date,
 * "inf", "nan" or any other text is taken as absent (backoff applies). The
 * wait is capped at retry_after_max where it is used. */
static double parse_retry_after(const char *v, size_t n)
{
	char tmp[64];
	while (n > 0 && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
		n--;
	if (n == 0 || n >= sizeof(tmp))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)v[i]) && !strchr(".eE+-", v[i]))
			return -1; /* rejects inf, nan and hex, which strtod takes */
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	char *end;
	errno = 0;
	double x = strtod(tmp, &end);
	if (*end || errno || !isfinite(x) || x < 0)
		return -1;
	return x;
}

static size_t header_cb(char *d, size_t sz, size_t n, void *user)
{
	struct hdr_info *hi = user;
	size_t len = sz * n;
	if (len > 12 && strncasecmp(d, "retry-after:", 12) == 0)
		hi->retry_after = parse_retry_after(d + 12, len - 12);
	return len;
}

/* Set up an easy handle for one call; body NULL means GET. */
static void setup(struct lle_model *m, CURL *h, const char *url, const char *body, size_t blen,
		  struct sbuf *resp, struct hdr_info *hi, char *errbuf, double timeout)
{
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, m->headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	resp->max = (size_t)m->max_response;
	curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
	/* refused at once when the server says its length */
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)m->max_response);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, hi);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout < 10 ? timeout * 1000 : 10000));
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	if (body) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)blen);
	}
}

/* The server's own message from an error answer, or its first characters. */
static void server_message(const char *body, size_t n, char *out, size_t len)
{
	json_t *j = body ? json_loadb(body, n, 0, NULL) : NULL;
	const char *s = NULL;
	if (j) {
		json_t *e = json_object_get(j, "error");
		if (json_is_string(e))
			s = json_string_value(e);
		else if (json_is_object(e) && json_is_string(json_object_get(e, "message")))
			s = json_string_value(json_object_get(e, "message"));
		else if (json_is_string(json_object_get(j, "message")))
			s = json_string_value(json_object_get(j, "message"));
		else if (json_is_string(json_object_get(j, "detail")))
			s = json_string_value(json_object_get(j, "detail"));
	}
	if (s)
		snprintf(out, len, "%.200s", s);
	else if (body && n) {
		size_t k = n < 80 ? n : 80, o = 0;
		for (size_t i = 0; i < k && o + 1 < len; i++)
			out[o++] = isprint((unsigned char)body[i]) ? body[i] : ' ';
		out[o] = '\0';
	} else {
		snprintf(out, len, "empty answer");
	}
	json_decref(j);
}

/* ---- options ---------------------------------------------------------------- */

static void model_free(struct lle_model *m)
{
	if (!m)
		return;
	for (int i = 0; i < m->nrep; i++) {
		if (m->reps[i].probe) {
			curl_multi_remove_handle(m->multi, m->reps[i].probe);
			curl_easy_cleanup(m->reps[i].probe);
		}
		free(m->reps[i].api);
		free(m->reps[i].root);
	}
	free(m->reps);
	for (int i = 0; i < m->npool; i++)
		curl_easy_cleanup(m->pool[i]);
	free(m->pool);
	if (m->multi)
		curl_multi_cleanup(m->multi);
	curl_slist_free_all(m->headers);
	free(m->model);
	free(m->system);
	free(m->ll_tasks);
	free(m);
}

static int add_replica(struct lle_model *m, const char *u, size_t n, char *err, size_t len)
{
	while (n && (u[n - 1] == '/' || u[n - 1] == ' '))
		n--;
	while (n && *u == ' ')
		u++, n--;
	if (n == 0)
		return 0;
	if (!(n > 7 && strncmp(u, "http://", 7) == 0) && !(n > 8 && strncmp(u, "https://", 8) == 0)) {
		snprintf(err, len, "openai: base_url '%.*s' is not an http:// or https:// URL", (int)(n > 200 ? 200 : n), u);
		return -1;
	}
	struct replica *r = realloc(m->reps, sizeof(*r) * (size_t)(m->nrep + 1));
	if (!r)
		goto oom;
	m->reps = r;
	r = &m->reps[m->nrep];
	memset(r, 0, sizeof(*r));
	int v1 = n >= 3 && strncmp(u + n - 3, "/v1", 3) == 0;
	r->root = xstrndup(u, v1 ? n - 3 : n);
	if (r->root && v1)
		r->api = xstrndup(u, n);
	else if (r->root && (r->api = malloc(n + 4)))
		snprintf(r->api, n + 4, "%.*s/v1", (int)n, u);
	m->nrep++;
	if (!r->root || !r->api)
		goto oom;
	return 0;
oom:
	snprintf(err, len, "out of memory");
	return -1;
}

static int parse_num(const char *v, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (errno || end == v || *end || !(x >= lo && x <= hi))
		return -1;
	*out = x;
	return 0;
}

static int add_header(struct lle_model *m, const char *h)
{
	struct curl_slist *s = curl_slist_append(m->headers, h);
	if (!s)
		return -1;
	m->headers = s;
	return 0;
}

static int oa_open(const struct lle_open_params *p, struct lle_model **out, char *err, size_t len)
{
	struct lle_model *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	m->num_concurrent = 8;
	m->max_retries = 5;
	m->timeout = 300;
	m->backoff = 0.5;
	m->backoff_max = 30;
	m->max_response = RESPONSE_MAX_DEFAULT;
	m->retry_after_max = RETRY_AFTER_MAX_DEFAULT;
	m->prefix_tok = -1;
	m->chat = p->apply_chat_template;
	m->max_length = p->max_length;
	m->rng = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)m;
	const char *key_env = NULL;
	if (!p->model || !*p->model) {
		snprintf(err, len, "openai: no served model name given");
		goto fail;
	}
	if (!(m->model = strdup(p->model)) || (p->system_message && !(m->system = strdup(p->system_message))) ||
	    add_header(m, "Content-Type: application/json") < 0 || add_header(m, "Expect:") < 0) {
		snprintf(err, len, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < p->n_options; i++) {
		const char *o = p->options[i], *eq = strchr(o, '=');
		size_t kl = eq ? (size_t)(eq - o) : strlen(o);
		const char *v = eq ? eq + 1 : "";
		double x = 0;
		int bad = 0;
#define KEY(k) (kl == strlen(k) && strncmp(o, k, kl) == 0)
		if (KEY("base_url")) {
			for (const char *s = v; *s;) {
				const char *c = strchr(s, ',');
				size_t n = c ? (size_t)(c - s) : strlen(s);
				if (add_replica(m, s, n, err, len) < 0)
					goto fail;
				s += n + (c != NULL);
			}
		} else if (KEY("api_key_env")) {
			key_env = v;
		} else if (KEY("headers")) {
			for (const char *s = v; *s;) {
				const char *c = strchr(s, ',');
				size_t n = c ? (size_t)(c - s) : strlen(s);
				char *h = xstrndup(s, n);
				if (!h) {
					snprintf(err, len, "out of memory");
					goto fail;
				}
				if (!strchr(h, ':')) {
					free(h);
					bad = 1;
					break;
				}
				if (add_header(m, h) < 0) {
					free(h);
					snprintf(err, len, "out of memory");
					goto fail;
				}
				free(h);
				s += n + (c != NULL);
			}
		} else if (KEY("num_concurrent")) {
			bad = parse_num(v, 1, 4096, &x);
			m->num_concurrent = (int)x;
		} else if (KEY("max_retries")) {
			bad = parse_num(v, 0, 100, &x);
			m->max_retries = (int)x;
		} else if (KEY("timeout")) {
			bad = parse_num(v, 0.001, 86400, &m->timeout);
		} else if (KEY("backoff")) {
			bad = parse_num(v, 0, 3600, &m->backoff);
		} else if (KEY("backoff_max")) {
			bad = parse_num(v, 0, 86400, &m->backoff_max);
		} else if (KEY("max_length")) {
			bad = parse_num(v, 1, TOKENS_MAX, &x);
			m->max_length = (int)x;
		} else if (KEY("max_response_mb")) {
			bad = parse_num(v, 0.001, 65536, &x);
			m->max_response = x * 1024 * 1024;
		} else if (KEY("retry_after_max")) {
			bad = parse_num(v, 0, 86400, &m->retry_after_max);
		} else if (KEY("endpoint")) {
			if (strcmp(v, "chat") == 0)
				m->chat = 1;
			else if (strcmp(v, "completions") == 0)
				m->chat = 0;
			else
				bad = 1;
		} else if (KEY("logprobs")) {
			m->lp_mode = strcmp(v, "auto") == 0 ? LP_AUTO : strcmp(v, "echo") == 0 ? LP_ECHO
				   : strcmp(v, "prompt_logprobs") == 0 ? LP_PROMPT : strcmp(v, "none") == 0 ? LP_NONE : -1;
			bad = m->lp_mode < 0;
		} else if (KEY("tokenizer")) {
			if (strcmp(v, "server") != 0) {
				snprintf(err, len, "openai: tokenizer '%.200s': only 'server' (the server's /tokenize) "
					 "is supported; local tokenizer files are not", v);
				goto fail;
			}
		} else if (KEY("loglikelihood_tasks")) {
			if (!(m->ll_tasks = strdup(v))) {
				snprintf(err, len, "out of memory");
				goto fail;
			}
		} else {
			snprintf(err, len, "openai: unknown option '%.*s' (known: base_url, api_key_env, headers, "
				 "num_concurrent, max_retries, timeout, backoff, backoff_max, max_length, endpoint, "
				 "logprobs, tokenizer, max_response_mb, retry_after_max)", (int)(kl > 100 ? 100 : kl), o);
			goto fail;
		}
#undef KEY
		if (bad) {
			/* the value is not repeated: it could be a secret put in the wrong key */
			snprintf(err, len, "openai: option '%.*s' has a bad value", (int)(kl > 100 ? 100 : kl), o);
			goto fail;
		}
	}
	if (m->nrep == 0) {
		snprintf(err, len, "openai: model '%.200s' has no base_url (set backends.openai.base_url)", m->model);
		goto fail;
	}
	if (key_env && *key_env) {
		const char *key = getenv(key_env);
		if (!key || !*key) {
			snprintf(err, len, "openai: api_key_env names '%.100s', which is not set", key_env);
			goto fail;
		}
		size_t n = strlen(key) + 32;
		char *h = malloc(n);
		if (!h) {
			snprintf(err, len, "out of memory");
			goto fail;
		}
		snprintf(h, n, "Authorization: Bearer %s", key);
		int rc = add_header(m, h);
		memset(h, 0, n);
		free(h);
		if (rc < 0) {
			snprintf(err, len, "out of memory");
			goto fail;
		}
	}
	if (!(m->multi = curl_multi_init())) {
		snprintf(err, len, "openai: cannot create a curl multi handle");
		goto fail;
	}
	curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, (long)(m->num_concurrent + 2 * m->nrep + 4));
	*out = m;
	return 0;
fail:
	model_free(m);
	return -1;
}

/* ---- blocking calls (probes at wait_ready) --------------------------------- */

struct call {
	long status;
	CURLcode cc;
	struct sbuf resp;
	char curl_err[CURL_ERROR_SIZE];
	double retry_after;
};

static void call_blocking(struct lle_model *m, const char *url, const char *body, double timeout,
			  struct call *c)
{
	CURL *h = handle_get(m);
	struct hdr_info hi = { -1 };
	memset(c, 0, sizeof(*c));
	c->retry_after = -1;
	c->resp.max = (size_t)m->max_response;
	if (!h) {
		c->cc = CURLE_OUT_OF_MEMORY;
		return;
	}
	setup(m, h, url, body, body ? strlen(body) : 0, &c->resp, &hi, c->curl_err, timeout);
	c->cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
	c->retry_after = hi.retry_after;
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	handle_put(m, h);
	m->n_http++;
}

/* The answer was larger than max_response_mb. */
static int too_large(const struct sbuf *b, CURLcode cc)
{
	return b->toolarge || cc == CURLE_FILESIZE_EXCEEDED;
}

static void describe_fail(const struct call *c, char *out, size_t len)
{
	if (too_large(&c->resp, c->cc)) {
		snprintf(out, len, "the answer is larger than max_response_mb (%.0f bytes); it was not read",
			 (double)c->resp.max);
	} else if (c->cc != CURLE_OK) {
		snprintf(out, len, "%s", c->curl_err[0] ? c->curl_err : curl_easy_strerror(c->cc));
	} else {
		char msg[256];
		server_message(c->resp.p, c->resp.n, msg, sizeof(msg));
		snprintf(out, len, "HTTP %ld: %s", c->status, msg);
	}
}

static int retryable(const struct call *c)
{
	if (too_large(&c->resp, c->cc))
		return 0; /* the same question would get the same answer */
	return c->cc != CURLE_OK || c->status == 429 || c->status >= 500;
}

static double backoff_delay(struct lle_model *m, int attempt, double retry_after)
{
	double d = m->backoff * pow(2.0, attempt);
	if (d > m->backoff_max)
		d = m->backoff_max;
	d *= 0.5 + 0.5 * ((double)rand_r(&m->rng) / RAND_MAX);
	if (retry_after > m->retry_after_max)
		retry_after = m->retry_after_max;
	if (retry_after > d)
		d = retry_after;
	return d;
}

static void sleep_s(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* GET or POST with retries; 0 with c filled (any status), -1 when it never
 * got an answer worth returning (c says why). With need_json, an answer of
 * status 200 that does not parse is retried like a 5xx. */
static int call_retry(struct lle_model *m, const char *url, const char *body, int need_json, struct call *c)
{
	for (int a = 0;; a++) {
		call_blocking(m, url, body, m->timeout < 30 ? m->timeout : 30, c);
		int again = retryable(c);
		if (!again && need_json && c->status == 200) {
			json_t *j = json_loadb(c->resp.p ? c->resp.p : "", c->resp.n, 0, NULL);
			again = j == NULL;
			json_decref(j);
		}
		if (!again || a >= m->max_retries || H->interrupted(H->user))
			return c->cc == CURLE_OK && !c->resp.toolarge ? 0 : -1;
		sleep_s(backoff_delay(m, a, c->retry_after));
		sb_free(&c->resp);
	}
}

/* Probe one replica: /health, then /v1/models with the served model. */
static int probe_replica(struct lle_model *m, struct replica *r, char *err, size_t len)
{
	char url[2048];
	struct call c;
	snprintf(url, sizeof(url), "%s/health", r->root);
	int rc = call_retry(m, url, NULL, 0, &c);
	if (rc < 0 || (c.status != 200 && c.status != 404)) {
		char why[512];
		describe_fail(&c, why, sizeof(why));
		snprintf(err, len, "server '%s' does not answer: %s", r->root, why);
		sb_free(&c.resp);
		return -1;
	}
	sb_free(&c.resp);
	snprintf(url, sizeof(url), "%s/models", r->api);
	rc = call_retry(m, url, NULL, 1, &c);
	if (rc < 0 || c.status != 200) {
		char why[512];
		describe_fail(&c, why, sizeof(why));
		snprintf(err, len, "server '%s': GET /models failed: %s", r->api, why);
		sb_free(&c.resp);
		return -1;
	}
	json_error_t je;
	json_t *j = json_loadb(c.resp.p ? c.resp.p : "", c.resp.n, 0, &je);
	json_t *data = j ? json_object_get(j, "data") : NULL;
	if (!j || !json_is_array(data)) {
		char what[128];
		server_message(c.resp.p, c.resp.n, what, sizeof(what));
		snprintf(err, len, "server '%s': /models answer is not an OpenAI model list (%s): '%s'", r->api,
			 j ? "no 'data' array" : "not JSON", what);
		json_decref(j);
		sb_free(&c.resp);
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
					sb_free(&c.resp);
					return -1;
				}
				m->max_length = (int)json_integer_value(ml) - 1;
			}
		}
		if (so < sizeof(served) - 1)
			so += (size_t)snprintf(served + so, sizeof(served) - so, "%s'%s'", so ? ", " : "", id);
	}
	json_decref(j);
	sb_free(&c.resp);
	if (!found) {
		snprintf(err, len, "server '%s' does not serve model '%.200s' (it serves: %s)", r->api, m->model,
			 so ? served : "nothing");
		return -1;
	}
	return 0;
}

/* The token ids of a /tokenize answer's array: malloc()ed, count in *n; NULL
 * with *bad the index of an entry that is not an integer in 0..INT32_MAX (or
 * the array longer than TOKENS_MAX), or with *bad < 0 out of memory. */
static int32_t *tokens_from(json_t *t, int *n, int *bad)
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

/* Tokenise with the server: a malloc()ed array, its count in *n; -1 with err. */
static int tokenize_blocking(struct lle_model *m, struct replica *r, const char *text, int special,
			     int32_t **out, int *n, char *err, size_t len)
{
	json_t *b = json_pack("{s:s,s:s,s:b}", "model", m->model, "prompt", text, "add_special_tokens", special);
	char *body = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	char url[2048];
	snprintf(url, sizeof(url), "%s/tokenize", r->root);
	struct call c;
	*out = NULL;
	int rc = body ? call_retry(m, url, body, 1, &c) : -1;
	free(body);
	if (rc < 0 || c.status != 200) {
		char why[512];
		describe_fail(&c, why, sizeof(why));
		snprintf(err, len, "server '%s': POST /tokenize failed: %s (loglikelihood requests need the "
			 "server's tokenizer)", r->root, why);
		sb_free(&c.resp);
		return -1;
	}
	json_t *j = json_loadb(c.resp.p ? c.resp.p : "", c.resp.n, 0, NULL);
	json_t *t = json_object_get(j, "tokens");
	sb_free(&c.resp);
	if (!json_is_array(t)) {
		snprintf(err, len, "server '%s': /tokenize answer has no 'tokens' array", r->root);
		json_decref(j);
		return -1;
	}
	int bad = -1;
	*out = tokens_from(t, n, &bad);
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

static char *score_body(struct lle_model *m, const int32_t *toks, int n, int mode);
static int parse_score(struct lle_model *m, const char *body, size_t blen, const int32_t *toks, int n, int s,
		       double *lp, int *greedy, char *err, size_t len);

/* Whether the server gives prompt log-probabilities in the given mode: 1 yes,
 * 0 it refuses or leaves them out, -1 it failed to answer (why says). */
static int probe_logprobs(struct lle_model *m, struct replica *r, int mode, const int32_t *toks, int n,
			  char *why, size_t len)
{
	char *body = score_body(m, toks, n, mode);
	char url[2048];
	snprintf(url, sizeof(url), "%s/completions", r->api);
	struct call c;
	int rc = body ? call_retry(m, url, body, 1, &c) : -1;
	free(body);
	if (rc < 0 || c.status != 200) {
		describe_fail(&c, why, len);
		int failed = rc < 0 || retryable(&c);
		sb_free(&c.resp);
		return failed ? -1 : 0;
	}
	double lp;
	int g, save = m->lp_mode;
	m->lp_mode = mode;
	int prc = parse_score(m, c.resp.p, c.resp.n, toks, n, n - 1, &lp, &g, why, len);
	m->lp_mode = save;
	sb_free(&c.resp);
	return prc == 0 ? 1 : prc == -2 ? -1 : 0;
}

static int oa_wait_ready(struct lle_model *m, char *err, size_t len)
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
			r->retry_at = now_s() + r->backoff;
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
		if (tokenize_blocking(m, r, "", 1, &b, &nb, e, sizeof(e)) == 0 && nb == 1)
			m->prefix_tok = b[0];
		free(b);
		int mode = LP_NONE, failed = 0;
		if (e[0])
			failed = 1;
		else if (tokenize_blocking(m, r, "Hello world", 1, &t, &nt, e, sizeof(e)) < 0)
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

/* ---- request bodies and answers --------------------------------------------- */

static char *score_body(struct lle_model *m, const int32_t *toks, int n, int mode)
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

/* A log-probability a server may give: finite and at most LP_MAX. */
static int lp_ok(double x)
{
	return isfinite(x) && x <= LP_MAX;
}

/* Sum the log-probabilities of the last s of the n prompt tokens. */
static int parse_score(struct lle_model *m, const char *body, size_t blen, const int32_t *toks, int n, int s,
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

static char *gen_body(struct lle_model *m, const struct lle_request *q)
{
	json_t *b = json_object();
	if (!b)
		return NULL;
	json_object_set_new(b, "model", json_string(m->model));
	if (m->chat) {
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
		json_t *st = json_array();
		for (size_t i = 0; i < q->n_until; i++)
			if (q->until[i][0])
				json_array_append_new(st, json_string(q->until[i]));
		json_object_set_new(b, "stop", st);
	}
	char *s = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	return s;
}

/* ---- the asynchronous engine -------------------------------------------------- */

enum step { ST_TOK_CTX = 1, ST_TOK_WHOLE, ST_TOK_CONT, ST_TOK_TEXT, ST_SCORE, ST_GEN, ST_DONE };

struct job {
	const struct lle_request *req;
	int step;
	int attempt;
	double wake;
	int inflight;
	char *body;               /* body of the current step */
	int32_t *ctx_t, *whole_t; /* tokens */
	int nctx, nwhole;
	int32_t *x;               /* the scored sequence of the current window */
	int nx, s;
	int32_t *text_t;          /* rolling: the text's tokens */
	int ntext, predicted;
	double lp;
	int greedy, ntok;
};

struct xfer {
	CURL *h;
	struct job *job;          /* NULL: a replica probe */
	struct replica *rep;
	struct sbuf resp;
	struct hdr_info hi;
	char curl_err[CURL_ERROR_SIZE];
};

/* The context tokens of one submission, shared by the requests that carry
 * the same context (the choices of a question): one /tokenize call each. */
struct ctx_ent {
	const char *ctx;          /* the request's pointer: the key */
	struct job *owner;        /* the job whose call is in progress, or NULL */
	int32_t *t;               /* the tokens once known */
	int n, ready;
};

struct run {
	struct lle_model *m;
	struct job *jobs;
	size_t n, ndone;
	int inflight;
	lle_complete_fn cb;
	void *user;
	struct ctx_ent *cache;    /* open addressing, ncache slots (a power of two) */
	size_t ncache;
};

static struct ctx_ent *ctx_slot(struct run *R, const char *ctx)
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

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1f);
}

static void job_clear(struct job *j)
{
	free(j->body);
	free(j->ctx_t);
	free(j->whole_t);
	free(j->x);
	free(j->text_t);
	j->body = NULL;
	j->ctx_t = j->whole_t = j->x = j->text_t = NULL;
}

static void finish(struct run *R, struct job *j, int status, const char *error, const char *text, size_t tlen)
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
		struct ctx_ent *e = ctx_slot(R, j->req->context);
		if (e && e->owner == j)
			e->owner = NULL; /* another request of the context may try */
	}
	j->step = ST_DONE;
	job_clear(j);
	R->ndone++;
	R->cb(R->user, j->req, &res);
}

static void fail_job(struct run *R, struct job *j, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail_job(struct run *R, struct job *j, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	finish(R, j, LLE_STATUS_ERROR, msg, NULL, 0);
}

/* Set the window to score: x = seq[0, n) with its last s tokens scored, cut
 * from the left to max_length + 1 tokens as the llama.cpp backend does. */
static int set_window(struct lle_model *m, struct job *j, const int32_t *a, int na, const int32_t *b, int nb, int s)
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
static int build_body(struct run *R, struct job *j)
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
	case ST_SCORE: j->body = score_body(m, j->x, j->nx, m->lp_mode); break;
	}
	return j->body ? 0 : -1;
}

static struct replica *pick(struct lle_model *m)
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
	if (!x || !(x->h = handle_get(m))) {
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
	setup(m, x->h, url, j ? j->body : NULL, j ? strlen(j->body) : 0, &x->resp, &x->hi, x->curl_err,
	      j ? m->timeout : (m->timeout < 10 ? m->timeout : 10));
	curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
	if (curl_multi_add_handle(m->multi, x->h) != CURLM_OK) {
		handle_put(m, x->h);
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
static int on_answer(struct run *R, struct job *j, struct replica *r, struct sbuf *resp, char *why, size_t wl)
{
	struct lle_model *m = R->m;
	const struct lle_request *q = j->req;
	if (j->step == ST_SCORE) {
		double lp;
		int g;
		int rc = parse_score(m, resp->p, resp->n, j->x, j->nx, j->s, &lp, &g, why, wl);
		if (rc == -2)
			return 1;
		if (rc < 0) {
			fail_job(R, j, "server '%s': %s", r->api, why);
			return 0;
		}
		j->lp += lp;
		j->greedy &= g;
		j->ntok += j->s;
		if (q->kind == LLE_REQ_LOGLIKELIHOOD_ROLLING && j->predicted < j->ntext) {
			int L = m->max_length, wlen = j->ntext - j->predicted < L ? j->ntext - j->predicted : L;
			int end = j->predicted + wlen, cstart = end - L - 1 < 0 ? 0 : end - L - 1;
			if (set_window(m, j, j->text_t + cstart, end - cstart, NULL, 0, wlen) < 0)
				goto oom;
			j->predicted = end;
			j->step = ST_SCORE;
			j->attempt = 0;
			return build_body(R, j) < 0 ? (fail_job(R, j, "out of memory"), 0) : 0;
		}
		finish(R, j, LLE_STATUS_OK, NULL, NULL, 0);
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
			fail_job(R, j, "server '%s': answer has no 'choices'", r->api);
			return 0;
		}
		if (!t) {
			json_decref(js);
			fail_job(R, j, "server '%s': answer has no %s", r->api, m->chat ? "'choices[0].message.content'" : "'choices[0].text'");
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
			fail_job(R, j, "server '%s': answer's usage.completion_tokens is %s, outside 0..%d", r->api,
				 v, TOKENS_MAX);
			return 0;
		}
		j->ntok = json_is_integer(ct) ? (int)json_integer_value(ct) : 0;
		finish(R, j, LLE_STATUS_OK, NULL, t, cut_stop(q, t, tl));
		json_decref(js);
		return 0;
	}
	int n = 0, bad = -1;
	json_t *ta = json_object_get(js, "tokens");
	int is_array = json_is_array(ta); /* ta goes with js */
	int32_t *t = is_array ? tokens_from(ta, &n, &bad) : NULL;
	json_decref(js);
	if (!t) {
		if (!is_array)
			fail_job(R, j, "server '%s': /tokenize answer has no 'tokens' array", r->root);
		else if (bad >= 0)
			fail_job(R, j, "server '%s': /tokenize answer: tokens[%d] is not a token id", r->root, bad);
		else
			fail_job(R, j, "out of memory");
		return 0;
	}
	j->attempt = 0;
	switch (j->step) {
	case ST_TOK_CTX: {
		j->ctx_t = t;
		j->nctx = n;
		j->step = ST_TOK_WHOLE;
		struct ctx_ent *e = ctx_slot(R, q->context);
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
			fail_job(R, j, "server '%s': the continuation has no tokens (context + continuation "
				 "tokenise to %d tokens, the context alone to %d); lm-evaluation-harness refuses "
				 "an empty continuation too", r->root, n, j->nctx);
			return 0;
		}
		if (j->nctx == 0) {
			int32_t one = m->prefix_tok;
			if (one < 0) {
				fail_job(R, j, "server '%s': the tokenizer adds no BOS token, which an empty context needs", r->root);
				return 0;
			}
			rc = set_window(m, j, &one, 1, t, n, n);
		} else {
			rc = set_window(m, j, j->ctx_t, j->nctx, t + j->nctx, nx, nx);
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
			fail_job(R, j, "server '%s': the continuation has no tokens; lm-evaluation-harness "
				 "refuses an empty continuation too", r->root);
			return 0;
		}
		if (one < 0) {
			free(t);
			fail_job(R, j, "server '%s': the tokenizer adds no BOS token, which an empty context needs", r->root);
			return 0;
		}
		int rc = set_window(m, j, &one, 1, t, n, n);
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
			finish(R, j, LLE_STATUS_OK, NULL, NULL, 0);
			return 0;
		}
		int32_t one = m->prefix_tok;
		if (one < 0) {
			fail_job(R, j, "server '%s': the tokenizer adds no BOS token, which rolling windows need", r->root);
			return 0;
		}
		int wlen = n < m->max_length ? n : m->max_length;
		if (set_window(m, j, &one, 1, t, wlen, wlen) < 0)
			goto oom;
		j->predicted = wlen;
		j->step = ST_SCORE;
		break;
	}
	default:
		free(t);
		break;
	}
	if (build_body(R, j) < 0)
		goto oom;
	return 0;
oom:
	fail_job(R, j, "out of memory");
	return 0;
}

static void replica_failed(struct lle_model *m, struct replica *r, const char *why, int hard)
{
	r->fails++;
	snprintf(r->last_err, sizeof(r->last_err), "%.250s", why);
	if (!r->down && (hard || r->fails >= 3)) {
		r->down = 1;
		r->backoff = m->backoff > 0.05 ? m->backoff : 0.05;
		r->retry_at = now_s() + r->backoff;
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
			r->retry_at = now_s() + r->backoff;
		}
		goto out;
	}
	j->inflight = 0;
	R->inflight--;
	char why[512] = "";
	int retry = 0;
	if (too_large(&x->resp, cc)) {
		/* not retried: the same question would get the same answer */
		fail_job(R, j, "server '%s': %s answer larger than max_response_mb (%.0f bytes); it was not read",
			 r->root, step_name(j->step), (double)x->resp.max);
	} else if (cc != CURLE_OK) {
		snprintf(why, sizeof(why), "%s", x->curl_err[0] ? x->curl_err : curl_easy_strerror(cc));
		replica_failed(m, r, why, cc == CURLE_COULDNT_CONNECT);
		retry = 1;
	} else if (status == 200) {
		r->fails = 0;
		retry = on_answer(R, j, r, &x->resp, why, sizeof(why));
		if (x->resp.oom) {
			retry = 0;
			if (j->step != ST_DONE)
				fail_job(R, j, "out of memory");
		}
	} else {
		r->fails = 0;
		char msg[300];
		server_message(x->resp.p, x->resp.n, msg, sizeof(msg));
		snprintf(why, sizeof(why), "HTTP %ld: %s", status, msg);
		if (status == 429 || status >= 500)
			retry = 1;
		else
			fail_job(R, j, "server '%s': %s failed: %s", r->root, step_name(j->step), why);
	}
	if (retry && j->step != ST_DONE) {
		if (j->attempt >= m->max_retries) {
			fail_job(R, j, "server '%s': %s failed after %d tries: %s", r->root, step_name(j->step),
				 j->attempt + 1, why);
		} else {
			j->wake = now_s() + backoff_delay(m, j->attempt, x->hi.retry_after);
			j->attempt++;
			m->n_retries++;
			oa_log(LLE_LOG_DEBUG, "openai: retry %d of request %llu: %s", j->attempt,
			       (unsigned long long)j->req->id, why);
		}
	}
out:
	handle_put(m, x->h);
	sb_free(&x->resp);
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
		fail_job(R, j, "openai: unknown request kind %u", q->kind);
		return;
	}
	if (q->kind == LLE_REQ_LOGLIKELIHOOD && !q->continuation) {
		fail_job(R, j, "openai: loglikelihood request without a continuation");
		return;
	}
	if (build_body(R, j) < 0)
		fail_job(R, j, "out of memory");
}

static int oa_submit(struct lle_model *m, const struct lle_request *reqs, size_t n, lle_complete_fn cb,
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
		call_blocking(m, url, NULL, m->timeout < 10 ? m->timeout : 10, &c);
		if (c.cc == CURLE_OK && (c.status == 200 || c.status == 404)) {
			r->down = 0;
			r->fails = 0;
			up = 1;
		} else {
			describe_fail(&c, r->last_err, sizeof(r->last_err));
		}
		sb_free(&c.resp);
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
		double t = now_s();
		if (H->interrupted(H->user)) {
			for (size_t i = 0; i < n; i++)
				if (R.jobs[i].step != ST_DONE && !R.jobs[i].inflight)
					finish(&R, &R.jobs[i], LLE_STATUS_CANCELLED, "interrupted", NULL, 0);
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
						finish(&R, &R.jobs[i], LLE_STATUS_ERROR, msg, NULL, 0);
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
				struct ctx_ent *e = ctx_slot(&R, j->req->context);
				if (e && e->ready) {
					/* another choice of the same context had it tokenised */
					free(j->ctx_t);
					j->ctx_t = malloc(sizeof(int32_t) * (size_t)(e->n + 1));
					if (!j->ctx_t) {
						fail_job(&R, j, "out of memory");
						continue;
					}
					memcpy(j->ctx_t, e->t, sizeof(int32_t) * (size_t)e->n);
					j->nctx = e->n;
					j->step = ST_TOK_WHOLE;
					if (build_body(&R, j) < 0) {
						fail_job(&R, j, "out of memory");
						continue;
					}
				} else if (e && e->owner && e->owner != j) {
					continue; /* wait for that call */
				} else if (e) {
					e->ctx = j->req->context;
					e->owner = j;
				}
			}
			struct replica *r = pick(m);
			if (!r)
				break;
			if (start_xfer(&R, j, r) < 0) {
				fail_job(&R, j, "out of memory");
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
		double ms = (wake - now_s()) * 1000;
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
			handle_put(m, h);
			if (x) {
				sb_free(&x->resp);
				free(x);
			}
		}
	for (size_t i = 0; i < n; i++)
		job_clear(&R.jobs[i]);
	free(R.jobs);
	for (size_t i = 0; R.cache && i < R.ncache; i++)
		free(R.cache[i].t);
	free(R.cache);
	oa_log(LLE_LOG_DEBUG, "openai: %zu requests, %lld HTTP calls so far, %lld retries", n, m->n_http, m->n_retries);
	return 0;
}

static int64_t oa_count_tokens(struct lle_model *m, const char *text, char *err, size_t len)
{
	if (oa_wait_ready(m, err, len) < 0)
		return -1;
	struct replica *r = pick(m);
	if (!r) {
		snprintf(err, len, "no server answers");
		return -1;
	}
	int32_t *t = NULL;
	int n = 0;
	if (tokenize_blocking(m, r, text, 0, &t, &n, err, len) < 0)
		return -1;
	free(t);
	return n;
}

static void oa_close(struct lle_model *m)
{
	model_free(m);
}

static int oa_probe(char *msg, size_t len)
{
	curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	snprintf(msg, len, "libcurl %s, %s", v->version, v->ssl_version ? v->ssl_version : "no TLS");
	return 0;
}

/* What `open` accepts (docs/openai.md); the host checks registry files and
 * --model-args against it and never writes or shows a secret value. */
static const struct lle_option oa_options[] = {
	{ "base_url", LLE_OPT_URL, 0, "the server, with or without /v1; a list is load-balanced (required)" },
	{ "api_key_env", LLE_OPT_STRING, LLE_OPT_NO_IDENTITY,
	  "name of the environment variable holding the key, sent as authorization: bearer" },
	{ "headers", LLE_OPT_LIST, LLE_OPT_SECRET, "extra headers, 'name: value', several as a list" },
	{ "num_concurrent", LLE_OPT_INT, 0, "requests in flight at once, over all replicas (default 8)" },
	{ "max_retries", LLE_OPT_INT, 0, "retries of a failed request before its document fails (default 5)" },
	{ "timeout", LLE_OPT_NUMBER, 0, "seconds per http request (default 300)" },
	{ "backoff", LLE_OPT_NUMBER, 0, "first retry delay, seconds (default 0.5)" },
	{ "backoff_max", LLE_OPT_NUMBER, 0, "ceiling of the retry delay, seconds (default 30)" },
	{ "max_length", LLE_OPT_INT, 0, "tokens of context a log-likelihood request may use (default: the server's)" },
	{ "endpoint", LLE_OPT_STRING, 0, "completions or chat, for generation (default completions; chat with a chat template)" },
	{ "logprobs", LLE_OPT_STRING, 0, "how prompt log-probabilities are asked for: auto, echo, prompt_logprobs, none" },
	{ "tokenizer", LLE_OPT_STRING, 0, "where token counts come from: server (the only one)" },
	{ LLE_OPTION_LOGLIKELIHOOD_TASKS, LLE_OPT_LIST, LLE_OPT_HOST | LLE_OPT_NO_IDENTITY,
	  "the run's tasks that need prompt log-probabilities, named when the server has none" },
	{ NULL, 0, 0, NULL },
};

static struct lle_backend backend = {
	.abi_major = LLE_BACKEND_ABI_MAJOR,
	.abi_minor = LLE_BACKEND_ABI_MINOR,
	.size = sizeof(struct lle_backend),
	.name = "openai",
	.version = OA_VERSION,
	.description = "OpenAI-compatible servers (vLLM, SGLang, llama-server, Ollama): completions, chat, prompt log-probabilities",
	.probe = oa_probe,
	.open = oa_open,
	.wait_ready = oa_wait_ready,
	.submit = oa_submit,
	.count_tokens = oa_count_tokens,
	.close = oa_close,
	/* the server renders chat templates and may lack prompt log-probabilities */
	.caps = 0,
	.options = oa_options,
};

const struct lle_backend *lle_backend_entry(const struct lle_host *h, char *err, size_t len);
const struct lle_backend *lle_backend_entry(const struct lle_host *h, char *err, size_t len)
{
	if (!lle_host_compatible(h)) {
		snprintf(err, len, "openai plugin needs backend ABI %d.%d, the host has %u.%u", LLE_BACKEND_ABI_MAJOR,
			 LLE_BACKEND_ABI_MINOR, h->abi_major, h->abi_minor);
		return NULL;
	}
	static int inited;
	if (!inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			snprintf(err, len, "openai: libcurl could not be initialised");
			return NULL;
		}
		inited = 1;
	}
	H = h;
	return &backend;
}
