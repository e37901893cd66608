/* `llm-eval show model|task|category NAME`: one entry's full config, its
 * includes merged, printed as YAML with the file:line:col each top-level key
 * came from (or as JSON with --json). A category also lists its members; a
 * tag lists its tasks.
 *
 * This is the first place a file is parsed in full; `list` never does. A
 * task or group is also compiled by the engine's task check, the step `run`
 * plans with (src/cli/engine/check.c): its config is printed, and a problem
 * `run` would refuse it for is reported and sets the exit code. `show model`
 * and `show category` do not load the engine. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "registry/registry.h"
#include "util/buf.h"
#include "util/diag.h"
#include "util/err.h"

#define T(x) (1u << (x))

static const struct show_verb {
	const char *name;
	int type;
	unsigned types; /* registry types to open */
} verbs[] = {
	{ "category", LLE_REG_CATEGORIES, T(LLE_REG_CATEGORIES) | T(LLE_REG_MODELS) | T(LLE_REG_TASKS) },
	{ "model", LLE_REG_MODELS, T(LLE_REG_MODELS) },
	{ "task", LLE_REG_TASKS, T(LLE_REG_TASKS) },
};

/* ---------- YAML out ---------- */

/* Whether a key or name can be written without quotes (conservative). */
static int plain_ok(const char *s)
{
	if (!*s || !(isalnum((unsigned char)s[0]) || s[0] == '_' || s[0] == '.' || s[0] == '/'))
		return 0;
	for (const char *p = s; *p; p++)
		if (!(isalnum((unsigned char)*p) || strchr("_.-/+()", *p) || (*p == ' ' && p[1] && p[1] != '#')))
			return 0;
	return 1;
}

static void yaml_quoted(struct lle_buf *b, const char *s)
{
	lle_buf_addc(b, '"');
	for (; *s; s++) {
		switch (*s) {
		case '"': lle_buf_adds(b, "\\\""); break;
		case '\\': lle_buf_adds(b, "\\\\"); break;
		case '\n': lle_buf_adds(b, "\\n"); break;
		case '\t': lle_buf_adds(b, "\\t"); break;
		case '\r': lle_buf_adds(b, "\\r"); break;
		default:
			if ((unsigned char)*s < 0x20)
				lle_buf_printf(b, "\\x%02x", (unsigned char)*s);
			else
				lle_buf_addc(b, *s);
		}
	}
	lle_buf_addc(b, '"');
}

static void yaml_scalar(struct lle_buf *b, const struct lle_node *n)
{
	if (n->tag && strncmp(n->tag, "tag:yaml.org,2002:", 18) != 0)
		lle_buf_printf(b, "%s ", n->tag);
	/* A plain scalar read from YAML is valid plain YAML in block context. */
	if (n->plain && n->str[0] && !strchr(n->str, '\n'))
		lle_buf_adds(b, n->str);
	else if (n->plain && !n->str[0])
		lle_buf_adds(b, "null");
	else
		yaml_quoted(b, n->str);
}

static void yaml_node(struct lle_buf *b, const struct lle_node *n, int indent);

static int is_inline(const struct lle_node *n)
{
	return n->kind == LLE_NODE_SCALAR || n->n == 0;
}

static void yaml_inline(struct lle_buf *b, const struct lle_node *n)
{
	if (n->kind == LLE_NODE_SCALAR)
		yaml_scalar(b, n);
	else
		lle_buf_adds(b, n->kind == LLE_NODE_MAP ? "{}" : "[]");
}

static void yaml_key(struct lle_buf *b, const char *k)
{
	if (plain_ok(k))
		lle_buf_adds(b, k);
	else
		yaml_quoted(b, k);
}

/* The children of a map or list, each on its own line at indent. */
static void yaml_node(struct lle_buf *b, const struct lle_node *n, int indent)
{
	for (size_t i = 0; i < n->n; i++) {
		const struct lle_node *v = n->items[i];
		lle_buf_printf(b, "%*s", indent, "");
		if (n->kind == LLE_NODE_MAP) {
			yaml_key(b, n->keys[i]);
			lle_buf_addc(b, ':');
		} else {
			lle_buf_addc(b, '-');
		}
		if (v->tag && !is_inline(v))
			lle_buf_printf(b, " %s", v->tag);
		if (n->kind == LLE_NODE_SEQ && v->kind == LLE_NODE_MAP && v->n && !v->tag) {
			/* "- key: value" with the other keys under the first */
			struct lle_buf sub = LLE_BUF_INIT;
			yaml_node(&sub, v, indent + 2);
			lle_buf_addc(b, ' ');
			lle_buf_adds(b, lle_buf_str(&sub) + indent + 2);
			if (sub.oom)
				b->oom = 1;
			lle_buf_free(&sub);
		} else if (is_inline(v)) {
			lle_buf_addc(b, ' ');
			yaml_inline(b, v);
			lle_buf_addc(b, '\n');
		} else {
			lle_buf_addc(b, '\n');
			yaml_node(b, v, indent + 2);
		}
	}
}

