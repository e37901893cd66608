/* The Hugging Face Hub cache read without the network (see hub.h): where it
 * is, a repository's refs and snapshots, and which cached files a split
 * reads (hub_pick.c's rules over the snapshot's files). It is in the
 * executable (libc and libyaml only), so that `list datasets` can say
 * whether a split is cached without loading the engine; the engine's Hub
 * client (hub.c) resolves offline through the same functions, and adds the
 * blob checks and the fetching. Nothing here opens a data file or writes. */
#include "data/hub.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/buf.h"
#include "util/path.h"

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface
 * (huggingface_hub's constants.py). */
char *lle_hub_home(void)
{
	struct lle_buf b = LLE_BUF_INIT;
	if (env("HF_HOME"))
		lle_buf_adds(&b, env("HF_HOME"));
	else if (env("XDG_CACHE_HOME"))
		lle_buf_printf(&b, "%s/huggingface", env("XDG_CACHE_HOME"));
	else if (env("HOME"))
		lle_buf_printf(&b, "%s/.cache/huggingface", env("HOME"));
	else
		return NULL;
	if (b.oom) {
		lle_buf_free(&b);
		return NULL;
	}
	return lle_buf_detach(&b);
}

char *lle_hub_cache_dir(void)
{
	if (env("HF_HUB_CACHE"))
		return lle_strdup(env("HF_HUB_CACHE"));
	if (env("HUGGINGFACE_HUB_CACHE"))
		return lle_strdup(env("HUGGINGFACE_HUB_CACHE"));
	char *home = lle_hub_home();
	char *p = home ? lle_path_join(home, "hub") : NULL;
	free(home);
	return p;
}

char *lle_hub_repo_dir(const char *cache, const char *repo)
{
	struct lle_buf b = LLE_BUF_INIT;
	lle_buf_printf(&b, "%s/datasets--", cache);
	for (const char *p = repo; *p; p++)
		p[0] == '/' ? lle_buf_adds(&b, "--") : lle_buf_addc(&b, *p);
	return b.oom ? (lle_buf_free(&b), NULL) : lle_buf_detach(&b);
}

char *lle_hub_read_small(const char *path, size_t max)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct lle_buf b = LLE_BUF_INIT;
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0 && b.n <= max)
		lle_buf_add(&b, tmp, n);
	fclose(f);
	if (b.oom || b.n > max) {
		lle_buf_free(&b);
		return NULL;
	}
	while (b.n && strchr(" \t\r\n", b.p[b.n - 1]))
		b.n--;
	if (lle_buf_addc(&b, 0) < 0) {
		lle_buf_free(&b);
		return NULL;
	}
	return lle_buf_detach(&b);
}

static int is_commit(const char *s)
{
	for (size_t i = 0; i < 40; i++)
		if (!s[i] || !strchr("0123456789abcdef", s[i]))
			return 0;
	return s[40] == 0;
}

static char *join3(const char *a, const char *b, const char *c)
{
	struct lle_buf x = LLE_BUF_INIT;
	lle_buf_printf(&x, "%s/%s/%s", a, b, c);
	return x.oom ? (lle_buf_free(&x), NULL) : lle_buf_detach(&x);
}

int lle_hub_read_ref(const char *repo_dir, const char *rev, char commit[41])
{
	if (is_commit(rev)) {
		char *snap = join3(repo_dir, "snapshots", rev);
		struct stat st;
		int ok = snap && stat(snap, &st) == 0 && S_ISDIR(st.st_mode);
		free(snap);
		if (ok) {
			memcpy(commit, rev, 41);
			return 0;
		}
	}
	char *path = join3(repo_dir, "refs", rev);
	char *t = path ? lle_hub_read_small(path, 200) : NULL;
	free(path);
	int ok = t && is_commit(t);
	if (ok)
		memcpy(commit, t, 41);
	free(t);
	return ok ? 0 : -1;
}

struct strv {
	char **v;
	size_t n, cap;
};

static int strv_add(struct strv *s, const char *x)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		char **v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	if (!(s->v[s->n] = lle_strdup(x)))
		return -1;
	s->n++;
	return 0;
}

static void strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every file below a snapshot, as repository paths. */
static int walk(const char *root, const char *rel, struct strv *out)
{
	char *dir = rel[0] ? lle_path_join(root, rel) : lle_strdup(root);
	DIR *d = dir ? opendir(dir) : NULL;
	if (!d) {
		free(dir);
		return rel[0] ? 0 : -1;
	}
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *r = rel[0] ? lle_path_join(rel, e->d_name) : lle_strdup(e->d_name);
		char *full = r ? lle_path_join(root, r) : NULL;
		struct stat st;
		if (!r || !full)
			rc = -1;
		else if (lstat(full, &st) == 0 && S_ISDIR(st.st_mode))
			rc = walk(root, r, out);
		else
			rc = strv_add(out, r);
		free(r);
		free(full);
	}
	closedir(d);
	free(dir);
	return rc;
}

