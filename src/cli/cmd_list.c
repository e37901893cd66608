/* `llm-eval list models|tasks|categories [PATTERN]`: the registries' entries
 * as an aligned table (colour only on a terminal), TSV or JSON.
 *
 * The second-level verbs are the small table `verbs` below: adding `list
 * backends` or `list datasets` is one row and one function. A verb says which
 * registry types it needs; the registry is opened only for those, from the
 * index (and its cache), so no file's full config is ever parsed here.
 *
 * This file also holds the registry helpers that show and validate share. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "registry/registry.h"
#include "util/buf.h"
#include "util/diag.h"
#include "util/err.h"
#include "util/utf8.h"

enum { FMT_TABLE, FMT_TSV, FMT_JSON };

struct list_opts {
	int format;
	const char *category;
	int kind;            /* LLE_KIND_* or -1 */
	const char *pattern; /* NULL: all */
	int color;
};

/* ---------- shared registry helpers ---------- */

struct lle_registry *lle_cli_registry(struct lle_ctx *ctx, unsigned types, int *rc)
{
	char *cache = lle_reg_cache_dir();
	struct lle_reg_opts o = { cache, ctx->fast_mode };
	struct lle_err err = { 0 };
	struct lle_registry *r = lle_registry_open(ctx->search_path, ctx->n_search_path, ctx->n_fixed_path,
						   types, &o, &err);
	free(cache);
	if (!r) {
		lle_errorf("%s", err.msg);
		*rc = err.code ? err.code : LLE_EXIT_INTERNAL;
		return NULL;
	}
	struct lle_reg_stats st;
	lle_registry_stats(r, &st);
	lle_notef("registry index: %u file%s indexed, %u reused, %d source%s from the cache%s%s%s", st.parsed,
		  st.parsed == 1 ? "" : "s", st.reused, st.from_cache, st.from_cache == 1 ? "" : "s",
		  st.cache_written ? ", cache written" : "", st.cache_note[0] ? "; cache ignored: " : "",
		  st.cache_note);
	return r;
}

void lle_cli_registry_warnings(const struct lle_registry *r)
{
	for (size_t i = 0; i < lle_registry_ndiags(r); i++)
		lle_warnf("%s", lle_registry_diag(r, i));
}

int lle_cli_write_out(struct lle_buf *b)
{
	if (b->oom) {
		lle_errorf("out of memory");
		return LLE_EXIT_INTERNAL;
	}
	if ((b->n && fwrite(b->p, 1, b->n, stdout) != b->n) || fflush(stdout) != 0) {
		lle_errorf("cannot write the output: %m");
		return LLE_EXIT_IO;
	}
	return LLE_EXIT_OK;
}

/* ---------- filters ---------- */

static int name_matches(const char *name, const char *pattern)
{
	if (!pattern)
		return 1;
	if (strpbrk(pattern, "*?["))
		return fnmatch(pattern, name, 0) == 0;
	return strcasestr(name, pattern) != NULL;
}

/* Whether a comma-separated list has item. */
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

/* ---------- output ---------- */

struct table {
	const char **hdr;     /* ncols column names */
	size_t ncols;
	const char **cell;    /* nrows * ncols */
	size_t nrows, cap;
	const char **colour;  /* per cell SGR code, or NULL */
};

static int table_row(struct table *t, const char **cells, const char *colour)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		const char **c = realloc(t->cell, cap * t->ncols * sizeof(*c));
		if (!c)
			return -1;
		t->cell = c;
		const char **k = realloc(t->colour, cap * sizeof(*k));
		if (!k)
			return -1;
		t->colour = k;
		t->cap = cap;
	}
	memcpy(&t->cell[t->nrows * t->ncols], cells, t->ncols * sizeof(*cells));
	t->colour[t->nrows] = colour;
	t->nrows++;
	return 0;
}

