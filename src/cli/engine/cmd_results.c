/* `llm-eval results list|show|import|delete`: the run store from the command
 * line. Importing reads results JSON written by llm-eval or by
 * lm-evaluation-harness (see src/store/results.h), and the per-document scores
 * of the samples_TASK_DATE.jsonl files beside a results_DATE.json (for paired
 * comparisons); the same file imported twice is one run. Also the option and file helpers of store_cli.h. */
#include <errno.h>
#include <glob.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "cli/engine/store_cli.h"
#include "store/report.h"
#include "store/results.h"
#include "store/runstore.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/diag.h"
#include "util/err.h"

int lle_cmd_results(struct lle_ctx *ctx, int argc, char **argv);

int lle_store_cli_opt(const struct lle_cmd *cmd, int argc, char **argv, int *i, const char *name,
		      const char **val)
{
	size_t n = strlen(name);
	const char *a = argv[*i];
	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		lle_cmd_usage_error(cmd, "option '%s' needs a value", name);
		return -1;
	}
	*val = argv[++*i];
	return 1;
}

struct lle_runstore *lle_store_cli_open_runs(const char *path, int readonly, int *exit_code)
{
	struct lle_err err = { 0 };
	char *def = NULL;
	if (!path && !(path = def = lle_runstore_default_path(&err))) {
		lle_errorf("%s", err.msg);
		*exit_code = err.code;
		return NULL;
	}
	if (readonly && access(path, F_OK) != 0)
		readonly = 0; /* an absent store is created empty, so reading it lists nothing */
	struct lle_runstore *rs = lle_runstore_open(path, readonly, &err);
	if (!rs) {
		lle_errorf("%s", err.msg);
		*exit_code = err.code;
	}
	free(def);
	return rs;
}

static void print_json_str(const char *s)
{
	struct lle_buf b = LLE_BUF_INIT;
	if (s)
		lle_buf_add_json_str(&b, s);
	else
		lle_buf_adds(&b, "null");
	fputs(lle_buf_str(&b), stdout);
	lle_buf_free(&b);
}

static int do_list(struct lle_runstore *rs, int json)
{
	struct lle_run_record *recs;
	long long *nres;
	size_t n;
	struct lle_err err = { 0 };
	if (lle_runstore_list(rs, &recs, &n, &nres, &err) < 0) {
		lle_errorf("%s", err.msg);
		return err.code;
	}
	if (json)
		printf("[");
	else if (n)
		printf("%-4s  %-16s  %-20s  %-8s  %-22s  %s\n", "run", "uid", "date", "results", "source", "model");
	for (size_t i = 0; i < n; i++) {
		struct lle_run_record *r = &recs[i];
		if (json) {
			printf("%s\n  {\"run\": %lld, \"uid\": ", i ? "," : "", r->id);
			print_json_str(r->uid);
			printf(", \"date\": ");
			print_json_str(r->date);
			printf(", \"model\": ");
			print_json_str(r->model);
			printf(", \"source\": ");
			print_json_str(r->source);
			printf(", \"results\": %lld, \"shard\": ", nres[i]);
			print_json_str(r->shard);
			printf(", \"file\": ");
			print_json_str(r->file);
			printf("}");
		} else {
			/* A shard is a part of a run (`merge` combines them): say which. */
			printf("%-4lld  %-16s  %-20s  %8lld  %-22s  %s%s%s%s\n", r->id, r->uid, r->date ? r->date : "-",
			       nres[i], r->source ? r->source : "-", r->model ? r->model : "-",
			       r->shard ? " (shard " : "", r->shard ? r->shard : "", r->shard ? ")" : "");
		}
		lle_run_record_free(r);
	}
	if (json)
		printf("%s]\n", n ? "\n" : "");
	else if (n == 0)
		printf("no runs stored yet (see 'llm-eval results import')\n");
	free(recs);
	free(nres);
	return LLE_EXIT_OK;
}

