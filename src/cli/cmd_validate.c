/* `llm-eval validate [--strict] [--report]`: parse every registry file on
 * the search path in full and check it (src/registry/validate.c), then
 * compile every task, group and python task through the engine, the step
 * `run` plans with (src/cli/engine/check.c), so what validate accepts, run
 * accepts. Each problem is one line, `error: path:line:col: ...` or
 * `warning: ...`, on stderr. Exit 3 (config) when there is an error, or a
 * warning with --strict.
 *
 * LLM_EVAL_LAZY_LOADING=0 makes the dispatcher run the registry check (not
 * the compile, which would load the engine) before every registry command
 * (lle_cli_validate_all).
 *
 * Backends: a model's `backend:` and `backends:` must name installed plugins
 * (their files; nothing is loaded for that), and the keys of a backends.NAME
 * section are checked against the plugin's option table, which loads that
 * plugin (once, and only when some model has its section). */
#include <stdio.h>
#include <string.h>

#include "backend/describe.h"
#include "cli/cmd.h"
#include "registry/registry.h"
#include "util/buf.h"
#include "util/diag.h"
#include "util/err.h"

static const char *be_names(void *user)
{
	return lle_backend_catalog_names(user);
}

static int be_has(void *user, const char *name)
{
	return lle_backend_catalog_has(user, name);
}

static int be_describe(void *user, const char *name, uint64_t *caps, const struct lle_option **options,
		       char *why, size_t why_len)
{
	struct lle_err err = { 0 };
	const struct lle_backend *be = lle_backend_catalog_get(user, name, &err);
	if (!be) {
		snprintf(why, why_len, "%s", err.msg);
		return -1;
	}
	*caps = lle_backend_caps(be);
	*options = lle_backend_options(be);
	return 0;
}

/* The engine's task check over the whole registry: error lines to stderr,
 * the report (--report) to stdout; 0, or an exit code. */
static int compile_all(struct lle_ctx *ctx, struct lle_registry *r, int report, struct lle_check_counts *c)
{
	lle_check_tasks_fn check;
	*(void **)&check = lle_cli_engine_sym(ctx, "lle_engine_check_tasks");
	if (!check)
		return LLE_EXIT_INTERNAL;
	struct lle_buf out = LLE_BUF_INIT;
	int rc = check(r, NULL, report ? &out : NULL, c);
	if (rc == 0 && report)
		rc = lle_cli_write_out(&out);
	lle_buf_free(&out);
	return rc;
}

static int validate(struct lle_ctx *ctx, int strict, int deep, int report)
{
	int rc = 0;
	/* warnings printed on the way (the YAML loader's duplicate keys) count
	 * as the checks' own do */
	unsigned w0 = lle_warn_count(), nprinted = 0;
	struct lle_registry *r =
		lle_cli_registry(ctx, 1u << LLE_REG_MODELS | 1u << LLE_REG_TASKS | 1u << LLE_REG_CATEGORIES, &rc);
	if (!r)
		return rc;
	struct lle_backend_catalog *cat = lle_backend_catalog_new();
	if (!cat) {
		lle_registry_free(r);
		lle_errorf("out of memory");
		return LLE_EXIT_INTERNAL;
	}
	struct lle_reg_backends backends = { cat, be_names, be_has, be_describe };
	struct lle_reg_problems p = { LLE_BUF_INIT, 0, 0, 0, NULL, &backends };
	struct lle_err err = { 0 };
	if (lle_registry_validate(r, &p, &err) < 0) {
		lle_errorf("%s", err.msg);
		lle_reg_problems_free(&p);
		lle_registry_free(r);
		lle_backend_catalog_free(cat);
		return err.code ? err.code : LLE_EXIT_INTERNAL;
	}
	struct lle_check_counts c = { 0 };
	/* One diagnostic per line, through the one place that prints them. */
	const char *s = lle_buf_str(&p.text);
	while (*s) {
		const char *nl = strchr(s, '\n');
		int n = (int)(nl ? nl - s : (long)strlen(s));
		if (strncmp(s, "error: ", 7) == 0) {
			lle_errorf("%.*s", n - 7, s + 7);
		} else {
			lle_warnf("%.*s", n - 9, s + 9);
			nprinted++;
		}
		s += n + (nl != NULL);
	}
	if (deep && (rc = compile_all(ctx, r, report, &c)) != 0) {
		lle_reg_problems_free(&p);
		lle_registry_free(r);
		lle_backend_catalog_free(cat);
		return rc;
	}
	/* A task that does not compile is one error line more. */
	p.nerrors += (unsigned)c.nlines;
	p.nwarnings += lle_warn_count() - w0 - nprinted;
	if (p.nerrors || p.nwarnings)
		fprintf(stderr, "%u error%s, %u warning%s in %u file%s\n", p.nerrors, p.nerrors == 1 ? "" : "s",
			p.nwarnings, p.nwarnings == 1 ? "" : "s", p.nfiles, p.nfiles == 1 ? "" : "s");
	if (!p.nerrors && !p.nwarnings)
		lle_notef("%u file%s, no problems", p.nfiles, p.nfiles == 1 ? "" : "s");
	if (deep && !c.nfailed)
		lle_notef("%zu tasks, groups and python tasks compile", c.nchecked);
	rc = p.nerrors || (strict && p.nwarnings) ? LLE_EXIT_CONFIG : LLE_EXIT_OK;
	lle_reg_problems_free(&p);
	lle_registry_free(r);
	lle_backend_catalog_free(cat);
	return rc;
}

int lle_cli_validate_all(struct lle_ctx *ctx, int strict)
{
	return validate(ctx, strict, 0, 0);
}

int lle_cmd_validate(struct lle_ctx *ctx, int argc, char **argv)
{
	int strict = 0, report = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--strict") == 0)
			strict = 1;
		else if (strcmp(argv[i], "--report") == 0)
			report = 1;
		else if (argv[i][0] == '-')
			return lle_cmd_unknown_option(ctx->cmd, argv[i]);
		else
			return lle_cmd_usage_error(ctx->cmd, "unexpected argument '%s'", argv[i]);
	}
	return validate(ctx, strict, 1, report);
}
