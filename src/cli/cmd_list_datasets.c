/* `llm-eval list datasets [PATTERN]`: each dataset the registry's tasks read
 * (their `dataset_path` and `dataset_name`), the tasks that read it, and
 * whether its files are present under the data directory (`--data-dir`, else
 * LLM_EVAL_DATA_DIR), as a table, TSV or JSON.
 *
 * Files are never opened: a split's path is resolved exactly as a run
 * resolves it (data/datapath.c: `data_files`, else
 * `<dataset_path>/<split>.jsonl`) and checked with access() or glob(). A
 * task's dataset keys are read with libyaml's event API: only the top-level
 * keys that say where data is, following `include:` (harness tasks set
 * dataset_path in an included template) with each included file read once.
 * Over the built-in registry (107 task files) this scan takes 4-6 ms of CPU
 * on the shared build machine, against 6-11 ms for building every task's
 * full config with lle_reg_load_full (same output; `llm-eval -v list
 * datasets` prints the time). Neither is free, since libyaml still scans
 * every file: a cached index of these keys is what would make it so. Group
 * files, which may hold inline task configs, are few and are loaded in full.
 *
 * Reached as `list datasets` through cmd_list.c, which passes argv with the
 * verb first: argv[0] is "datasets", options and the pattern follow. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <yaml.h>

#include "cli/cmd.h"
#include "data/datapath.h"
#include "registry/registry.h"
#include "util/buf.h"
#include "util/diag.h"
#include "util/err.h"
#include "util/path.h"
#include "util/utf8.h"

enum { ST_PRESENT, ST_MISSING, ST_NODIR, ST_PARTIAL };
static const char *const status_name[] = { "present", "missing", "no data dir", "partial" };
static const char *const status_json[] = { "present", "missing", "no-data-dir", "partial" };

struct ds_split {
	char *split;
	char *spec;   /* as written in data_files, or <dataset_path>/<split>.jsonl */
	char *path;   /* resolved, or NULL when it needs a data directory and none is set */
	int status;   /* ST_PRESENT, ST_MISSING or ST_NODIR */
};

struct dataset {
	char *path;   /* dataset_path, or the first data file when there is none */
	char *name;   /* dataset_name, or NULL */
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

static struct dataset *find_or_add(struct ds_list *l, const char *path, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].path, path) == 0 && str_eq(l->v[i].name, name))
			return &l->v[i];
	struct dataset *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	if (!nv)
		return NULL;
	l->v = nv;
	struct dataset *d = &l->v[l->n];
	memset(d, 0, sizeof(*d));
	d->path = lle_strdup(path);
	d->name = name ? lle_strdup(name) : NULL;
	l->n++;
	if (!d->path || (name && !d->name))
		return NULL;
	return d;
}

/* One split of one task: resolved as the run resolves it, then stat()ed. */
static int add_split(struct ds_list *l, struct dataset *d, const char *split, const char *spec,
		     const char *base_dir)
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
		     const char *base_dir)
{
	if (v->kind == LLE_NODE_SCALAR)
		return add_split(l, d, split, v->str, base_dir);
	if (v->kind == LLE_NODE_SEQ)
		for (size_t i = 0; i < v->n; i++)
			if (v->items[i]->kind == LLE_NODE_SCALAR && add_split(l, d, split, v->items[i]->str, base_dir) < 0)
				return -1;
	return 0;
}

