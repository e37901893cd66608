/* HTTP for the Hub client on libcurl, dlopened on first use: see hub_http.h.
 *
 * The prototypes and constants are libcurl's own header (curl/curl.h); the
 * functions are looked up in libcurl.so.4 by name, so the engine does not
 * link libcurl. Retries: a connection that cannot be made is tried twice; a
 * drop, a timeout, 429 or a 5xx up to five times; waits double from
 * LLM_EVAL_HUB_BACKOFF_MS (default 1000 ms; tests make it short). This file
 * does not know the Hub's URLs (hub.c). */
#include "data/hub_http.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"

static struct {
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_easy_init) *init;
	__typeof__(curl_easy_setopt) *setopt;
	__typeof__(curl_easy_perform) *perform;
	__typeof__(curl_easy_getinfo) *getinfo;
	__typeof__(curl_easy_cleanup) *cleanup;
	__typeof__(curl_easy_strerror) *strerror_;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
} cu;
static pthread_mutex_t cu_mu = PTHREAD_MUTEX_INITIALIZER;
static int cu_state; /* 1 loaded, -1 failed */

static int cu_load(struct lle_err *err)
{
	pthread_mutex_lock(&cu_mu);
	if (cu_state == 0) {
		void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
		cu_state = -1;
		if (h) {
			*(void **)&cu.global_init = dlsym(h, "curl_global_init");
			*(void **)&cu.init = dlsym(h, "curl_easy_init");
			*(void **)&cu.setopt = dlsym(h, "curl_easy_setopt");
			*(void **)&cu.perform = dlsym(h, "curl_easy_perform");
			*(void **)&cu.getinfo = dlsym(h, "curl_easy_getinfo");
			*(void **)&cu.cleanup = dlsym(h, "curl_easy_cleanup");
			*(void **)&cu.strerror_ = dlsym(h, "curl_easy_strerror");
			*(void **)&cu.slist_append = dlsym(h, "curl_slist_append");
			*(void **)&cu.slist_free_all = dlsym(h, "curl_slist_free_all");
			if (cu.global_init && cu.init && cu.setopt && cu.perform && cu.getinfo &&
			    cu.cleanup && cu.strerror_ && cu.slist_append && cu.slist_free_all &&
			    cu.global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
				cu_state = 1;
		}
	}
	int st = cu_state;
	pthread_mutex_unlock(&cu_mu);
	if (st < 0)
		return lle_err_set(err, LLE_EXIT_DATA, "fetching from the Hugging Face Hub needs libcurl "
				   "(libcurl.so.4), which cannot be loaded");
	return 0;
}

static long backoff_ms(void)
{
	const char *e = getenv("LLM_EVAL_HUB_BACKOFF_MS");
	long v = e && *e ? atol(e) : 1000;
	return v >= 0 ? v : 1000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* What a failed attempt means: 2 connection refused or unresolved (tried
 * twice), 1 worth another try (drop, timeout, 429, 5xx), 0 final. */
static int retry_class(CURLcode rc, long code)
{
	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
	    rc == CURLE_COULDNT_RESOLVE_PROXY)
		return 2;
	if (rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
	    rc == CURLE_GOT_NOTHING || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_HTTP2 ||
	    rc == CURLE_HTTP2_STREAM)
		return 1;
	if (rc == CURLE_OK && (code == 429 || code >= 500))
		return 1;
	return 0;
}

struct xfer {
	const struct hub_req *r;
	int fd;                 /* download target, or -1 */
	struct lle_buf body;    /* JSON body */
	long long base, got;    /* bytes in the file before this attempt, bytes since */
	long long total;
	int write_failed, ok_body;
	long code;
	struct timespec t0, last;
};

static double secs_since(const struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = sz * n;
	if (!x->ok_body)
		return len; /* an error page: not part of the file */
	if (x->fd < 0) {
		if (x->body.n + len > (64u << 20))
			return 0; /* an API answer this large is not one */
		return lle_buf_add(&x->body, p, len) < 0 ? 0 : len;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(x->fd, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			x->write_failed = errno ? errno : EIO;
			return 0;
		}
		off += (size_t)w;
	}
	x->got += (long long)len;
	if (x->r->progress && secs_since(&x->last) >= 0.2) {
		clock_gettime(CLOCK_MONOTONIC, &x->last);
		double s = secs_since(&x->t0);
		x->r->progress(x->r->progress_ctx, x->r->name, x->base + x->got, x->total,
			       s > 0 ? (double)x->got / s : 0, 0);
	}
	return len;
}

/* The status line of the final response decides whether its body is data. */
static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = sz * n;
	if (len > 9 && strncmp(p, "HTTP/", 5) == 0) {
		const char *sp = memchr(p, ' ', len);
		long code = sp ? strtol(sp + 1, NULL, 10) : 0;
		x->code = code;
		x->ok_body = code == 200 || code == 206;
		if (code == 200 && x->fd >= 0 && x->base > 0) {
			/* the server ignored the Range: start the file again */
			if (ftruncate(x->fd, 0) < 0 || lseek(x->fd, 0, SEEK_SET) < 0)
				x->write_failed = errno;
			x->base = 0;
		}
	} else if (len > 15 && strncasecmp(p, "Content-Length:", 15) == 0 && x->ok_body) {
		long long cl = strtoll(p + 15, NULL, 10);
		if (cl >= 0 && x->total < 0)
			x->total = x->base + cl;
	}
	return len;
}