/* ---------- JSON out ---------- */

static void json_node(struct lle_buf *b, const struct lle_node *n)
{
	if (n->kind == LLE_NODE_MAP) {
		lle_buf_addc(b, '{');
		for (size_t i = 0; i < n->n; i++) {
			if (i)
				lle_buf_addc(b, ',');
			lle_buf_add_json_str(b, n->keys[i]);
			lle_buf_addc(b, ':');
			json_node(b, n->items[i]);
		}
		lle_buf_addc(b, '}');
		return;
	}
	if (n->kind == LLE_NODE_SEQ) {
		lle_buf_addc(b, '[');
		for (size_t i = 0; i < n->n; i++) {
			if (i)
				lle_buf_addc(b, ',');
			json_node(b, n->items[i]);
		}
		lle_buf_addc(b, ']');
		return;
	}
	double d;
	int bv;
	if (n->tag && strncmp(n->tag, "tag:yaml.org,2002:", 18) != 0) {
		/* `!function utils.x` stays a string that says what it is. */
		struct lle_buf t = LLE_BUF_INIT;
		lle_buf_printf(&t, "%s %s", n->tag, n->str);
		lle_buf_add_json_str(b, lle_buf_str(&t));
		lle_buf_free(&t);
	} else if (lle_node_is_null(n)) {
		lle_buf_adds(b, "null");
	} else if ((bv = lle_node_bool(n)) >= 0) {
		lle_buf_adds(b, bv ? "true" : "false");
	} else if (lle_node_double(n, &d) == 0 && isfinite(d) && !strpbrk(n->str, "xXoO_") &&
		   (n->str[0] == '-' || (n->str[0] >= '0' && n->str[0] <= '9')) &&
		   !(n->str[0] == '0' && n->str[1] >= '0' && n->str[1] <= '9')) {
		lle_buf_adds(b, n->str);
	} else {
		lle_buf_add_json_str(b, n->str);
	}
}

/* ---------- members ---------- */

struct names {
	struct lle_buf b; /* NUL-separated */
	size_t n;
};

static void names_add(void *arg, const char *s)
{
	struct names *nm = arg;
	lle_buf_add(&nm->b, s, strlen(s) + 1);
	nm->n++;
}

static void names_print(struct lle_buf *out, const char *key, const struct names *nm, int json)
{
	const char *p = nm->b.p;
	if (json) {
		lle_buf_printf(out, ",\"%s\":[", key);
		for (size_t i = 0; i < nm->n; i++, p += strlen(p) + 1) {
			if (i)
				lle_buf_addc(out, ',');
			lle_buf_add_json_str(out, p);
		}
		lle_buf_addc(out, ']');
		return;
	}
	lle_buf_printf(out, "%s:%s\n", key, nm->n ? "" : " []");
	for (size_t i = 0; i < nm->n; i++, p += strlen(p) + 1) {
		lle_buf_adds(out, "  - ");
		yaml_key(out, p);
		lle_buf_addc(out, '\n');
	}
}

static int list_has(const char *list, const char *item)
{
	size_t n = strlen(item);
	for (const char *p = list; *p;) {
		const char *c = strchr(p, ',');
		size_t m = c ? (size_t)(c - p) : strlen(p);
		if (m == n && memcmp(p, item, n) == 0)
			return 1;
		p += m + (c != NULL);
	}
	return 0;
}

/* ---------- the command ---------- */

static int not_found(struct lle_registry *r, int type, const char *what, const char *name)
{
	const char *near = lle_registry_suggest(r, type, name);
	if (near)
		lle_errorf("unknown %s '%s' (did you mean '%s'?)", what, name, near);
	else
		lle_errorf("unknown %s '%s'; see 'llm-eval list %s'", what, name, lle_reg_type_name(type));
	return LLE_EXIT_USAGE;
}

static int show_tag(struct lle_registry *r, const struct lle_reg_entry *e, int json, struct lle_buf *out)
{
	struct names nm = { LLE_BUF_INIT, 0 };
	lle_reg_source_tag_members(lle_registry_source(r, LLE_REG_TASKS, e->source), e->name, names_add, &nm);
	if (nm.b.oom)
		out->oom = 1;
	if (json) {
		lle_buf_adds(out, "{\"type\":\"task\",\"kind\":\"tag\",\"name\":");
		lle_buf_add_json_str(out, e->name);
		lle_buf_printf(out, ",\"file\":\"");
		lle_buf_printf(out, "%s/%s\",\"line\":%u", e->root, e->relpath, e->line);
		names_print(out, "tasks", &nm, 1);
		lle_buf_adds(out, "}\n");
	} else {
		lle_buf_printf(out, "# tag '%s', first registered by %s/%s:%u:%u\n", e->name, e->root, e->relpath,
			       e->line, e->col);
		lle_buf_adds(out, "tag: ");
		yaml_key(out, e->name);
		lle_buf_addc(out, '\n');
		names_print(out, "tasks", &nm, 0);
	}
	lle_buf_free(&nm.b);
	return 0;
}