static void add_clean(struct lle_buf *b, const char *s)
{
	/* One line per row: tabs and newlines would break TSV and tables. */
	size_t start = b->n;
	lle_buf_adds(b, s);
	for (size_t i = start; i < b->n; i++)
		if (b->p[i] == '\t' || b->p[i] == '\n' || b->p[i] == '\r')
			b->p[i] = ' ';
}

static size_t width(const char *s) { return lle_utf8_len(s); }

/* Add at most `cols` columns of s (UTF-8 aware), with "..." when cut. */
static void add_cut(struct lle_buf *b, const char *s, size_t cols)
{
	if (width(s) <= cols) {
		add_clean(b, s);
		return;
	}
	if (cols < 4)
		return;
	size_t n = 0, w = 0, len = strlen(s);
	while (n < len && w < cols - 3) {
		size_t k = lle_utf8_valid_prefix((const unsigned char *)s + n, len - n);
		n += k ? k : 1;
		w++;
	}
	size_t start = b->n;
	lle_buf_add(b, s, n);
	for (size_t i = start; i < b->n; i++)
		if (b->p[i] == '\t' || b->p[i] == '\n')
			b->p[i] = ' ';
	lle_buf_adds(b, "...");
}

static void print_table(struct table *t, struct lle_buf *out, int fmt, int color)
{
	if (fmt == FMT_TSV) {
		for (size_t c = 0; c < t->ncols; c++) {
			lle_buf_adds(out, t->hdr[c]);
			lle_buf_addc(out, c + 1 < t->ncols ? '\t' : '\n');
		}
		for (size_t r = 0; r < t->nrows; r++)
			for (size_t c = 0; c < t->ncols; c++) {
				add_clean(out, t->cell[r * t->ncols + c]);
				lle_buf_addc(out, c + 1 < t->ncols ? '\t' : '\n');
			}
		return;
	}
	size_t w[16] = { 0 };
	for (size_t c = 0; c < t->ncols; c++)
		w[c] = width(t->hdr[c]);
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c + 1 < t->ncols; c++) {
			size_t x = width(t->cell[r * t->ncols + c]);
			if (x > w[c])
				w[c] = x;
		}
	/* On a terminal the last column is cut to the width of the screen. */
	size_t screen = 0;
	struct winsize ws;
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		screen = ws.ws_col;
	size_t lead = 0;
	for (size_t c = 0; c + 1 < t->ncols; c++)
		lead += w[c] + 2;
	size_t last = screen > lead + 10 ? screen - lead : (size_t)-1;
	if (color)
		lle_buf_adds(out, "\033[1m");
	for (size_t c = 0; c < t->ncols; c++) {
		lle_buf_adds(out, t->hdr[c]);
		if (c + 1 < t->ncols)
			lle_buf_printf(out, "%*s", (int)(w[c] - width(t->hdr[c]) + 2), "");
	}
	lle_buf_adds(out, color ? "\033[0m\n" : "\n");
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cell[r * t->ncols + c];
			if (c + 1 == t->ncols) {
				add_cut(out, s, last);
				break;
			}
			/* Column 1 (the kind, or the categories) carries the row's colour. */
			int col = color && c == 1 && t->colour[r];
			if (col)
				lle_buf_printf(out, "\033[%sm", t->colour[r]);
			add_clean(out, s);
			if (col)
				lle_buf_adds(out, "\033[0m");
			lle_buf_printf(out, "%*s", (int)(w[c] - width(s) + 2), "");
		}
		/* no trailing blanks */
		while (out->n && out->p[out->n - 1] == ' ')
			out->p[--out->n] = '\0';
		lle_buf_addc(out, '\n');
	}
}

static void json_kv(struct lle_buf *b, const char *k, const char *v, int comma)
{
	lle_buf_printf(b, "%s\"%s\":", comma ? "," : "", k);
	lle_buf_add_json_str(b, v);
}