static int pattern_hit(const char *s, const char *pattern)
{
	if (!s)
		return 0;
	if (strpbrk(pattern, "*?["))
		return fnmatch(pattern, s, 0) == 0;
	return strcasestr(s, pattern) != NULL;
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
	if (l->pattern && !pattern_hit(id, l->pattern) && !pattern_hit(dname, l->pattern) &&
	    !pattern_hit(task, l->pattern))
		return 0;
	struct dataset *d = find_or_add(l, id, dname);
	if (!d || push_str(&d->tasks, &d->ntasks, task) < 0)
		return -1;
	/* Every data_files entry, then the splits the task names that have none
	 * (a run reads those as <dataset_path>/<split>.jsonl). */
	for (size_t i = 0; files && i < files->n; i++)
		if (add_files(l, d, files->keys[i], files->items[i], base_dir) < 0)
			return -1;
	static const char *const split_keys[] = { "test_split", "validation_split", "training_split", "fewshot_split" };
	for (size_t k = 0; k < sizeof(split_keys) / sizeof(split_keys[0]); k++) {
		const char *split = scalar(cfg, split_keys[k]);
		if (!split || (files && lle_node_get(files, split)) || !dpath)
			continue;
		struct lle_buf b = LLE_BUF_INIT;
		lle_buf_printf(&b, "%s/%s.jsonl", dpath, split);
		int rc = b.oom ? -1 : add_split(l, d, split, b.p, base_dir);
		lle_buf_free(&b);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* ---------- the event scan ---------- */

struct memo;
static int collect_with(struct lle_registry *r, struct ds_list *l, struct memo *memo, unsigned *nbroken);

/* The keys that say where a task's data is, from one file and its includes. */
enum { K_TASK, K_DPATH, K_DNAME, K_CATEGORY, K_TEST, K_VALID, K_TRAIN, K_FEWSHOT, K_N };
static const char *const key_names[K_N] = { "task", "dataset_path", "dataset_name", "category",
					    "test_split", "validation_split", "training_split", "fewshot_split" };

struct dkeys {
	char *path;          /* the file (memo key) */
	char *v[K_N];        /* NULL: not set */
	int has_files;       /* data_files was set (it replaces an included one whole) */
	char **files;        /* split, spec, split, spec, ... */
	size_t nfiles;
	char **includes;     /* resolved paths */
	size_t nincludes;
	int state;           /* 0 scanned, 1 being merged (include cycle guard) */
};

struct memo {
	struct dkeys **v;
	size_t n;
};

static void dkeys_free(struct dkeys *k)
{
	if (!k)
		return;
	free(k->path);
	for (int i = 0; i < K_N; i++)
		free(k->v[i]);
	for (size_t i = 0; i < k->nfiles; i++)
		free(k->files[i]);
	free(k->files);
	for (size_t i = 0; i < k->nincludes; i++)
		free(k->includes[i]);
	free(k->includes);
	free(k);
}

static int push_raw(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return -1;
	*v = nv;
	if (!(nv[*n] = lle_strdup(s)))
		return -1;
	(*n)++;
	return 0;
}

/* Consume events up to the end of the node whose start was just read. */
static int skip_node(yaml_parser_t *p)
{
	int depth = 1;
	while (depth > 0) {
		yaml_event_t ev;
		if (!yaml_parser_parse(p, &ev))
			return -1;
		if (ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT)
			depth++;
		else if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT)
			depth--;
		else if (ev.type == YAML_STREAM_END_EVENT)
			depth = 0;
		yaml_event_delete(&ev);
	}
	return 0;
}

/* The value after `key` in the top mapping. rc: 0 ok, -1 parse error, -2 oom. */
static int scan_value(yaml_parser_t *p, struct dkeys *k, const char *key, const char *dir)
{
	yaml_event_t ev;
	if (!yaml_parser_parse(p, &ev))
		return -1;
	int rc = 0;
	if (ev.type == YAML_SCALAR_EVENT) {
		const char *v = (const char *)ev.data.scalar.value;
		int null = ev.data.scalar.plain_implicit && (!*v || !strcmp(v, "null") || !strcmp(v, "~"));
		for (int i = 0; i < K_N; i++)
			if (strcmp(key, key_names[i]) == 0 && !null) {
				free(k->v[i]);
				if (!(k->v[i] = lle_strdup(v)))
					rc = -2;
			}
		if (strcmp(key, "include") == 0 && !null) {
			char *ip = lle_path_join(dir, v);
			if (!ip || push_raw(&k->includes, &k->nincludes, ip) < 0)
				rc = -2;
			free(ip);
		}
	} else if (ev.type == YAML_SEQUENCE_START_EVENT && strcmp(key, "include") == 0) {
		for (;;) {
			yaml_event_t it;
			if (!yaml_parser_parse(p, &it)) {
				rc = -1;
				break;
			}
			int end = it.type == YAML_SEQUENCE_END_EVENT;
			if (it.type == YAML_SCALAR_EVENT) {
				char *ip = lle_path_join(dir, (const char *)it.data.scalar.value);
				if (!ip || push_raw(&k->includes, &k->nincludes, ip) < 0)
					rc = -2;
				free(ip);
			} else if (it.type == YAML_MAPPING_START_EVENT || it.type == YAML_SEQUENCE_START_EVENT) {
				rc = skip_node(p);
			}
			yaml_event_delete(&it);
			if (end || rc < 0)
				break;
		}
	} else if (ev.type == YAML_MAPPING_START_EVENT && strcmp(key, "data_files") == 0) {
		/* split: file, or split: [file, ...] */
		for (size_t i = 0; i < k->nfiles; i++)
			free(k->files[i]);
		k->nfiles = 0;
		k->has_files = 1;
		for (;;) {
			yaml_event_t ke;
			if (!yaml_parser_parse(p, &ke)) {
				rc = -1;
				break;
			}
			if (ke.type != YAML_SCALAR_EVENT) {
				/* the end of the map, or a non-scalar key (which the
				 * registry's loader rejects too) */
				if (ke.type != YAML_MAPPING_END_EVENT)
					rc = -1;
				yaml_event_delete(&ke);
				break;
			}
			char *split = lle_strdup((const char *)ke.data.scalar.value);
			yaml_event_delete(&ke);
			yaml_event_t ve;
			if (!split) {
				rc = -2;
				break;
			}
			if (!yaml_parser_parse(p, &ve)) {
				free(split);
				rc = -1;
				break;
			}
			if (ve.type == YAML_SCALAR_EVENT) {
				if (push_raw(&k->files, &k->nfiles, split) < 0 ||
				    push_raw(&k->files, &k->nfiles, (const char *)ve.data.scalar.value) < 0)
					rc = -2;
			} else if (ve.type == YAML_SEQUENCE_START_EVENT) {
				for (;;) {
					yaml_event_t it;
					if (!yaml_parser_parse(p, &it)) {
						rc = -1;
						break;
					}
					int end = it.type == YAML_SEQUENCE_END_EVENT;
					if (it.type == YAML_SCALAR_EVENT &&
					    (push_raw(&k->files, &k->nfiles, split) < 0 ||
					     push_raw(&k->files, &k->nfiles, (const char *)it.data.scalar.value) < 0))
						rc = -2;
					else if (it.type == YAML_MAPPING_START_EVENT || it.type == YAML_SEQUENCE_START_EVENT)
						rc = skip_node(p);
					yaml_event_delete(&it);
					if (end || rc < 0)
						break;
				}
			} else if (ve.type == YAML_MAPPING_START_EVENT) {
				rc = skip_node(p);
			}
			yaml_event_delete(&ve);
			free(split);
			if (rc < 0)
				break;
		}
	} else if (ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT) {
		rc = skip_node(p);
	}
	yaml_event_delete(&ev);
	return rc;
}

/* Scan one file's top-level keys. NULL with *oom set, or NULL when it cannot
 * be read or parsed (the caller counts it as broken). */
static struct dkeys *scan_file(const char *path, int *oom)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct dkeys *k = calloc(1, sizeof(*k));
	char *dir = lle_path_dirname(path);
	if (!k || !dir || !(k->path = lle_strdup(path))) {
		*oom = 1;
		fclose(f);
		free(dir);
		dkeys_free(k);
		return NULL;
	}
	yaml_parser_t p;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_file(&p, f);
	int depth = 0, rc = 0, done = 0;
	while (!done && rc == 0) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			rc = -1;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			done = 1;
			break;
		case YAML_MAPPING_START_EVENT:
			if (depth++ > 0)
				rc = skip_node(&p) < 0 ? -1 : (depth--, 0);
			break;
		case YAML_SEQUENCE_START_EVENT:
			rc = skip_node(&p);
			break;
		case YAML_MAPPING_END_EVENT:
			done = --depth == 0;
			break;
		case YAML_SCALAR_EVENT:
			if (depth == 1) {
				char *key = lle_strdup((const char *)ev.data.scalar.value);
				rc = key ? scan_value(&p, k, key, dir) : -2;
				free(key);
			}
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	fclose(f);
	free(dir);
	if (rc < 0) {
		*oom |= rc == -2;
		dkeys_free(k);
		return NULL;
	}
	return k;
}

