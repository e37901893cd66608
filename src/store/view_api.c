/* The viewer's JSON API: see view_api.h and docs/view.md. */
#include "store/view_api.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/cache.h"
#include "store/report.h"
#include "store/runstore.h"
#include "store/view_samples.h"

#define MAX_FLIPS 2000
#define MAX_LIMIT 500
/* An error code of this file only: answered 404 (never returned to a command). */
#define NOT_FOUND 404

struct lle_view {
	char *store_path, *cache_path;
	struct lle_runstore *rs;
	struct lle_view_files *files;
};

struct lle_view *lle_view_new(const char *store_path, const char *cache_path, struct lle_err *err)
{
	struct lle_view *v = calloc(1, sizeof(*v));
	if (!v || !(v->store_path = lle_strdup(store_path)) || (cache_path && !(v->cache_path = lle_strdup(cache_path))) ||
	    !(v->files = lle_view_files_new())) {
		lle_view_free(v);
		lle_err_oom(err);
		return NULL;
	}
	return v;
}

void lle_view_free(struct lle_view *v)
{
	if (!v)
		return;
	if (v->rs)
		lle_runstore_close(v->rs);
	lle_view_files_free(v->files);
	free(v->store_path);
	free(v->cache_path);
	free(v);
}

static int http_status(const struct lle_err *err)
{
	if (err->code == NOT_FOUND)
		return 404;
	return err->code == LLE_EXIT_USAGE ? 400 : 500;
}

/* The run store, opened read-only on first use (a store made later is found). */
static struct lle_runstore *store(struct lle_view *v, struct lle_err *err)
{
	if (!v->rs) {
		if (access(v->store_path, F_OK) != 0) {
			lle_err_set(err, NOT_FOUND, "no run store at '%s' yet", v->store_path);
			return NULL;
		}
		v->rs = lle_runstore_open(v->store_path, 1, err);
	}
	return v->rs;
}

static json_t *parsed(const char *text)
{
	if (!text)
		return json_null();
	json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
	return j ? j : json_string(text); /* free text (hardware from other tools) */
}

static json_t *row_json(const struct lle_result_row *r)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "model", json_string(r->model));
	json_object_set_new(o, "task", json_string(r->task));
	json_object_set_new(o, "metric", json_string(r->metric));
	json_object_set_new(o, "filter", json_string(r->filter));
	json_object_set_new(o, "value", r->has_value ? json_real(r->value) : json_null());
	json_object_set_new(o, "stderr", r->has_stderr ? json_real(r->stderr_) : json_null());
	json_object_set_new(o, "n", r->n >= 0 ? json_integer(r->n) : json_null());
	json_object_set_new(o, "category", r->category ? json_string(r->category) : json_null());
	json_object_set_new(o, "group", r->parent ? json_string(r->parent) : json_null());
	json_object_set_new(o, "is_group", json_boolean(r->is_group));
	json_object_set_new(o, "alias", r->alias ? json_string(r->alias) : json_null());
	json_object_set_new(o, "higher_is_better", r->higher_is_better < 0 ? json_null()
							: json_boolean(r->higher_is_better));
	json_object_set_new(o, "n_shot", r->n_shot >= 0 ? json_integer(r->n_shot) : json_null());
	return o;
}

static json_t *run_head(const struct lle_run_record *r)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "id", json_integer(r->id));
	json_object_set_new(o, "uid", json_string(r->uid));
	json_object_set_new(o, "date", r->date ? json_string(r->date) : json_null());
	json_object_set_new(o, "source", r->source ? json_string(r->source) : json_null());
	json_object_set_new(o, "model", r->model ? json_string(r->model) : json_null());
	json_object_set_new(o, "model_args", r->model_args ? json_string(r->model_args) : json_null());
	json_object_set_new(o, "total_seconds", r->total_seconds >= 0 ? json_real(r->total_seconds) : json_null());
	json_object_set_new(o, "shard", r->shard ? json_string(r->shard) : json_null());
	json_object_set_new(o, "status", json_string(r->shard ? "shard" : "complete"));
	return o;
}