/* A number as written, or null when it is not one. */
static void json_num(struct lle_buf *b, const char *k, const char *v)
{
	char *end;
	lle_buf_printf(b, ",\"%s\":", k);
	if (*v && (strtod(v, &end), *end == '\0') && !strpbrk(v, "xXnNiI"))
		lle_buf_adds(b, v);
	else
		lle_buf_adds(b, "null");
}

static void json_file(struct lle_buf *b, const struct lle_reg_entry *e)
{
	struct lle_buf p = LLE_BUF_INIT;
	lle_buf_printf(&p, "%s/%s", e->root, e->relpath);
	json_kv(b, "file", lle_buf_str(&p), 1);
	lle_buf_printf(b, ",\"line\":%u}", e->line);
	if (p.oom)
		b->oom = 1;
	lle_buf_free(&p);
}

/* ---------- the verbs ---------- */

static int list_models(struct lle_registry *r, const struct list_opts *o, struct lle_buf *out)
{
	size_t n = lle_registry_count(r, LLE_REG_MODELS);
	const struct lle_reg_entry *e = lle_registry_entries(r, LLE_REG_MODELS);
	static const char *hdr[] = { "NAME", "CATEGORIES", "PARAMS_B", "SIZE_GB", "BACKEND", "DESCRIPTION" };
	static const char *tsvhdr[] = { "name", "categories", "params_b", "size_gb", "backend", "description" };
	struct table t = { o->format == FMT_TSV ? tsvhdr : hdr, 6, NULL, 0, 0, NULL };
	int first = 1;
	if (o->format == FMT_JSON)
		lle_buf_adds(out, "[");
	for (size_t i = 0; i < n; i++) {
		if (!name_matches(e[i].name, o->pattern) || (o->category && !list_has(e[i].category, o->category)))
			continue;
		if (o->format == FMT_JSON) {
			lle_buf_adds(out, first ? "\n" : ",\n");
			first = 0;
			lle_buf_addc(out, '{');
			json_kv(out, "name", e[i].name, 0);
			lle_buf_adds(out, ",\"categories\":[");
			const char *p = e[i].category;
			for (int k = 0; *p; k++) {
				const char *c = strchr(p, ',');
				size_t m = c ? (size_t)(c - p) : strlen(p);
				char item[256];
				snprintf(item, sizeof(item), "%.*s", (int)m, p);
				if (k)
					lle_buf_addc(out, ',');
				lle_buf_add_json_str(out, item);
				p += m + (c != NULL);
			}
			lle_buf_addc(out, ']');
			json_num(out, "params_b", e[i].params);
			json_num(out, "size_gb", e[i].size);
			json_kv(out, "backend", e[i].backend, 1);
			json_kv(out, "description", e[i].description, 1);
			json_file(out, &e[i]);
			continue;
		}
		const char *cells[6] = { e[i].name, e[i].category, e[i].params, e[i].size, e[i].backend,
					 e[i].description };
		if (table_row(&t, cells, NULL) < 0)
			out->oom = 1;
	}
	if (o->format == FMT_JSON)
		lle_buf_adds(out, first ? "]\n" : "\n]\n");
	else
		print_table(&t, out, o->format, o->color);
	free(t.cell);
	free(t.colour);
	return 0;
}

static const char *kind_colour(int kind)
{
	switch (kind) {
	case LLE_KIND_GROUP: return "36";
	case LLE_KIND_TAG: return "33";
	case LLE_KIND_PYTASK: return "35";
	default: return NULL;
	}
}

