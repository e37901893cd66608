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
 * legacy Ollama /api endpoints, streaming.
 *
 * This file is the plugin's glue: the ABI entry, `open` with its options
 * (docs/openai.md), count_tokens, close. The rest is split by concern
 * (openai.h lists the files): HTTP transport in http.c, start-up probes in
 * ready.c, request bodies in body.c, reading answers in answer.c, the
 * asynchronous engine in submit.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "openai.h"

const struct lle_host *oa_host;

void oa_log(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	oa_host->log(oa_host->user, level, msg);
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
	int endpoint_completions = 0;
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
				m->chat = 0, endpoint_completions = 1;
			else
				bad = 1;
		} else if (KEY("continue_final_message")) {
			bad = strcmp(v, "0") != 0 && strcmp(v, "1") != 0;
			m->continue_final = strcmp(v, "1") == 0;
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
				 "logprobs, tokenizer, max_response_mb, retry_after_max, continue_final_message)", (int)(kl > 100 ? 100 : kl), o);
			goto fail;
		}
#undef KEY
		if (bad) {
			/* the value is not repeated: it could be a secret put in the wrong key */
			snprintf(err, len, "openai: option '%.*s' has a bad value", (int)(kl > 100 ? 100 : kl), o);
			goto fail;
		}
	}
	if (p->apply_chat_template && endpoint_completions) {
		/* the host renders a Jinja template it has and then asks for no
		 * chat; here it has none, and the completions endpoint would get
		 * the bare prompt */
		snprintf(err, len, "openai: endpoint=completions with a chat template needs the template's jinja text "
			 "(--apply-chat-template=FILE or the registry's chat_template), which llm-eval renders; "
			 "or use endpoint=chat, where the server renders its own");
		goto fail;
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

static int64_t oa_count_tokens(struct lle_model *m, const char *text, char *err, size_t len)
{
	if (oa_wait_ready(m, err, len) < 0)
		return -1;
	struct replica *r = oa_pick(m);
	if (!r) {
		snprintf(err, len, "no server answers");
		return -1;
	}
	int32_t *t = NULL;
	int n = 0;
	if (oa_tokenize_blocking(m, r, text, 0, &t, &n, err, len) < 0)
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
	{ "continue_final_message", LLE_OPT_INT, 0,
	  "1: a chat ending in an assistant turn (gen_prefix) also sends continue_final_message (vllm, sglang); default 0, as the harness" },
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
	/* the server renders chat templates, from the host's messages (endpoint
	 * chat), and may lack prompt log-probabilities */
	.caps = LLE_CAP_CHAT_MESSAGES,
	.options = oa_options,
};

/* The one exported name (the objects are built with -fvisibility=hidden). */
__attribute__((visibility("default")))
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
	oa_host = h;
	return &backend;
}
