/* lle-mockhub: a stand-in for the Hugging Face Hub's HTTP API, as much of it
 * as llm-eval's Hub client uses (src/data/hub.c), on libmicrohttpd, bound to
 * 127.0.0.1 only, for tests:
 *
 *   GET  /api/datasets/ORG/NAME/revision/REV[?blobs=true]
 *        {"id", "sha", "siblings": [{"rfilename", "size", "blobId",
 *        "lfs": {"sha256", "size"}}]}; REV is "main", "refs/convert/parquet"
 *        or a commit
 *   GET  /datasets/ORG/NAME/resolve/REV/PATH
 *        a small file: 200 with ETag and X-Repo-Commit; an LFS file (any
 *        but README.md, *.py, *.md): 302 to the second port ("the CDN"),
 *        which serves it with Range (206, 416)
 *
 * The repositories are directories: ROOT/ORG/NAME/main/... is branch main,
 * ROOT/ORG/NAME/convert/... is refs/convert/parquet; a commit is the first
 * 40 hex digits of a sha256 over the branch's paths and contents, and a blob
 * id likewise over "blob SIZE\0CONTENT" (the mock's stand-in for git's). LFS
 * files are every file but README.md and the .py and .md files.
 *
 * Options: --root DIR (required), --gated ORG/NAME=TOKEN (401 without a
 * token, 403 with another), --fail N (the first N file requests answer 500),
 * --drop N:BYTES (the first N file bodies longer than BYTES stop there),
 * --corrupt N (the first N LFS file bodies have their first byte changed),
 * --delay-ms MS (before each file body), --log FILE (one line per request:
 * server, method, URL, range, whether an Authorization header came). Prints "port N" (the API
 * port) and runs until SIGTERM/SIGINT. Not installed. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/sha256.h"

static const char *root;
static const char *gated_repo, *gated_token;
static int fail_n, drop_n, corrupt_n, delay_ms;
static long drop_bytes;
static FILE *log_fp;
static unsigned cdn_port;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

struct file {
	char *path; /* in the branch */
	unsigned char *data;
	size_t n;
	char sha[65], blob[41];
	int lfs;
};
struct branch {
	struct file *f;
	size_t n;
	char commit[41];
};

static int take(int *counter)
{
	pthread_mutex_lock(&mu);
	int yes = *counter > 0;
	if (yes)
		(*counter)--;
	pthread_mutex_unlock(&mu);
	return yes;
}

static unsigned char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct lle_buf b = LLE_BUF_INIT;
	char tmp[65536];
	size_t k;
	while ((k = fread(tmp, 1, sizeof(tmp), f)) > 0)
		lle_buf_add(&b, tmp, k);
	fclose(f);
	*n = b.n;
	if (!b.p)
		return calloc(1, 1);
	return (unsigned char *)lle_buf_detach(&b);
}

static void walk(const char *base, const char *rel, struct branch *br)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s%s%s", base, *rel ? "/" : "", rel);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		char r[4096], full[8192];
		snprintf(r, sizeof(r), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		snprintf(full, sizeof(full), "%s/%s", base, r);
		struct stat st;
		if (stat(full, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			walk(base, r, br);
			continue;
		}
		struct file *nf = realloc(br->f, (br->n + 1) * sizeof(*nf));
		if (!nf)
			exit(70);
		br->f = nf;
		struct file *f = &br->f[br->n++];
		memset(f, 0, sizeof(*f));
		f->path = strdup(r);
		f->data = slurp(full, &f->n);
		if (!f->path || !f->data)
			exit(70);
		unsigned char d32[LLE_SHA256_LEN];
		lle_sha256(f->data, f->n, d32);
		lle_sha256_hex(d32, f->sha);
		struct lle_sha256 s;
		char hdr[64];
		int hl = snprintf(hdr, sizeof(hdr), "blob %zu", f->n);
		lle_sha256_init(&s);
		lle_sha256_update(&s, hdr, (size_t)hl + 1);
		lle_sha256_update(&s, f->data, f->n);
		lle_sha256_final(&s, d32);
		char hex[65];
		lle_sha256_hex(d32, hex);
		memcpy(f->blob, hex, 40);
		const char *dot = strrchr(r, '.');
		f->lfs = strcmp(e->d_name, "README.md") != 0 && !(dot && (!strcmp(dot, ".py") || !strcmp(dot, ".md")));
	}
	closedir(d);
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct file *)a)->path, ((const struct file *)b)->path);
}