static struct dkeys *memo_get(struct memo *m, const char *path, int *oom)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->v[i]->path, path) == 0)
			return m->v[i];
	struct dkeys *k = scan_file(path, oom);
	if (!k)
		return NULL;
	struct dkeys **nv = realloc(m->v, (m->n + 1) * sizeof(*nv));
	if (!nv) {
		*oom = 1;
		dkeys_free(k);
		return NULL;
	}
	m->v = nv;
	m->v[m->n++] = k;
	return k;
}

/* Merge a file's keys over `out`: its includes first, in order, then its own. */
static int merge_keys(struct memo *m, const char *path, const char **out, const struct dkeys **files,
		      int depth, int *oom)
{
	struct dkeys *k = memo_get(m, path, oom);
	if (!k || depth > 16 || k->state == 1)
		return -1;
	k->state = 1;
	for (size_t i = 0; i < k->nincludes; i++)
		if (merge_keys(m, k->includes[i], out, files, depth + 1, oom) < 0) {
			k->state = 0;
			return -1;
		}
	k->state = 0;
	for (int i = 0; i < K_N; i++)
		if (k->v[i])
			out[i] = k->v[i];
	if (k->has_files)
		*files = k;
	return 0;
}

static void memo_free(struct memo *m)
{
	for (size_t i = 0; i < m->n; i++)
		dkeys_free(m->v[i]);
	free(m->v);
}