int lle_cmd_show(struct lle_ctx *ctx, int argc, char **argv)
{
	int json = 0;
	const char *verb = NULL, *name = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (argv[i][0] == '-' && argv[i][1])
			return lle_cmd_unknown_option(ctx->cmd, argv[i]);
		else if (!verb)
			verb = argv[i];
		else if (!name)
			name = argv[i];
		else
			return lle_cmd_usage_error(ctx->cmd, "too many arguments");
	}
	if (!verb || !name)
		return lle_cmd_usage_error(ctx->cmd, "show what? model, task or category, and a name");
	const struct show_verb *sv = NULL;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		size_t n = strlen(verb);
		/* "models", "tasks" and "categories" work too. */
		if (strncmp(verbs[i].name, verb, n) == 0 || strncmp(verb, lle_reg_type_name(verbs[i].type), n) == 0)
			sv = &verbs[i];
		if (strcmp(verbs[i].name, verb) == 0 || strcmp(lle_reg_type_name(verbs[i].type), verb) == 0)
			break;
	}
	static const char *const types[] = { "model", "task", "category", NULL };
	if (!sv)
		return lle_cmd_unknown_word(ctx->cmd, "type", verb, types, "model, task or category");

	int rc = 0;
	struct lle_registry *r = lle_cli_registry(ctx, sv->types, &rc);
	if (!r)
		return rc;
	struct lle_reg_entry ent;
	const struct lle_reg_entry *e = lle_registry_find(r, sv->type, name, &ent) ? &ent : NULL;
	lle_cli_registry_warnings(r);
	if (!e) {
		/* A file that names it but cannot be used: say why. */
		for (size_t si = lle_registry_nsources(r, sv->type); si-- > 0;) {
			const struct lle_reg_source *s = lle_registry_source(r, sv->type, si);
			for (size_t i = 0; i < lle_reg_source_nfiles(s); i++) {
				const char *fname, *ferr;
				int kind;
				lle_reg_source_file(s, i, &kind, &fname, &ferr);
				if (kind == LLE_KIND_NONE && ferr && strcmp(fname, name) == 0) {
					/* The full loader says it best (include chains, positions). */
					struct lle_buf fp = LLE_BUF_INIT;
					struct lle_err ferr2 = { 0 };
					lle_buf_printf(&fp, "%s/%s", lle_reg_source_root(s), lle_reg_source_file(s, i, NULL, NULL, NULL));
					struct lle_node *n = lle_reg_load_full(lle_buf_str(&fp), NULL, NULL, &ferr2);
					lle_errorf("%s", n ? ferr : ferr2.msg);
					lle_node_free(n);
					lle_buf_free(&fp);
					lle_registry_free(r);
					return LLE_EXIT_CONFIG;
				}
			}
		}
		rc = not_found(r, sv->type, sv->name, name);
		lle_registry_free(r);
		return rc;
	}
	struct lle_buf out = LLE_BUF_INIT;
	if (e->kind == LLE_KIND_TAG) {
		show_tag(r, e, json, &out);
		goto write;
	}
	struct lle_buf path = LLE_BUF_INIT;
	lle_buf_printf(&path, "%s/%s", e->root, e->relpath);
	char **files = NULL;
	size_t nfiles = 0;
	struct lle_err err = { 0 };
	int cfg_ok = 0; /* printed, even when the check then refuses it */
	struct lle_node *cfg = lle_reg_load_full(lle_buf_str(&path), &files, &nfiles, &err);
	if (cfg)
		cfg_ok = 1;
	if (!cfg) {
		lle_errorf("%s", err.msg);
		rc = err.code ? err.code : LLE_EXIT_CONFIG;
		goto done;
	}
	struct names models = { LLE_BUF_INIT, 0 }, tasks = { LLE_BUF_INIT, 0 };
	if (sv->type == LLE_REG_CATEGORIES) {
		size_t nm = lle_registry_count(r, LLE_REG_MODELS), nt = lle_registry_count(r, LLE_REG_TASKS);
		struct lle_reg_entry x;
		for (size_t i = 0; i < nm; i++)
			if (lle_registry_get(r, LLE_REG_MODELS, i, &x) == 0 && list_has(x.category, e->name))
				names_add(&models, x.name);
		for (size_t i = 0; i < nt; i++)
			if (lle_registry_get(r, LLE_REG_TASKS, i, &x) == 0 && strcmp(x.category, e->name) == 0)
				names_add(&tasks, x.name);
	}
	if (json) {
		lle_buf_printf(&out, "{\"type\":\"%s\",\"kind\":\"%s\",\"name\":", sv->name, lle_reg_kind_name(e->kind));
		lle_buf_add_json_str(&out, e->name);
		lle_buf_adds(&out, ",\"file\":");
		lle_buf_add_json_str(&out, lle_buf_str(&path));
		lle_buf_adds(&out, ",\"includes\":[");
		for (size_t i = 1; i < nfiles; i++) {
			if (i > 1)
				lle_buf_addc(&out, ',');
			lle_buf_add_json_str(&out, files[i]);
		}
		lle_buf_adds(&out, "],\"config\":");
		json_node(&out, cfg);
		lle_buf_adds(&out, ",\"origin\":{");
		for (size_t i = 0; i < cfg->n; i++) {
			const struct lle_node *v = cfg->items[i];
			struct lle_buf o = LLE_BUF_INIT;
			unsigned kl, kc;
			lle_reg_key_pos(v, cfg->keys[i], &kl, &kc);
			lle_buf_printf(&o, "%s:%u:%u", v->file, kl, kc);
			if (i)
				lle_buf_addc(&out, ',');
			lle_buf_add_json_str(&out, cfg->keys[i]);
			lle_buf_addc(&out, ':');
			lle_buf_add_json_str(&out, lle_buf_str(&o));
			lle_buf_free(&o);
		}
		lle_buf_addc(&out, '}');
		if (sv->type == LLE_REG_CATEGORIES) {
			names_print(&out, "models", &models, 1);
			names_print(&out, "tasks", &tasks, 1);
		}
		lle_buf_adds(&out, "}\n");
	} else {
		lle_buf_printf(&out, "# %s '%s' (%s) from %s\n", sv->name, e->name, lle_reg_kind_name(e->kind),
			       lle_buf_str(&path));
		for (size_t i = 1; i < nfiles; i++)
			lle_buf_printf(&out, "# includes %s\n", files[i]);
		/* Each top-level key with where it was set, in a column. */
		struct lle_buf one = LLE_BUF_INIT;
		size_t col = 0;
		for (size_t i = 0; i < cfg->n; i++) {
			lle_buf_reset(&one);
			struct lle_node wrap = { .kind = LLE_NODE_MAP, .n = 1, .items = &cfg->items[i], .keys = &cfg->keys[i] };
			yaml_node(&one, &wrap, 0);
			size_t first = strcspn(lle_buf_str(&one), "\n");
			if (first > col && first <= 48)
				col = first;
		}
		for (size_t i = 0; i < cfg->n; i++) {
			lle_buf_reset(&one);
			struct lle_node wrap = { .kind = LLE_NODE_MAP, .n = 1, .items = &cfg->items[i], .keys = &cfg->keys[i] };
			yaml_node(&one, &wrap, 0);
			const char *s = lle_buf_str(&one);
			size_t first = strcspn(s, "\n");
			unsigned kl, kc;
			lle_reg_key_pos(cfg->items[i], cfg->keys[i], &kl, &kc);
			lle_buf_add(&out, s, first);
			lle_buf_printf(&out, "%*s  # %s:%u\n", (int)(col > first ? col - first : 0), "",
				       cfg->items[i]->file, kl);
			if (s[first] && s[first + 1])
				lle_buf_adds(&out, s + first + 1);
		}
		if (one.oom)
			out.oom = 1;
		lle_buf_free(&one);
		if (sv->type == LLE_REG_CATEGORIES) {
			lle_buf_adds(&out, "# members, from the registry\n");
			names_print(&out, "models", &models, 0);
			names_print(&out, "tasks", &tasks, 0);
		}
	}
	if (sv->type == LLE_REG_TASKS) {
		/* What run would refuse, show refuses too (after printing). */
		lle_check_tasks_fn check;
		struct lle_check_counts c = { 0 };
		*(void **)&check = lle_cli_engine_sym(ctx, "lle_engine_check_tasks");
		rc = !check ? LLE_EXIT_INTERNAL : check(r, e->name, NULL, &c);
		if (rc == 0 && c.nfailed)
			rc = c.first_code;
	}
	if (models.b.oom || tasks.b.oom)
		out.oom = 1;
	lle_buf_free(&models.b);
	lle_buf_free(&tasks.b);
	lle_node_free(cfg);
done:
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	lle_buf_free(&path);
	if (rc == LLE_EXIT_INTERNAL || (rc && !cfg_ok)) {
		lle_buf_free(&out);
		lle_registry_free(r);
		return rc;
	}
write:;
	int wrc = lle_cli_write_out(&out);
	rc = rc ? rc : wrc;
	lle_buf_free(&out);
	lle_registry_free(r);
	return rc;
}