static void branch_free(struct branch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->f[i].path);
		free(b->f[i].data);
	}
	free(b->f);
}

/* Load a branch ("main" or "convert") of ORG/NAME afresh (tests change the
 * files between requests). 0 when it does not exist. */
static int load_branch(const char *repo, const char *name, struct branch *b)
{
	memset(b, 0, sizeof(*b));
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/%s/%s", root, repo, name);
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	walk(dir, "", b);
	qsort(b->f, b->n, sizeof(*b->f), cmp_file);
	struct lle_sha256 s;
	lle_sha256_init(&s);
	for (size_t i = 0; i < b->n; i++) {
		lle_sha256_update(&s, b->f[i].path, strlen(b->f[i].path) + 1);
		lle_sha256_update(&s, b->f[i].sha, 64);
	}
	lle_sha256_update(&s, name, strlen(name));
	unsigned char d[LLE_SHA256_LEN];
	char hex[65];
	lle_sha256_final(&s, d);
	lle_sha256_hex(d, hex);
	memcpy(b->commit, hex, 40);
	return 1;
}

/* The branch a revision names: "main", "refs/convert/parquet", or a commit. */
static int find_branch(const char *repo, const char *rev, struct branch *b)
{
	static const char *const names[] = {"main", "convert"};
	for (int i = 0; i < 2; i++) {
		if (!load_branch(repo, names[i], b))
			continue;
		if ((i == 0 && !strcmp(rev, "main")) || (i == 1 && !strcmp(rev, "refs/convert/parquet")) ||
		    !strcmp(rev, b->commit))
			return 1;
		branch_free(b);
	}
	return 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *body,
			     const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
								MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	enum MHD_Result rc = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return rc;
}

struct body {
	unsigned char *data;
	size_t n;
	long drop_at; /* -1 never */
};

static ssize_t body_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct body *b = cls;
	if (pos == 0 && delay_ms) {
		struct timespec ts = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (b->drop_at >= 0 && (long)pos >= b->drop_at)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (pos >= b->n)
		return MHD_CONTENT_READER_END_OF_STREAM;
	size_t k = b->n - (size_t)pos;
	if (k > max)
		k = max;
	if (b->drop_at >= 0 && (long)(pos + k) > b->drop_at)
		k = (size_t)(b->drop_at - (long)pos);
	memcpy(buf, b->data + pos, k);
	return (ssize_t)k;
}

static void body_free(void *cls)
{
	struct body *b = cls;
	free(b->data);
	free(b);
}

/* A file's bytes, with Range and the injected faults. */
static enum MHD_Result serve_file(struct MHD_Connection *c, const struct file *f, const char *commit,
				  int head)
{
	if (take(&fail_n))
		return reply(c, 500, "{\"error\": \"injected failure\"}", "application/json");
	const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");
	size_t from = 0;
	if (range && strncmp(range, "bytes=", 6) == 0)
		from = (size_t)strtoull(range + 6, NULL, 10);
	if (from > 0 && from >= f->n) {
		struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		char cr[64];
		snprintf(cr, sizeof(cr), "bytes */%zu", f->n);
		MHD_add_response_header(r, "Content-Range", cr);
		enum MHD_Result rc = MHD_queue_response(c, 416, r);
		MHD_destroy_response(r);
		return rc;
	}
	struct body *b = calloc(1, sizeof(*b));
	if (!b || !(b->data = malloc(f->n - from + 1)))
		exit(70);
	b->n = f->n - from;
	memcpy(b->data, f->data + from, b->n);
	b->drop_at = -1;
	if (!head && f->lfs && b->n && take(&corrupt_n))
		b->data[0] ^= 0x5a;
	if (!head && (long)b->n > drop_bytes && take(&drop_n))
		b->drop_at = drop_bytes;
	struct MHD_Response *r = head ? MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT)
				      : MHD_create_response_from_callback(b->n, 65536, body_read, b, body_free);
	if (head)
		body_free(b);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "ETag", f->lfs ? f->sha : f->blob);
	MHD_add_response_header(r, "X-Repo-Commit", commit);
	MHD_add_response_header(r, "Accept-Ranges", "bytes");
	if (from) {
		char cr[96];
		snprintf(cr, sizeof(cr), "bytes %zu-%zu/%zu", from, f->n - 1, f->n);
		MHD_add_response_header(r, "Content-Range", cr);
	}
	enum MHD_Result rc = MHD_queue_response(c, from ? 206 : 200, r);
	MHD_destroy_response(r);
	return rc;
}

