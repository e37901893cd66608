/* `llm-eval merge DIR...`: the shards of a run (`run --shard i/N`) into one
 * results file per model, with the values an unsharded run gives. The
 * command line and what is printed; the merge itself is src/run/merge.c.
 *
 * Not here: reading shards, checking and aggregating them (run/merge.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/engine/store_cli.h"
#include "run/merge.h"
#include "store/runstore.h"
#include "util/diag.h"

int lle_cmd_merge(struct lle_ctx *ctx, int argc, char **argv);

/* --json: the merged results file itself. */
static int print_json(void *user, const struct lle_merged *m, struct lle_err *err)
{
	(void)user;
	if (puts(m->text) == EOF || fflush(stdout) != 0)
		return lle_err_set(err, LLE_EXIT_IO, "cannot write to standard output: %s", strerror(errno));
	return 0;
}

static int print_line(void *user, const struct lle_merged *m, struct lle_err *err)
{
	(void)user;
	(void)err;
	printf("%s: %ld shards merged into %s", m->model, m->nshards, m->path);
	if (m->run_id)
		printf(" (run %lld in the run store)", m->run_id);
	printf("\n");
	fflush(stdout);
	return 0;
}

int lle_cmd_merge(struct lle_ctx *ctx, int argc, char **argv)
{
	const struct lle_cmd *cmd = ctx->cmd;
	const char *out = "merged", *store = NULL;
	int no_store = 0, json_out = 0, ndirs = 0;
	const char **dirs = calloc((size_t)argc, sizeof(*dirs));
	if (!dirs) {
		lle_errorf("out of memory");
		return LLE_EXIT_INTERNAL;
	}
	for (int i = 1; i < argc; i++) {
		int r;
		if ((r = lle_store_cli_opt(cmd, argc, argv, &i, "--output", &out)) ||
		    (r = lle_store_cli_opt(cmd, argc, argv, &i, "--store", &store))) {
			if (r < 0) {
				free(dirs);
				return LLE_EXIT_USAGE;
			}
		} else if (!strcmp(argv[i], "--no-store")) {
			no_store = 1;
		} else if (!strcmp(argv[i], "--json")) {
			json_out = 1;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			free(dirs);
			return lle_cmd_usage_error(cmd, "unknown option '%s'", argv[i]);
		} else {
			dirs[ndirs++] = argv[i];
		}
	}
	if (ndirs == 0) {
		free(dirs);
		return lle_cmd_usage_error(cmd, "give the shards' output directories: merge DIR...");
	}
	if (store && no_store) {
		free(dirs);
		return lle_cmd_usage_error(cmd, "--store and --no-store exclude each other");
	}
	struct lle_err err = { 0 };
	int rc = LLE_EXIT_OK;
	struct lle_runstore *rs = NULL;
	struct lle_merge_set *set = lle_merge_find(dirs, (size_t)ndirs, &err);
	if (!set)
		goto fail;
	if (!no_store && !(rs = lle_store_cli_open_runs(store, 0, &rc)))
		goto done;
	if (lle_merge_write(set, out, rs, json_out ? print_json : print_line, NULL, &err) < 0)
		goto fail;
	goto done;
fail:
	lle_errorf("%s", err.msg);
	rc = err.code ? err.code : LLE_EXIT_INTERNAL;
done:
	if (rs)
		lle_runstore_close(rs);
	lle_merge_free(set);
	free(dirs);
	return rc;
}
