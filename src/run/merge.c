/* Merging the shards of a run (`run --shard i/N`) into one results file per
 * model, with the values an unsharded run gives: see merge.h.
 *
 * Each shard's results file carries "shard": "i/N", the plan of the run
 * ("shard_plan": per task its config, version, n-shot, document counts and
 * item columns (metric, filter, aggregation); the groups with their members
 * and aggregate_metric_list; the names asked for) and the names of its items
 * files (one line per scored document: doc_id and the value and weight of
 * every filter x metric). Merging checks that shards 0..N-1 are all there,
 * once each, with the same "config" and "shard_plan" (naming the first
 * difference otherwise), then per task gathers every shard's items, sorts
 * them by doc_id (the order an unsharded run adds them in), aggregates each
 * column with the task layer's aggregations and bootstrap (same iterations,
 * same seeds), and aggregates the groups as the run does (output.c).
 *
 * Not here: the command line (src/cli/engine/cmd_merge.c), running shards
 * (engine.c), the run store itself (src/store/). */
#include <errno.h>
#include <glob.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "run/merge.h"

#include "run/cache_glue.h"
#include "run/figures.h"
#include "run/output.h"
#include "store/runstore.h"
#include "tasks/metrics.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/diag.h"
#include "util/path.h"


struct shard {
	char *path;      /* its results file */
	char *dir;       /* where its items files are */
	json_t *root;
	long i, n;
};

struct doc_items {
	long long doc_id;
	long shard;
	double *v;       /* ncols x (x, w) */
};

struct merge {
	struct lle_figures figs;
};

static int agg_parse(const char *name, enum lle_agg *out)
{
	for (int a = LLE_AGG_MEAN; a < LLE_AGG_COUNT; a++)
		if (name && !strcmp(lle_agg_name((enum lle_agg)a), name)) {
			*out = (enum lle_agg)a;
			return 0;
		}
	return -1;
}

/* The first place a and b differ, as a path ("config.limit"), in *path; 0 when equal. */
static int json_diff(const json_t *a, const json_t *b, struct lle_buf *path)
{
	if (json_equal((json_t *)a, (json_t *)b))
		return 0;
	if (json_is_object(a) && json_is_object(b)) {
		const char *k;
		json_t *va;
		size_t mark = path->n;
		json_object_foreach((json_t *)a, k, va) {
			json_t *vb = json_object_get(b, k);
			lle_buf_printf(path, ".%s", k);
			if (!vb || json_diff(va, vb, path))
				return 1;
			path->n = mark;
			path->p[mark] = '\0';
		}
		json_object_foreach((json_t *)b, k, va) {
			if (!json_object_get(a, k)) {
				lle_buf_printf(path, ".%s", k);
				return 1;
			}
		}
		return 1;
	}
	if (json_is_array(a) && json_is_array(b) && json_array_size(a) == json_array_size(b)) {
		size_t mark = path->n;
		for (size_t i = 0; i < json_array_size(a); i++) {
			lle_buf_printf(path, "[%zu]", i);
			if (json_diff(json_array_get(a, i), json_array_get(b, i), path))
				return 1;
			path->n = mark;
			path->p[mark] = '\0';
		}
	}
	return 1;
}

static char *json_short(const json_t *v)
{
	if (!v)
		return lle_strdup("(absent)");
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s && strlen(s) > 120)
		strcpy(s + 117, "...");
	return s;
}

/* The value at a path made by json_diff. */
static const json_t *json_at(const json_t *root, const char *path)
{
	const json_t *v = root;
	char key[512];
	while (v && *path) {
		if (*path == '.') {
			path++;
			size_t n = strcspn(path, ".[");
			if (n >= sizeof(key))
				return NULL;
			memcpy(key, path, n);
			key[n] = '\0';
			v = json_object_get(v, key);
			path += n;
		} else if (*path == '[') {
			char *end;
			size_t i = strtoul(path + 1, &end, 10);
			v = json_array_get(v, i);
			path = *end == ']' ? end + 1 : end;
		} else {
			return NULL;
		}
	}
	return v;
}