/* A run segment of a path: digits, "last" or a uid prefix (letters and digits). */
static int get_run(struct lle_view *v, const char *ref, struct lle_run_record *rec, struct lle_err *err)
{
	struct lle_runstore *rs = store(v, err);
	if (!rs)
		return -1;
	if (!*ref || strspn(ref, "0123456789abcdefghijklmnopqrstuvwxyz") != strlen(ref))
		return lle_err_set(err, NOT_FOUND, "no run '%s'", ref);
	long long id;
	if (lle_runstore_resolve(rs, ref, &id, err) < 0) {
		if (err->code != LLE_EXIT_INTERNAL && err->code != LLE_EXIT_IO)
			err->code = NOT_FOUND;
		return -1;
	}
	return lle_runstore_get(rs, id, rec, err);
}

static int api_runs(struct lle_view *v, json_t *res, struct lle_err *err)
{
	json_t *arr = json_array();
	json_object_set_new(res, "runs", arr);
	struct lle_runstore *rs = store(v, err);
	if (!rs)
		return err->code == NOT_FOUND ? (lle_err_clear(err), 0) : -1; /* no store: no runs */
	struct lle_run_record *recs = NULL;
	size_t n = 0;
	long long *nres = NULL;
	if (lle_runstore_list(rs, &recs, &n, &nres, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = n; i-- > 0 && rc == 0;) { /* newest first */
		json_t *o = run_head(&recs[i]), *tasks = json_array();
		struct lle_run_record full = { 0 };
		if (!o || !tasks || lle_runstore_get(rs, recs[i].id, &full, err) < 0) {
			json_decref(o);
			json_decref(tasks);
			rc = o && tasks ? -1 : lle_err_oom(err);
			break;
		}
		for (size_t k = 0; k < full.n_rows; k++) {
			const struct lle_result_row *r = &full.rows[k];
			if (r->parent)
				continue;
			size_t j, nt = json_array_size(tasks);
			for (j = 0; j < nt; j++)
				if (strcmp(json_string_value(json_array_get(tasks, j)), r->task) == 0)
					break;
			if (j == nt)
				json_array_append_new(tasks, json_string(r->task));
		}
		lle_run_record_free(&full);
		long long ns = 0;
		if (lle_runstore_sample_count(rs, recs[i].id, &ns, err) < 0) {
			json_decref(o);
			json_decref(tasks);
			rc = -1;
			break;
		}
		json_object_set_new(o, "tasks", tasks);
		json_object_set_new(o, "n_results", json_integer(nres ? nres[i] : 0));
		json_object_set_new(o, "n_scores", json_integer(ns));
		json_array_append_new(arr, o);
	}
	for (size_t i = 0; i < n; i++)
		lle_run_record_free(&recs[i]);
	free(recs);
	free(nres);
	return rc;
}

/* The samples files beside the run's results file. */
static int run_samples(const struct lle_run_record *rec, struct lle_sample_file **files, size_t *n,
		       struct lle_err *err)
{
	*files = NULL;
	*n = 0;
	if (!rec->file || access(rec->file, R_OK) != 0)
		return 0;
	return lle_results_sample_files(rec->file, files, n, err);
}

static int api_run(struct lle_view *v, const char *ref, json_t *res, struct lle_err *err)
{
	struct lle_run_record rec = { 0 };
	if (get_run(v, ref, &rec, err) < 0)
		return -1;
	json_t *head = run_head(&rec), *rows = json_array(), *samples = json_array();
	int rc = -1;
	if (!head || !rows || !samples) {
		lle_err_oom(err);
		goto out;
	}
	json_object_update(res, head);
	json_object_set_new(res, "file", rec.file ? json_string(rec.file) : json_null());
	json_object_set_new(res, "config", parsed(rec.config_json));
	json_object_set_new(res, "versions", parsed(rec.versions_json));
	json_object_set_new(res, "hardware", parsed(rec.hardware));
	for (size_t i = 0; i < rec.n_rows; i++)
		json_array_append_new(rows, row_json(&rec.rows[i]));
	json_object_set_new(res, "results", rows);
	rows = NULL;
	/* the monitor's summary is in the results file, not the store */
	json_t *mon = NULL;
	if (rec.file && access(rec.file, R_OK) == 0) {
		json_t *root = json_load_file(rec.file, 0, NULL);
		mon = json_incref(json_object_get(root, "monitor"));
		json_decref(root);
	}
	json_object_set_new(res, "monitor", mon ? mon : json_null());
	struct lle_sample_file *files;
	size_t nf;
	if (run_samples(&rec, &files, &nf, err) < 0)
		goto out;
	for (size_t i = 0; i < nf; i++)
		json_array_append_new(samples, json_string(files[i].task));
	lle_sample_files_free(files, nf);
	json_object_set_new(res, "samples", samples);
	samples = NULL;
	rc = 0;
out:
	json_decref(head);
	json_decref(rows);
	json_decref(samples);
	lle_run_record_free(&rec);
	return rc;
}

static int parse_size(const char *s, size_t dflt, size_t max, size_t *out, const char *name, struct lle_err *err)
{
	if (!s || !*s) {
		*out = dflt;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (*end || errno || s[0] == '-' || x > max)
		return lle_err_set(err, LLE_EXIT_USAGE, "'%s' must be a whole number from 0 to %zu, not '%s'", name, max,
				   s);
	*out = (size_t)x;
	return 0;
}

/* The samples file of task in run ref: *path malloc()ed. */
static int task_file(struct lle_view *v, const char *ref, const char *task, char **path, struct lle_err *err)
{
	*path = NULL;
	if (!task || !*task)
		return lle_err_set(err, LLE_EXIT_USAGE, "'task' is missing");
	struct lle_run_record rec = { 0 };
	if (get_run(v, ref, &rec, err) < 0)
		return -1;
	struct lle_sample_file *files;
	size_t nf;
	int rc = run_samples(&rec, &files, &nf, err);
	for (size_t i = 0; rc == 0 && i < nf; i++)
		if (strcmp(files[i].task, task) == 0 && !(*path = lle_strdup(files[i].path)))
			rc = lle_err_oom(err);
	if (rc == 0 && !*path)
		rc = lle_err_set(err, NOT_FOUND, "run %lld has no samples file for task '%s'", rec.id, task);
	lle_sample_files_free(files, nf);
	lle_run_record_free(&rec);
	return rc;
}

static int api_samples(struct lle_view *v, const char *ref, lle_view_arg_fn arg, void *ctx, json_t **res,
		       struct lle_err *err)
{
	struct lle_view_query q = { 0 };
	q.filter = arg(ctx, "filter");
	q.metric = arg(ctx, "metric");
	q.text = arg(ctx, "q");
	const char *r = arg(ctx, "result");
	q.result = -1;
	if (r && strcmp(r, "correct") == 0)
		q.result = 1;
	else if (r && strcmp(r, "incorrect") == 0)
		q.result = 0;
	else if (r && *r && strcmp(r, "all") != 0)
		return lle_err_set(err, LLE_EXIT_USAGE, "'result' is all, correct or incorrect, not '%s'", r);
	if (q.filter && !*q.filter)
		q.filter = NULL;
	if (q.metric && !*q.metric)
		q.metric = NULL;
	size_t doc;
	const char *ds = arg(ctx, "doc_id");
	if (parse_size(ds, 0, (size_t)1 << 40, &doc, "doc_id", err) < 0)
		return -1;
	q.doc_id = ds && *ds ? (long long)doc : -1;
	if (parse_size(arg(ctx, "offset"), 0, (size_t)1 << 40, &q.offset, "offset", err) < 0 ||
	    parse_size(arg(ctx, "limit"), 50, MAX_LIMIT, &q.limit, "limit", err) < 0)
		return -1;
	char *path;
	if (task_file(v, ref, arg(ctx, "task"), &path, err) < 0)
		return -1;
	int rc = lle_view_samples_page(v->files, path, &q, res, err);
	free(path);
	return rc;
}

static int api_sample(struct lle_view *v, const char *ref, lle_view_arg_fn arg, void *ctx, json_t **res,
		      struct lle_err *err)
{
	size_t line;
	if (!arg(ctx, "line"))
		return lle_err_set(err, LLE_EXIT_USAGE, "'line' is missing");
	if (parse_size(arg(ctx, "line"), 0, (size_t)1 << 40, &line, "line", err) < 0)
		return -1;
	char *path;
	if (task_file(v, ref, arg(ctx, "task"), &path, err) < 0)
		return -1;
	int rc = lle_view_samples_line(v->files, path, line, res, err);
	free(path);
	return rc;
}

struct paired_arg {
	struct lle_runstore *rs;
	long long a, b;
};

static int paired(void *arg, const struct lle_result_row *ra, const struct lle_result_row *rb, long long *n,
		  double *mean, double *se, struct lle_err *err)
{
	struct paired_arg *p = arg;
	return lle_runstore_paired(p->rs, p->a, ra->model, p->b, rb->model, ra->task, ra->filter, ra->metric, n,
				   mean, se, err);
}

static int add_flip(void *arg, const char *task, const char *metric, const char *filter, long long doc_id,
		    double a, double b)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:f,s:f}", "task", task, "metric", metric, "filter", filter, "doc_id",
			      (json_int_t)doc_id, "a", a, "b", b);
	return o ? json_array_append_new(arg, o) : -1;
}

