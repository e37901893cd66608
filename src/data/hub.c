/* The Hub client: settings, fetching a split's files into the Hub cache
 * (see hub.h). Which files a split reads is hub_pick.c; reading the cache
 * without the network (paths, refs, snapshots) is hub_cache.c, in the
 * executable so that `list datasets` can; HTTP is hub_http.c. This file
 * does not parse dataset files. */
#include "data/hub.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/diag.h"
#include "util/file.h"
#include "util/path.h"
#include "util/sha256.h"

static pthread_mutex_t cfg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct lle_hub_cfg cfg;

void lle_hub_configure(const struct lle_hub_cfg *c)
{
	pthread_mutex_lock(&cfg_mu);
	cfg = *c;
	pthread_mutex_unlock(&cfg_mu);
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* Why the Hub is not asked, for messages: the variable, else --offline. */
static int env_offline(void)
{
	const char *v = env("HF_HUB_OFFLINE");
	return v && (strcmp(v, "1") == 0 || strcasecmp(v, "on") == 0 || strcasecmp(v, "yes") == 0 ||
		     strcasecmp(v, "true") == 0);
}

static const char *offline_why(void)
{
	return env_offline() ? "HF_HUB_OFFLINE is set" : "--offline is given";
}

int lle_hub_offline(void)
{
	pthread_mutex_lock(&cfg_mu);
	int off = cfg.offline;
	pthread_mutex_unlock(&cfg_mu);
	return off || env_offline();
}

/* $HF_TOKEN, else the token file. */
static char *token(void)
{
	if (env("HF_TOKEN"))
		return lle_strdup(env("HF_TOKEN"));
	if (env("HUGGING_FACE_HUB_TOKEN"))
		return lle_strdup(env("HUGGING_FACE_HUB_TOKEN"));
	char *path = env("HF_TOKEN_PATH") ? lle_strdup(env("HF_TOKEN_PATH")) : NULL;
	if (!path) {
		char *home = lle_hub_home();
		path = home ? lle_path_join(home, "token") : NULL;
		free(home);
	}
	char *t = path ? lle_hub_read_small(path, 4096) : NULL;
	free(path);
	if (t && !*t) {
		free(t);
		t = NULL;
	}
	return t;
}

struct ctx {
	const char *repo, *rev;
	char *cache, *repo_dir, *endpoint, *token, *lock_dir;
	int offline;
	lle_hub_progress_fn progress;
	void *progress_ctx;
};

static void ctx_free(struct ctx *c)
{
	free(c->cache);
	free(c->repo_dir);
	free(c->endpoint);
	free(c->token);
	free(c->lock_dir);
}

static int is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", s[i]) || !s[i])
			return 0;
	return s[n] == 0;
}

/* Percent-encoding of a URL path part; '/' kept when keep_slash. */
static int add_enc(struct lle_buf *b, const char *s, int keep_slash)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c) || (keep_slash && c == '/'))
			lle_buf_addc(b, (char)c);
		else
			lle_buf_printf(b, "%%%02X", c);
	}
	return b->oom ? -1 : 0;
}

static void note_progress(void *ctx, const char *name, long long done, long long total, double rate,
			  int finished)
{
	(void)ctx;
	(void)total;
	if (finished)
		lle_notef("hub: %s: %.1f MB at %.1f MB/s", name, (double)done / 1e6, rate / 1e6);
}