static int shard_cmp(const void *a, const void *b)
{
	const struct shard *x = a, *y = b;
	return (x->i > y->i) - (x->i < y->i);
}

static int doc_cmp(const void *a, const void *b)
{
	const struct doc_items *x = a, *y = b;
	return (x->doc_id > y->doc_id) - (x->doc_id < y->doc_id);
}

/* Numbers kept per item column: x, w and the statistics of a corpus metric. */
#define ITEM_NUMS (2 + LLE_ITEM_NSTATS)

static double item_value(const json_t *v, int *ok)
{
	if (json_is_number(v))
		return json_number_value(v);
	const char *s = json_string_value(v);
	if (s && (!strcmp(s, "N/A") || !strcmp(s, "nan"))) /* "nan": items files before output_number */
		return NAN;
	if (s && !strcmp(s, "inf"))
		return INFINITY;
	if (s && !strcmp(s, "-inf"))
		return -INFINITY;
	*ok = 0;
	return 0;
}

/* Read one shard's items of a task into *docs. */
static int read_items(const struct shard *sh, const char *task, size_t ncols, struct doc_items **docs, size_t *n,
		      size_t *cap, struct lle_err *err)
{
	const char *name = json_string_value(json_object_get(json_object_get(sh->root, "shard_items"), task));
	if (!name || strchr(name, '/'))
		return lle_err_set(err, LLE_EXIT_DATA, "'%s': no items file for task '%s'", sh->path, task);
	char *path = lle_path_join(sh->dir, name);
	if (!path)
		return lle_err_oom(err);
	FILE *f = fopen(path, "r");
	if (!f) {
		lle_err_set(err, LLE_EXIT_DATA,
			    "shard %ld/%ld: cannot read '%s': %s (a shard whose task did not finish: run it again, it resumes from the cache)",
			    sh->i, sh->n, path, strerror(errno));
		free(path);
		return -1;
	}
	char *line = NULL;
	size_t lcap = 0;
	ssize_t len;
	long lineno = 0;
	int rc = 0;
	while (rc == 0 && (len = getline(&line, &lcap, f)) > 0) {
		lineno++;
		json_error_t je;
		json_t *o = json_loadb(line, (size_t)len, JSON_ALLOW_NUL, &je);
		json_t *id = json_object_get(o, "doc_id"), *it = json_object_get(o, "items");
		if (!o || !json_is_integer(id) || !json_is_array(it) || json_array_size(it) != ncols) {
			rc = lle_err_set(err, LLE_EXIT_DATA, "%s:%ld:%d: %s", path, lineno, o ? 1 : je.column,
					 o ? "not an items line of this task (doc_id and one [value, weight] per column)"
					   : je.text);
			json_decref(o);
			break;
		}
		if (*n == *cap) {
			size_t nc = *cap ? 2 * *cap : 256;
			struct doc_items *nd = realloc(*docs, nc * sizeof(*nd));
			if (!nd) {
				json_decref(o);
				rc = lle_err_oom(err);
				break;
			}
			*docs = nd;
			*cap = nc;
		}
		struct doc_items *d = &(*docs)[*n];
		d->doc_id = json_integer_value(id);
		d->shard = sh->i;
		d->v = malloc((ncols ? ncols : 1) * ITEM_NUMS * sizeof(*d->v));
		if (!d->v) {
			json_decref(o);
			rc = lle_err_oom(err);
			break;
		}
		(*n)++;
		int ok = 1;
		for (size_t c = 0; c < ncols; c++) {
			json_t *pair = json_array_get(it, c);
			/* x, w, then a corpus metric's statistics (absent: 0) */
			for (size_t k = 0; k < ITEM_NUMS; k++)
				d->v[ITEM_NUMS * c + k] = k < 2 || k < json_array_size(pair)
					? item_value(json_array_get(pair, k), &ok) : 0;
		}
		json_decref(o);
		if (!ok || d->doc_id < 0 || d->doc_id % sh->n != sh->i)
			rc = lle_err_set(err, LLE_EXIT_DATA, "%s:%ld:1: %s", path, lineno,
					 !ok ? "an item is not a number" : "a doc_id that is not of this shard");
	}
	free(line);
	fclose(f);
	free(path);
	return rc;
}

