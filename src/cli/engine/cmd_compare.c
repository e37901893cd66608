/* `llm-eval compare RUN_A RUN_B`: every task and metric the two runs share,
 * the difference B - A, and whether it is larger than its standard error
 * (src/store/report_compare.c): paired over the documents both runs scored when the
 * store has both runs' per-document scores, else the combined standard error
 * sqrt(se_A^2 + se_B^2) of two independent runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/engine/store_cli.h"
#include "store/report.h"
#include "store/runstore.h"
#include "util/buf.h"
#include "util/diag.h"

int lle_cmd_compare(struct lle_ctx *ctx, int argc, char **argv);

struct paired_arg {
	struct lle_runstore *rs;
	long long a, b;
};

static int paired(void *arg, const struct lle_result_row *ra, const struct lle_result_row *rb, long long *n,
		  double *mean, double *se, struct lle_err *err)
{
	struct paired_arg *p = arg;
	return lle_runstore_paired(p->rs, p->a, ra->model, p->b, rb->model, ra->task, ra->filter, ra->metric, n,
				   mean, se, err);
}

int lle_cmd_compare(struct lle_ctx *ctx, int argc, char **argv)
{
	const struct lle_cmd *cmd = ctx->cmd;
	const char *store = NULL, *fmt = NULL, *ref[2] = { NULL, NULL };
	int nref = 0, rc = LLE_EXIT_OK;
	for (int i = 1; i < argc; i++) {
		int r;
		if ((r = lle_store_cli_opt(cmd, argc, argv, &i, "--store", &store)) ||
		    (r = lle_store_cli_opt(cmd, argc, argv, &i, "--format", &fmt))) {
			if (r < 0)
				return LLE_EXIT_USAGE;
		} else if (strcmp(argv[i], "--json") == 0) {
			fmt = "json";
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return lle_cmd_unknown_option(cmd, argv[i]);
		} else if (nref < 2) {
			ref[nref++] = argv[i];
		} else {
			return lle_cmd_usage_error(cmd, "compare takes two runs, not more");
		}
	}
	if (nref != 2)
		return lle_cmd_usage_error(cmd, "compare needs two runs: RUN_A RUN_B");
	int format = LLE_REPORT_TABLE;
	static const char *const formats[] = { "table", "markdown", "csv", "json", NULL };
	if (fmt && ((format = lle_report_format_parse(fmt)) < 0 || format == LLE_REPORT_HTML))
		return lle_cmd_unknown_word(cmd, "format", fmt, formats, "table, markdown, csv or json");
	struct lle_runstore *rs = lle_store_cli_open_runs(store, 1, &rc);
	if (!rs)
		return rc;
	struct lle_err err = { 0 };
	struct lle_run_record run[2];
	int loaded = 0;
	struct lle_buf out = LLE_BUF_INIT;
	for (; loaded < 2; loaded++) {
		long long id;
		if (lle_runstore_resolve(rs, ref[loaded], &id, &err) < 0 ||
		    lle_runstore_get(rs, id, &run[loaded], &err) < 0)
			goto fail;
	}
	struct paired_arg pa = { rs, run[0].id, run[1].id };
	if (lle_compare_write(&out, &run[0], &run[1], format, paired, &pa, &err) < 0)
		goto fail;
	if (fwrite(lle_buf_str(&out), 1, out.n, stdout) != out.n || fflush(stdout) != 0) {
		lle_err_set(&err, LLE_EXIT_IO, "cannot write to standard output: %s", strerror(errno));
		goto fail;
	}
	goto done;
fail:
	lle_errorf("%s", err.msg);
	rc = err.code;
done:
	lle_buf_free(&out);
	for (int i = 0; i < loaded; i++)
		lle_run_record_free(&run[i]);
	lle_runstore_close(rs);
	return rc;
}