/* 1 allowed; else the 401/403 is queued in *rc. */
static int allowed(struct MHD_Connection *c, const char *repo, enum MHD_Result *rc)
{
	if (!gated_repo || strcmp(repo, gated_repo) != 0)
		return 1;
	const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	char want[512];
	snprintf(want, sizeof(want), "Bearer %s", gated_token);
	if (a && !strcmp(a, want))
		return 1;
	*rc = reply(c, a ? 403 : 401, a ? "{\"error\": \"access to this dataset is restricted\"}"
				      : "{\"error\": \"authentication required\"}", "application/json");
	return 0;
}

static enum MHD_Result api_info(struct MHD_Connection *c, const char *repo, const char *rev)
{
	struct branch b;
	if (!find_branch(repo, rev, &b))
		return reply(c, 404, "{\"error\": \"Repository not found\"}", "application/json");
	struct lle_buf o = LLE_BUF_INIT;
	lle_buf_adds(&o, "{\"id\": ");
	lle_buf_add_json_str(&o, repo);
	lle_buf_printf(&o, ", \"sha\": \"%s\", \"siblings\": [", b.commit);
	for (size_t i = 0; i < b.n; i++) {
		const struct file *f = &b.f[i];
		lle_buf_printf(&o, "%s{\"rfilename\": ", i ? ", " : "");
		lle_buf_add_json_str(&o, f->path);
		lle_buf_printf(&o, ", \"size\": %zu, \"blobId\": \"%s\"", f->n, f->blob);
		if (f->lfs)
			lle_buf_printf(&o, ", \"lfs\": {\"sha256\": \"%s\", \"size\": %zu, \"pointerSize\": 134}",
				       f->sha, f->n);
		lle_buf_adds(&o, "}");
	}
	lle_buf_adds(&o, "]}");
	enum MHD_Result rc = reply(c, 200, lle_buf_str(&o), "application/json");
	lle_buf_free(&o);
	branch_free(&b);
	return rc;
}