/* One request, retried as retry_class says. */
static int request(struct xfer *x, long *http_code, struct lle_err *err)
{
	if (cu_load(err) < 0)
		return HUB_OTHER;
	const struct hub_req *r = x->r;
	struct curl_slist *hdrs = NULL;
	struct lle_buf auth = LLE_BUF_INIT;
	if (r->token && *r->token) {
		lle_buf_printf(&auth, "Authorization: Bearer %s", r->token);
		if (auth.oom || !(hdrs = cu.slist_append(NULL, lle_buf_str(&auth)))) {
			lle_buf_free(&auth);
			lle_err_oom(err);
			return HUB_OTHER;
		}
	}
	lle_buf_free(&auth);
	struct curl_slist *h2 = cu.slist_append(hdrs, "User-Agent: llm-eval");
	if (!h2) {
		cu.slist_free_all(hdrs);
		lle_err_oom(err);
		return HUB_OTHER;
	}
	hdrs = h2;
	long wait = backoff_ms();
	int status = HUB_OTHER;
	char ebuf[CURL_ERROR_SIZE];
	for (int attempt = 1;; attempt++) {
		CURL *c = cu.init();
		if (!c) {
			lle_err_oom(err);
			break;
		}
		x->code = 0;
		x->ok_body = 0;
		x->got = 0;
		x->total = -1;
		lle_buf_reset(&x->body);
		char range[48];
		if (x->fd >= 0) {
			struct stat st;
			x->base = fstat(x->fd, &st) == 0 ? (long long)st.st_size : 0;
			if (lseek(x->fd, 0, SEEK_END) < 0)
				x->base = 0;
			if (x->base > 0) {
				snprintf(range, sizeof(range), "%lld-", x->base);
				cu.setopt(c, CURLOPT_RANGE, range);
			}
		}
		ebuf[0] = 0;
		cu.setopt(c, CURLOPT_URL, r->url);
		cu.setopt(c, CURLOPT_HTTPHEADER, hdrs);
		cu.setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
		cu.setopt(c, CURLOPT_MAXREDIRS, 10L);
		cu.setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
		cu.setopt(c, CURLOPT_NOSIGNAL, 1L);
		cu.setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
		cu.setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		cu.setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
		cu.setopt(c, CURLOPT_ERRORBUFFER, ebuf);
		cu.setopt(c, CURLOPT_WRITEFUNCTION, on_data);
		cu.setopt(c, CURLOPT_WRITEDATA, x);
		cu.setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		cu.setopt(c, CURLOPT_HEADERDATA, x);
		clock_gettime(CLOCK_MONOTONIC, &x->t0);
		x->last = x->t0;
		CURLcode rc = cu.perform(c);
		long code = 0;
		cu.getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		cu.cleanup(c);
		*http_code = code;
		if (x->write_failed) {
			lle_err_set(err, LLE_EXIT_IO, "%s: cannot write: %s", r->name, strerror(x->write_failed));
			break;
		}
		if (x->fd >= 0 && code == 416 && x->base > 0) {
			status = HUB_OK; /* asked for bytes past the end: the file is whole */
			break;
		}
		if (rc == CURLE_OK && (code == 200 || code == 206)) {
			if (r->progress)
				r->progress(r->progress_ctx, r->name, x->base + x->got, x->total,
					    secs_since(&x->t0) > 0 ? (double)x->got / secs_since(&x->t0) : 0, 1);
			status = HUB_OK;
			break;
		}
		int cls = retry_class(rc, code);
		int max = cls == 2 ? 2 : cls == 1 ? 5 : 0;
		if (attempt >= max) {
			if (rc != CURLE_OK) {
				lle_err_set(err, LLE_EXIT_DATA, "%s: %s", r->url,
					    ebuf[0] ? ebuf : cu.strerror_(rc));
				status = cls ? HUB_NET : HUB_OTHER;
			} else if (code == 401 || code == 403) {
				status = HUB_AUTH;
			} else if (code == 404) {
				status = HUB_MISSING;
			} else {
				lle_err_set(err, LLE_EXIT_DATA, "%s: HTTP %ld", r->url, code);
				status = HUB_OTHER;
			}
			break;
		}
		sleep_ms(wait);
		wait *= 2;
	}
	cu.slist_free_all(hdrs);
	return status;
}