static void show_json(const struct lle_run_record *r, long long n_samples)
{
	printf("{\"run\": %lld, \"uid\": ", r->id);
	print_json_str(r->uid);
	printf(", \"date\": ");
	print_json_str(r->date);
	printf(", \"source\": ");
	print_json_str(r->source);
	printf(", \"model\": ");
	print_json_str(r->model);
	printf(", \"model_args\": ");
	print_json_str(r->model_args);
	printf(", \"file\": ");
	print_json_str(r->file);
	printf(", \"shard\": ");
	print_json_str(r->shard);
	if (r->total_seconds >= 0) {
		char num[40];
		lle_fmt_double(num, sizeof(num), r->total_seconds);
		printf(", \"total_evaluation_time_seconds\": %s", num);
	}
	printf(", \"sample_scores\": %lld", n_samples);
	printf(",\n \"config\": %s,\n \"versions\": %s,\n \"hardware\": ", r->config_json ? r->config_json : "null",
	       r->versions_json ? r->versions_json : "null");
	if (r->hardware && (r->hardware[0] == '{' || r->hardware[0] == '['))
		fputs(r->hardware, stdout);
	else
		print_json_str(r->hardware);
	printf(",\n \"results\": [");
	for (size_t i = 0; i < r->n_rows; i++) {
		const struct lle_result_row *x = &r->rows[i];
		printf("%s\n  {\"model\": ", i ? "," : "");
		print_json_str(x->model);
		printf(", \"task\": ");
		print_json_str(x->task);
		printf(", \"metric\": ");
		print_json_str(x->metric);
		printf(", \"filter\": ");
		print_json_str(x->filter);
		char num[40];
		lle_fmt_double(num, sizeof(num), x->value);
		printf(", \"value\": %s", x->has_value ? num : "null");
		lle_fmt_double(num, sizeof(num), x->stderr_);
		printf(", \"stderr\": %s", x->has_stderr ? num : "null");
		if (x->n >= 0)
			printf(", \"n\": %lld", x->n);
		else
			printf(", \"n\": null");
		printf(", \"category\": ");
		print_json_str(x->category);
		printf(", \"group\": ");
		print_json_str(x->parent);
		printf(", \"is_group\": %s}", x->is_group ? "true" : "false");
	}
	printf("\n ]}\n");
}

static void show_text(const struct lle_run_record *r, long long n_samples)
{
	printf("run       %lld (uid %s)\n", r->id, r->uid);
	printf("model     %s\n", r->model ? r->model : "-");
	if (r->model_args)
		printf("args      %s\n", r->model_args);
	printf("date      %s\n", r->date ? r->date : "-");
	printf("source    %s%s%s\n", r->source ? r->source : "-", r->file ? ", " : "", r->file ? r->file : "");
	if (r->shard)
		printf("shard     %s\n", r->shard);
	if (r->total_seconds >= 0)
		printf("time      %.1f s\n", r->total_seconds);
	if (n_samples)
		printf("samples   %lld per-document scores (compare pairs this run)\n", n_samples);
	if (r->hardware) {
		/* The first line only: lm-evaluation-harness stores a whole environment report. */
		const char *nl = strchr(r->hardware, '\n');
		printf("hardware  %.*s%s\n", nl ? (int)(nl - r->hardware) : (int)strlen(r->hardware), r->hardware,
		       nl ? " ..." : "");
	}
	size_t wt = 4, wm = 6;
	for (size_t i = 0; i < r->n_rows; i++) {
		size_t lt = strlen(r->rows[i].task) + (r->rows[i].parent ? 2 : 0);
		size_t lm = strlen(r->rows[i].metric) + 1 + strlen(r->rows[i].filter);
		if (lt > wt)
			wt = lt;
		if (lm > wm)
			wm = lm;
	}
	printf("\n%-*s  %-*s  %10s  %10s  %6s  %s\n", (int)wt, "task", (int)wm, "metric", "value", "stderr", "n",
	       "category");
	for (size_t i = 0; i < r->n_rows; i++) {
		const struct lle_result_row *x = &r->rows[i];
		char task[300], metric[300], val[32] = "-", se[32] = "-", n[32] = "-";
		snprintf(task, sizeof(task), "%s%s", x->parent ? "  " : "", x->task);
		snprintf(metric, sizeof(metric), "%s,%s", x->metric, x->filter);
		if (x->has_value)
			snprintf(val, sizeof(val), "%.4f", x->value);
		else if (!strcmp(x->metric, "bypass"))
			snprintf(val, sizeof(val), "predicted"); /* --predict-only: no score */
		if (x->has_stderr)
			snprintf(se, sizeof(se), "%.4f", x->stderr_);
		if (x->n >= 0)
			snprintf(n, sizeof(n), "%lld", x->n);
		printf("%-*s  %-*s  %10s  %10s  %6s  %s\n", (int)wt, task, (int)wm, metric, val, se, n,
		       x->category ? x->category : "-");
	}
}

