/* The task check that `validate` and `show task` run in the engine: each
 * name is planned by lle_run_check_task, the planner's own path for
 * `run --tasks NAME` with no model and no data, so the three commands accept
 * and refuse the same configs with the same messages.
 *
 * The executable finds lle_engine_check_tasks with dlsym (lle_cli_engine_sym)
 * only when it checks tasks; `list`, `show model` and `--help` never load the
 * engine. Not here: the registry's own checks (src/registry/validate.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "registry/registry.h"
#include "run/run.h"
#include "util/buf.h"
#include "util/diag.h"
#include "util/err.h"

/* Whether msg is already in seen (lines), else add it. */
static int seen_before(struct lle_buf *seen, const char *msg)
{
	const char *s = lle_buf_str(seen);
	size_t n = strlen(msg);
	for (const char *p = s; (p = strstr(p, msg)) != NULL; p++)
		if ((p == s || p[-1] == '\n') && p[n] == '\n')
			return 1;
	lle_buf_printf(seen, "%s\n", msg);
	return 0;
}

/* Whether a config holds Python: a `!function` anywhere, or `class`. */
static int has_python(const struct lle_node *n, int top)
{
	if (!n)
		return 0;
	if (n->tag && strcmp(n->tag, "!function") == 0)
		return 1;
	for (size_t i = 0; (n->kind == LLE_NODE_MAP || n->kind == LLE_NODE_SEQ) && i < n->n; i++)
		if ((top && n->kind == LLE_NODE_MAP && strcmp(n->keys[i], "class") == 0) ||
		    has_python(n->items[i], 0))
			return 1;
	return 0;
}

/* "python" when the entry's config, includes merged, holds Python, else "-". */
static const char *python_cell(const struct lle_reg_entry *e)
{
	struct lle_buf path = LLE_BUF_INIT;
	lle_buf_printf(&path, "%s/%s", e->root, e->relpath);
	struct lle_err err = { 0 };
	struct lle_node *n = path.oom ? NULL : lle_reg_load_full(lle_buf_str(&path), NULL, NULL, &err);
	int py = has_python(n, 1);
	lle_node_free(n);
	lle_buf_free(&path);
	return py ? "python" : "-";
}

static void tsv_cell(struct lle_buf *out, const char *s)
{
	for (; *s; s++)
		lle_buf_addc(out, *s == '\t' || *s == '\n' ? ' ' : *s);
}

int lle_engine_check_tasks(struct lle_registry *reg, const char *name, struct lle_buf *report,
			   struct lle_check_counts *c)
{
	struct lle_buf seen = LLE_BUF_INIT;
	struct lle_err err = { 0 };
	int rc = LLE_EXIT_OK;
	size_t n = name ? 1 : lle_registry_count(reg, LLE_REG_TASKS);
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < n && rc == LLE_EXIT_OK; i++) {
		struct lle_reg_entry e;
		const char *what = name;
		const char *kind = NULL, *py = "-";
		if (!name) {
			/* Tags only list tasks, which are checked on their own. */
			if (lle_registry_get(reg, LLE_REG_TASKS, i, &e) < 0 || e.kind == LLE_KIND_TAG)
				continue;
			what = e.name;
			kind = lle_reg_kind_name(e.kind);
			if (report)
				py = python_cell(&e);
		}
		c->nchecked++;
		lle_err_clear(&err);
		if (lle_run_check_task(reg, what, &err) == 0) {
			if (report) {
				tsv_cell(report, what);
				lle_buf_printf(report, "\t%s\t%s\tok\n", kind ? kind : "", py);
			}
			continue;
		}
		if (err.code == LLE_EXIT_INTERNAL) {
			lle_errorf("%s", err.msg);
			rc = LLE_EXIT_INTERNAL;
			break;
		}
		c->nfailed++;
		if (!c->first_code)
			c->first_code = err.code;
		if (report) {
			tsv_cell(report, what);
			lle_buf_printf(report, "\t%s\t%s\t", kind ? kind : "", py);
			tsv_cell(report, err.msg);
			lle_buf_addc(report, '\n');
		}
		/* A member's problem is its group's too: one line for both. */
		if (!seen_before(&seen, err.msg)) {
			lle_errorf("%s", err.msg);
			c->nlines++;
		}
	}
	if (seen.oom || (report && report->oom)) {
		lle_errorf("out of memory");
		rc = LLE_EXIT_INTERNAL;
	}
	lle_buf_free(&seen);
	return rc;
}