int lle_hub_http_json(const struct hub_req *r, json_t **out, long *http_code, struct lle_err *err)
{
	struct xfer x = { .r = r, .fd = -1, .body = LLE_BUF_INIT };
	*out = NULL;
	*http_code = 0;
	int st = request(&x, http_code, err);
	if (st == HUB_OK) {
		json_error_t je;
		*out = json_loadb(x.body.p ? x.body.p : "", x.body.n, 0, &je);
		if (!*out) {
			lle_err_set(err, LLE_EXIT_DATA, "%s: the answer is not JSON: %s", r->url, je.text);
			st = HUB_OTHER;
		}
	}
	lle_buf_free(&x.body);
	return st;
}

int lle_hub_http_download(const struct hub_req *r, const char *path, long long expect_size,
			  long *http_code, struct lle_err *err)
{
	*http_code = 0;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		lle_err_set(err, LLE_EXIT_IO, "cannot write '%s': %s", path, strerror(errno));
		return HUB_OTHER;
	}
	struct xfer x = { .r = r, .fd = fd, .body = LLE_BUF_INIT };
	int st = request(&x, http_code, err);
	struct stat sb;
	if (st == HUB_OK && fsync(fd) < 0) {
		lle_err_set(err, LLE_EXIT_IO, "cannot write '%s': %s", path, strerror(errno));
		st = HUB_OTHER;
	}
	if (st == HUB_OK && expect_size >= 0 && fstat(fd, &sb) == 0 && (long long)sb.st_size != expect_size) {
		lle_err_set(err, LLE_EXIT_DATA, "%s: %lld bytes arrived, the Hub said %lld", r->name,
			    (long long)sb.st_size, expect_size);
		st = HUB_OTHER;
	}
	if (close(fd) < 0 && st == HUB_OK) {
		lle_err_set(err, LLE_EXIT_IO, "cannot write '%s': %s", path, strerror(errno));
		st = HUB_OTHER;
	}
	lle_buf_free(&x.body);
	return st;
}
