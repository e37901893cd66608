/* `llm-eval list backends`: every installed backend plugin, whether it loads,
 * and what it says about itself (its probe: libraries, devices). It loads the
 * plugins (that is the point) but never opens a model.
 *
 * Reached as `list backends` through cmd_list.c, which passes argv from the
 * verb on: argv[0] is "backends", options follow. */
#include <stdio.h>
#include <string.h>

#include "backend/loader.h"
#include "cli/cmd.h"
#include "util/buf.h"
#include "util/diag.h"
#include "util/err.h"
#include "util/suggest.h"

struct list_state {
	int json;
	int n;          /* plugins seen */
	int n_ok;
	struct lle_buf out;
};

static int list_one(void *user, const struct lle_plugin_file *f)
{
	struct list_state *st = user;
	struct lle_err err = { 0 };
	struct lle_plugin *p = NULL;
	char note[512] = "";
	int probe_rc = 0;

	if (!f->shadowed) {
		p = lle_plugin_open(f->path, NULL, &err);
		if (p && p->be->probe && LLE_HAS_FIELD(p->be, struct lle_backend, probe))
			probe_rc = p->be->probe(note, sizeof(note));
	}
	const char *status = f->shadowed ? "shadowed" : !p ? "error" : probe_rc ? "unusable" : "ok";
	st->n++;
	st->n_ok += p && !probe_rc;

	struct lle_buf *o = &st->out;
	if (st->json) {
		lle_buf_adds(o, st->n > 1 ? ",\n  {" : "\n  {");
		lle_buf_adds(o, "\"name\": ");
		lle_buf_add_json_str(o, p ? p->be->name : f->name);
		lle_buf_adds(o, ", \"path\": ");
		lle_buf_add_json_str(o, f->path);
		lle_buf_adds(o, ", \"status\": ");
		lle_buf_add_json_str(o, status);
		if (p) {
			lle_buf_printf(o, ", \"abi\": \"%u.%u\", \"version\": ", p->be->abi_major,
				       p->be->abi_minor);
			lle_buf_add_json_str(o, p->be->version ? p->be->version : "");
			lle_buf_adds(o, ", \"description\": ");
			lle_buf_add_json_str(o, p->be->description ? p->be->description : "");
			lle_buf_adds(o, ", \"note\": ");
			lle_buf_add_json_str(o, note);
		} else if (!f->shadowed) {
			lle_buf_adds(o, ", \"error\": ");
			lle_buf_add_json_str(o, err.msg);
		}
		lle_buf_adds(o, "}");
	} else {
		lle_buf_printf(o, "%-14s %-9s", p ? p->be->name : f->name, status);
		if (p)
			lle_buf_printf(o, " %s %s%s%s%s\n", p->be->version ? p->be->version : "-",
				       p->be->description ? p->be->description : "",
				       note[0] ? " (" : "", note, note[0] ? ")" : "");
		else if (f->shadowed)
			lle_buf_printf(o, " hidden by a plugin of the same name earlier in the path\n");
		else
			lle_buf_printf(o, " %s\n", err.msg);
		lle_buf_printf(o, "%-14s %-9s %s\n", "", "", f->path);
	}
	lle_plugin_close(p);
	return o->oom ? -1 : 0;
}

int lle_list_backends(struct lle_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	struct list_state st = { 0 };
	st.out = (struct lle_buf)LLE_BUF_INIT;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			st.json = 1;
		} else if (argv[i][0] == '-' && lle_suggest(argv[i], (const char *const[]){ "--json", NULL })) {
			lle_errorf("unknown option '%s' for 'list backends' (did you mean '--json'?)", argv[i]);
			fprintf(stderr, "usage: llm-eval list backends [--json]\n");
			return LLE_EXIT_USAGE;
		} else {
			lle_errorf("unknown option '%s' for 'list backends'", argv[i]);
			fprintf(stderr, "usage: llm-eval list backends [--json]\n");
			return LLE_EXIT_USAGE;
		}
	}
	struct lle_err err = { 0 };
	if (st.json)
		lle_buf_adds(&st.out, "[");
	int rc = lle_backend_scan(list_one, &st, &err);
	if (rc != 0 || st.out.oom) {
		lle_buf_free(&st.out);
		lle_errorf("%s", err.msg[0] ? err.msg : "out of memory");
		return LLE_EXIT_INTERNAL;
	}
	if (st.json) {
		lle_buf_adds(&st.out, st.n ? "\n]\n" : "]\n");
	} else if (st.n == 0) {
		char **dirs = lle_backend_dirs();
		lle_buf_adds(&st.out, "no backend plugins installed; looked in:");
		for (size_t i = 0; dirs && dirs[i]; i++)
			lle_buf_printf(&st.out, " %s", dirs[i]);
		lle_buf_adds(&st.out, "\n");
		lle_backend_dirs_free(dirs);
	}
	if (st.out.oom) {
		lle_buf_free(&st.out);
		lle_errorf("out of memory");
		return LLE_EXIT_INTERNAL;
	}
	int wrc = fwrite(st.out.p, 1, st.out.n, stdout) == st.out.n && fflush(stdout) == 0;
	lle_buf_free(&st.out);
	if (!wrc) {
		lle_errorf("cannot write the list of backends to standard output");
		return LLE_EXIT_IO;
	}
	return LLE_EXIT_OK;
}
