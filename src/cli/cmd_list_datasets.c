/* `llm-eval list datasets [PATTERN]`: each dataset the registry's tasks read
 * (their `dataset_path` and `dataset_name`), the tasks that read it, where a
 * run reads it from (SOURCE: local files under the data directory,
 * `--data-dir` else LLM_EVAL_DATA_DIR, or the Hugging Face Hub) and whether
 * it is there (STATUS: present, partial, missing or no data dir for local
 * files; cached, partial or remote for the Hub), as a table, TSV or JSON.
 *
 * A split comes from the Hub by the rule a run uses (lle_data_from_hub);
 * whether the Hub cache has it at the task's revision (dataset_kwargs.
 * revision, else main) is decided by the cache's refs, snapshot listing and
 * README, as a run offline decides (data/hub_cache.c): no network, no
 * libcurl, no data file opened, no blob checked (a run checks those).
 *
 * Files are never opened: a split's path is resolved exactly as a run
 * resolves it (data/datapath.c: `data_files`, else lle_data_split_spec's
 * `<dataset_path>[/<dataset_name>]/<split>.jsonl`) and checked with access() or glob(). Each
 * task and group file is read in full through the registry
 * (lle_reg_load_full), so `include:` is merged by the one implementation a
 * run uses. `llm-eval -v list datasets` prints the time the reading took.
 *
 * Reached as `list datasets` through cmd_list.c, which passes argv with the
 * verb first: argv[0] is "datasets", options and the pattern follow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cmd.h"
#include "data/datapath.h"
#include "data/hub.h"
#include "registry/registry.h"
#include "util/buf.h"
#include "util/diag.h"
#include "util/err.h"
#include "util/path.h"
#include "util/utf8.h"

enum { ST_PRESENT, ST_MISSING, ST_NODIR, ST_PARTIAL, ST_CACHED, ST_REMOTE };
static const char *const status_name[] = { "present", "missing", "no data dir", "partial", "cached", "remote" };
static const char *const status_json[] = { "present", "missing", "no-data-dir", "partial", "cached", "remote" };

struct ds_split {
	char *split;
	char *spec;   /* as written in data_files, or <dataset_path>/<split>.jsonl */
	char *path;   /* resolved (Hub: the cached file), or NULL (a data directory is needed
			 and none is set; not in the Hub cache) */
	int status;   /* ST_PRESENT, ST_MISSING or ST_NODIR; Hub: ST_CACHED or ST_REMOTE */
	int hub;      /* read from the Hugging Face Hub (lle_data_from_hub) */
	char commit[41]; /* Hub, cached: the snapshot's commit */
};

struct dataset {
	char *path;   /* dataset_path, or the first data file when there is none */
	char *name;   /* dataset_name, or NULL */
	char *rev;    /* dataset_kwargs.revision, or NULL (main) */
	char *label;  /* the table's DATASET: path, or path@rev */
	char **tasks;
	size_t ntasks;
	struct ds_split *splits;
	size_t nsplits;
	int status;
};

struct ds_list {
	struct dataset *v;
	size_t n;
	struct lle_data_dir dd;
	char *hub_cache;   /* lle_hub_cache_dir(), or NULL */
	const char *pattern;
	const char *category;
	int oom;
};

static int str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int push_str(char ***v, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0)
			return 0;
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return -1;
	*v = nv;
	if (!(nv[*n] = lle_strdup(s)))
		return -1;
	(*n)++;
	return 0;
}

static struct dataset *find_or_add(struct ds_list *l, const char *path, const char *name, const char *rev)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].path, path) == 0 && str_eq(l->v[i].name, name) && str_eq(l->v[i].rev, rev))
			return &l->v[i];
	struct dataset *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	if (!nv)
		return NULL;
	l->v = nv;
	struct dataset *d = &l->v[l->n];
	memset(d, 0, sizeof(*d));
	d->path = lle_strdup(path);
	d->name = name ? lle_strdup(name) : NULL;
	d->rev = rev ? lle_strdup(rev) : NULL;
	struct lle_buf b = LLE_BUF_INIT;
	lle_buf_printf(&b, rev ? "%s@%s" : "%s", path, rev);
	d->label = b.oom ? (lle_buf_free(&b), NULL) : lle_buf_detach(&b);
	l->n++;
	if (!d->path || (name && !d->name) || (rev && !d->rev) || !d->label)
		return NULL;
	return d;
}

