/* `llm-eval data pull|list|verify|rm`: the datasets of the Hugging Face Hub
 * cache (src/data/hub.h). `pull` resolves and fetches every split a task,
 * group or tag reads, as a run would (src/run/plan.c), for machines that run
 * offline later; `list` prints each cached dataset with its size and refs;
 * `verify` checks every blob named by a sha256 against it and every snapshot
 * link against its blob; `rm` removes datasets from the cache. Nothing here
 * fetches except `pull`. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "data/hub.h"
#include "registry/registry.h"
#include "run/run.h"
#include "util/buf.h"
#include "util/diag.h"
#include "util/path.h"
#include "util/sha256.h"

int lle_cmd_data(struct lle_ctx *ctx, int argc, char **argv);

/* ---- pull --------------------------------------------------------------- */

static void human(double bytes, char *out, size_t n)
{
	if (bytes >= 1e9)
		snprintf(out, n, "%.2f GB", bytes / 1e9);
	else if (bytes >= 1e6)
		snprintf(out, n, "%.1f MB", bytes / 1e6);
	else if (bytes >= 1e3)
		snprintf(out, n, "%.1f kB", bytes / 1e3);
	else
		snprintf(out, n, "%.0f B", bytes);
}

/* One line per file: redrawn while it arrives on a terminal, once at the end. */
static void show_progress(void *ctx, const char *name, long long done, long long total, double rate,
			  int finished)
{
	(void)ctx;
	int tty = isatty(2);
	if (!finished && !tty)
		return;
	char d[32], t[48] = "", r[32];
	human((double)done, d, sizeof(d));
	human(rate, r, sizeof(r));
	if (total > 0 && !finished) {
		char tt[32];
		human((double)total, tt, sizeof(tt));
		snprintf(t, sizeof(t), " of %s", tt);
	}
	fprintf(stderr, "%sfetch %s: %s%s at %s/s%s", tty ? "\r\033[K" : "", name, d, t, r,
		finished ? "\n" : "");
	fflush(stderr);
}

static void print_split(void *ctx, const char *task, const char *split, const char *path, long ndocs)
{
	(void)ctx;
	char commit[41];
	const char *nl = strchr(path, '\n');
	if (lle_hub_path_commit(path, commit))
		printf("%s: split '%s': %ld documents from the Hub cache, commit %.12s (%s%s)\n", task, split,
		       ndocs, commit, nl ? "several files, first " : "", nl ? "" : path);
	else
		printf("%s: split '%s': %ld documents in %.*s\n", task, split, ndocs,
		       (int)(nl ? nl - path : (long)strlen(path)), path);
	if (nl && lle_hub_path_commit(path, commit))
		printf("  %.*s\n", (int)(nl - path), path);
}

static int pull(struct lle_ctx *ctx, char **names, int n, const char *data_dir, int offline)
{
	int rc = 0;
	struct lle_registry *reg = lle_cli_registry(ctx, 1u << LLE_REG_TASKS, &rc);
	if (!reg)
		return rc;
	lle_cli_registry_warnings(reg);
	/* --offline: fetch nothing, only check that the cache has every split */
	struct lle_hub_cfg cfg = { offline, show_progress, NULL };
	lle_hub_configure(&cfg);
	int worst = 0;
	for (int i = 0; i < n; i++) {
		struct lle_err err = { 0 };
		if (lle_run_data_pull(reg, names[i], data_dir, print_split, NULL, &err) < 0) {
			lle_errorf("%s", err.msg);
			if (!worst)
				worst = err.code ? err.code : LLE_EXIT_DATA;
		}
	}
	lle_registry_free(reg);
	return worst;
}

/* ---- the cache -------------------------------------------------------------- */

/* "datasets--ORG--NAME" -> "ORG/NAME" (malloc()ed). */
static char *repo_of(const char *dir)
{
	struct lle_buf b = LLE_BUF_INIT;
	for (const char *p = dir + strlen("datasets--"); *p; p++) {
		if (p[0] == '-' && p[1] == '-') {
			lle_buf_addc(&b, '/');
			p++;
		} else {
			lle_buf_addc(&b, *p);
		}
	}
	return b.oom ? (lle_buf_free(&b), NULL) : lle_buf_detach(&b);
}

static char *dir_of(const char *repo)
{
	struct lle_buf b = LLE_BUF_INIT;
	lle_buf_adds(&b, "datasets--");
	for (const char *p = repo; *p; p++)
		*p == '/' ? lle_buf_adds(&b, "--") : lle_buf_addc(&b, *p);
	return b.oom ? (lle_buf_free(&b), NULL) : lle_buf_detach(&b);
}

static long long tree_bytes;
static int add_size(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)p;
	(void)f;
	if (flag == FTW_F)
		tree_bytes += (long long)st->st_size;
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	int r = flag == FTW_DP ? rmdir(p) : unlink(p);
	if (r < 0 && errno != ENOENT) {
		lle_errorf("cannot remove '%s': %s", p, strerror(errno));
		return -1;
	}
	return 0;
}