static int import_one(struct lle_runstore *rs, const char *file, const char *category, int samples);

/* A directory stands for the results files in it and in its sub-directories
 * (lm-evaluation-harness writes OUTPUT/MODEL/results_DATE.json). */
static int import_dir(struct lle_runstore *rs, const char *dir, const char *category, int samples)
{
	static const char *pats[] = { "%s/results_*.json", "%s/*/results_*.json" };
	int rc = LLE_EXIT_OK, found = 0;
	for (size_t p = 0; p < 2; p++) {
		struct lle_buf pat = LLE_BUF_INIT;
		for (const char *c = dir; *c; c++) { /* escape glob characters of the directory */
			if (strchr("*?[\\", *c))
				lle_buf_addc(&pat, '\\');
			lle_buf_addc(&pat, *c);
		}
		lle_buf_adds(&pat, pats[p] + 2);
		if (pat.oom) {
			lle_buf_free(&pat);
			lle_errorf("out of memory");
			return LLE_EXIT_INTERNAL;
		}
		glob_t g;
		int gr = glob(pat.p, 0, NULL, &g);
		lle_buf_free(&pat);
		if (gr == 0) {
			for (size_t i = 0; i < g.gl_pathc; i++) {
				found++;
				int r = import_one(rs, g.gl_pathv[i], category, samples);
				if (r)
					rc = r;
			}
		}
		if (gr != GLOB_NOMATCH)
			globfree(&g);
	}
	if (!found) {
		lle_errorf("no results_*.json in '%s' or its sub-directories", dir);
		return LLE_EXIT_IO;
	}
	return rc;
}

static int do_import(struct lle_runstore *rs, char **files, int nfiles, const char *category, int samples)
{
	int rc = LLE_EXIT_OK;
	for (int f = 0; f < nfiles; f++) {
		struct stat sb;
		int r = stat(files[f], &sb) == 0 && S_ISDIR(sb.st_mode) ? import_dir(rs, files[f], category, samples)
									: import_one(rs, files[f], category, samples);
		if (r)
			rc = r;
	}
	return rc;
}

static int import_one(struct lle_runstore *rs, const char *file, const char *category, int samples)
{
	int rc = LLE_EXIT_OK;
	struct lle_run_record rec;
	struct lle_err err = { 0 };
	if (lle_results_load(file, &rec, &err) < 0) {
		lle_errorf("%s", err.msg);
		return err.code;
	}
	int bad = 0;
	for (size_t i = 0; category && i < rec.n_rows && !bad; i++)
		if (!rec.rows[i].category && !(rec.rows[i].category = lle_strdup(category)))
			bad = 1;
	long long id, n_scores = 0;
	int existed;
	struct lle_sample_file *sf = NULL;
	size_t nsf = 0;
	if (bad) {
		lle_errorf("out of memory");
		rc = LLE_EXIT_INTERNAL;
	} else if (samples && lle_results_sample_files(file, &sf, &nsf, &err) < 0) {
		lle_errorf("%s", err.msg);
		rc = err.code;
	} else if (lle_runstore_add_with_samples(rs, &rec, sf, nsf, &id, &existed, &n_scores, &err) < 0) {
		lle_errorf("%s", err.msg);
		rc = err.code;
	} else if (existed) {
		printf("'%s' is already stored as run %lld\n", file, id);
	} else {
		printf("imported '%s' as run %lld: %s, %zu results", file, id, rec.model, rec.n_rows);
		if (nsf)
			printf(", %lld per-document scores from %zu samples file%s", n_scores, nsf, nsf == 1 ? "" : "s");
		printf("\n");
	}
	lle_sample_files_free(sf, nsf);
	lle_run_record_free(&rec);
	return rc;
}

