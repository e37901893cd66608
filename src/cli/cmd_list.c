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

/* The harness tree whose entry a diagnostic says overrides another one
 * ("ROOT/REL:L:C: task 'x' overrides the one in ..."), or NULL. */
static const char *overriding_tree(const struct lle_registry *r, const char *msg)
{
	if (!strstr(msg, " overrides the one in "))
		return NULL;
	for (size_t i = 0; i < lle_registry_nsources(r, LLE_REG_TASKS); i++) {
		const struct lle_reg_source *s = lle_registry_source(r, LLE_REG_TASKS, i);
		const char *root = lle_reg_source_root(s);
		size_t n = strlen(root);
		if (lle_reg_source_layout(s) == LLE_LAYOUT_HARNESS && strncmp(msg, root, n) == 0 && msg[n] == '/')
			return root;
	}
	return NULL;
}

void lle_cli_registry_warnings(const struct lle_registry *r)
{
	/* An lm-evaluation-harness tree shadows the built-in tasks of the same
	 * name by design (gsm8k, mmlu, ...): one line per tree, with the count;
	 * -v lists them. Other overrides are one line each. */
	int verbose = lle_diag_verbosity() >= LLE_VERBOSE;
	const char *tree[16];
	size_t count[16], ntree = 0;
	for (size_t i = 0; i < lle_registry_ndiags(r); i++) {
		const char *msg = lle_registry_diag(r, i);
		const char *root = verbose ? NULL : overriding_tree(r, msg);
		size_t k = 0;
		while (root && k < ntree && tree[k] != root)
			k++;
		if (root && k == ntree && ntree < 16) {
			tree[ntree] = root;
			count[ntree++] = 0;
		}
		if (root && k < ntree)
			count[k]++;
		else
			lle_warnf("%s", msg);
	}
	for (size_t k = 0; k < ntree; k++)
		lle_warnf("lm-evaluation-harness tree '%s' overrides %zu task%s of the same name earlier on "
			  "the search path (-v lists them)", tree[k], count[k], count[k] == 1 ? "" : "s");
}

/* ---------- filters ---------- */

int lle_cli_name_matches(const char *name, const char *pattern)
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

/* Output is built in a buffer and written out every 256 KB: a listing of
 * 14,000 tasks never holds (and page-faults in) all of its text at once. */
static int out_failed;

static void out_flush(struct lle_buf *b, int final)
{
	if (!final && b->n < (256u << 10))
		return;
	if (b->n && !out_failed && fwrite(b->p, 1, b->n, stdout) != b->n)
		out_failed = 1;
	lle_buf_reset(b);
}