/* One task: gather, sort, aggregate. Its entries go into the merged sections. */
static int merge_task(struct merge *m, struct shard *sh, size_t nsh, const char *task, const json_t *tp, long iters,
		      json_t *results, json_t *hibs, json_t *nsamples, struct lle_err *err)
{
	const json_t *cols = json_object_get(tp, "columns");
	size_t ncols = json_array_size(cols);
	struct doc_items *docs = NULL;
	size_t n = 0, cap = 0;
	int rc = -1;
	struct lle_item *col = NULL;
	for (size_t s = 0; s < nsh; s++)
		if (read_items(&sh[s], task, ncols, &docs, &n, &cap, err) < 0)
			goto out;
	qsort(docs, n, sizeof(*docs), doc_cmp);
	for (size_t d = 1; d < n; d++)
		if (docs[d].doc_id == docs[d - 1].doc_id) {
			lle_err_set(err, LLE_EXIT_DATA, "task '%s': doc %lld is in shards %ld and %ld", task, docs[d].doc_id,
				    docs[d - 1].shard, docs[d].shard);
			goto out;
		}
	json_object_set_new(nsamples, task,
			    json_pack("{s:O,s:I}", "original", json_object_get(tp, "ndocs_total"), "effective", (json_int_t)n));
	if (n == 0) {
		/* nothing scored: an unsharded run writes no results for it either */
		json_object_del(nsamples, task);
		rc = 0;
		goto out;
	}
	col = malloc(n * sizeof(*col));
	if (!col) {
		lle_err_oom(err);
		goto out;
	}
	json_t *res = json_object(), *hib = json_object();
	const char *alias = json_string_value(json_object_get(tp, "alias"));
	json_object_set_new(res, "alias", json_string(alias ? alias : task));
	json_object_set_new(results, task, res);
	json_object_set_new(hibs, task, hib);
	for (size_t c = 0; c < ncols; c++) {
		const json_t *cj = json_array_get(cols, c);
		const char *metric = json_string_value(json_object_get(cj, "metric"));
		const char *filter = json_string_value(json_object_get(cj, "filter"));
		enum lle_agg a;
		if (!metric || !filter || agg_parse(json_string_value(json_object_get(cj, "aggregation")), &a) < 0) {
			lle_err_set(err, LLE_EXIT_DATA, "'%s': task '%s': column %zu is not metric, filter and a known aggregation",
				    sh[0].path, task, c);
			goto out;
		}
		int hb = json_is_true(json_object_get(cj, "higher_is_better"));
		for (size_t d = 0; d < n; d++) {
			col[d].x = docs[d].v[ITEM_NUMS * c];
			col[d].w = docs[d].v[ITEM_NUMS * c + 1];
			memcpy(col[d].s, docs[d].v + ITEM_NUMS * c + 2, sizeof(col[d].s));
		}
		double v = lle_aggregate(a, col, n);
		double se = lle_agg_stderr(a, col, n, iters);
		json_object_set_new(hib, metric, json_boolean(hb));
		if (output_set_metric(res, metric, filter, v, se) < 0 ||
		    lle_figures_add(&m->figs, task, metric, filter, v, se, n, hb) < 0) {
			lle_err_oom(err);
			goto out;
		}
	}
	rc = 0;
out:
	for (size_t d = 0; d < n; d++)
		free(docs[d].v);
	free(docs);
	free(col);
	return rc;
}

/* The groups of the shard's plan with their members as C strings, for
 * lle_figures_group to expand sub-groups into their tasks. */
struct mgroup {
	const char *name;
	const char **mv; /* NULL entries: not a name, skipped */
	size_t nm;
};

struct mgroups {
	struct mgroup *v;
	size_t n;
};

