/* `llm-eval report [RUN...]`: models x tasks with standard errors and category
 * averages, from the run store, as a table, Markdown, CSV, JSON or one
 * self-contained HTML page (src/store/report*.c do the work). With no RUN,
 * every stored run is reported; a model and task found in several runs shows
 * the latest. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/engine/store_cli.h"
#include "store/report.h"
#include "store/runstore.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/diag.h"

int lle_cmd_report(struct lle_ctx *ctx, int argc, char **argv);

int lle_cmd_report(struct lle_ctx *ctx, int argc, char **argv)
{
	const struct lle_cmd *cmd = ctx->cmd;
	const char *store = NULL, *fmt = NULL, *output = NULL;
	struct lle_report_opts o = { 0 };
	char **refs = calloc((size_t)argc + 1, sizeof(*refs));
	int nrefs = 0, rc = LLE_EXIT_OK;
	if (!refs) {
		lle_errorf("out of memory");
		return LLE_EXIT_INTERNAL;
	}
	for (int i = 1; i < argc; i++) {
		int r;
		if ((r = lle_store_cli_opt(cmd, argc, argv, &i, "--store", &store)) ||
		    (r = lle_store_cli_opt(cmd, argc, argv, &i, "--category", &o.category)) ||
		    (r = lle_store_cli_opt(cmd, argc, argv, &i, "--metric", &o.metric)) ||
		    (r = lle_store_cli_opt(cmd, argc, argv, &i, "--format", &fmt)) ||
		    (r = lle_store_cli_opt(cmd, argc, argv, &i, "--output", &output))) {
			if (r < 0) {
				free(refs);
				return LLE_EXIT_USAGE;
			}
		} else if (strcmp(argv[i], "--subtasks") == 0) {
			o.subtasks = 1;
		} else if (strcmp(argv[i], "--json") == 0) {
			fmt = "json"; /* as compare, results, list, cache, monitor and version */
		} else if (argv[i][0] == '-' && argv[i][1]) {
			free(refs);
			return lle_cmd_unknown_option(cmd, argv[i]);
		} else {
			refs[nrefs++] = argv[i];
		}
	}
	int format = LLE_REPORT_TABLE;
	if (!fmt && output) {
		/* --output report.html: the format from the file's extension. */
		const char *dot = strrchr(output, '.');
		if (dot && (strcmp(dot, ".html") == 0 || strcmp(dot, ".htm") == 0))
			format = LLE_REPORT_HTML;
		else if (dot && strcmp(dot, ".md") == 0)
			format = LLE_REPORT_MARKDOWN;
		else if (dot && strcmp(dot, ".csv") == 0)
			format = LLE_REPORT_CSV;
		else if (dot && strcmp(dot, ".json") == 0)
			format = LLE_REPORT_JSON;
	}
	if (fmt && (format = lle_report_format_parse(fmt)) < 0) {
		static const char *const formats[] = { "table", "markdown", "csv", "json", "html", NULL };
		free(refs);
		return lle_cmd_unknown_word(cmd, "format", fmt, formats, "table, markdown, csv, json or html");
	}
	struct lle_runstore *rs = lle_store_cli_open_runs(store, 1, &rc);
	if (!rs) {
		free(refs);
		return rc;
	}
	struct lle_err err = { 0 };
	struct lle_run_record *runs = NULL;
	size_t nruns = 0;
	if (nrefs == 0) {
		long long *nres = NULL;
		if (lle_runstore_list(rs, &runs, &nruns, &nres, &err) < 0)
			goto fail;
		free(nres);
		if (nruns == 0) {
			lle_err_set(&err, LLE_EXIT_USAGE, "no runs stored yet (see 'llm-eval results import')");
			goto fail;
		}
		/* list gives runs without their rows; load each whole. */
		for (size_t i = 0; i < nruns; i++) {
			long long id = runs[i].id;
			lle_run_record_free(&runs[i]);
			if (lle_runstore_get(rs, id, &runs[i], &err) < 0) {
				nruns = i;
				goto fail;
			}
		}
	} else {
		runs = calloc((size_t)nrefs, sizeof(*runs));
		if (!runs) {
			lle_err_oom(&err);
			goto fail;
		}
		for (int i = 0; i < nrefs; i++) {
			long long id;
			if (lle_runstore_resolve(rs, refs[i], &id, &err) < 0 ||
			    lle_runstore_get(rs, id, &runs[nruns], &err) < 0)
				goto fail;
			nruns++;
		}
	}
	struct lle_buf out = LLE_BUF_INIT;
	if (lle_report_write(&out, runs, nruns, &o, format, &err) < 0) {
		lle_buf_free(&out);
		goto fail;
	}
	if (output) {
		if (lle_write_file_atomic(output, lle_buf_str(&out), out.n, &err) < 0) {
			lle_buf_free(&out);
			goto fail;
		}
		lle_notef("wrote '%s'", output);
	} else if (fwrite(lle_buf_str(&out), 1, out.n, stdout) != out.n || fflush(stdout) != 0) {
		lle_buf_free(&out);
		lle_err_set(&err, LLE_EXIT_IO, "cannot write to standard output: %s", strerror(errno));
		goto fail;
	}
	lle_buf_free(&out);
	goto done;
fail:
	lle_errorf("%s", err.msg);
	rc = err.code;
done:
	for (size_t i = 0; i < nruns; i++)
		lle_run_record_free(&runs[i]);
	free(runs);
	free(refs);
	lle_runstore_close(rs);
	return rc;
}