static int ctx_init(struct ctx *c, const char *repo, const char *rev, struct lle_err *err)
{
	memset(c, 0, sizeof(*c));
	c->repo = repo;
	c->rev = rev;
	c->offline = lle_hub_offline();
	pthread_mutex_lock(&cfg_mu);
	c->progress = cfg.progress ? cfg.progress : note_progress;
	c->progress_ctx = cfg.progress_ctx;
	pthread_mutex_unlock(&cfg_mu);
	if (!*repo || strstr(repo, "..") || repo[0] == '/' || strchr(repo, '\\'))
		return lle_err_set(err, LLE_EXIT_DATA, "'%s' is not a Hub dataset name", repo);
	c->cache = lle_hub_cache_dir();
	if (!c->cache)
		return lle_err_set(err, LLE_EXIT_DATA, "no Hub cache directory: set HF_HUB_CACHE or HF_HOME");
	struct lle_buf b = LLE_BUF_INIT;
	lle_buf_printf(&b, "%s/datasets--", c->cache);
	for (const char *p = repo; *p; p++)
		p[0] == '/' ? lle_buf_adds(&b, "--") : lle_buf_addc(&b, *p);
	c->repo_dir = lle_buf_detach(&b);
	lle_buf_printf(&b, "%s/.locks/%s", c->cache, c->repo_dir ? strrchr(c->repo_dir, '/') + 1 : "");
	c->lock_dir = lle_buf_detach(&b);
	const char *ep = env("HF_ENDPOINT") ? env("HF_ENDPOINT") : "https://huggingface.co";
	c->endpoint = lle_strdup(ep);
	if (c->endpoint)
		for (size_t n = strlen(c->endpoint); n && c->endpoint[n - 1] == '/'; n--)
			c->endpoint[n - 1] = 0;
	c->token = token();
	if (!c->repo_dir || !c->lock_dir || !c->endpoint)
		return lle_err_oom(err);
	return 0;
}

/* ---- refs and snapshots ------------------------------------------------------- */

static char *join3(const char *a, const char *b, const char *c)
{
	struct lle_buf x = LLE_BUF_INIT;
	lle_buf_printf(&x, "%s/%s/%s", a, b, c);
	return x.oom ? (lle_buf_free(&x), NULL) : lle_buf_detach(&x);
}

static int write_ref(const struct ctx *c, const char *rev, const char *commit, struct lle_err *err)
{
	if (strcmp(rev, commit) == 0)
		return 0;
	char *path = join3(c->repo_dir, "refs", rev);
	char *dir = path ? lle_path_dirname(path) : NULL;
	int rc = -1;
	if (!dir)
		lle_err_oom(err);
	else if (lle_mkdir_p(dir) < 0)
		lle_err_set(err, LLE_EXIT_IO, "cannot create '%s': %s", dir, strerror(errno));
	else
		rc = lle_write_file_atomic(path, commit, 40, err);
	free(dir);
	free(path);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- blobs ------------------------------------------------------------------------ */

static int sha256_file(const char *path, char hex[65])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* on the heap, not in TLS: the engine is a dlopened library, and a
	 * large thread-local block there crashes LeakSanitizer's tracer */
	enum { BUFSZ = 1 << 16 };
	unsigned char *buf = malloc(BUFSZ);
	if (!buf) {
		close(fd);
		return -1;
	}
	struct lle_sha256 s;
	lle_sha256_init(&s);
	ssize_t n;
	while ((n = read(fd, buf, BUFSZ)) > 0)
		lle_sha256_update(&s, buf, (size_t)n);
	free(buf);
	close(fd);
	if (n < 0)
		return -1;
	unsigned char d[LLE_SHA256_LEN];
	lle_sha256_final(&s, d);
	lle_sha256_hex(d, hex);
	return 0;
}