int lle_cmd_results(struct lle_ctx *ctx, int argc, char **argv)
{
	const struct lle_cmd *cmd = ctx->cmd;
	const char *store = NULL, *category = NULL, *verb = NULL;
	int json = 0, nargs = 0, samples = 1;
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args) {
		lle_errorf("out of memory");
		return LLE_EXIT_INTERNAL;
	}
	int rc;
	for (int i = 1; i < argc; i++) {
		int r;
		if ((r = lle_store_cli_opt(cmd, argc, argv, &i, "--store", &store)) ||
		    (r = lle_store_cli_opt(cmd, argc, argv, &i, "--category", &category))) {
			if (r < 0) {
				free(args);
				return LLE_EXIT_USAGE;
			}
		} else if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "--no-samples") == 0) {
			samples = 0;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			free(args);
			return lle_cmd_unknown_option(cmd, argv[i]);
		} else if (!verb) {
			verb = argv[i];
		} else {
			args[nargs++] = argv[i];
		}
	}
	if (!verb) {
		free(args);
		return lle_cmd_usage_error(cmd, "say what to do: list, show, import or delete");
	}
	int is_list = !strcmp(verb, "list"), is_show = !strcmp(verb, "show"), is_import = !strcmp(verb, "import"),
	    is_delete = !strcmp(verb, "delete");
	if (!is_list && !is_show && !is_import && !is_delete) {
		static const char *const actions[] = { "list", "show", "import", "delete", NULL };
		free(args);
		return lle_cmd_unknown_word(cmd, "action", verb, actions, "list, show, import or delete");
	}
	if ((is_list && nargs) || ((is_show || is_delete) && nargs != 1) || (is_import && nargs == 0)) {
		free(args);
		return lle_cmd_usage_error(cmd, is_import ? "'results import' needs at least one FILE"
					   : is_list  ? "'results list' takes no arguments"
						      : "'results %s' needs one RUN", verb);
	}
	if (category && !is_import) {
		free(args);
		return lle_cmd_usage_error(cmd, "--category goes with 'results import'");
	}
	struct lle_runstore *rs = lle_store_cli_open_runs(store, is_list || is_show, &rc);
	if (!rs) {
		free(args);
		return rc;
	}
	struct lle_err err = { 0 };
	if (is_list) {
		rc = do_list(rs, json);
	} else if (is_import) {
		rc = do_import(rs, args, nargs, category, samples);
	} else {
		long long id;
		struct lle_run_record rec;
		if (lle_runstore_resolve(rs, args[0], &id, &err) < 0) {
			lle_errorf("%s", err.msg);
			rc = err.code;
		} else if (is_delete) {
			if (lle_runstore_delete(rs, id, &err) < 0) {
				lle_errorf("%s", err.msg);
				rc = err.code;
			} else {
				printf("deleted run %lld\n", id);
				rc = LLE_EXIT_OK;
			}
		} else if (lle_runstore_get(rs, id, &rec, &err) < 0) {
			lle_errorf("%s", err.msg);
			rc = err.code;
		} else {
			long long ns = 0;
			lle_runstore_sample_count(rs, id, &ns, &err); /* 0 when it cannot be read */
			if (json)
				show_json(&rec, ns);
			else
				show_text(&rec, ns);
			lle_run_record_free(&rec);
			rc = LLE_EXIT_OK;
		}
	}
	lle_runstore_close(rs);
	free(args);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		lle_errorf("cannot write to standard output: %s", strerror(errno));
		return LLE_EXIT_IO;
	}
	return rc;
}