static int list_tasks(struct lle_registry *r, const struct list_opts *o, struct lle_buf *out)
{
	size_t n = lle_registry_count(r, LLE_REG_TASKS);
	const struct lle_reg_entry *e = lle_registry_entries(r, LLE_REG_TASKS);
	static const char *hdr[] = { "NAME", "KIND", "CATEGORY", "DESCRIPTION" };
	static const char *tsvhdr[] = { "name", "kind", "category", "description" };
	struct table t = { o->format == FMT_TSV ? tsvhdr : hdr, 4, NULL, 0, 0, NULL };
	int first = 1;
	if (o->format == FMT_JSON)
		lle_buf_adds(out, "[");
	for (size_t i = 0; i < n; i++) {
		if (!name_matches(e[i].name, o->pattern) || (o->kind >= 0 && e[i].kind != o->kind) ||
		    (o->category && strcmp(e[i].category, o->category) != 0))
			continue;
		if (o->format == FMT_JSON) {
			lle_buf_adds(out, first ? "\n" : ",\n");
			first = 0;
			lle_buf_addc(out, '{');
			json_kv(out, "name", e[i].name, 0);
			json_kv(out, "kind", lle_reg_kind_name(e[i].kind), 1);
			json_kv(out, "category", e[i].category, 1);
			json_kv(out, "description", e[i].description, 1);
			if (e[i].kind == LLE_KIND_TAG)
				lle_buf_printf(out, ",\"tasks\":%u", e[i].nmembers);
			json_file(out, &e[i]);
			continue;
		}
		const char *cells[4] = { e[i].name, lle_reg_kind_name(e[i].kind), e[i].category, e[i].description };
		if (table_row(&t, cells, kind_colour(e[i].kind)) < 0)
			out->oom = 1;
	}
	if (o->format == FMT_JSON)
		lle_buf_adds(out, first ? "]\n" : "\n]\n");
	else
		print_table(&t, out, o->format, o->color);
	free(t.cell);
	free(t.colour);
	return 0;
}

static int list_categories(struct lle_registry *r, const struct list_opts *o, struct lle_buf *out)
{
	size_t n = lle_registry_count(r, LLE_REG_CATEGORIES);
	const struct lle_reg_entry *e = lle_registry_entries(r, LLE_REG_CATEGORIES);
	size_t nm = lle_registry_count(r, LLE_REG_MODELS), nt = lle_registry_count(r, LLE_REG_TASKS);
	const struct lle_reg_entry *m = lle_registry_entries(r, LLE_REG_MODELS);
	const struct lle_reg_entry *tk = lle_registry_entries(r, LLE_REG_TASKS);
	static const char *hdr[] = { "NAME", "MODELS", "TASKS", "DESCRIPTION" };
	static const char *tsvhdr[] = { "name", "models", "tasks", "description" };
	struct table t = { o->format == FMT_TSV ? tsvhdr : hdr, 4, NULL, 0, 0, NULL };
	char (*num)[2][16] = calloc(n + 1, sizeof(*num));
	if (!num) {
		out->oom = 1;
		return 0;
	}
	int first = 1;
	if (o->format == FMT_JSON)
		lle_buf_adds(out, "[");
	for (size_t i = 0; i < n; i++) {
		if (!name_matches(e[i].name, o->pattern) || (o->category && strcmp(e[i].name, o->category) != 0))
			continue;
		unsigned cm = 0, ct = 0;
		for (size_t j = 0; j < nm; j++)
			cm += list_has(m[j].category, e[i].name);
		for (size_t j = 0; j < nt; j++)
			ct += strcmp(tk[j].category, e[i].name) == 0;
		if (o->format == FMT_JSON) {
			lle_buf_adds(out, first ? "\n" : ",\n");
			first = 0;
			lle_buf_addc(out, '{');
			json_kv(out, "name", e[i].name, 0);
			lle_buf_printf(out, ",\"models\":%u,\"tasks\":%u", cm, ct);
			json_kv(out, "description", e[i].description, 1);
			json_file(out, &e[i]);
			continue;
		}
		snprintf(num[i][0], sizeof(num[i][0]), "%u", cm);
		snprintf(num[i][1], sizeof(num[i][1]), "%u", ct);
		const char *cells[4] = { e[i].name, num[i][0], num[i][1], e[i].description };
		if (table_row(&t, cells, NULL) < 0)
			out->oom = 1;
	}
	if (o->format == FMT_JSON)
		lle_buf_adds(out, first ? "]\n" : "\n]\n");
	else
		print_table(&t, out, o->format, o->color);
	free(t.cell);
	free(t.colour);
	free(num);
	return 0;
}