/* Where the task's split comes from on the Hub: repository, configuration,
 * revision. */
struct hub_ref {
	const char *repo, *config, *rev;
};

/* A Hub split: cached or remote, by the cache alone. A configuration or
 * split the cached README lacks is remote here; the run says more. */
static int hub_status(struct ds_list *l, struct ds_split *s, const struct hub_ref *h)
{
	s->hub = 1;
	s->status = ST_REMOTE;
	char *dir = l->hub_cache ? lle_hub_repo_dir(l->hub_cache, h->repo) : NULL;
	if (l->hub_cache && !dir)
		return -1;
	struct lle_hub_cached hc;
	struct lle_err err = { 0 };
	int r = dir ? lle_hub_cached(dir, h->repo, h->rev, h->config, s->split, &hc, &err) : 0;
	if (r < 0 && err.code == LLE_EXIT_INTERNAL) {
		free(dir);
		return -1;
	}
	if (r > 0) {
		s->status = ST_CACHED;
		memcpy(s->commit, hc.commit, sizeof(s->commit));
		struct lle_buf b = LLE_BUF_INIT;
		lle_buf_printf(&b, "%s/snapshots/%s/%s", dir, hc.commit, hc.files[0]);
		lle_hub_cached_free(&hc);
		if (b.oom) {
			free(dir);
			return -1;
		}
		s->path = lle_buf_detach(&b);
	}
	free(dir);
	return 0;
}

/* One split of one task: resolved as the run resolves it, then stat()ed;
 * or, when the run reads it from the Hub (h not NULL), looked up in the
 * Hub cache. */
static int add_split(struct ds_list *l, struct dataset *d, const char *split, const char *spec,
		     const char *base_dir, const struct hub_ref *h)
{
	for (size_t i = 0; i < d->nsplits; i++)
		if (strcmp(d->splits[i].split, split) == 0 && strcmp(d->splits[i].spec, spec) == 0)
			return 0;
	struct ds_split *ns = realloc(d->splits, (d->nsplits + 1) * sizeof(*ns));
	if (!ns)
		return -1;
	d->splits = ns;
	struct ds_split *s = &d->splits[d->nsplits];
	memset(s, 0, sizeof(*s));
	s->split = lle_strdup(split);
	s->spec = lle_strdup(spec);
	d->nsplits++;
	if (!s->split || !s->spec)
		return -1;
	if (h)
		return hub_status(l, s, h);
	struct lle_err err = { 0 };
	s->path = lle_data_resolve(spec, base_dir, &l->dd, 0, "", &err);
	if (!s->path) {
		if (err.code == LLE_EXIT_INTERNAL || !err.code)
			return -1; /* out of memory */
		s->status = ST_NODIR;
		return 0;
	}
	s->status = lle_data_present(s->path) ? ST_PRESENT : ST_MISSING;
	return 0;
}

static const char *scalar(const struct lle_node *map, const char *key)
{
	const struct lle_node *v = lle_node_get(map, key);
	return v && v->kind == LLE_NODE_SCALAR && !lle_node_is_null(v) && v->str[0] ? v->str : NULL;
}