/* The refs of a cached dataset, "rev=commit12, ...". */
static void refs_of(const char *refdir, const char *rel, struct lle_buf *out)
{
	char *d = rel[0] ? lle_path_join(refdir, rel) : lle_strdup(refdir);
	DIR *dd = d ? opendir(d) : NULL;
	struct dirent *e;
	while (dd && (e = readdir(dd))) {
		if (e->d_name[0] == '.')
			continue;
		char *r = rel[0] ? lle_path_join(rel, e->d_name) : lle_strdup(e->d_name);
		char *full = r ? lle_path_join(refdir, r) : NULL;
		struct stat st;
		if (full && stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
			refs_of(refdir, r, out);
		} else if (full) {
			char commit[64] = "";
			FILE *f = fopen(full, "r");
			if (f) {
				if (!fgets(commit, sizeof(commit), f))
					commit[0] = 0;
				fclose(f);
			}
			lle_buf_printf(out, "%s%s=%.12s", out->n ? ", " : "", r, commit);
		}
		free(r);
		free(full);
	}
	if (dd)
		closedir(dd);
	free(d);
}

static int list(int json)
{
	char *cache = lle_hub_cache_dir();
	if (!cache) {
		lle_errorf("no Hub cache directory: set HF_HUB_CACHE or HF_HOME");
		return LLE_EXIT_DATA;
	}
	DIR *d = opendir(cache);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, "datasets--", 10) != 0)
			continue;
		char **v = realloc(names, (n + 1) * sizeof(*v));
		if (!v || !(v[n] = lle_strdup(e->d_name))) {
			free(v ? v : names);
			closedir(d);
			free(cache);
			lle_errorf("out of memory");
			return LLE_EXIT_INTERNAL;
		}
		names = v;
		n++;
	}
	if (d)
		closedir(d);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *t = names[j];
			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	if (json)
		printf("{\"cache\": ");
	else if (n == 0)
		printf("no datasets in the Hub cache at %s\n", cache);
	else
		printf("%-40s %10s  %s\n", "DATASET", "SIZE", "REFS");
	if (json) {
		struct lle_buf b = LLE_BUF_INIT;
		lle_buf_add_json_str(&b, cache);
		printf("%s, \"datasets\": [", lle_buf_str(&b));
		lle_buf_free(&b);
	}
	for (size_t i = 0; i < n; i++) {
		char *repo = repo_of(names[i]);
		char *dir = lle_path_join(cache, names[i]);
		char *blobs = dir ? lle_path_join(dir, "blobs") : NULL;
		char *refs = dir ? lle_path_join(dir, "refs") : NULL;
		tree_bytes = 0;
		if (blobs)
			nftw(blobs, add_size, 16, FTW_PHYS);
		struct lle_buf r = LLE_BUF_INIT;
		if (refs)
			refs_of(refs, "", &r);
		if (json) {
			struct lle_buf b = LLE_BUF_INIT;
			lle_buf_adds(&b, "{\"dataset\": ");
			lle_buf_add_json_str(&b, repo ? repo : "");
			lle_buf_printf(&b, ", \"bytes\": %lld, \"refs\": ", tree_bytes);
			lle_buf_add_json_str(&b, lle_buf_str(&r));
			lle_buf_adds(&b, "}");
			printf("%s%s", i ? ", " : "", lle_buf_str(&b));
			lle_buf_free(&b);
		} else {
			printf("%-40s %8.1f MB  %s\n", repo ? repo : names[i], (double)tree_bytes / 1e6,
			       r.n ? lle_buf_str(&r) : "-");
		}
		lle_buf_free(&r);
		free(repo);
		free(dir);
		free(blobs);
		free(refs);
		free(names[i]);
	}
	free(names);
	if (json)
		printf("]}\n");
	free(cache);
	return 0;
}

static int is_hex64(const char *s)
{
	size_t i = 0;
	for (; s[i]; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return 0;
	return i == 64;
}

/* Every sha256-named blob against its content, every snapshot link against
 * its target. Returns the number of problems (each printed). */
static long verify_repo(const char *dir, const char *repo, long *nblobs)
{
	long bad = 0;
	char *blobs = lle_path_join(dir, "blobs");
	DIR *d = blobs ? opendir(blobs) : NULL;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!is_hex64(e->d_name))
			continue;
		char *p = lle_path_join(blobs, e->d_name);
		FILE *f = p ? fopen(p, "rb") : NULL;
		if (!f) {
			free(p);
			continue;
		}
		struct lle_sha256 s;
		lle_sha256_init(&s);
		char buf[1 << 16];
		size_t k;
		while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
			lle_sha256_update(&s, buf, k);
		int rerr = ferror(f);
		fclose(f);
		unsigned char dg[LLE_SHA256_LEN];
		char hex[65];
		lle_sha256_final(&s, dg);
		lle_sha256_hex(dg, hex);
		(*nblobs)++;
		if (rerr || strcmp(hex, e->d_name) != 0) {
			printf("%s: damaged: %s (sha256 %s)\n", repo, p, rerr ? "unreadable" : hex);
			bad++;
		}
		free(p);
	}
	if (d)
		closedir(d);
	free(blobs);
	return bad;
}

