/* TEST PLUGIN: a tiny deterministic backend for the loader and engine tests.
 * It is not a model and its numbers mean nothing; they are only repeatable:
 *
 *   loglikelihood(c, x)        logprob = -(FNV-1a(c "\x1f" x) % 1000) / 100,
 *                              is_greedy = logprob > -1, n_tokens = bytes of x
 *   loglikelihood_rolling(t)   logprob = -0.5 per byte of t, n_tokens = bytes
 *   every request              n_prompt_tokens = bytes of c (and of x) (ABI 1.2)
 *   generate_until(c, ...)     the reply (option reply=TEXT, default
 *                              "The answer is 42.\n\nQuestion: next"), one token
 *                              per byte, cut at max_tokens and before the
 *                              first stop string
 *
 * Options: reply=TEXT, fail_load=MESSAGE (wait_ready and submit fail with it),
 * fail_id=N (request N fails with "test failure"), replies=FILE: scripted
 * generations, the file's entries separated by lines "%%"; the k-th
 * generate_until request of the model (in submission order: the engine sends
 * a chunk's documents in order, each document's repeats together) gets entry
 * k modulo their number (the code-task tests script pass/fail mixes so).
 * Slow on purpose, for the progress tests: load_delay_ms=N (the first
 * wait_ready sleeps N ms, reporting nothing), token_delay_ms=N (a generation
 * sleeps N ms per token and reports each through the host's `generated`,
 * ABI 1.2).
 * Built into
 * $(BUILD)/tests/plugins/testbackend.so; never installed. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llm-eval/backend.h"

static const struct lle_host *host;

struct lle_model {
	char reply[512];
	char fail_load[256];
	long long fail_id;
	char *script;       /* replies=FILE: the file, entries NUL-separated */
	const char **entries;
	size_t nentries, next;
	long load_delay_ms, token_delay_ms;
	int loaded;
};

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Read FILE and split it at lines "%%". */
static int load_script(struct lle_model *m, const char *path, char *err, size_t len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, len, "test backend: cannot open '%s'", path);
		return -1;
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	for (size_t k; buf && (k = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
		n += k;
		if (n + 1 == cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
			}
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	if (!buf) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	buf[n] = '\0';
	size_t count = 1;
	for (char *p = buf; (p = strstr(p, "\n%%\n")); p += 4)
		count++;
	m->entries = calloc(count, sizeof(*m->entries));
	if (!m->entries) {
		free(buf);
		snprintf(err, len, "out of memory");
		return -1;
	}
	char *p = buf;
	for (char *q; (q = strstr(p, "\n%%\n"));) {
		*q = '\0';
		m->entries[m->nentries++] = p;
		p = q + 4;
	}
	m->entries[m->nentries++] = p;
	m->script = buf;
	return 0;
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int t_probe(char *msg, size_t len)
{
	snprintf(msg, len, "test backend, no model needed");
	return 0;
}

static int t_open(const struct lle_open_params *p, struct lle_model **out, char *err, size_t len)
{
	if (!p->model || !*p->model) {
		snprintf(err, len, "test backend: no model name given");
		return -1;
	}
	struct lle_model *m = host->alloc(host->user, sizeof(*m));
	if (!m) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	memset(m, 0, sizeof(*m));
	snprintf(m->reply, sizeof(m->reply), "The answer is 42.\n\nQuestion: next");
	m->fail_id = -1;
	for (size_t i = 0; i < p->n_options; i++) {
		const char *o = p->options[i];
		if (strncmp(o, "reply=", 6) == 0)
			snprintf(m->reply, sizeof(m->reply), "%s", o + 6);
		else if (strncmp(o, "fail_load=", 10) == 0)
			snprintf(m->fail_load, sizeof(m->fail_load), "%s", o + 10);
		else if (strncmp(o, "load_delay_ms=", 14) == 0)
			m->load_delay_ms = atol(o + 14);
		else if (strncmp(o, "token_delay_ms=", 15) == 0)
			m->token_delay_ms = atol(o + 15);
		else if (strncmp(o, "fail_id=", 8) == 0)
			sscanf(o + 8, "%lld", &m->fail_id);
		else if (strncmp(o, "replies=", 8) == 0 && !m->script) {
			if (load_script(m, o + 8, err, len) < 0) {
				host->free(host->user, m);
				return -1;
			}
		} else {
			snprintf(err, len, "test backend: unknown option '%s'", o);
			host->free(host->user, m);
			return -1;
		}
	}
	*out = m;
	return 0;
}

static int t_wait(struct lle_model *m, char *err, size_t len)
{
	if (!m->loaded && m->load_delay_ms > 0)
		sleep_ms(m->load_delay_ms);
	m->loaded = 1;
	host->progress(host->user, "loading test model", 1, 1);
	if (m->fail_load[0]) {
		snprintf(err, len, "%s", m->fail_load);
		return -1;
	}
	return 0;
}

static int t_submit(struct lle_model *m, const struct lle_request *reqs, size_t n,
		    lle_complete_fn cb, void *user, char *err, size_t len)
{
	if (t_wait(m, err, len) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct lle_request *r = &reqs[i];
		struct lle_result res = { .size = sizeof(res), .id = r->id };
		char text[4096];
		if ((long long)r->id == m->fail_id) {
			res.status = LLE_STATUS_ERROR;
			res.error = "test failure";
		} else if (host->interrupted(host->user)) {
			res.status = LLE_STATUS_CANCELLED;
			res.error = "interrupted";
		} else if (r->kind == LLE_REQ_LOGLIKELIHOOD) {
			uint64_t h = fnv1a(fnv1a(0xcbf29ce484222325ULL, r->context), "\x1f");
			h = fnv1a(h, r->continuation ? r->continuation : "");
			res.logprob = -(double)(h % 1000) / 100.0;
			res.is_greedy = res.logprob > -1.0;
			res.n_tokens = (int32_t)strlen(r->continuation ? r->continuation : "");
		} else if (r->kind == LLE_REQ_LOGLIKELIHOOD_ROLLING) {
			res.n_tokens = (int32_t)strlen(r->context);
			res.logprob = -0.5 * res.n_tokens;
		} else if (r->kind == LLE_REQ_GENERATE_UNTIL) {
			size_t max = r->max_tokens > 0 ? (size_t)r->max_tokens : 256;
			const char *reply = m->script ? m->entries[m->next++ % m->nentries] : m->reply;
			size_t tl = strlen(reply);
			if (tl > max)
				tl = max;
			if (tl > sizeof(text) - 1)
				tl = sizeof(text) - 1;
			memcpy(text, reply, tl);
			text[tl] = '\0';
			for (size_t k = 0; k < r->n_until; k++) {
				char *hit = r->until[k][0] ? strstr(text, r->until[k]) : NULL;
				if (hit)
					*hit = '\0';
			}
			res.text = text;
			res.text_len = strlen(text);
			for (size_t k = 0; m->token_delay_ms > 0 && k < res.text_len; k++) {
				sleep_ms(m->token_delay_ms);
				if (LLE_HAS_FIELD(host, struct lle_host, generated))
					host->generated(host->user, r->id, 1);
			}
			res.n_tokens = (int32_t)res.text_len;
		} else {
			res.status = LLE_STATUS_ERROR;
			res.error = "unknown request kind";
		}
		res.n_prompt_tokens = (int64_t)strlen(r->context) +
				      (r->kind == LLE_REQ_LOGLIKELIHOOD && r->continuation ? (int64_t)strlen(r->continuation) : 0);
		cb(user, r, &res);
	}
	return 0;
}

static int64_t t_count(struct lle_model *m, const char *text, char *err, size_t len)
{
	(void)m, (void)err, (void)len;
	return (int64_t)strlen(text);
}

static void t_close(struct lle_model *m)
{
	free(m->script);
	free(m->entries);
	host->free(host->user, m);
}

/* The model's identity for the response cache (ABI 1.1): what the scripted
 * replies say, so that editing the replies file changes the cache key even
 * though the option (the file's name) does not. */
static int t_identity(struct lle_model *m, char *out, size_t len, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < m->nentries; i++)
		h = fnv1a(fnv1a(h, m->entries[i]), "\n%%\n");
	snprintf(out, len, "test backend replies %zu %016llx", m->nentries, (unsigned long long)h);
	return 0;
}

static const struct lle_backend backend = {
	.abi_major = LLE_BACKEND_ABI_MAJOR,
	.abi_minor = LLE_BACKEND_ABI_MINOR,
	.size = sizeof(struct lle_backend),
	.name = "testbackend",
	.version = "1.0",
	.description = "deterministic test backend (for tests only, not a model)",
	.probe = t_probe,
	.open = t_open,
	.wait_ready = t_wait,
	.submit = t_submit,
	.count_tokens = t_count,
	.close = t_close,
	.model_identity = t_identity,  /* no option table: options are not checked */
};

const struct lle_backend *lle_backend_entry(const struct lle_host *h, char *err, size_t len);
const struct lle_backend *lle_backend_entry(const struct lle_host *h, char *err, size_t len)
{
	if (h->abi_major != LLE_BACKEND_ABI_MAJOR) {
		snprintf(err, len, "built for backend ABI %d, the host has %u", LLE_BACKEND_ABI_MAJOR,
			 h->abi_major);
		return NULL;
	}
	host = h;
	return &backend;
}