static const char *const *mgroup_members(void *user, const char *name, size_t *n)
{
	const struct mgroups *gs = user;
	for (size_t i = 0; i < gs->n; i++)
		if (gs->v[i].name && !strcmp(gs->v[i].name, name)) {
			*n = gs->v[i].nm;
			return gs->v[i].mv;
		}
	return NULL;
}

/* Groups from the tasks under them, children first, as output.c's group_figures. */
static int merge_groups(struct merge *m, const json_t *groups, json_t *gout, json_t *subtasks)
{
	size_t ng = json_array_size(groups);
	struct mgroups gs = { calloc(ng ? ng : 1, sizeof(*gs.v)), ng };
	int rc = -1;
	if (!gs.v)
		return -1;
	for (size_t gi = 0; gi < ng; gi++) {
		const json_t *g = json_array_get(groups, gi);
		const json_t *members = json_object_get(g, "members");
		gs.v[gi].name = json_string_value(json_object_get(g, "name"));
		gs.v[gi].nm = json_array_size(members);
		if (!(gs.v[gi].mv = calloc(gs.v[gi].nm ? gs.v[gi].nm : 1, sizeof(*gs.v[gi].mv))))
			goto out;
		for (size_t i = 0; i < gs.v[gi].nm; i++)
			gs.v[gi].mv[i] = json_string_value(json_array_get(members, i));
	}
	for (size_t gi = ng; gi-- > 0;) {
		const json_t *g = json_array_get(groups, gi);
		const char *name = gs.v[gi].name;
		const char *alias = json_string_value(json_object_get(g, "alias"));
		const json_t *aggs = json_object_get(g, "aggregate");
		if (!name)
			continue;
		json_object_set_new(subtasks, name, json_deep_copy(json_object_get(g, "members")));
		json_t *res = json_object();
		json_object_set_new(res, "alias", json_string(alias ? alias : name));
		int any = 0;
		for (size_t a = 0; a < json_array_size(aggs); a++) {
			const json_t *ag = json_array_get(aggs, a);
			const char *metric = json_string_value(json_object_get(ag, "metric"));
			const json_t *fj = json_object_get(ag, "filter");
			const char *filter = json_string_value(fj); /* null: every filter */
			if (!metric || (!filter && !json_is_null(fj)))
				continue;
			int r = lle_figures_group(&m->figs, name, gs.v[gi].mv, gs.v[gi].nm, mgroup_members, &gs,
						  metric, filter, json_is_true(json_object_get(ag, "weight_by_size")),
						  res);
			if (r < 0) {
				json_decref(res);
				goto out;
			}
			any |= r;
		}
		if (any)
			json_object_set_new(gout, name, res);
		else
			json_decref(res);
	}
	rc = 0;
out:
	for (size_t gi = 0; gi < ng; gi++)
		free(gs.v[gi].mv);
	free(gs.v);
	return rc;
}