long lle_hub_pick_converted(const char *repo, char *const *files, size_t n, const char *config,
			    const char *split, size_t *idx, struct lle_err *err)
{
	const char *cf = config && *config ? config : "default";
	char pats[3][600];
	snprintf(pats[0], 600, "%s/%s/*.parquet", cf, split);
	snprintf(pats[1], 600, "%s/*-%s.parquet", cf, split);
	snprintf(pats[2], 600, "%s/*-%s-[0-9]*-of-*.parquet", cf, split);
	long k = 0;
	for (int p = 0; p < 3 && k == 0; p++)
		for (size_t i = 0; i < n; i++)
			if (lle_hub_match(pats[p], files[i]))
				idx[k++] = i;
	if (k)
		return k;
	/* say what there is: the configurations, or the configuration's splits */
	size_t cl = strlen(cf);
	int has_config = 0;
	for (size_t i = 0; i < n; i++)
		has_config |= strncmp(files[i], cf, cl) == 0 && files[i][cl] == '/';
	struct lle_buf have = LLE_BUF_INIT, pretty = LLE_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		const char *f = files[i];
		if (has_config) {
			if (strncmp(f, cf, cl) != 0 || f[cl] != '/')
				continue;
			f += cl + 1;
		}
		const char *sl = strchr(f, '/');
		if (!sl)
			continue;
		char one[300];
		snprintf(one, sizeof(one), "|%.*s|", (int)(sl - f), f);
		if (!strstr(lle_buf_str(&have), one)) {
			lle_buf_adds(&have, one);
			lle_buf_printf(&pretty, "%s%.*s", pretty.n ? ", " : "", (int)(sl - f), f);
		}
	}
	if (has_config)
		lle_err_set(err, LLE_EXIT_DATA, "dataset '%s' configuration '%s' has no split '%s' (it has: %s)",
			    repo, cf, split, lle_buf_str(&pretty));
	else
		lle_err_set(err, LLE_EXIT_DATA, "dataset '%s' has no configuration '%s' (it has: %s)", repo, cf,
			    lle_buf_str(&pretty));
	lle_buf_free(&have);
	lle_buf_free(&pretty);
	return -1;
}

static int cached(const char *repo_dir, const char *repo, const char *rev, const char *config,
		  const char *split, int converted, struct lle_hub_cached *out, struct lle_err *err)
{
	char commit[41];
	if (lle_hub_read_ref(repo_dir, rev, commit) < 0)
		return 0;
	char *snap = join3(repo_dir, "snapshots", commit);
	struct strv files = {0};
	size_t *idx = NULL;
	char *readme = NULL;
	int rc = -1;
	if (!snap || walk(snap, "", &files) < 0) {
		free(snap);
		return 0;
	}
	qsort(files.v, files.n, sizeof(*files.v), cmp_str);
	idx = calloc(files.n ? files.n : 1, sizeof(*idx));
	char *rp = lle_path_join(snap, "README.md");
	readme = rp ? lle_hub_read_small(rp, 4 << 20) : NULL;
	free(rp);
	if (!idx) {
		lle_err_oom(err);
		goto out;
	}
	long k;
	if (converted) {
		k = lle_hub_pick_converted(repo, files.v, files.n, config, split, idx, err);
	} else {
		int convert = 0;
		k = lle_hub_pick(repo, files.v, files.n, readme, config, split, idx, &convert, err);
		if (k >= 0 && convert) {
			rc = cached(repo_dir, repo, "refs/convert/parquet", config, split, 1, out, err);
			goto out;
		}
	}
	if (k <= 0) {
		rc = k < 0 ? -1 : 0;
		goto out;
	}
	out->files = calloc((size_t)k, sizeof(*out->files));
	if (!out->files) {
		lle_err_oom(err);
		goto out;
	}
	for (long i = 0; i < k; i++) {
		out->files[i] = files.v[idx[i]];
		files.v[idx[i]] = NULL;
		out->nfiles++;
	}
	memcpy(out->commit, commit, 41);
	out->converted = converted;
	rc = 1;
out:
	free(snap);
	free(idx);
	free(readme);
	strv_free(&files);
	return rc;
}

int lle_hub_cached(const char *repo_dir, const char *repo, const char *rev, const char *config, const char *split,
		   struct lle_hub_cached *out, struct lle_err *err)
{
	memset(out, 0, sizeof(*out));
	int rc = cached(repo_dir, repo, rev && *rev ? rev : "main", config, split, 0, out, err);
	if (rc <= 0)
		lle_hub_cached_free(out);
	return rc;
}

void lle_hub_cached_free(struct lle_hub_cached *c)
{
	for (size_t i = 0; c && i < c->nfiles; i++)
		free(c->files[i]);
	if (c) {
		free(c->files);
		memset(c, 0, sizeof(*c));
	}
}