#define T(x) (1u << (x))

/* The second-level verbs of `list`, one row each. `types` are the registry
 * types the verb reads (0: it does not open the registry, and fn gets NULL). */
static const struct list_verb {
	const char *name;
	const char *singular; /* accepted too: `list model` */
	unsigned types;
	int (*fn)(struct lle_registry *r, const struct list_opts *o, struct lle_buf *out);
	int kinds; /* whether --kind applies */
	/* A verb with its own options (e.g. --data-dir): it gets argv with the
	 * verb first and parses everything itself; types and fn are unused. */
	lle_cmd_fn own;
} verbs[] = {
	{ "categories", "category", T(LLE_REG_CATEGORIES) | T(LLE_REG_MODELS) | T(LLE_REG_TASKS), list_categories, 0, NULL },
	{ "datasets", "dataset", 0, NULL, 0, lle_list_datasets },
	{ "models", "model", T(LLE_REG_MODELS), list_models, 0, NULL },
	{ "tasks", "task", T(LLE_REG_TASKS), list_tasks, 1, NULL },
};

static const struct list_verb *find_verb(const char *name, int *ambiguous)
{
	const struct list_verb *hit = NULL;
	size_t n = strlen(name), nhit = 0;
	*ambiguous = 0;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(verbs[i].name, name) == 0 || (verbs[i].singular && strcmp(verbs[i].singular, name) == 0))
			return &verbs[i];
		if (n && strncmp(verbs[i].name, name, n) == 0) {
			hit = &verbs[i];
			nhit++;
		}
	}
	if (nhit > 1) {
		*ambiguous = 1;
		return NULL;
	}
	return hit;
}

/* The value of option `name` at argv[*i] ("--name V" or "--name=V"), or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, int *missing)
{
	size_t n = strlen(name);
	const char *a = argv[*i];
	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = 1;
		return NULL;
	}
	return argv[++*i];
}

/* `list VERB` for a verb with its own options: find the verb (the first
 * argument that is no option or option value) and hand it argv with the verb
 * moved first, so `list --json datasets` and `list datasets --json` agree.
 * Returns -1 when the verb is not such a verb. */
static int route_own(struct lle_ctx *ctx, int argc, char **argv)
{
	static const char *const with_value[] = { "--format", "--category", "--kind", "--data-dir" };
	int at = -1;
	for (int i = 1; i < argc && at < 0; i++) {
		if (strcmp(argv[i], "--") == 0) {
			at = i + 1 < argc ? i + 1 : -1;
			break;
		}
		if (argv[i][0] != '-' || !argv[i][1]) {
			at = i;
			break;
		}
		for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++)
			if (strcmp(argv[i], with_value[k]) == 0)
				i++;
	}
	int ambiguous;
	const struct list_verb *lv = at > 0 ? find_verb(argv[at], &ambiguous) : NULL;
	if (!lv || !lv->own)
		return -1;
	char **av = malloc((size_t)argc * sizeof(*av));
	if (!av) {
		lle_errorf("out of memory");
		return LLE_EXIT_INTERNAL;
	}
	int n = 0;
	av[n++] = argv[at];
	for (int i = 1; i < argc; i++)
		if (i != at)
			av[n++] = argv[i];
	int rc = lv->own(ctx, n, av);
	free(av);
	return rc;
}

