/* `llm-eval cache stats|clear|path`: look at or empty the response cache
 * (src/store/cache.c). `stats` opens the file read-only and never creates it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "cli/engine/store_cli.h"
#include "store/cache.h"
#include "util/buf.h"
#include "util/diag.h"

int lle_cmd_cache(struct lle_ctx *ctx, int argc, char **argv);

struct jl {
	int json, n;
};

static int print_journal(void *arg, const char *name, long long total, long long done, long long created)
{
	struct jl *j = arg;
	if (j->json) {
		struct lle_buf b = LLE_BUF_INIT;
		lle_buf_add_json_str(&b, name);
		printf("%s\n    {\"name\": %s, \"total\": %lld, \"done\": %lld, \"created\": %lld}", j->n ? "," : "",
		       lle_buf_str(&b), total, done, created);
		lle_buf_free(&b);
	} else {
		if (j->n == 0)
			printf("runs:\n");
		printf("  %-40s %lld/%lld done%s\n", name, done, total, done == total ? "" : " (resumable)");
	}
	j->n++;
	return 0;
}

static void fmt_time(long long t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0 || !gmtime_r(&tt, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, n, "-");
}

int lle_cmd_cache(struct lle_ctx *ctx, int argc, char **argv)
{
	const struct lle_cmd *cmd = ctx->cmd;
	const char *path = NULL, *verb = NULL;
	int json = 0;
	for (int i = 1; i < argc; i++) {
		int r = lle_store_cli_opt(cmd, argc, argv, &i, "--cache", &path);
		if (r < 0)
			return LLE_EXIT_USAGE;
		if (r)
			continue;
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (argv[i][0] == '-' && argv[i][1])
			return lle_cmd_unknown_option(cmd, argv[i]);
		else if (!verb)
			verb = argv[i];
		else
			return lle_cmd_usage_error(cmd, "unexpected argument '%s'", argv[i]);
	}
	if (!verb)
		return lle_cmd_usage_error(cmd, "say what to do: stats, clear or path");
	static const char *const actions[] = { "stats", "clear", "path", NULL };
	if (strcmp(verb, "stats") && strcmp(verb, "clear") && strcmp(verb, "path"))
		return lle_cmd_unknown_word(cmd, "action", verb, actions, "stats, clear or path");
	struct lle_err err = { 0 };
	char *def = NULL;
	if (!path && !(path = def = lle_cache_default_path(&err))) {
		lle_errorf("%s", err.msg);
		return err.code;
	}
	int rc = LLE_EXIT_OK;
	if (strcmp(verb, "path") == 0) {
		printf("%s\n", path);
		goto out;
	}
	if (access(path, F_OK) != 0) {
		if (strcmp(verb, "clear") == 0)
			printf("no cache at '%s': nothing to clear\n", path);
		else if (json) {
			struct lle_buf b = LLE_BUF_INIT;
			lle_buf_add_json_str(&b, path);
			printf("{\"path\": %s, \"exists\": false, \"entries\": 0}\n", lle_buf_str(&b));
			lle_buf_free(&b);
		}
		else
			printf("no cache at '%s' yet\n", path);
		goto out;
	}
	int is_clear = strcmp(verb, "clear") == 0;
	struct lle_cache_opts o = { .readonly = !is_clear };
	struct lle_cache *c = lle_cache_open(path, &o, &err);
	if (!c) {
		lle_errorf("%s", err.msg);
		rc = err.code;
		goto out;
	}
	if (is_clear) {
		long long removed;
		if (lle_cache_clear(c, &removed, &err) < 0) {
			lle_errorf("%s", err.msg);
			rc = err.code;
		} else {
			printf("removed %lld cached response%s from '%s'\n", removed, removed == 1 ? "" : "s", path);
		}
		lle_cache_close(c);
		goto out;
	}
	struct lle_cache_stats st;
	if (lle_cache_stats(c, &st, &err) < 0) {
		lle_errorf("%s", err.msg);
		rc = err.code;
		lle_cache_close(c);
		goto out;
	}
	char oldest[32], newest[32];
	fmt_time(st.oldest, oldest, sizeof(oldest));
	fmt_time(st.newest, newest, sizeof(newest));
	struct jl j = { json, 0 };
	if (json) {
		struct lle_buf b = LLE_BUF_INIT;
		lle_buf_add_json_str(&b, path);
		printf("{\"path\": %s, \"exists\": true, \"entries\": %lld, \"loglikelihood\": %lld, "
		       "\"loglikelihood_rolling\": %lld, \"generate_until\": %lld, \"text_bytes\": %lld, "
		       "\"file_bytes\": %lld, \"oldest\": \"%s\", \"newest\": \"%s\", \"runs\": [",
		       lle_buf_str(&b), st.entries, st.n_loglikelihood, st.n_rolling, st.n_generate, st.text_bytes,
		       st.file_bytes, oldest, newest);
		lle_buf_free(&b);
	} else {
		printf("cache      %s\n", path);
		printf("responses  %lld (loglikelihood %lld, rolling %lld, generate_until %lld)\n", st.entries,
		       st.n_loglikelihood, st.n_rolling, st.n_generate);
		printf("size       %.1f MiB on disk, %.1f MiB of generated text\n", st.file_bytes / 1048576.0,
		       st.text_bytes / 1048576.0);
		printf("written    %s .. %s\n", oldest, newest);
	}
	if (lle_journal_each(c, print_journal, &j, &err) < 0) {
		lle_errorf("%s", err.msg);
		rc = err.code;
	}
	if (json)
		printf("%s]}\n", j.n ? "\n  " : "");
	lle_cache_close(c);
out:
	free(def);
	if (fflush(stdout) != 0) {
		lle_errorf("cannot write to standard output: %s", strerror(errno));
		return LLE_EXIT_IO;
	}
	return rc;
}