static int api_compare(struct lle_view *v, lle_view_arg_fn arg, void *ctx, json_t **res, struct lle_err *err)
{
	const char *ref[2] = { arg(ctx, "a"), arg(ctx, "b") };
	if (!ref[0] || !ref[1])
		return lle_err_set(err, LLE_EXIT_USAGE, "compare needs two runs: ?a=RUN&b=RUN");
	struct lle_run_record run[2] = { { 0 }, { 0 } };
	struct lle_buf out = LLE_BUF_INIT;
	int rc = -1;
	if (get_run(v, ref[0], &run[0], err) < 0 || get_run(v, ref[1], &run[1], err) < 0)
		goto out;
	struct paired_arg pa = { v->rs, run[0].id, run[1].id };
	if (lle_compare_write(&out, &run[0], &run[1], LLE_REPORT_JSON, paired, &pa, err) < 0)
		goto out;
	json_t *cmp = json_loadb(out.p, out.n, 0, NULL), *flips = json_array();
	long long nflips = 0;
	if (!cmp || !flips) {
		json_decref(cmp);
		json_decref(flips);
		lle_err_oom(err);
		goto out;
	}
	if (lle_runstore_flips(v->rs, run[0].id, run[1].id, MAX_FLIPS, add_flip, flips, &nflips, err) < 0) {
		json_decref(cmp);
		json_decref(flips);
		goto out;
	}
	json_t *a = run_head(&run[0]), *b = run_head(&run[1]);
	*res = json_pack("{s:o,s:o,s:o,s:o,s:I}", "a", a ? a : json_null(), "b", b ? b : json_null(), "compare",
			 cmp, "flipped", flips, "n_flipped", (json_int_t)nflips);
	rc = *res ? 0 : lle_err_oom(err);
out:
	lle_buf_free(&out);
	lle_run_record_free(&run[0]);
	lle_run_record_free(&run[1]);
	return rc;
}