/* Merge the shards of one model; writes the results file and stores it. */
static int merge_model(const char *model, struct shard *sh, size_t nsh, const char *outdir,
		       struct lle_runstore *rs, lle_merge_done_fn done, void *user, struct lle_err *err)
{
	qsort(sh, nsh, sizeof(*sh), shard_cmp);
	long N = sh[0].n;
	for (size_t s = 0; s < nsh; s++) {
		if (sh[s].n != N)
			return lle_err_set(err, LLE_EXIT_DATA,
					   "model '%s': '%s' is shard %ld/%ld but '%s' is shard %ld/%ld: shards of different runs",
					   model, sh[0].path, sh[0].i, sh[0].n, sh[s].path, sh[s].i, sh[s].n);
		if (s > 0 && sh[s].i == sh[s - 1].i)
			return lle_err_set(err, LLE_EXIT_DATA, "model '%s': shard %ld/%ld given twice: '%s' and '%s'", model,
					   sh[s].i, N, sh[s - 1].path, sh[s].path);
	}
	if ((long)nsh != N) {
		struct lle_buf miss = LLE_BUF_INIT;
		size_t s = 0;
		for (long i = 0; i < N; i++) {
			if (s < nsh && sh[s].i == i)
				s++;
			else
				lle_buf_printf(&miss, "%s%ld/%ld", miss.n ? ", " : "", i, N);
		}
		lle_err_set(err, LLE_EXIT_DATA, "model '%s': shard%s %s missing (found %zu of %ld)", model,
			    strchr(lle_buf_str(&miss), ',') ? "s" : "", lle_buf_str(&miss), nsh, N);
		lle_buf_free(&miss);
		return -1;
	}
	/* The same run, shard for shard: its configuration and its plan. */
	static const char *const same[] = { "config", "shard_plan", "llm_eval_version" };
	for (size_t s = 1; s < nsh; s++) {
		for (size_t k = 0; k < sizeof(same) / sizeof(same[0]); k++) {
			json_t *a = json_object_get(sh[0].root, same[k]), *b = json_object_get(sh[s].root, same[k]);
			struct lle_buf path = LLE_BUF_INIT;
			lle_buf_printf(&path, ".%s", same[k]);
			if ((a || b) && (!a || !b || json_diff(a, b, &path))) {
				char *va = json_short(json_at(sh[0].root, lle_buf_str(&path)));
				char *vb = json_short(json_at(sh[s].root, lle_buf_str(&path)));
				lle_err_set(err, LLE_EXIT_CONFIG,
					    "model '%s': shards of different configurations: %s is %s in shard %ld/%ld ('%s') but %s in shard %ld/%ld ('%s')",
					    model, lle_buf_str(&path) + 1, va ? va : "?", sh[0].i, N, sh[0].path, vb ? vb : "?",
					    sh[s].i, N, sh[s].path);
				free(va);
				free(vb);
				lle_buf_free(&path);
				return -1;
			}
			lle_buf_free(&path);
		}
	}
	const json_t *plan = json_object_get(sh[0].root, "shard_plan");
	const json_t *tasks = json_object_get(plan, "tasks");
	json_t *biters = json_object_get(json_object_get(sh[0].root, "config"), "bootstrap_iters");
	long iters = json_is_integer(biters) ? (long)json_integer_value(biters) : LLE_BOOTSTRAP_ITERS;
	if (!json_is_object(tasks))
		return lle_err_set(err, LLE_EXIT_DATA, "'%s' has no shard plan: it was not written by `llm-eval run --shard`",
				   sh[0].path);

	struct merge m = { 0 };
	json_t *top = json_deep_copy(sh[0].root);
	json_t *results = json_object(), *groups = json_object(), *subtasks = json_object(), *configs = json_object(),
	       *versions = json_object(), *nshot = json_object(), *hib = json_object(), *nsamples = json_object();
	int rc = -1;
	char *text = NULL;
	struct lle_buf outpath = LLE_BUF_INIT;
	const char *task;
	json_t *tp;
	json_object_foreach((json_t *)tasks, task, tp) {
		if (merge_task(&m, sh, nsh, task, tp, iters, results, hib, nsamples, err) < 0)
			goto out;
		if (json_object_get(results, task)) {
			json_object_set(configs, task, json_object_get(tp, "config"));
			json_object_set(versions, task, json_object_get(tp, "version"));
			json_object_set(nshot, task, json_object_get(tp, "n_shot"));
		}
	}
	if (merge_groups(&m, json_object_get(plan, "groups"), groups, subtasks) < 0) {
		lle_err_oom(err);
		goto out;
	}
	const char *gk;
	json_t *gv;
	json_object_foreach(groups, gk, gv) json_object_set(results, gk, gv);
	double secs = 0;
	long long sent = 0, cached = 0;
	json_t *from = json_array();
	for (size_t s = 0; s < nsh; s++) {
		const char *ts = json_string_value(json_object_get(sh[s].root, "total_evaluation_time_seconds"));
		secs += ts ? strtod(ts, NULL) : json_number_value(json_object_get(sh[s].root, "total_evaluation_time_seconds"));
		json_t *rq = json_object_get(sh[s].root, "requests");
		sent += json_integer_value(json_object_get(rq, "sent"));
		cached += json_integer_value(json_object_get(rq, "cached"));
		json_array_append_new(from, json_string(sh[s].path));
	}
	json_object_set_new(top, "results", results);
	json_object_set_new(top, "groups", groups);
	json_object_set_new(top, "group_subtasks", subtasks);
	json_object_set_new(top, "configs", configs);
	json_object_set_new(top, "versions", versions);
	json_object_set_new(top, "n-shot", nshot);
	json_object_set_new(top, "higher_is_better", hib);
	json_object_set_new(top, "n-samples", nsamples);
	results = groups = subtasks = configs = versions = nshot = hib = nsamples = NULL;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	json_object_set_new(top, "date", json_real((double)tv.tv_sec + (double)tv.tv_usec / 1e6));
	char st[32];
	snprintf(st, sizeof(st), "%.3f", secs);
	json_object_set_new(top, "total_evaluation_time_seconds", json_string(st));
	json_object_set_new(top, "requests", json_pack("{s:I,s:I}", "sent", (json_int_t)sent, "cached", (json_int_t)cached));
	json_object_set_new(top, "merged_from", from);
	json_object_del(top, "shard");
	json_object_del(top, "shard_plan");
	json_object_del(top, "shard_items");
	json_object_del(top, "task_seconds");
	json_object_del(top, "monitor");
	json_object_set_new(top, "interrupted", json_false());