/* Whether a blob is whole: its size, and its sha256 when named by one. */
static int blob_ok(const char *blob, const char *etag, long long size)
{
	struct stat st;
	if (stat(blob, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if (size >= 0 && (long long)st.st_size != size)
		return 0;
	if (is_hex(etag, 64)) {
		char hex[65];
		if (sha256_file(blob, hex) < 0 || strcmp(hex, etag) != 0)
			return 0;
	}
	return 1;
}

/* snapshots/COMMIT/PATH -> ../../blobs/ETAG (one "../" more per directory). */
static int link_pointer(const struct ctx *c, const char *commit, const char *path, const char *etag,
			struct lle_err *err)
{
	struct lle_buf ptr = LLE_BUF_INIT, target = LLE_BUF_INIT, tmp = LLE_BUF_INIT;
	lle_buf_printf(&ptr, "%s/snapshots/%s/%s", c->repo_dir, commit, path);
	for (const char *p = path; (p = strchr(p, '/')); p++)
		lle_buf_adds(&target, "../");
	lle_buf_printf(&target, "../../blobs/%s", etag);
	lle_buf_printf(&tmp, "%s.lle-tmp.%ld", lle_buf_str(&ptr), (long)getpid());
	int rc = -1;
	char *dir = ptr.oom ? NULL : lle_path_dirname(lle_buf_str(&ptr));
	if (ptr.oom || target.oom || tmp.oom || !dir) {
		lle_err_oom(err);
	} else if (lle_mkdir_p(dir) < 0) {
		lle_err_set(err, LLE_EXIT_IO, "cannot create '%s': %s", dir, strerror(errno));
	} else {
		unlink(lle_buf_str(&tmp));
		if (symlink(lle_buf_str(&target), lle_buf_str(&tmp)) < 0 ||
		    rename(lle_buf_str(&tmp), lle_buf_str(&ptr)) < 0)
			lle_err_set(err, LLE_EXIT_IO, "cannot link '%s': %s", lle_buf_str(&ptr), strerror(errno));
		else
			rc = 0;
	}
	free(dir);
	lle_buf_free(&ptr);
	lle_buf_free(&target);
	lle_buf_free(&tmp);
	return rc;
}

static void auth_error(const struct ctx *c, long code, struct lle_err *err)
{
	if (code == 401 && !c->token)
		lle_err_set(err, LLE_EXIT_DATA, "dataset '%s' needs a Hugging Face token (HTTP 401: it is "
			    "gated or private): accept its terms at %s/datasets/%s, then set HF_TOKEN or "
			    "log in with `huggingface-cli login`", c->repo, c->endpoint, c->repo);
	else
		lle_err_set(err, LLE_EXIT_DATA, "dataset '%s': the Hub refused the token (HTTP %ld): request "
			    "access at %s/datasets/%s, or check HF_TOKEN or the token file", c->repo, code,
			    c->endpoint, c->repo);
}

/* One file of a commit into the cache (blob and snapshot link), under the
 * blob's lock; a whole blob already there is used as it is. */
static int fetch_file(const struct ctx *c, const char *commit, const char *path, const char *etag,
		      long long size, struct lle_err *err)
{
	if (!is_hex(etag, 40) && !is_hex(etag, 64))
		return lle_err_set(err, LLE_EXIT_DATA, "dataset '%s': '%s' has no usable id on the Hub",
				   c->repo, path);
	struct lle_buf blob = LLE_BUF_INIT, part = LLE_BUF_INIT, lock = LLE_BUF_INIT, url = LLE_BUF_INIT;
	lle_buf_printf(&blob, "%s/blobs/%s", c->repo_dir, etag);
	lle_buf_printf(&part, "%s/blobs/%s.incomplete", c->repo_dir, etag);
	lle_buf_printf(&lock, "%s/%s.lock", c->lock_dir, etag);
	lle_buf_printf(&url, "%s/datasets/%s/resolve/%s/", c->endpoint, c->repo, commit);
	add_enc(&url, path, 1);
	int rc = -1, fd = -1;
	char *bdir = NULL;
	if (blob.oom || part.oom || lock.oom || url.oom || !(bdir = lle_path_dirname(lle_buf_str(&blob)))) {
		lle_err_oom(err);
		goto out;
	}
	if (lle_mkdir_p(bdir) < 0 || lle_mkdir_p(c->lock_dir) < 0) {
		lle_err_set(err, LLE_EXIT_IO, "cannot create '%s': %s", bdir, strerror(errno));
		goto out;
	}
	fd = open(lle_buf_str(&lock), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		lle_err_set(err, LLE_EXIT_IO, "cannot lock '%s': %s", lle_buf_str(&lock), strerror(errno));
		goto out;
	}
	if (!blob_ok(lle_buf_str(&blob), etag, size)) {
		if (access(lle_buf_str(&blob), F_OK) == 0) {
			lle_warnf("hub: '%s' is damaged (size or sha256 differs); fetching it again",
				  lle_buf_str(&blob));
			unlink(lle_buf_str(&blob));
		}
		char name[600];
		snprintf(name, sizeof(name), "%s/%s", c->repo, path);
		struct hub_req r = { lle_buf_str(&url), c->token, name, c->progress, c->progress_ctx };
		for (int attempt = 0;; attempt++) {
			long code = 0;
			int st = lle_hub_http_download(&r, lle_buf_str(&part), size, &code, err);
			if (st == HUB_AUTH) {
				auth_error(c, code, err);
				goto out;
			}
			if (st == HUB_MISSING) {
				lle_err_set(err, LLE_EXIT_DATA, "dataset '%s': '%s' is not at commit %s (HTTP 404)",
					    c->repo, path, commit);
				goto out;
			}
			if (st == HUB_OK && blob_ok(lle_buf_str(&part), etag, size))
				break;
			/* a wrong size or sha256: the partial file is no use */
			unlink(lle_buf_str(&part));
			if (st == HUB_OK)
				lle_err_set(err, LLE_EXIT_DATA, "dataset '%s': '%s' arrived damaged (size or sha256 "
					    "differs from the Hub's)", c->repo, path);
			if (st == HUB_NET || attempt == 1)
				goto out;
		}
		if (rename(lle_buf_str(&part), lle_buf_str(&blob)) < 0) {
			lle_err_set(err, LLE_EXIT_IO, "cannot rename '%s': %s", lle_buf_str(&part), strerror(errno));
			goto out;
		}
	}
	rc = link_pointer(c, commit, path, etag, err);
out:
	if (fd >= 0)
		close(fd); /* releases the lock */
	free(bdir);
	lle_buf_free(&blob);
	lle_buf_free(&part);
	lle_buf_free(&lock);
	lle_buf_free(&url);
	return rc;
}

/* ---- resolution ------------------------------------------------------------------- */

/* The repository info at a revision: sha and siblings (with sizes, blob ids
 * and LFS sha256). Returns an enum hub_status; messages for the final ones. */
static int api_info(const struct ctx *c, const char *rev, json_t **info, struct lle_err *err)
{
	struct lle_buf url = LLE_BUF_INIT;
	lle_buf_printf(&url, "%s/api/datasets/%s/revision/", c->endpoint, c->repo);
	add_enc(&url, rev, 0);
	lle_buf_adds(&url, "?blobs=true");
	if (url.oom) {
		lle_buf_free(&url);
		lle_err_oom(err);
		return HUB_OTHER;
	}
	struct hub_req r = { lle_buf_str(&url), c->token, c->repo, NULL, NULL };
	long code = 0;
	int st = lle_hub_http_json(&r, info, &code, err);
	if (st == HUB_AUTH)
		auth_error(c, code, err);
	else if (st == HUB_MISSING)
		lle_err_set(err, LLE_EXIT_DATA, "dataset '%s' (revision '%s') is not on %s (HTTP 404; a "
			    "private or gated dataset also answers so without a token)", c->repo, rev, c->endpoint);
	else if (st == HUB_OK) {
		const char *sha = json_string_value(json_object_get(*info, "sha"));
		if (!sha || !is_hex(sha, 40) || !json_is_array(json_object_get(*info, "siblings"))) {
			json_decref(*info);
			*info = NULL;
			lle_err_set(err, LLE_EXIT_DATA, "%s: no commit or file list in the answer", url.p);
			st = HUB_OTHER;
		}
	}
	lle_buf_free(&url);
	return st;
}

/* A sibling's blob name (LFS sha256, else git blob id) and size. */
static const char *sib_etag(const json_t *s, long long *size)
{
	const json_t *lfs = json_object_get(s, "lfs");
	const char *sha = json_string_value(json_object_get(lfs, "sha256"));
	*size = json_is_integer(json_object_get(s, "size")) ? json_integer_value(json_object_get(s, "size")) : -1;
	if (sha)
		return sha;
	return json_string_value(json_object_get(s, "blobId"));
}

/* The files of a Parquet conversion for a configuration and split. */
static int add_out(struct lle_hub_split *out, const struct ctx *c, const char *commit, const char *path)
{
	struct lle_buf b = LLE_BUF_INIT;
	if (out->files)
		lle_buf_printf(&b, "%s\n", out->files);
	lle_buf_printf(&b, "%s/snapshots/%s/%s", c->repo_dir, commit, path);
	if (b.oom) {
		lle_buf_free(&b);
		return -1;
	}
	free(out->files);
	out->files = lle_buf_detach(&b);
	out->nfiles++;
	return 0;
}

/* Online: resolve at the Hub, fetch the README and the split's files. */
static int resolve_online(struct ctx *c, json_t *info, const char *config, const char *split,
			  struct lle_hub_split *out, struct lle_err *err)
{
	const char *commit = json_string_value(json_object_get(info, "sha"));
	json_t *sibs = json_object_get(info, "siblings");
	size_t n = json_array_size(sibs);
	char **files = calloc(n ? n : 1, sizeof(*files));
	size_t *idx = calloc(n ? n : 1, sizeof(*idx));
	json_t **byname = calloc(n ? n : 1, sizeof(*byname));
	char *readme = NULL;
	int rc = -1;
	if (!files || !idx || !byname) {
		lle_err_oom(err);
		goto out;
	}
	size_t nf = 0;
	for (size_t i = 0; i < n; i++) {
		const char *f = json_string_value(json_object_get(json_array_get(sibs, i), "rfilename"));
		if (f && !strstr(f, "..") && f[0] != '/')
			files[nf++] = (char *)f;
	}
	qsort(files, nf, sizeof(*files), cmp_str);
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(sibs, i);
		const char *f = json_string_value(json_object_get(s, "rfilename"));
		for (size_t j = 0; f && j < nf; j++)
			if (files[j] == f)
				byname[j] = s;
	}
	if (write_ref(c, c->rev, commit, err) < 0)
		goto out;
	for (size_t j = 0; j < nf; j++) {
		if (strcmp(files[j], "README.md") != 0)
			continue;
		long long size;
		const char *etag = sib_etag(byname[j], &size);
		if (fetch_file(c, commit, "README.md", etag ? etag : "", size, err) < 0)
			goto out;
		char *p = join3(c->repo_dir, "snapshots", commit);
		char *rp = p ? lle_path_join(p, "README.md") : NULL;
		readme = rp ? lle_hub_read_small(rp, 4 << 20) : NULL;
		free(p);
		free(rp);
	}
	int convert = 0;
	long k = lle_hub_pick(c->repo, files, nf, readme, config, split, idx, &convert, err);
	if (k < 0)
		goto out;
	if (convert) {
		json_t *cinfo = NULL;
		int st = api_info(c, "refs/convert/parquet", &cinfo, err);
		if (st != HUB_OK) {
			if (st == HUB_MISSING)
				lle_err_set(err, LLE_EXIT_DATA, "dataset '%s': no data files for split '%s' found the "
					    "way `datasets` looks, and the Hub has no Parquet conversion of it",
					    c->repo, split);
			goto out;
		}
		const char *saved = c->rev;
		c->rev = "refs/convert/parquet";
		out->converted = 1;
		free(files);
		free(idx);
		free(byname);
		free(readme);
		files = NULL;
		idx = NULL;
		byname = NULL;
		readme = NULL;
		rc = resolve_online(c, cinfo, config, split, out, err);
		c->rev = saved;
		json_decref(cinfo);
		return rc;
	}
	if (out->converted) {
		/* in the conversion's own layout */
		k = lle_hub_pick_converted(c->repo, files, nf, config, split, idx, err);
		if (k < 0)
			goto out;
	}
	if (k == 0) {
		lle_err_set(err, LLE_EXIT_DATA, "dataset '%s': no data files for split '%s'", c->repo, split);
		goto out;
	}
	for (long i = 0; i < k; i++) {
		long long size;
		const char *etag = sib_etag(byname[idx[i]], &size);
		if (fetch_file(c, commit, files[idx[i]], etag ? etag : "", size, err) < 0 ||
		    add_out(out, c, commit, files[idx[i]]) < 0) {
			if (!err || !err->code)
				lle_err_oom(err);
			goto out;
		}
	}
	memcpy(out->commit, commit, 41);
	rc = 0;
out:
	free(files);
	free(idx);
	free(byname);
	free(readme);
	return rc;
}

/* From the cache alone (offline, or the Hub unreachable): the files
 * lle_hub_cached picks, each blob named by a sha256 checked against it. 1
 * resolved, 0 not in the cache, -1 error (err set). */
static int resolve_cached(struct ctx *c, const char *rev, const char *config, const char *split,
			  struct lle_hub_split *out, struct lle_err *err)
{
	struct lle_hub_cached hc;
	int rc = lle_hub_cached(c->repo_dir, c->repo, rev, config, split, &hc, err);
	if (rc <= 0)
		return rc;
	for (size_t i = 0; i < hc.nfiles && rc > 0; i++) {
		char *p = join3(c->repo_dir, "snapshots", hc.commit);
		char *f = p ? lle_path_join(p, hc.files[i]) : NULL;
		free(p);
		char target[4096];
		ssize_t tl = f ? readlink(f, target, sizeof(target) - 1) : -1;
		if (!f) {
			rc = lle_err_oom(err);
		} else if (tl > 0) {
			target[tl] = 0;
			const char *etag = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
			if (is_hex(etag, 64) && !blob_ok(f, etag, -1))
				rc = lle_err_set(err, LLE_EXIT_DATA, "'%s' in the Hub cache is damaged (its sha256 "
						 "differs); run once with network to fetch it again", f);
		}
		free(f);
		if (rc > 0 && add_out(out, c, hc.commit, hc.files[i]) < 0)
			rc = lle_err_oom(err);
	}
	if (rc > 0) {
		memcpy(out->commit, hc.commit, 41);
		out->converted = hc.converted;
	}
	lle_hub_cached_free(&hc);
	return rc;
}

/* What this process resolved already: a run asks for a split when it plans,
 * and again for few-shot examples; the Hub is asked once. */
struct memo {
	char *key;
	struct lle_hub_split s;
	struct memo *next;
};
static struct memo *memos;
static pthread_mutex_t memo_mu = PTHREAD_MUTEX_INITIALIZER;

static char *memo_key(const char *repo, const char *config, const char *split, const char *rev)
{
	struct lle_buf b = LLE_BUF_INIT;
	lle_buf_printf(&b, "%s\n%s\n%s\n%s\n%d", repo, config ? config : "", split, rev, lle_hub_offline());
	return b.oom ? (lle_buf_free(&b), NULL) : lle_buf_detach(&b);
}

static int copy_split(struct lle_hub_split *to, const struct lle_hub_split *from)
{
	*to = *from;
	to->files = lle_strdup(from->files);
	to->repo_dir = lle_strdup(from->repo_dir);
	if (!to->files || !to->repo_dir) {
		free(to->files);
		free(to->repo_dir);
		memset(to, 0, sizeof(*to));
		return -1;
	}
	return 0;
}

static int resolve(const char *repo, const char *config, const char *split, const char *rev,
		   struct lle_hub_split *out, struct lle_err *err);

int lle_hub_split(const char *repo, const char *config, const char *split, const char *revision,
		  struct lle_hub_split *out, struct lle_err *err)
{
	const char *rev = revision && *revision ? revision : "main";
	char *key = memo_key(repo, config, split, rev);
	if (!key)
		return lle_err_oom(err);
	pthread_mutex_lock(&memo_mu);
	for (struct memo *m = memos; m; m = m->next)
		if (strcmp(m->key, key) == 0) {
			int rc = copy_split(out, &m->s);
			pthread_mutex_unlock(&memo_mu);
			free(key);
			return rc < 0 ? lle_err_oom(err) : 0;
		}
	pthread_mutex_unlock(&memo_mu);
	if (resolve(repo, config, split, rev, out, err) < 0) {
		free(key);
		return -1;
	}
	struct memo *m = calloc(1, sizeof(*m));
	if (m && copy_split(&m->s, out) == 0) {
		m->key = key;
		pthread_mutex_lock(&memo_mu);
		m->next = memos;
		memos = m;
		pthread_mutex_unlock(&memo_mu);
	} else {
		free(m);
		free(key);
	}
	return 0;
}

static int resolve(const char *repo, const char *config, const char *split, const char *rev,
		   struct lle_hub_split *out, struct lle_err *err)
{
	memset(out, 0, sizeof(*out));
	struct ctx c;
	int rc = -1;
	if (ctx_init(&c, repo, rev, err) < 0)
		goto out;
	char why[sizeof(((struct lle_err *)0)->msg)] = "";
	if (!c.offline) {
		json_t *info = NULL;
		int st = api_info(&c, rev, &info, err);
		if (st == HUB_OK) {
			rc = resolve_online(&c, info, config, split, out, err);
			json_decref(info);
			goto out;
		}
		if (st != HUB_NET)
			goto out;
		snprintf(why, sizeof(why), "%s", err ? err->msg : "");
	}
	struct lle_err cerr = {0};
	int r = resolve_cached(&c, rev, config, split, out, &cerr);
	if (r > 0) {
		if (!c.offline)
			lle_warnf("hub: %s unreachable (%s); using the Hub cache's copy of '%s'", c.endpoint,
				  why, repo);
		rc = 0;
	} else if (r < 0) {
		if (err)
			*err = cerr;
	} else if (c.offline) {
		lle_err_set(err, LLE_EXIT_DATA, "dataset '%s' (revision '%s', split '%s') is not in the Hub "
			    "cache at %s, and %s: run once with network to fetch it",
			    repo, rev, split, c.repo_dir, offline_why());
	} else {
		lle_err_set(err, LLE_EXIT_DATA, "cannot reach the Hub at %s (%s), and dataset '%s' "
			    "(revision '%s') is not in the Hub cache at %s", c.endpoint, why, repo, rev,
			    c.repo_dir);
	}
out:
	if (rc == 0 && !(out->repo_dir = lle_strdup(c.repo_dir)))
		rc = lle_err_oom(err);
	if (rc < 0) {
		free(out->files);
		out->files = NULL;
	}
	ctx_free(&c);
	return rc;
}

int lle_hub_path_commit(const char *path, char commit[41])
{
	const char *d = path ? strstr(path, "/datasets--") : NULL;
	const char *s = d ? strstr(d, "/snapshots/") : NULL;
	if (!s)
		return 0;
	s += strlen("/snapshots/");
	for (int i = 0; i < 40; i++)
		if (!s[i] || !strchr("0123456789abcdef", s[i]))
			return 0;
	if (s[40] != '/')
		return 0;
	memcpy(commit, s, 40);
	commit[40] = 0;
	return 1;
}

void lle_hub_split_free(struct lle_hub_split *s)
{
	if (!s)
		return;
	free(s->files);
	free(s->repo_dir);
	memset(s, 0, sizeof(*s));
}