int lle_cmd_list(struct lle_ctx *ctx, int argc, char **argv)
{
	struct list_opts o = { FMT_TABLE, NULL, -1, NULL, 0 };
	int own_rc = route_own(ctx, argc, argv);
	if (own_rc >= 0)
		return own_rc;
	const char *verb = NULL, *kind = NULL;
	int nopts = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		int missing = 0;
		if (nopts && strcmp(a, "--") == 0) {
			nopts = 0;
		} else if (nopts && strcmp(a, "--json") == 0) {
			o.format = FMT_JSON;
		} else if (nopts && ((v = opt_value(argc, argv, &i, "--format", &missing)) || missing)) {
			if (missing)
				return lle_cmd_usage_error(ctx->cmd, "option '--format' needs a value");
			if (strcmp(v, "table") == 0)
				o.format = FMT_TABLE;
			else if (strcmp(v, "tsv") == 0)
				o.format = FMT_TSV;
			else if (strcmp(v, "json") == 0)
				o.format = FMT_JSON;
			else
				return lle_cmd_usage_error(ctx->cmd, "unknown format '%s' (table, tsv or json)", v);
		} else if (nopts && ((v = opt_value(argc, argv, &i, "--category", &missing)) || missing)) {
			if (missing)
				return lle_cmd_usage_error(ctx->cmd, "option '--category' needs a value");
			o.category = v;
		} else if (nopts && ((v = opt_value(argc, argv, &i, "--kind", &missing)) || missing)) {
			if (missing)
				return lle_cmd_usage_error(ctx->cmd, "option '--kind' needs a value");
			kind = v;
		} else if (nopts && a[0] == '-' && a[1]) {
			return lle_cmd_usage_error(ctx->cmd, "unknown option '%s'", a);
		} else if (!verb) {
			verb = a;
		} else if (!o.pattern) {
			o.pattern = a;
		} else {
			return lle_cmd_usage_error(ctx->cmd, "too many arguments");
		}
	}
	if (!verb)
		return lle_cmd_usage_error(ctx->cmd, "what to list? models, tasks, categories or datasets");
	int ambiguous;
	const struct list_verb *lv = find_verb(verb, &ambiguous);
	if (!lv)
		return lle_cmd_usage_error(ctx->cmd, "%s list '%s'", ambiguous ? "ambiguous" : "unknown", verb);
	if (kind) {
		if (!lv->kinds)
			return lle_cmd_usage_error(ctx->cmd, "option '--kind' applies to 'list tasks' only");
		o.kind = lle_reg_kind_parse(kind);
		if (o.kind < LLE_KIND_TASK)
			return lle_cmd_usage_error(ctx->cmd, "unknown kind '%s' (task, group, tag or python-task)", kind);
	}
	o.color = o.format == FMT_TABLE && lle_use_color(stdout);

	int rc = 0;
	struct lle_registry *r = NULL;
	if (lv->types) {
		unsigned types = lv->types | (o.category ? T(LLE_REG_CATEGORIES) : 0);
		r = lle_cli_registry(ctx, types, &rc);
		if (!r)
			return rc;
		if (o.category && lle_registry_count(r, LLE_REG_CATEGORIES) > 0 &&
		    !lle_registry_find(r, LLE_REG_CATEGORIES, o.category)) {
			const char *known[256];
			size_t nk = 0, nc = lle_registry_count(r, LLE_REG_CATEGORIES);
			const struct lle_reg_entry *c = lle_registry_entries(r, LLE_REG_CATEGORIES);
			for (size_t i = 0; i < nc && nk < 255; i++)
				known[nk++] = c[i].name;
			known[nk] = NULL;
			const char *near = lle_reg_closest(o.category, known);
			lle_cli_registry_warnings(r);
			if (near)
				lle_errorf("unknown category '%s' (did you mean '%s'?)", o.category, near);
			else
				lle_errorf("unknown category '%s'", o.category);
			lle_registry_free(r);
			return LLE_EXIT_USAGE;
		}
	}
	struct lle_buf out = LLE_BUF_INIT;
	lv->fn(r, &o, &out);
	if (r)
		lle_cli_registry_warnings(r);
	rc = lle_cli_write_out(&out);
	lle_buf_free(&out);
	lle_registry_free(r);
	return rc;
}