/* ORG/NAME at the start of s; the rest in *rest. */
static int split_repo(const char *s, char *repo, size_t cap, const char **rest)
{
	const char *a = strchr(s, '/');
	const char *b = a ? strchr(a + 1, '/') : NULL;
	if (!b || (size_t)(b - s) >= cap)
		return 0;
	snprintf(repo, cap, "%.*s", (int)(b - s), s);
	*rest = b + 1;
	return 1;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			       const char *version, const char *upload, size_t *upload_size, void **con)
{
	(void)version;
	(void)upload;
	(void)upload_size;
	static int first;
	if (!*con) {
		*con = &first;
		return MHD_YES;
	}
	int cdn = cls != NULL;
	int head = !strcmp(method, "HEAD");
	if (log_fp) {
		const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");
		const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
		pthread_mutex_lock(&mu);
		fprintf(log_fp, "%s %s %s range=%s auth=%s\n", cdn ? "cdn" : "api", method, url,
			range ? range : "-", auth ? "yes" : "no");
		fflush(log_fp);
		pthread_mutex_unlock(&mu);
	}
	char repo[512];
	const char *rest;
	enum MHD_Result rc = MHD_NO;
	if (cdn) {
		/* /cdn/ORG/NAME/COMMIT/PATH */
		if (strncmp(url, "/cdn/", 5) || !split_repo(url + 5, repo, sizeof(repo), &rest))
			return reply(c, 404, "not found", "text/plain");
		char commit[64];
		const char *sl = strchr(rest, '/');
		if (!sl || sl - rest >= 64)
			return reply(c, 404, "not found", "text/plain");
		snprintf(commit, sizeof(commit), "%.*s", (int)(sl - rest), rest);
		struct branch b;
		if (!find_branch(repo, commit, &b))
			return reply(c, 404, "not found", "text/plain");
		const struct file *f = NULL;
		for (size_t i = 0; i < b.n; i++)
			if (!strcmp(b.f[i].path, sl + 1))
				f = &b.f[i];
		rc = f ? serve_file(c, f, b.commit, head) : reply(c, 404, "not found", "text/plain");
		branch_free(&b);
		return rc;
	}
	if (!strncmp(url, "/api/datasets/", 14) && split_repo(url + 14, repo, sizeof(repo), &rest) &&
	    !strncmp(rest, "revision/", 9)) {
		if (!allowed(c, repo, &rc))
			return rc;
		return api_info(c, repo, rest + 9);
	}
	if (!strncmp(url, "/datasets/", 10) && split_repo(url + 10, repo, sizeof(repo), &rest) &&
	    !strncmp(rest, "resolve/", 8)) {
		if (!allowed(c, repo, &rc))
			return rc;
		const char *rv = rest + 8, *sl = strchr(rv, '/');
		char rev[128];
		if (!sl || sl - rv >= 128)
			return reply(c, 404, "{\"error\": \"Entry not found\"}", "application/json");
		snprintf(rev, sizeof(rev), "%.*s", (int)(sl - rv), rv);
		struct branch b;
		if (!find_branch(repo, rev, &b))
			return reply(c, 404, "{\"error\": \"Revision not found\"}", "application/json");
		const struct file *f = NULL;
		for (size_t i = 0; i < b.n; i++)
			if (!strcmp(b.f[i].path, sl + 1))
				f = &b.f[i];
		if (!f) {
			rc = reply(c, 404, "{\"error\": \"Entry not found\"}", "application/json");
		} else if (f->lfs) {
			char loc[4096];
			snprintf(loc, sizeof(loc), "http://127.0.0.1:%u/cdn/%s/%s/%s", cdn_port, repo, b.commit,
				 f->path);
			struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
			char size[32];
			snprintf(size, sizeof(size), "%zu", f->n);
			MHD_add_response_header(r, "Location", loc);
			MHD_add_response_header(r, "X-Repo-Commit", b.commit);
			MHD_add_response_header(r, "X-Linked-Etag", f->sha);
			MHD_add_response_header(r, "X-Linked-Size", size);
			MHD_add_response_header(r, "ETag", f->blob);
			rc = MHD_queue_response(c, 302, r);
			MHD_destroy_response(r);
		} else {
			rc = serve_file(c, f, b.commit, head);
		}
		branch_free(&b);
		return rc;
	}
	return reply(c, 404, "{\"error\": \"not found\"}", "application/json");
}

static struct MHD_Daemon *start(void *cls)
{
	struct sockaddr_in sa = {0};
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL,
				NULL, handler, cls, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
}

static unsigned port_of(struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	return di ? di->port : 0;
}

int main(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (!strcmp(k, "--root")) {
			root = v;
		} else if (!strcmp(k, "--gated")) {
			char *eq = strchr(v, '=');
			if (!eq)
				return 2;
			*eq = 0;
			gated_repo = v;
			gated_token = eq + 1;
		} else if (!strcmp(k, "--fail")) {
			fail_n = atoi(v);
		} else if (!strcmp(k, "--drop")) {
			drop_n = atoi(v);
			drop_bytes = strchr(v, ':') ? atol(strchr(v, ':') + 1) : 100;
		} else if (!strcmp(k, "--corrupt")) {
			corrupt_n = atoi(v);
		} else if (!strcmp(k, "--delay-ms")) {
			delay_ms = atoi(v);
		} else if (!strcmp(k, "--log")) {
			if (!(log_fp = fopen(v, "a")))
				return 1;
		} else {
			fprintf(stderr, "lle-mockhub: unknown option '%s'\n", k);
			return 2;
		}
	}
	if (!root) {
		fprintf(stderr, "usage: lle-mockhub --root DIR [--gated ORG/NAME=TOKEN] [--fail N] "
				"[--drop N:BYTES] [--corrupt N] [--delay-ms MS] [--log FILE]\n");
		return 2;
	}
	sigset_t ss;
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	pthread_sigmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);
	static int cdn_mark;
	struct MHD_Daemon *cdn = start(&cdn_mark);
	if (!cdn)
		return 1;
	cdn_port = port_of(cdn);
	struct MHD_Daemon *api = start(NULL);
	if (!api)
		return 1;
	printf("port %u\n", port_of(api));
	fflush(stdout);
	int sig;
	sigwait(&ss, &sig);
	MHD_stop_daemon(api);
	MHD_stop_daemon(cdn);
	return 0;
}