/* A data_files value: a string, or a list of them (one row each). */
static int add_files(struct ds_list *l, struct dataset *d, const char *split, const struct lle_node *v,
		     const char *base_dir, const struct hub_ref *h)
{
	/* a run takes the Hub over the files when the (first) file allows it */
	const struct lle_node *first = v->kind == LLE_NODE_SEQ && v->n ? v->items[0] : v;
	if (h && first->kind == LLE_NODE_SCALAR && lle_data_from_hub(h->repo, first->str, &l->dd))
		return add_split(l, d, split, first->str, base_dir, h);
	if (v->kind == LLE_NODE_SCALAR)
		return add_split(l, d, split, v->str, base_dir, NULL);
	if (v->kind == LLE_NODE_SEQ)
		for (size_t i = 0; i < v->n; i++)
			if (v->items[i]->kind == LLE_NODE_SCALAR &&
			    add_split(l, d, split, v->items[i]->str, base_dir, NULL) < 0)
				return -1;
	return 0;
}

/* One task config (a registry task, or a task written inline in a group). */
static int add_task(struct ds_list *l, const struct lle_node *cfg, const char *base_dir)
{
	const char *task = scalar(cfg, "task");
	const char *dpath = scalar(cfg, "dataset_path");
	const char *dname = scalar(cfg, "dataset_name");
	const struct lle_node *files = lle_node_get(cfg, "data_files");
	if (files && files->kind != LLE_NODE_MAP)
		files = NULL;
	if (!task || (!dpath && (!files || files->n == 0)))
		return 0; /* reads no data (or cannot run): nothing to list */
	if (l->category && !str_eq(scalar(cfg, "category"), l->category))
		return 0;
	const char *id = dpath;
	if (!id) {
		/* No dataset id: the first data file stands for it. */
		const struct lle_node *f = files->items[0];
		id = f->kind == LLE_NODE_SCALAR ? f->str
		   : f->kind == LLE_NODE_SEQ && f->n && f->items[0]->kind == LLE_NODE_SCALAR ? f->items[0]->str : NULL;
		if (!id)
			return 0;
	}
	if (l->pattern && !lle_cli_name_matches(id, l->pattern) &&
	    !(dname && lle_cli_name_matches(dname, l->pattern)) && !lle_cli_name_matches(task, l->pattern))
		return 0;
	const struct lle_node *kw = lle_node_get(cfg, "dataset_kwargs");
	const char *rev = kw && kw->kind == LLE_NODE_MAP ? scalar(kw, "revision") : NULL;
	struct dataset *d = find_or_add(l, id, dname, rev);
	if (!d || push_str(&d->tasks, &d->ntasks, task) < 0)
		return -1;
	struct hub_ref href = { dpath, dname, rev };
	const struct hub_ref *h = dpath ? &href : NULL;
	/* Every data_files entry, then the splits the task names that have none
	 * (a run reads those as <dataset_path>[/<dataset_name>]/<split>.jsonl). */
	for (size_t i = 0; files && i < files->n; i++)
		if (add_files(l, d, files->keys[i], files->items[i], base_dir, h) < 0)
			return -1;
	static const char *const split_keys[] = { "test_split", "validation_split", "training_split", "fewshot_split" };
	for (size_t k = 0; k < sizeof(split_keys) / sizeof(split_keys[0]); k++) {
		const char *split = scalar(cfg, split_keys[k]);
		if (!split || (files && lle_node_get(files, split)) || !dpath)
			continue;
		char *spec = lle_data_split_spec(dpath, dname, split);
		int rc = spec ? add_split(l, d, split, spec, base_dir,
					  lle_data_from_hub(dpath, NULL, &l->dd) ? h : NULL) : -1;
		free(spec);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Every registry task and group file, in full (includes merged by the
 * registry, as a run merges them): a task's own keys, a group's inline
 * task configs. */
static int collect(struct lle_registry *r, struct ds_list *l, unsigned *nbroken)
{
	size_t n = lle_registry_count(r, LLE_REG_TASKS);
	for (size_t i = 0; i < n; i++) {
		struct lle_reg_entry ent;
		if (lle_registry_get(r, LLE_REG_TASKS, i, &ent) < 0)
			continue;
		const struct lle_reg_entry *e = &ent;
		if (e->kind != LLE_KIND_TASK && e->kind != LLE_KIND_GROUP)
			continue;
		if (l->category && e->kind == LLE_KIND_TASK && strcmp(e->category, l->category) != 0)
			continue; /* the index knows the category: skip the load */
		char *path = lle_path_join(e->root, e->relpath);
		char *dir = path ? lle_path_dirname(path) : NULL;
		if (!path || !dir) {
			free(path);
			free(dir);
			return -1;
		}
		int rc = 0;
		struct lle_err err = { 0 };
		struct lle_node *cfg = lle_reg_load_full(path, NULL, NULL, &err);
		if (!cfg) {
			/* A broken file is validate's business; say so once and go on. */
			lle_debugf("%s", err.msg);
			(*nbroken)++;
		} else if (e->kind == LLE_KIND_TASK) {
			rc = add_task(l, cfg, dir);
		} else {
			const struct lle_node *m = lle_node_get(cfg, "task");
			for (size_t k = 0; rc == 0 && m && m->kind == LLE_NODE_SEQ && k < m->n; k++)
				if (m->items[k]->kind == LLE_NODE_MAP && !lle_node_get(m->items[k], "group"))
					rc = add_task(l, m->items[k], dir);
		}
		lle_node_free(cfg);
		free(path);
		free(dir);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int cmp_dataset(const void *a, const void *b)
{
	const struct dataset *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	if (!c)
		c = strcmp(x->name ? x->name : "", y->name ? y->name : "");
	return c ? c : strcmp(x->rev ? x->rev : "", y->rev ? y->rev : "");
}

/* A dataset: every split there (present, or cached when any comes from
 * the Hub), some (partial), or none (remote when any comes from the Hub,
 * else no data dir or missing). */
static void settle(struct dataset *d)
{
	int there = 0, nodir = 0, hub = 0;
	for (size_t i = 0; i < d->nsplits; i++) {
		there += d->splits[i].status == ST_PRESENT || d->splits[i].status == ST_CACHED;
		nodir += d->splits[i].status == ST_NODIR;
		hub += d->splits[i].hub;
	}
	d->status = there == (int)d->nsplits ? (hub ? ST_CACHED : ST_PRESENT)
		  : there ? ST_PARTIAL
		  : hub ? ST_REMOTE
		  : nodir ? ST_NODIR : ST_MISSING;
}

static int dataset_hub(const struct dataset *d)
{
	for (size_t i = 0; i < d->nsplits; i++)
		if (d->splits[i].hub)
			return 1;
	return 0;
}

static void ds_list_free(struct ds_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct dataset *d = &l->v[i];
		free(d->path);
		free(d->name);
		free(d->rev);
		free(d->label);
		for (size_t k = 0; k < d->ntasks; k++)
			free(d->tasks[k]);
		free(d->tasks);
		for (size_t k = 0; k < d->nsplits; k++) {
			free(d->splits[k].split);
			free(d->splits[k].spec);
			free(d->splits[k].path);
		}
		free(d->splits);
	}
	free(l->v);
	free(l->hub_cache);
}

/* ---------- output ---------- */

/* Rows through the list commands' writer (lle_cli_print_rows). The table
 * says a status in words and "-" for no name; TSV and JSON use the JSON
 * spellings. A dataset read by many tasks (an lm-evaluation-harness tree)
 * shows its first task and a count in the table, so it does not widen every
 * row. */
struct ds_rows {
	const struct ds_list *l;
	int format;
	struct lle_buf tasks, files;
};

static void join_tasks(struct lle_buf *b, const struct dataset *d)
{
	for (size_t k = 0; k < d->ntasks; k++)
		lle_buf_printf(b, "%s%s", k ? "," : "", d->tasks[k]);
}

static int ds_row(void *ctx, size_t i, const char **cells, const char **colour)
{
	struct ds_rows *R = ctx;
	const struct dataset *d = &R->l->v[i];
	int table = R->format == LLE_FMT_TABLE;
	lle_buf_reset(&R->tasks);
	join_tasks(&R->tasks, d);
	if (table && R->tasks.n > 40 && d->ntasks > 1) {
		lle_buf_reset(&R->tasks);
		lle_buf_printf(&R->tasks, "%s and %zu more", d->tasks[0], d->ntasks - 1);
	}
	lle_buf_reset(&R->files);
	for (size_t k = 0; k < d->nsplits; k++) {
		const struct ds_split *s = &d->splits[k];
		if (s->hub && !s->path)
			lle_buf_printf(&R->files, "%s%s=hub:%s", k ? " " : "", s->split, d->path);
		else
			lle_buf_printf(&R->files, "%s%s=%s", k ? " " : "", s->split, s->path ? s->path : s->spec);
		if (s->status != ST_PRESENT && s->status != ST_CACHED)
			lle_buf_printf(&R->files, " (%s)", status_name[s->status]);
	}
	cells[0] = table ? d->label : d->path;
	cells[1] = d->name ? d->name : table ? "-" : "";
	cells[2] = dataset_hub(d) ? "hub" : "local";
	cells[3] = (table ? status_name : status_json)[d->status];
	cells[4] = lle_buf_str(&R->tasks);
	cells[5] = lle_buf_str(&R->files);
	*colour = d->status == ST_PRESENT || d->status == ST_CACHED ? "32"
		: d->status == ST_PARTIAL || d->status == ST_REMOTE ? "33" : "31";
	return 1;
}

static void ds_json(void *ctx, size_t i, struct lle_buf *o)
{
	const struct dataset *d = &((struct ds_rows *)ctx)->l->v[i];
	lle_buf_adds(o, "{\"dataset\":");
	lle_buf_add_json_str(o, d->path);
	lle_buf_adds(o, ",\"name\":");
	if (d->name)
		lle_buf_add_json_str(o, d->name);
	else
		lle_buf_adds(o, "null");
	if (d->rev) {
		lle_buf_adds(o, ",\"revision\":");
		lle_buf_add_json_str(o, d->rev);
	}
	lle_buf_adds(o, ",\"source\":");
	lle_buf_add_json_str(o, dataset_hub(d) ? "hub" : "local");
	lle_buf_adds(o, ",\"status\":");
	lle_buf_add_json_str(o, status_json[d->status]);
	lle_buf_adds(o, ",\"tasks\":[");
	for (size_t k = 0; k < d->ntasks; k++) {
		if (k)
			lle_buf_addc(o, ',');
		lle_buf_add_json_str(o, d->tasks[k]);
	}
	lle_buf_adds(o, "],\"splits\":[");
	for (size_t k = 0; k < d->nsplits; k++) {
		const struct ds_split *s = &d->splits[k];
		lle_buf_adds(o, k ? ",{\"split\":" : "{\"split\":");
		lle_buf_add_json_str(o, s->split);
		lle_buf_adds(o, ",\"file\":");
		lle_buf_add_json_str(o, s->spec);
		lle_buf_adds(o, ",\"path\":");
		if (s->path)
			lle_buf_add_json_str(o, s->path);
		else
			lle_buf_adds(o, "null");
		lle_buf_printf(o, ",\"present\":%s", s->status == ST_PRESENT || s->status == ST_CACHED ? "true" : "false");
		if (s->hub) {
			lle_buf_adds(o, ",\"hub\":true,\"commit\":");
			if (s->status == ST_CACHED)
				lle_buf_add_json_str(o, s->commit);
			else
				lle_buf_adds(o, "null");
		}
		lle_buf_addc(o, '}');
	}
	lle_buf_adds(o, "]}");
}

static void print_datasets(const struct ds_list *l, int format, int color, struct lle_buf *out)
{
	static const char *const hdr[] = { "DATASET", "NAME", "SOURCE", "STATUS", "TASKS", "FILES" };
	struct ds_rows ctx = { l, format, LLE_BUF_INIT, LLE_BUF_INIT };
	struct lle_rows R = { hdr, 6, l->n, ds_row, ds_json, &ctx, 3 };
	lle_cli_print_rows(&R, format, color, out);
	if (ctx.tasks.oom || ctx.files.oom)
		out->oom = 1;
	lle_buf_free(&ctx.tasks);
	lle_buf_free(&ctx.files);
}

static int usage(const char *fmt, const char *arg)
{
	lle_errorf(fmt, arg);
	fprintf(stderr, "usage: llm-eval list datasets [--data-dir DIR] [--category NAME] "
			"[--json | --format table|tsv|json] [PATTERN]\n");
	return LLE_EXIT_USAGE;
}

int lle_list_datasets(struct lle_ctx *ctx, int argc, char **argv)
{
	struct ds_list l = { 0 };
	int fmt = LLE_FMT_TABLE, nopts = 1;
	const char *data_dir = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		int missing = 0;
		if (nopts && strcmp(a, "--") == 0) {
			nopts = 0;
		} else if (nopts && strcmp(a, "--json") == 0) {
			fmt = LLE_FMT_JSON;
		} else if (nopts && ((v = lle_cmd_opt_value(argc, argv, &i, "--format", &missing)) || missing)) {
			if (missing)
				return usage("option '%s' needs a value", "--format");
			if (lle_cmd_format(v, &fmt) < 0)
				return usage("unknown format '%s' (table, tsv or json)", v);
		} else if (nopts && ((v = lle_cmd_opt_value(argc, argv, &i, "--data-dir", &missing)) || missing)) {
			if (missing)
				return usage("option '%s' needs a value", "--data-dir");
			data_dir = v;
		} else if (nopts && ((v = lle_cmd_opt_value(argc, argv, &i, "--category", &missing)) || missing)) {
			if (missing)
				return usage("option '%s' needs a value", "--category");
			l.category = v;
		} else if (nopts && a[0] == '-' && a[1]) {
			return usage("unknown option '%s' for 'list datasets'", a);
		} else if (!l.pattern) {
			l.pattern = a;
		} else {
			return usage("too many arguments ('%s')", a);
		}
	}
	lle_data_dir_pick(data_dir, &l.dd);
	l.hub_cache = l.dd.path ? NULL : lle_hub_cache_dir();
	int rc = 0;
	struct lle_registry *r = lle_cli_registry(ctx, 1u << LLE_REG_TASKS, &rc);
	if (!r)
		return rc;
	unsigned nbroken = 0;
	struct timespec t0, t1, c0, c1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	int crc = collect(r, &l, &nbroken);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	lle_notef("dataset keys of %zu task file%s read in %.2f ms (%.2f ms of CPU)",
		  lle_registry_count(r, LLE_REG_TASKS), lle_registry_count(r, LLE_REG_TASKS) == 1 ? "" : "s",
		  (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
		  (double)(c1.tv_sec - c0.tv_sec) * 1e3 + (double)(c1.tv_nsec - c0.tv_nsec) / 1e6);
	if (crc < 0) {
		lle_cli_registry_warnings(r);
		lle_registry_free(r);
		ds_list_free(&l);
		lle_errorf("out of memory");
		return LLE_EXIT_INTERNAL;
	}
	lle_cli_registry_warnings(r);
	if (nbroken)
		lle_warnf("%u task file%s could not be read and %s left out (see 'llm-eval validate')", nbroken,
			  nbroken == 1 ? "" : "s", nbroken == 1 ? "is" : "are");
	for (size_t i = 0; i < l.n; i++)
		settle(&l.v[i]);
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), cmp_dataset);
	if (l.dd.path)
		lle_notef("data directory '%s' (from %s)", l.dd.path, l.dd.origin);
	else
		lle_notef("no data directory: set --data-dir or LLM_EVAL_DATA_DIR");

	struct lle_buf out = LLE_BUF_INIT;
	print_datasets(&l, fmt, lle_use_color(stdout), &out);
	rc = lle_cli_write_out(&out);
	lle_buf_free(&out);
	lle_registry_free(r);
	ds_list_free(&l);
	return rc;
}