	text = json_dumps(top, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
	if (!text) {
		lle_err_oom(err);
		goto out;
	}
	char *m_dir = output_model_dirname(model);
	char *dir = m_dir ? lle_path_join(outdir, m_dir) : NULL;
	free(m_dir);
	if (!dir) {
		lle_err_oom(err);
		goto out;
	}
	if (lle_mkdir_p(dir) < 0) {
		lle_err_set(err, LLE_EXIT_IO, "cannot create the output directory '%s': %s", dir, strerror(errno));
		free(dir);
		goto out;
	}
	struct tm tm;
	localtime_r(&tv.tv_sec, &tm);
	char date[40];
	strftime(date, sizeof(date), "%Y-%m-%dT%H-%M-%S", &tm);
	lle_buf_printf(&outpath, "%s/results_%s.%06ld.json", dir, date, (long)tv.tv_usec);
	free(dir);
	if (outpath.oom) {
		lle_err_oom(err);
		goto out;
	}
	if (lle_write_file_atomic(outpath.p, text, strlen(text), err) < 0)
		goto out;
	long long id = 0;
	if (rs && run_store_add(rs, text, outpath.p, &id, err) < 0)
		goto out;
	struct lle_merged res = { model, outpath.p, text, N, id };
	if (done && done(user, &res, err) < 0)
		goto out;
	rc = 0;
out:
	free(text);
	lle_buf_free(&outpath);
	lle_figures_free(&m.figs);
	json_decref(top);
	json_decref(results);
	json_decref(groups);
	json_decref(subtasks);
	json_decref(configs);
	json_decref(versions);
	json_decref(nshot);
	json_decref(hib);
	json_decref(nsamples);
	return rc;
}

/* Every results_*.json in dir and one level below that is a shard. */
static int find_shards(const char *dir, struct shard **sh, size_t *n, struct lle_err *err)
{
	size_t before = *n;
	for (int level = 0; level < 2; level++) {
		struct lle_buf pat = LLE_BUF_INIT;
		lle_buf_printf(&pat, level ? "%s/*/results_*.json" : "%s/results_*.json", dir);
		if (pat.oom)
			return lle_err_oom(err);
		glob_t g;
		int gr = glob(pat.p, 0, NULL, &g);
		lle_buf_free(&pat);
		if (gr == GLOB_NOMATCH)
			continue;
		if (gr != 0)
			return lle_err_set(err, LLE_EXIT_IO, "cannot list '%s'", dir);
		for (size_t i = 0; i < g.gl_pathc; i++) {
			json_error_t je;
			json_t *root = json_load_file(g.gl_pathv[i], 0, &je);
			if (!root) {
				lle_err_set(err, LLE_EXIT_DATA, "%s:%d:%d: %s", g.gl_pathv[i], je.line, je.column, je.text);
				globfree(&g);
				return -1;
			}
			const char *s = json_string_value(json_object_get(root, "shard"));
			long si, sn;
			char tail;
			if (!s) {
				json_decref(root);
				continue; /* an unsharded (or merged) results file */
			}
			if (sscanf(s, "%ld/%ld%c", &si, &sn, &tail) != 2 || si < 0 || sn < 1 || si >= sn ||
			    !json_string_value(json_object_get(root, "model_name"))) {
				lle_err_set(err, LLE_EXIT_DATA, "'%s': bad shard '%s' (i/N with 0 <= i < N) or no model_name",
					    g.gl_pathv[i], s);
				json_decref(root);
				globfree(&g);
				return -1;
			}
			struct shard *ns = realloc(*sh, (*n + 1) * sizeof(*ns));
			if (!ns) {
				json_decref(root);
				globfree(&g);
				return lle_err_oom(err);
			}
			*sh = ns;
			struct shard *x = &ns[*n];
			x->path = lle_strdup(g.gl_pathv[i]);
			x->dir = lle_strdup(g.gl_pathv[i]);
			x->root = root;
			x->i = si;
			x->n = sn;
			(*n)++;
			if (!x->path || !x->dir) {
				globfree(&g);
				return lle_err_oom(err);
			}
			char *slash = strrchr(x->dir, '/');
			if (slash)
				*slash = '\0';
			else
				strcpy(x->dir, ".");
		}
		globfree(&g);
	}
	if (*n == before)
		return lle_err_set(err, LLE_EXIT_DATA,
				   "'%s': no shard results (results_*.json written by `llm-eval run --shard i/N`) in it or one level below",
				   dir);
	return 0;
}

struct lle_merge_set {
	struct shard *sh;
	size_t n;
};

void lle_merge_free(struct lle_merge_set *set)
{
	if (!set)
		return;
	for (size_t s = 0; s < set->n; s++) {
		free(set->sh[s].path);
		free(set->sh[s].dir);
		json_decref(set->sh[s].root);
	}
	free(set->sh);
	free(set);
}

struct lle_merge_set *lle_merge_find(const char *const *dirs, size_t ndirs, struct lle_err *err)
{
	struct lle_merge_set *set = calloc(1, sizeof(*set));
	if (!set) {
		lle_err_oom(err);
		return NULL;
	}
	for (size_t d = 0; d < ndirs; d++)
		if (find_shards(dirs[d], &set->sh, &set->n, err) < 0) {
			lle_merge_free(set);
			return NULL;
		}
	return set;
}

int lle_merge_write(struct lle_merge_set *set, const char *outdir, struct lle_runstore *rs,
		    lle_merge_done_fn done, void *user, struct lle_err *err)
{
	struct shard *sh = set->sh;
	size_t nsh = set->n;
	/* One merge per model, in the order first found. */
	for (size_t s = 0; s < nsh; s++) {
		const char *model = json_string_value(json_object_get(sh[s].root, "model_name"));
		int seen = 0;
		for (size_t t = 0; t < s && !seen; t++)
			seen = !strcmp(model, json_string_value(json_object_get(sh[t].root, "model_name")));
		if (seen)
			continue;
		struct shard *mine = malloc(nsh * sizeof(*mine));
		size_t k = 0;
		if (!mine)
			return lle_err_oom(err);
		for (size_t t = s; t < nsh; t++)
			if (!strcmp(model, json_string_value(json_object_get(sh[t].root, "model_name"))))
				mine[k++] = sh[t];
		int r = merge_model(model, mine, k, outdir, rs, done, user, err);
		free(mine);
		if (r < 0)
			return -1;
	}
	return 0;
}