static int api_report(struct lle_view *v, lle_view_arg_fn arg, void *ctx, json_t **res, struct lle_err *err)
{
	struct lle_runstore *rs = store(v, err);
	if (!rs) {
		if (err->code != NOT_FOUND)
			return -1;
		lle_err_clear(err);
		*res = json_pack("{s:[],s:[],s:[]}", "models", "tasks", "categories");
		return *res ? 0 : lle_err_oom(err);
	}
	struct lle_run_record *recs = NULL, *full = NULL;
	size_t n = 0, got = 0;
	long long *nres = NULL;
	struct lle_buf out = LLE_BUF_INIT;
	int rc = -1;
	if (lle_runstore_list(rs, &recs, &n, &nres, err) < 0)
		goto out;
	if (!(full = calloc(n ? n : 1, sizeof(*full)))) {
		lle_err_oom(err);
		goto out;
	}
	for (; got < n; got++)
		if (lle_runstore_get(rs, recs[got].id, &full[got], err) < 0)
			goto out;
	struct lle_report_opts o = { 0 };
	const char *sub = arg(ctx, "subtasks");
	o.subtasks = sub && strcmp(sub, "1") == 0;
	if (lle_report_write(&out, full, n, &o, LLE_REPORT_JSON, err) < 0)
		goto out;
	*res = json_loadb(out.p, out.n, 0, NULL);
	rc = *res ? 0 : lle_err_oom(err);
out:
	lle_buf_free(&out);
	for (size_t i = 0; i < n; i++)
		lle_run_record_free(&recs[i]);
	for (size_t i = 0; i < got; i++)
		lle_run_record_free(&full[i]);
	free(recs);
	free(full);
	free(nres);
	return rc;
}