/* One registry task file, from its scanned keys. */
static int add_scanned(struct ds_list *l, struct memo *m, const char *path, const char *dir, int *broken)
{
	const char *v[K_N] = { 0 };
	const struct dkeys *files = NULL;
	int oom = 0;
	if (merge_keys(m, path, v, &files, 0, &oom) < 0) {
		if (oom)
			return -1;
		*broken = 1;
		return 0;
	}
	const char *task = v[K_TASK], *dpath = v[K_DPATH], *dname = v[K_DNAME];
	size_t nf = files ? files->nfiles / 2 : 0;
	if (!task || (!dpath && nf == 0))
		return 0;
	if (l->category && !str_eq(v[K_CATEGORY], l->category))
		return 0;
	const char *id = dpath ? dpath : files->files[1];
	if (l->pattern && !pattern_hit(id, l->pattern) && !pattern_hit(dname, l->pattern) &&
	    !pattern_hit(task, l->pattern))
		return 0;
	struct dataset *d = find_or_add(l, id, dname);
	if (!d || push_str(&d->tasks, &d->ntasks, task) < 0)
		return -1;
	for (size_t i = 0; i < nf; i++)
		if (add_split(l, d, files->files[2 * i], files->files[2 * i + 1], dir) < 0)
			return -1;
	for (int s = K_TEST; s <= K_FEWSHOT; s++) {
		const char *split = v[s];
		int listed = 0;
		for (size_t i = 0; i < nf; i++)
			listed |= split && strcmp(files->files[2 * i], split) == 0;
		if (!split || listed || !dpath)
			continue;
		struct lle_buf b = LLE_BUF_INIT;
		lle_buf_printf(&b, "%s/%s.jsonl", dpath, split);
		int rc = b.oom ? -1 : add_split(l, d, split, b.p, dir);
		lle_buf_free(&b);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int collect(struct lle_registry *r, struct ds_list *l, unsigned *nbroken)
{
	struct memo memo = { 0 };
	int rc = collect_with(r, l, &memo, nbroken);
	memo_free(&memo);
	return rc;
}

static int collect_with(struct lle_registry *r, struct ds_list *l, struct memo *memo, unsigned *nbroken)
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
		int rc = 0, broken = 0;
		if (e->kind == LLE_KIND_TASK) {
			rc = add_scanned(l, memo, path, dir, &broken);
			*nbroken += broken;
			free(path);
			free(dir);
			if (rc < 0)
				return -1;
			continue;
		}
		struct lle_err err = { 0 };
		struct lle_node *cfg = lle_reg_load_full(path, NULL, NULL, &err);
		if (!cfg) {
			/* A broken file is validate's business; say so once and go on. */
			lle_debugf("%s", err.msg);
			(*nbroken)++;
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
	return c ? c : strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

static void settle(struct dataset *d)
{
	int present = 0, nodir = 0;
	for (size_t i = 0; i < d->nsplits; i++) {
		present += d->splits[i].status == ST_PRESENT;
		nodir += d->splits[i].status == ST_NODIR;
	}
	d->status = present == (int)d->nsplits ? ST_PRESENT
		  : present ? ST_PARTIAL
		  : nodir ? ST_NODIR : ST_MISSING;
}

static void ds_list_free(struct ds_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct dataset *d = &l->v[i];
		free(d->path);
		free(d->name);
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
}

/* ---------- output ---------- */

static void add_clean(struct lle_buf *b, const char *s)
{
	size_t start = b->n;
	lle_buf_adds(b, s);
	for (size_t i = start; i < b->n; i++)
		if (b->p[i] == '\t' || b->p[i] == '\n' || b->p[i] == '\r')
			b->p[i] = ' ';
}

static void join_tasks(struct lle_buf *b, const struct dataset *d)
{
	for (size_t k = 0; k < d->ntasks; k++) {
		if (k)
			lle_buf_adds(b, ",");
		add_clean(b, d->tasks[k]);
	}
}

static void join_files(struct lle_buf *b, const struct dataset *d)
{
	for (size_t k = 0; k < d->nsplits; k++) {
		const struct ds_split *s = &d->splits[k];
		lle_buf_printf(b, "%s%s=", k ? " " : "", s->split);
		add_clean(b, s->path ? s->path : s->spec);
		if (s->status != ST_PRESENT)
			lle_buf_printf(b, " (%s)", status_name[s->status]);
	}
}

static void print_json(const struct ds_list *l, struct lle_buf *o)
{
	lle_buf_adds(o, "[");
	for (size_t i = 0; i < l->n; i++) {
		const struct dataset *d = &l->v[i];
		lle_buf_adds(o, i ? ",\n{\"dataset\":" : "\n{\"dataset\":");
		lle_buf_add_json_str(o, d->path);
		lle_buf_adds(o, ",\"name\":");
		if (d->name)
			lle_buf_add_json_str(o, d->name);
		else
			lle_buf_adds(o, "null");
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
			lle_buf_printf(o, ",\"present\":%s}", s->status == ST_PRESENT ? "true" : "false");
		}
		lle_buf_adds(o, "]}");
	}
	lle_buf_adds(o, l->n ? "\n]\n" : "]\n");
}

static void print_tsv(const struct ds_list *l, struct lle_buf *o)
{
	lle_buf_adds(o, "dataset\tname\tstatus\ttasks\tfiles\n");
	for (size_t i = 0; i < l->n; i++) {
		const struct dataset *d = &l->v[i];
		add_clean(o, d->path);
		lle_buf_addc(o, '\t');
		add_clean(o, d->name ? d->name : "");
		lle_buf_printf(o, "\t%s\t", status_json[d->status]);
		join_tasks(o, d);
		lle_buf_addc(o, '\t');
		join_files(o, d);
		lle_buf_addc(o, '\n');
	}
}

static void pad(struct lle_buf *o, const char *s, size_t w)
{
	size_t n = lle_utf8_len(s);
	add_clean(o, s);
	lle_buf_printf(o, "%*s", (int)(w > n ? w - n : 0) + 2, "");
}

static void print_table(const struct ds_list *l, struct lle_buf *o, int color)
{
	size_t w[4] = { strlen("DATASET"), strlen("NAME"), strlen("STATUS"), strlen("TASKS") };
	struct lle_buf tk = LLE_BUF_INIT;
	for (size_t i = 0; i < l->n; i++) {
		const struct dataset *d = &l->v[i];
		size_t x = lle_utf8_len(d->path);
		w[0] = x > w[0] ? x : w[0];
		x = d->name ? lle_utf8_len(d->name) : 1;
		w[1] = x > w[1] ? x : w[1];
		x = strlen(status_name[d->status]);
		w[2] = x > w[2] ? x : w[2];
		lle_buf_reset(&tk);
		join_tasks(&tk, d);
		x = lle_utf8_len(lle_buf_str(&tk));
		/* a dataset read by many tasks (an lm-evaluation-harness tree)
		 * does not widen the table for every row */
		w[3] = x > w[3] ? (x < 40 ? x : 40) : w[3];
	}
	if (color)
		lle_buf_adds(o, "\033[1m");
	pad(o, "DATASET", w[0]);
	pad(o, "NAME", w[1]);
	pad(o, "STATUS", w[2]);
	pad(o, "TASKS", w[3]);
	lle_buf_adds(o, color ? "FILES\033[0m\n" : "FILES\n");
	for (size_t i = 0; i < l->n; i++) {
		const struct dataset *d = &l->v[i];
		pad(o, d->path, w[0]);
		pad(o, d->name ? d->name : "-", w[1]);
		const char *sgr = d->status == ST_PRESENT ? "32" : d->status == ST_PARTIAL ? "33" : "31";
		if (color)
			lle_buf_printf(o, "\033[%sm", sgr);
		lle_buf_adds(o, status_name[d->status]);
		if (color)
			lle_buf_adds(o, "\033[0m");
		lle_buf_printf(o, "%*s", (int)(w[2] - strlen(status_name[d->status])) + 2, "");
		lle_buf_reset(&tk);
		join_tasks(&tk, d);
		if (tk.n > 40 && d->ntasks > 1) {
			lle_buf_reset(&tk);
			lle_buf_printf(&tk, "%s and %zu more", d->tasks[0], d->ntasks - 1);
		}
		pad(o, lle_buf_str(&tk), w[3]);
		join_files(o, d);
		lle_buf_addc(o, '\n');
	}
	lle_buf_free(&tk);
	if (tk.oom)
		o->oom = 1;
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
	if (fmt == LLE_FMT_JSON)
		print_json(&l, &out);
	else if (fmt == LLE_FMT_TSV)
		print_tsv(&l, &out);
	else
		print_table(&l, &out, lle_use_color(stdout));
	rc = lle_cli_write_out(&out);
	lle_buf_free(&out);
	lle_registry_free(r);
	ds_list_free(&l);
	return rc;
}
