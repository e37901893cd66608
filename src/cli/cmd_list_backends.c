/* `llm-eval list backends`: every installed backend plugin, whether it loads,
 * and what it says about itself (its probe: libraries, devices; with -v and
 * in --json its capabilities and the options of its table). It loads the
 * plugins (that is the point) but never opens a model.
 *
 * Reached as `list backends` through cmd_list.c, which passes argv from the
 * verb on: argv[0] is "backends", options follow. */
#include <stdio.h>
#include <string.h>

#include "backend/describe.h"
#include "backend/loader.h"
#include "cli/cmd.h"
#include "util/buf.h"
#include "util/diag.h"
#include "util/err.h"
#include "util/suggest.h"

struct list_state {
	int json;
	int verbose;    /* llm-eval -v: capabilities and options too */
	int n;          /* plugins seen */
	int n_ok;
	struct lle_buf out;
};

static const struct {
	uint64_t bit;
	const char *name;
} cap_names[] = {
	{ LLE_CAP_MODEL_FILE, "model-file" },
	{ LLE_CAP_PROMPT_LOGPROBS, "prompt-logprobs" },
	{ LLE_CAP_CHAT_TEMPLATE, "chat-template" },
	{ LLE_CAP_EXACT, "exact" },
	{ LLE_CAP_CHAT_MESSAGES, "chat-messages" },
};

/* The capabilities as names, joined with sep; each a JSON string when json. */
static void add_caps(struct lle_buf *o, const struct lle_backend *be, const char *sep, int json)
{
	uint64_t caps = lle_backend_caps(be);
	int n = 0;
	for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++) {
		if (!(caps & cap_names[i].bit))
			continue;
		lle_buf_adds(o, n++ ? sep : "");
		if (json)
			lle_buf_add_json_str(o, cap_names[i].name);
		else
			lle_buf_adds(o, cap_names[i].name);
	}
	if (!n && !json)
		lle_buf_adds(o, "none");
}

static void add_options(struct lle_buf *o, const struct lle_backend *be, int json)
{
	int n = 0;
	for (const struct lle_option *op = lle_backend_options(be); op && op->key; op++) {
		if (json) {
			lle_buf_adds(o, n++ ? ", {\"key\": " : "{\"key\": ");
			lle_buf_add_json_str(o, op->key);
			lle_buf_printf(o, ", \"type\": \"%s\", \"secret\": %s, \"set_by_host\": %s, \"doc\": ",
				       lle_option_type_name(op->type), op->flags & LLE_OPT_SECRET ? "true" : "false",
				       op->flags & LLE_OPT_HOST ? "true" : "false");
			lle_buf_add_json_str(o, op->doc ? op->doc : "");
			lle_buf_adds(o, "}");
		} else if (!(op->flags & LLE_OPT_HOST)) {
			lle_buf_printf(o, "%-14s %-9s   %s=%s%s  %s\n", "", "", op->key, lle_option_type_name(op->type),
				       op->flags & LLE_OPT_SECRET ? " (secret)" : "", op->doc ? op->doc : "");
		}
	}
}

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
			lle_buf_adds(o, ", \"caps\": [");
			add_caps(o, p->be, ", ", 1);
			lle_buf_adds(o, "], \"options\": [");
			add_options(o, p->be, 1);
			lle_buf_adds(o, "]");
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
		if (p && st->verbose) {
			lle_buf_printf(o, "%-14s %-9s capabilities: ", "", "");
			add_caps(o, p->be, ", ", 0);
			lle_buf_printf(o, "\n%-14s %-9s options%s\n", "", "",
				       lle_backend_options(p->be) ? ":" : ": not declared (any key=value is passed on)");
			add_options(o, p->be, 0);
		}
	}
	lle_plugin_close(p);
	return o->oom ? -1 : 0;
}

int lle_list_backends(struct lle_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	struct list_state st = { 0 };
	st.out = (struct lle_buf)LLE_BUF_INIT;
	st.verbose = lle_diag_verbosity() >= LLE_VERBOSE; /* the global -v */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			st.json = 1;
		} else if (argv[i][0] == '-' && lle_suggest(argv[i], (const char *const[]){ "--json", NULL })) {
			lle_errorf("unknown option '%s' for 'list backends' (did you mean '--json'?)", argv[i]);
			fprintf(stderr, "usage: llm-eval list backends [--json]\n");
			return LLE_EXIT_USAGE;
		} else {
			lle_errorf("unknown option '%s' for 'list backends'", argv[i]);
			fprintf(stderr, "usage: llm-eval list backends [-v] [--json]\n");
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