static int add_journal(void *arg, const char *name, long long total, long long done, long long created)
{
	long long now = (long long)time(NULL), el = now - created;
	double rate = el > 0 ? (double)done / (double)el : 0;
	json_t *o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:f,s:s}", "name", name, "total", (json_int_t)total, "done",
			      (json_int_t)done, "created", (json_int_t)created, "elapsed_seconds", (json_int_t)el,
			      "requests_per_second", rate, "state", done >= total ? "finished" : "running");
	if (o && done < total && rate > 0)
		json_object_set_new(o, "eta_seconds", json_real((double)(total - done) / rate));
	return o ? json_array_append_new(arg, o) : 1;
}

static int api_live(struct lle_view *v, json_t *res, struct lle_err *err)
{
	json_t *arr = json_array();
	json_object_set_new(res, "journals", arr);
	json_object_set_new(res, "now", json_integer((json_int_t)time(NULL)));
	if (!v->cache_path || access(v->cache_path, R_OK) != 0)
		return 0;
	struct lle_cache_opts o = { 0 };
	o.readonly = 1;
	o.busy_timeout_ms = 200;
	struct lle_cache *c = lle_cache_open(v->cache_path, &o, err);
	if (!c)
		return -1;
	int rc = lle_journal_each(c, add_journal, arr, err);
	lle_cache_close(c);
	return rc;
}

int lle_view_api(struct lle_view *v, const char *path, lle_view_arg_fn arg, void *ctx, struct lle_buf *body,
		 int *status)
{
	struct lle_err err = { 0 };
	json_t *res = json_object();
	if (!res)
		return -1;
	int rc = 0;
	*status = 200;
	if (strcmp(path, "/api/runs") == 0) {
		rc = api_runs(v, res, &err);
	} else if (strncmp(path, "/api/runs/", 10) == 0) {
		char ref[64];
		const char *seg = path + 10, *slash = strchr(seg, '/');
		size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
		if (n == 0 || n >= sizeof(ref)) {
			rc = lle_err_set(&err, NOT_FOUND, "no such resource");
		} else {
			memcpy(ref, seg, n);
			ref[n] = '\0';
			if (!slash) {
				rc = api_run(v, ref, res, &err);
			} else if (strcmp(slash, "/samples") == 0) {
				json_decref(res);
				res = NULL;
				rc = api_samples(v, ref, arg, ctx, &res, &err);
			} else if (strcmp(slash, "/sample") == 0) {
				json_decref(res);
				res = NULL;
				rc = api_sample(v, ref, arg, ctx, &res, &err);
			} else {
				rc = lle_err_set(&err, NOT_FOUND, "no such resource");
			}
		}
	} else if (strcmp(path, "/api/compare") == 0) {
		json_decref(res);
		res = NULL;
		rc = api_compare(v, arg, ctx, &res, &err);
	} else if (strcmp(path, "/api/report") == 0) {
		json_decref(res);
		res = NULL;
		rc = api_report(v, arg, ctx, &res, &err);
	} else if (strcmp(path, "/api/live") == 0) {
		rc = api_live(v, res, &err);
	} else {
		rc = lle_err_set(&err, NOT_FOUND, "no such resource");
	}
	if (rc < 0) {
		json_decref(res);
		res = json_pack("{s:s}", "error", err.msg);
		*status = http_status(&err);
		if (!res)
			return -1;
	}
	char *s = json_dumps(res, JSON_COMPACT | JSON_REAL_PRECISION(17));
	json_decref(res);
	if (!s)
		return -1;
	lle_buf_reset(body);
	int r = lle_buf_adds(body, s);
	free(s);
	return r < 0 ? -1 : 0;
}