static long dangling;
static const char *dangling_repo;
static int check_link(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	struct stat t;
	if (flag == FTW_SL && stat(p, &t) < 0) {
		printf("%s: %s points to a missing blob\n", dangling_repo, p);
		dangling++;
	}
	return 0;
}

static int verify(char **repos, int n)
{
	char *cache = lle_hub_cache_dir();
	if (!cache) {
		lle_errorf("no Hub cache directory: set HF_HUB_CACHE or HF_HOME");
		return LLE_EXIT_DATA;
	}
	long bad = 0, nblobs = 0, nrepos = 0;
	DIR *d = opendir(cache);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, "datasets--", 10) != 0)
			continue;
		char *repo = repo_of(e->d_name);
		int want = n == 0;
		for (int i = 0; i < n && repo; i++)
			want |= strcmp(repos[i], repo) == 0;
		if (want && repo) {
			char *dir = lle_path_join(cache, e->d_name);
			char *snaps = dir ? lle_path_join(dir, "snapshots") : NULL;
			if (dir)
				bad += verify_repo(dir, repo, &nblobs);
			dangling = 0;
			dangling_repo = repo;
			if (snaps)
				nftw(snaps, check_link, 16, FTW_PHYS);
			bad += dangling;
			nrepos++;
			free(dir);
			free(snaps);
		}
		free(repo);
	}
	if (d)
		closedir(d);
	printf("%ld dataset%s, %ld blob%s checked against their sha256: %s\n", nrepos, nrepos == 1 ? "" : "s",
	       nblobs, nblobs == 1 ? "" : "s", bad ? "problems above" : "all whole");
	free(cache);
	return bad ? LLE_EXIT_DATA : 0;
}

static int rm(char **repos, int n)
{
	char *cache = lle_hub_cache_dir();
	if (!cache) {
		lle_errorf("no Hub cache directory: set HF_HUB_CACHE or HF_HOME");
		return LLE_EXIT_DATA;
	}
	int rc = 0;
	for (int i = 0; i < n; i++) {
		char *name = dir_of(repos[i]);
		char *dir = name ? lle_path_join(cache, name) : NULL;
		struct lle_buf locks = LLE_BUF_INIT;
		lle_buf_printf(&locks, "%s/.locks/%s", cache, name ? name : "");
		struct stat st;
		if (!dir || strstr(repos[i], "..") || lstat(dir, &st) < 0) {
			lle_errorf("dataset '%s' is not in the Hub cache at %s", repos[i], cache);
			rc = LLE_EXIT_DATA;
		} else {
			tree_bytes = 0;
			nftw(dir, add_size, 16, FTW_PHYS);
			if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0) {
				rc = LLE_EXIT_IO;
			} else {
				nftw(lle_buf_str(&locks), rm_one, 16, FTW_DEPTH | FTW_PHYS);
				printf("removed %s (%.1f MB) from %s\n", repos[i], (double)tree_bytes / 1e6, cache);
			}
		}
		lle_buf_free(&locks);
		free(name);
		free(dir);
	}
	free(cache);
	return rc;
}

int lle_cmd_data(struct lle_ctx *ctx, int argc, char **argv)
{
	const struct lle_cmd *cmd = ctx->cmd;
	const char *verb = NULL, *data_dir = NULL;
	int json = 0, offline = 0;
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	int nargs = 0;
	if (!args)
		return LLE_EXIT_INTERNAL;
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "--offline") == 0) {
			offline = 1;
		} else if (strcmp(argv[i], "--data-dir") == 0) {
			if (i + 1 >= argc) {
				rc = lle_cmd_usage_error(cmd, "--data-dir needs a directory");
				goto out;
			}
			data_dir = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			rc = lle_cmd_unknown_option(cmd, argv[i]);
			goto out;
		} else if (!verb) {
			verb = argv[i];
		} else {
			args[nargs++] = argv[i];
		}
	}
	static const char *const verbs[] = { "pull", "list", "verify", "rm", NULL };
	if (!verb) {
		rc = lle_cmd_usage_error(cmd, "say what to do: pull, list, verify or rm");
	} else if (strcmp(verb, "pull") == 0) {
		if (nargs == 0)
			rc = lle_cmd_usage_error(cmd, "pull: name a task, group or tag");
		else
			rc = pull(ctx, args, nargs, data_dir, offline);
	} else if (strcmp(verb, "list") == 0) {
		rc = nargs ? lle_cmd_usage_error(cmd, "list: unexpected argument '%s'", args[0]) : list(json);
	} else if (strcmp(verb, "verify") == 0) {
		rc = verify(args, nargs);
	} else if (strcmp(verb, "rm") == 0) {
		rc = nargs ? rm(args, nargs) : lle_cmd_usage_error(cmd, "rm: name a dataset (ORG/NAME)");
	} else {
		rc = lle_cmd_unknown_word(cmd, "action", verb, verbs, "pull, list, verify or rm");
	}
out:
	free(args);
	return rc;
}
