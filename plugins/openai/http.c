/* HTTP transport of the OpenAI backend (plugins/openai/): the growable
 * byte buffer answers are read into (with the max_response_mb limit), the
 * pool of easy handles that keep their connections, curl's set-up of one
 * call (headers, timeouts, Retry-After), blocking calls with retries and
 * jittered exponential backoff (used at wait_ready), and one-line
 * descriptions of a failed call or a server's error answer.
 *
 * Not here: the asynchronous transfers of a submission (submit.c), what a
 * successful answer means (answer.c). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "openai.h"

double oa_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void oa_sb_add(struct sbuf *b, const void *d, size_t n)
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

void oa_sb_free(struct sbuf *b)
{
	size_t max = b->max;
	free(b->p);
	memset(b, 0, sizeof(*b));
	b->max = max;
}

CURL *oa_handle_get(struct lle_model *m)
{
	if (m->npool > 0)
		return m->pool[--m->npool];
	return curl_easy_init();
}

void oa_handle_put(struct lle_model *m, CURL *h)
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
	oa_sb_add(b, d, sz * n);
	return b->oom || b->toolarge ? 0 : sz * n;
}

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
void oa_setup(struct lle_model *m, CURL *h, const char *url, const char *body, size_t blen,
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
void oa_server_message(const char *body, size_t n, char *out, size_t len)
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

void oa_call_blocking(struct lle_model *m, const char *url, const char *body, double timeout,
			  struct call *c)
{
	CURL *h = oa_handle_get(m);
	struct hdr_info hi = { -1 };
	memset(c, 0, sizeof(*c));
	c->retry_after = -1;
	c->resp.max = (size_t)m->max_response;
	if (!h) {
		c->cc = CURLE_OUT_OF_MEMORY;
		return;
	}
	oa_setup(m, h, url, body, body ? strlen(body) : 0, &c->resp, &hi, c->curl_err, timeout);
	c->cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
	c->retry_after = hi.retry_after;
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	oa_handle_put(m, h);
	m->n_http++;
}

/* The answer was larger than max_response_mb. */
int oa_too_large(const struct sbuf *b, CURLcode cc)
{
	return b->toolarge || cc == CURLE_FILESIZE_EXCEEDED;
}

void oa_describe_fail(const struct call *c, char *out, size_t len)
{
	if (oa_too_large(&c->resp, c->cc)) {
		snprintf(out, len, "the answer is larger than max_response_mb (%.0f bytes); it was not read",
			 (double)c->resp.max);
	} else if (c->cc != CURLE_OK) {
		snprintf(out, len, "%s", c->curl_err[0] ? c->curl_err : curl_easy_strerror(c->cc));
	} else {
		char msg[256];
		oa_server_message(c->resp.p, c->resp.n, msg, sizeof(msg));
		snprintf(out, len, "HTTP %ld: %s", c->status, msg);
	}
}

int oa_retryable(const struct call *c)
{
	if (oa_too_large(&c->resp, c->cc))
		return 0; /* the same question would get the same answer */
	return c->cc != CURLE_OK || c->status == 429 || c->status >= 500;
}

double oa_backoff_delay(struct lle_model *m, int attempt, double retry_after)
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
int oa_call_retry(struct lle_model *m, const char *url, const char *body, int need_json, struct call *c)
{
	for (int a = 0;; a++) {
		oa_call_blocking(m, url, body, m->timeout < 30 ? m->timeout : 30, c);
		int again = oa_retryable(c);
		if (!again && need_json && c->status == 200) {
			json_t *j = json_loadb(c->resp.p ? c->resp.p : "", c->resp.n, 0, NULL);
			again = j == NULL;
			json_decref(j);
		}
		if (!again || a >= m->max_retries || oa_host->interrupted(oa_host->user))
			return c->cc == CURLE_OK && !c->resp.toolarge ? 0 : -1;
		sleep_s(oa_backoff_delay(m, a, c->retry_after));
		oa_sb_free(&c->resp);
	}
}