int lle_cli_write_out(struct lle_buf *b)
{
	if (b->oom) {
		lle_errorf("out of memory");
		return LLE_EXIT_INTERNAL;
	}
	out_flush(b, 1);
	if (out_failed || fflush(stdout) != 0) {
		lle_errorf("cannot write the output: %m");
		return LLE_EXIT_IO;
	}
	return LLE_EXIT_OK;
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

static void add_spaces(struct lle_buf *b, size_t n)
{
	if (lle_buf_reserve(b, n) < 0)
		return;
	memset(b->p + b->n, ' ', n);
	b->n += n;
	b->p[b->n] = '\0';
}

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

#define MAXCOLS 8

/* Two passes over the rows, widths then text, so nothing per row is kept. */
void lle_cli_print_rows(const struct lle_rows *R, int format, int color, struct lle_buf *out)
{
	const char *cells[MAXCOLS], *colour;
	if (format == LLE_FMT_JSON) {
		int first = 1;
		lle_buf_addc(out, '[');
		for (size_t i = 0; i < R->n; i++) {
			if (!R->row(R->ctx, i, cells, &colour))
				continue;
			lle_buf_adds(out, first ? "\n" : ",\n");
			first = 0;
			R->json(R->ctx, i, out);
			out_flush(out, 0);
		}
		lle_buf_adds(out, first ? "]\n" : "\n]\n");
		return;
	}
	if (format == LLE_FMT_TSV) {
		/* TSV headers are lower case: they are the JSON keys. */
		for (size_t c = 0; c < R->ncols; c++) {
			for (const char *h = R->hdr[c]; *h; h++)
				lle_buf_addc(out, (char)(*h >= 'A' && *h <= 'Z' ? *h + 32 : *h));
			lle_buf_addc(out, c + 1 < R->ncols ? '\t' : '\n');
		}
		for (size_t i = 0; i < R->n; i++) {
			if (!R->row(R->ctx, i, cells, &colour))
				continue;
			for (size_t c = 0; c < R->ncols; c++) {
				add_clean(out, cells[c]);
				lle_buf_addc(out, c + 1 < R->ncols ? '\t' : '\n');
			}
			out_flush(out, 0);
		}
		return;
	}
	size_t w[MAXCOLS] = { 0 };
	for (size_t c = 0; c < R->ncols; c++)
		w[c] = width(R->hdr[c]);
	for (size_t i = 0; i < R->n; i++) {
		if (!R->row(R->ctx, i, cells, &colour))
			continue;
		for (size_t c = 0; c + 1 < R->ncols; c++) {
			size_t x = width(cells[c]);
			if (x > w[c])
				w[c] = x;
		}
	}
	/* On a terminal the last column is cut to the width of the screen. */
	size_t screen = 0;
	struct winsize ws;
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		screen = ws.ws_col;
	size_t lead = 0;
	for (size_t c = 0; c + 1 < R->ncols; c++)
		lead += w[c] + 2;
	size_t last = screen > lead + 10 ? screen - lead : (size_t)-1;
	if (color)
		lle_buf_adds(out, "\033[1m");
	for (size_t c = 0; c < R->ncols; c++) {
		lle_buf_adds(out, R->hdr[c]);
		if (c + 1 < R->ncols)
			add_spaces(out, w[c] - width(R->hdr[c]) + 2);
	}
	lle_buf_adds(out, color ? "\033[0m\n" : "\n");
	for (size_t i = 0; i < R->n; i++) {
		if (!R->row(R->ctx, i, cells, &colour))
			continue;
		for (size_t c = 0; c < R->ncols; c++) {
			const char *s = cells[c];
			if (c + 1 == R->ncols) {
				add_cut(out, s, last);
				break;
			}
			/* One column (the kind, a status) carries the row's colour. */
			int col = color && c == R->colour_col && colour;
			if (col)
				lle_buf_printf(out, "\033[%sm", colour);
			add_clean(out, s);
			if (col)
				lle_buf_adds(out, "\033[0m");
			add_spaces(out, w[c] - width(s) + 2);
		}
		/* no trailing blanks */
		while (out->n && out->p[out->n - 1] == ' ')
			out->p[--out->n] = '\0';
		lle_buf_addc(out, '\n');
		out_flush(out, 0);
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
	lle_buf_adds(b, ",\"file\":");
	struct lle_buf p = LLE_BUF_INIT;
	lle_buf_printf(&p, "%s/%s", e->root, e->relpath);
	lle_buf_add_json_str(b, lle_buf_str(&p));
	lle_buf_printf(b, ",\"line\":%u}", e->line);
	if (p.oom)
		b->oom = 1;
	lle_buf_free(&p);
}

/* ---------- the verbs ---------- */

struct list_ctx {
	struct lle_registry *r;
	const struct list_opts *o;
	int type;
	struct lle_reg_entry e; /* the current row */
	char num[2][16];
};

static int model_row(void *ctx, size_t i, const char **cells, const char **colour)
{
	struct list_ctx *c = ctx;
	struct lle_reg_entry *e = &c->e;
	lle_registry_get(c->r, LLE_REG_MODELS, i, e);
	if (!lle_cli_name_matches(e->name, c->o->pattern) || (c->o->category && !list_has(e->category, c->o->category)))
		return 0;
	cells[0] = e->name;
	cells[1] = e->category;
	cells[2] = e->params;
	cells[3] = e->size;
	cells[4] = e->backend;
	cells[5] = e->description;
	*colour = NULL;
	return 1;
}

static void model_json(void *ctx, size_t i, struct lle_buf *out)
{
	struct list_ctx *c = ctx;
	const struct lle_reg_entry *e = &c->e;
	(void)i;
	lle_buf_addc(out, '{');
	json_kv(out, "name", e->name, 0);
	lle_buf_adds(out, ",\"categories\":[");
	const char *p = e->category;
	for (int k = 0; *p; k++) {
		const char *cm = strchr(p, ',');
		size_t m = cm ? (size_t)(cm - p) : strlen(p);
		char item[256];
		snprintf(item, sizeof(item), "%.*s", (int)m, p);
		if (k)
			lle_buf_addc(out, ',');
		lle_buf_add_json_str(out, item);
		p += m + (cm != NULL);
	}
	lle_buf_addc(out, ']');
	json_num(out, "params_b", e->params);
	json_num(out, "size_gb", e->size);
	json_kv(out, "backend", e->backend, 1);
	json_kv(out, "description", e->description, 1);
	json_file(out, e);
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

static int task_row(void *ctx, size_t i, const char **cells, const char **colour)
{
	struct list_ctx *c = ctx;
	struct lle_reg_entry *e = &c->e;
	lle_registry_get(c->r, LLE_REG_TASKS, i, e);
	if (!lle_cli_name_matches(e->name, c->o->pattern) || (c->o->kind >= 0 && e->kind != c->o->kind) ||
	    (c->o->category && strcmp(e->category, c->o->category) != 0))
		return 0;
	cells[0] = e->name;
	cells[1] = lle_reg_kind_name(e->kind);
	cells[2] = e->category;
	cells[3] = e->description;
	*colour = kind_colour(e->kind);
	return 1;
}

static void task_json(void *ctx, size_t i, struct lle_buf *out)
{
	struct list_ctx *c = ctx;
	const struct lle_reg_entry *e = &c->e;
	(void)i;
	lle_buf_addc(out, '{');
	json_kv(out, "name", e->name, 0);
	json_kv(out, "kind", lle_reg_kind_name(e->kind), 1);
	json_kv(out, "category", e->category, 1);
	json_kv(out, "description", e->description, 1);
	if (e->kind == LLE_KIND_TAG)
		lle_buf_printf(out, ",\"tasks\":%u", e->nmembers);
	json_file(out, e);
}

static int category_row(void *ctx, size_t i, const char **cells, const char **colour)
{
	struct list_ctx *c = ctx;
	struct lle_reg_entry *e = &c->e, x;
	lle_registry_get(c->r, LLE_REG_CATEGORIES, i, e);
	if (!lle_cli_name_matches(e->name, c->o->pattern) || (c->o->category && strcmp(e->name, c->o->category) != 0))
		return 0;
	unsigned cm = 0, ct = 0;
	size_t nm = lle_registry_count(c->r, LLE_REG_MODELS), nt = lle_registry_count(c->r, LLE_REG_TASKS);
	for (size_t j = 0; j < nm; j++)
		cm += lle_registry_get(c->r, LLE_REG_MODELS, j, &x) == 0 && list_has(x.category, e->name);
	for (size_t j = 0; j < nt; j++)
		ct += lle_registry_get(c->r, LLE_REG_TASKS, j, &x) == 0 && strcmp(x.category, e->name) == 0;
	snprintf(c->num[0], sizeof(c->num[0]), "%u", cm);
	snprintf(c->num[1], sizeof(c->num[1]), "%u", ct);
	cells[0] = e->name;
	cells[1] = c->num[0];
	cells[2] = c->num[1];
	cells[3] = e->description;
	*colour = NULL;
	return 1;
}

static void category_json(void *ctx, size_t i, struct lle_buf *out)
{
	struct list_ctx *c = ctx;
	const struct lle_reg_entry *e = &c->e;
	(void)i;
	lle_buf_addc(out, '{');
	json_kv(out, "name", e->name, 0);
	lle_buf_printf(out, ",\"models\":%s,\"tasks\":%s", c->num[0], c->num[1]);
	json_kv(out, "description", e->description, 1);
	json_file(out, e);
}

static int list_models(struct lle_registry *r, const struct list_opts *o, struct lle_buf *out)
{
	static const char *const hdr[] = { "NAME", "CATEGORIES", "PARAMS_B", "SIZE_GB", "BACKEND", "DESCRIPTION" };
	struct list_ctx c = { .r = r, .o = o, .type = LLE_REG_MODELS };
	struct lle_rows R = { hdr, 6, lle_registry_count(r, LLE_REG_MODELS), model_row, model_json, &c, 1 };
	lle_cli_print_rows(&R, o->format, o->color, out);
	return 0;
}

static int list_tasks(struct lle_registry *r, const struct list_opts *o, struct lle_buf *out)
{
	static const char *const hdr[] = { "NAME", "KIND", "CATEGORY", "DESCRIPTION" };
	struct list_ctx c = { .r = r, .o = o, .type = LLE_REG_TASKS };
	struct lle_rows R = { hdr, 4, lle_registry_count(r, LLE_REG_TASKS), task_row, task_json, &c, 1 };
	lle_cli_print_rows(&R, o->format, o->color, out);
	return 0;
}

static int list_categories(struct lle_registry *r, const struct list_opts *o, struct lle_buf *out)
{
	static const char *const hdr[] = { "NAME", "MODELS", "TASKS", "DESCRIPTION" };
	struct list_ctx c = { .r = r, .o = o, .type = LLE_REG_CATEGORIES };
	struct lle_rows R = { hdr, 4, lle_registry_count(r, LLE_REG_CATEGORIES), category_row, category_json, &c, 1 };
	lle_cli_print_rows(&R, o->format, o->color, out);
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
	{ "backends", "backend", 0, NULL, 0, lle_list_backends },
	{ "categories", "category", T(LLE_REG_CATEGORIES) | T(LLE_REG_MODELS) | T(LLE_REG_TASKS), list_categories, 0, NULL },
	{ "datasets", "dataset", 0, NULL, 0, lle_list_datasets },
	{ "models", "model", T(LLE_REG_MODELS), list_models, 0, NULL },
	{ "tasks", "task", T(LLE_REG_TASKS), list_tasks, 1, NULL },
};

static const char *const k_verbs[] = { "models", "tasks", "categories", "datasets", "backends", NULL };
static const char *const k_formats[] = { "table", "tsv", "json", NULL };
static const char *const k_kinds[] = { "task", "group", "tag", "python-task", NULL };

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
	int own_rc = route_own(ctx, argc, argv);
	if (own_rc >= 0)
		return own_rc;
	struct list_opts o = { LLE_FMT_TABLE, NULL, -1, NULL, 0 };
	const char *verb = NULL, *kind = NULL;
	int nopts = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		int missing = 0;
		if (nopts && strcmp(a, "--") == 0) {
			nopts = 0;
		} else if (nopts && strcmp(a, "--json") == 0) {
			o.format = LLE_FMT_JSON;
		} else if (nopts && ((v = lle_cmd_opt_value(argc, argv, &i, "--format", &missing)) || missing)) {
			if (missing)
				return lle_cmd_usage_error(ctx->cmd, "option '--format' needs a value");
			if (lle_cmd_format(v, &o.format) < 0)
				return lle_cmd_unknown_word(ctx->cmd, "format", v, k_formats, "table, tsv or json");
		} else if (nopts && ((v = lle_cmd_opt_value(argc, argv, &i, "--category", &missing)) || missing)) {
			if (missing)
				return lle_cmd_usage_error(ctx->cmd, "option '--category' needs a value");
			o.category = v;
		} else if (nopts && ((v = lle_cmd_opt_value(argc, argv, &i, "--kind", &missing)) || missing)) {
			if (missing)
				return lle_cmd_usage_error(ctx->cmd, "option '--kind' needs a value");
			kind = v;
		} else if (nopts && a[0] == '-' && a[1]) {
			return lle_cmd_unknown_option(ctx->cmd, a);
		} else if (!verb) {
			verb = a;
		} else if (!o.pattern) {
			o.pattern = a;
		} else {
			return lle_cmd_usage_error(ctx->cmd, "too many arguments");
		}
	}
	if (!verb)
		return lle_cmd_usage_error(ctx->cmd, "what to list? models, tasks, categories, datasets or backends");
	int ambiguous;
	const struct list_verb *lv = find_verb(verb, &ambiguous);
	if (!lv && ambiguous)
		return lle_cmd_usage_error(ctx->cmd, "ambiguous list '%s'", verb);
	if (!lv)
		return lle_cmd_unknown_word(ctx->cmd, "list", verb, k_verbs, "models, tasks, categories, datasets or backends");
	if (kind) {
		if (!lv->kinds)
			return lle_cmd_usage_error(ctx->cmd, "option '--kind' applies to 'list tasks' only");
		o.kind = lle_reg_kind_parse(kind);
		if (o.kind < LLE_KIND_TASK)
			return lle_cmd_unknown_word(ctx->cmd, "kind", kind, k_kinds, "task, group, tag or python-task");
	}
	o.color = o.format == LLE_FMT_TABLE && lle_use_color(stdout);

	int rc = 0;
	struct lle_registry *r = NULL;
	if (lv->types) {
		unsigned types = lv->types | (o.category ? T(LLE_REG_CATEGORIES) : 0);
		r = lle_cli_registry(ctx, types, &rc);
		if (!r)
			return rc;
		if (o.category && lle_registry_count(r, LLE_REG_CATEGORIES) > 0 &&
		    !lle_registry_find(r, LLE_REG_CATEGORIES, o.category, NULL)) {
			const char *near = lle_registry_suggest(r, LLE_REG_CATEGORIES, o.category);
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
