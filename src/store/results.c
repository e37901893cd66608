/* Reading results JSON into a struct lle_run_record: see results.h.
 *
 * The two writers differ in small ways this reader absorbs: lm-evaluation-harness
 * writes "N/A" for a standard error it could not compute, names subtasks with an
 * indented "alias", may omit "n-samples" (older versions), writes "date" as a
 * Unix time and total_evaluation_time_seconds as a string. llm-eval marks its
 * files with "llm_eval_version" and puts each task's category in
 * configs[task].category. */
#include "store/results.h"

#include <errno.h>
#include <glob.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"
#include "util/sha256.h"

static char *dup_or_null(const char *s)
{
	return s ? lle_strdup(s) : NULL;
}

int lle_run_record_add(struct lle_run_record *rec, const struct lle_result_row *row, struct lle_err *err)
{
	if (rec->n_rows == rec->cap_rows) {
		size_t nc = rec->cap_rows ? rec->cap_rows * 2 : 32;
		struct lle_result_row *p = realloc(rec->rows, nc * sizeof(*p));
		if (!p)
			return lle_err_oom(err);
		rec->rows = p;
		rec->cap_rows = nc;
	}
	struct lle_result_row *r = &rec->rows[rec->n_rows];
	*r = *row;
	r->model = lle_strdup(row->model);
	r->task = lle_strdup(row->task);
	r->metric = lle_strdup(row->metric);
	r->filter = lle_strdup(row->filter ? row->filter : "none");
	r->category = dup_or_null(row->category);
	r->parent = dup_or_null(row->parent);
	r->alias = dup_or_null(row->alias);
	if (!r->model || !r->task || !r->metric || !r->filter || (row->category && !r->category) ||
	    (row->parent && !r->parent) || (row->alias && !r->alias)) {
		free(r->model);
		free(r->task);
		free(r->metric);
		free(r->filter);
		free(r->category);
		free(r->parent);
		free(r->alias);
		return lle_err_oom(err);
	}
	rec->n_rows++;
	return 0;
}

void lle_run_record_free(struct lle_run_record *rec)
{
	if (!rec)
		return;
	for (size_t i = 0; i < rec->n_rows; i++) {
		struct lle_result_row *r = &rec->rows[i];
		free(r->model);
		free(r->task);
		free(r->metric);
		free(r->filter);
		free(r->category);
		free(r->parent);
		free(r->alias);
	}
	free(rec->rows);
	free(rec->uid);
	free(rec->date);
	free(rec->source);
	free(rec->model);
	free(rec->model_args);
	free(rec->config_json);
	free(rec->versions_json);
	free(rec->hardware);
	free(rec->file);
	free(rec->shard);
	memset(rec, 0, sizeof(*rec));
}

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A number, or a string holding one (lm-evaluation-harness writes some as strings). */
static int jnum(json_t *v, double *out)
{
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return 1;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		errno = 0;
		double d = strtod(s, &end);
		if (end != s && *end == '\0' && errno == 0 && isfinite(d)) {
			*out = d;
			return 1;
		}
	}
	return 0;
}

static char *model_from_args(const char *args)
{
	/* "pretrained=EleutherAI/pythia-160m,dtype=float16": the model is the value of
	 * pretrained=, model=, model_path= or path=, whichever comes first. */
	static const char *keys[] = { "pretrained=", "model=", "model_path=", "path=" };
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		size_t kl = strlen(keys[k]);
		for (const char *p = args; p && *p;) {
			if (strncmp(p, keys[k], kl) == 0) {
				const char *v = p + kl, *e = strchr(v, ',');
				return lle_strndup(v, e ? (size_t)(e - v) : strlen(v));
			}
			p = strchr(p, ',');
			if (p)
				p++;
		}
	}
	return NULL;
}

static char *dump(json_t *v)
{
	return v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17)) : NULL;
}

/* The parent group of each task, from "group_subtasks". */
static const char *parent_of(json_t *gs, const char *task)
{
	const char *g;
	json_t *list;
	json_object_foreach(gs, g, list) {
		size_t i;
		json_t *c;
		json_array_foreach(list, i, c)
			if (json_is_string(c) && strcmp(json_string_value(c), task) == 0)
				return g;
	}
	return NULL;
}

static int add_task(struct lle_run_record *rec, json_t *root, const char *task, json_t *obj,
		    int is_group, struct lle_err *err)
{
	json_t *configs = json_object_get(root, "configs");
	json_t *hib = json_object_get(json_object_get(root, "higher_is_better"), task);
	json_t *ns = json_object_get(json_object_get(root, "n-samples"), task);
	json_t *nshot = json_object_get(json_object_get(root, "n-shot"), task);
	json_t *gs = json_object_get(root, "group_subtasks");
	struct lle_result_row r = { 0 };
	r.model = rec->model;
	r.task = (char *)task;
	r.alias = (char *)jstr(obj, "alias");
	r.category = (char *)jstr(json_object_get(configs, task), "category");
	r.parent = (char *)parent_of(gs, task);
	r.is_group = is_group;
	r.n = -1;
	double d;
	if (json_is_object(ns) && jnum(json_object_get(ns, "effective"), &d))
		r.n = (long long)d;
	else if (jnum(ns, &d))
		r.n = (long long)d;
	r.n_shot = jnum(nshot, &d) ? (int)d : -1;
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v) {
		if (strcmp(k, "alias") == 0 || strcmp(k, "name") == 0 || strcmp(k, "sample_len") == 0 ||
		    strcmp(k, "sample_count") == 0 || strcmp(k, "samples") == 0)
			continue;
		const char *comma = strchr(k, ',');
		size_t ml = comma ? (size_t)(comma - k) : strlen(k);
		if (ml >= 7 && strncmp(k + ml - 7, "_stderr", 7) == 0)
			continue; /* read with its metric below */
		if (!jnum(v, &r.value))
			continue; /* not a score (null, a list, "N/A") */
		char metric[256], filter[256], skey[600];
		if (ml >= sizeof(metric) || (comma && strlen(comma + 1) >= sizeof(filter)))
			continue;
		memcpy(metric, k, ml);
		metric[ml] = '\0';
		snprintf(filter, sizeof(filter), "%s", comma ? comma + 1 : "none");
		if (comma)
			snprintf(skey, sizeof(skey), "%s_stderr,%s", metric, filter);
		else
			snprintf(skey, sizeof(skey), "%s_stderr", metric);
		r.metric = metric;
		r.filter = filter;
		/* "bypass" is the metric of a predict-only run (lm-evaluation-harness's
		 * --predict_only, llm-eval's --predict-only), and 999 its placeholder
		 * (lm_eval/api/metrics.py, bypass_agg): no score, so no value */
		r.has_value = strcmp(metric, "bypass") != 0;
		r.has_stderr = jnum(json_object_get(obj, skey), &r.stderr_);
		if (!r.has_stderr)
			r.stderr_ = 0;
		json_t *h = json_object_get(hib, metric);
		r.higher_is_better = json_is_boolean(h) ? json_is_true(h) : -1;
		if (lle_run_record_add(rec, &r, err) < 0)
			return -1;
	}
	return 0;
}

int lle_results_parse(const char *text, size_t len, const char *name, struct lle_run_record *rec,
		      struct lle_err *err)
{
	memset(rec, 0, sizeof(*rec));
	rec->total_seconds = -1;
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return lle_err_set(err, LLE_EXIT_DATA, "%s:%d:%d: %s", name, je.line, je.column, je.text);
	int rc = -1;
	json_t *results = json_object_get(root, "results");
	if (!json_is_object(root) || !json_is_object(results)) {
		lle_err_set(err, LLE_EXIT_DATA, "'%s' is not a results file: it has no \"results\" object", name);
		goto out;
	}
	unsigned char d[LLE_SHA256_LEN];
	char hex[2 * LLE_SHA256_LEN + 1];
	lle_sha256(text, len, d);
	lle_sha256_hex(d, hex);
	hex[16] = '\0';
	json_t *config = json_object_get(root, "config");
	json_t *margs = json_object_get(config, "model_args");
	const char *mname = jstr(root, "model_name");
	rec->uid = lle_strdup(hex);
	rec->source = lle_strdup(json_object_get(root, "llm_eval_version") ? "llm-eval" : "lm-evaluation-harness");
	rec->model_args = json_is_string(margs) ? lle_strdup(json_string_value(margs)) : dump(margs);
	if (mname && *mname)
		rec->model = lle_strdup(mname);
	else if (json_is_string(margs) && (rec->model = model_from_args(json_string_value(margs))))
		;
	else if (jstr(config, "model"))
		rec->model = lle_strdup(jstr(config, "model"));
	else
		rec->model = lle_strdup("unknown");
	rec->file = lle_strdup(name);
	if (!rec->uid || !rec->source || !rec->model || !rec->file || (margs && !rec->model_args)) {
		lle_err_oom(err);
		goto out;
	}
	json_t *date = json_object_get(root, "date");
	double t;
	if (json_is_string(date) && !jnum(date, &t)) {
		rec->date = lle_strdup(json_string_value(date));
	} else if (jnum(date, &t) && t > -62135596800.0 && t < 253402300800.0) {
		/* seconds since the epoch, years 1 to 9999 (a time_t holds them;
		 * a number out of that range is no date, and no conversion) */
		char buf[32];
		time_t tt = (time_t)t;
		struct tm tm;
		if (gmtime_r(&tt, &tm) && strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
			rec->date = lle_strdup(buf);
	}
	if (jnum(json_object_get(root, "total_evaluation_time_seconds"), &t))
		rec->total_seconds = t;
	json_t *hw = json_object_get(root, "hardware");
	if (hw)
		rec->hardware = json_is_string(hw) ? lle_strdup(json_string_value(hw)) : dump(hw);
	else if (jstr(root, "pretty_env_info"))
		rec->hardware = lle_strdup(jstr(root, "pretty_env_info"));
	if (jstr(root, "shard"))
		rec->shard = lle_strdup(jstr(root, "shard"));
	/* What the store keeps as the run's configuration and versions. */
	json_t *cfg = json_object(), *ver = json_object();
	if (!cfg || !ver) {
		json_decref(cfg);
		json_decref(ver);
		lle_err_oom(err);
		goto out;
	}
	static const char *cfg_keys[] = { "config", "configs", "n-shot", "n-samples", "higher_is_better",
					  "group_subtasks", "system_instruction", "chat_template",
					  "fewshot_as_multiturn", "task_hashes" };
	for (size_t i = 0; i < sizeof(cfg_keys) / sizeof(cfg_keys[0]); i++)
		if (json_object_get(root, cfg_keys[i]))
			json_object_set(cfg, cfg_keys[i], json_object_get(root, cfg_keys[i]));
	static const char *ver_keys[] = { "llm_eval_version", "lm_eval_version", "git_hash",
					  "transformers_version", "upper_git_hash", "backend_versions" };
	if (json_object_get(root, "versions"))
		json_object_set(ver, "tasks", json_object_get(root, "versions"));
	for (size_t i = 0; i < sizeof(ver_keys) / sizeof(ver_keys[0]); i++)
		if (json_object_get(root, ver_keys[i]))
			json_object_set(ver, ver_keys[i], json_object_get(root, ver_keys[i]));
	rec->config_json = dump(cfg);
	rec->versions_json = dump(ver);
	json_decref(cfg);
	json_decref(ver);
	if (!rec->config_json || !rec->versions_json) {
		lle_err_oom(err);
		goto out;
	}

	json_t *groups = json_object_get(root, "groups"), *gs = json_object_get(root, "group_subtasks");
	const char *task;
	json_t *obj;
	json_object_foreach(results, task, obj) {
		if (!json_is_object(obj)) {
			lle_err_set(err, LLE_EXIT_DATA, "'%s': results of task '%s' are not an object", name, task);
			goto out;
		}
		json_t *sub = json_object_get(gs, task);
		int is_group = json_object_get(groups, task) || (json_is_array(sub) && json_array_size(sub) > 0);
		if (add_task(rec, root, task, obj, is_group, err) < 0)
			goto out;
	}
	/* Groups that only "groups" holds (some versions write them there alone). */
	json_object_foreach(groups, task, obj) {
		if (json_object_get(results, task) || !json_is_object(obj))
			continue;
		if (add_task(rec, root, task, obj, 1, err) < 0)
			goto out;
	}
	/* A group without a category of its own takes its members' when they agree. */
	for (size_t i = 0; i < rec->n_rows; i++) {
		struct lle_result_row *g = &rec->rows[i];
		if (!g->is_group || g->category)
			continue;
		const char *cat = NULL;
		int agree = 1;
		for (size_t j = 0; j < rec->n_rows && agree; j++) {
			struct lle_result_row *m = &rec->rows[j];
			if (!m->parent || strcmp(m->parent, g->task) != 0 || !m->category)
				continue;
			if (cat && strcmp(cat, m->category) != 0)
				agree = 0;
			cat = m->category;
		}
		if (cat && agree && !(g->category = lle_strdup(cat))) {
			lle_err_oom(err);
			goto out;
		}
	}
	if (rec->n_rows == 0) {
		lle_err_set(err, LLE_EXIT_DATA, "'%s' has no scores in \"results\"", name);
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	if (rc < 0)
		lle_run_record_free(rec);
	return rc;
}

int lle_results_load(const char *path, struct lle_run_record *rec, struct lle_err *err)
{
	memset(rec, 0, sizeof(*rec));
	FILE *f = fopen(path, "rb");
	if (!f)
		return lle_err_set(err, LLE_EXIT_IO, "cannot open '%s': %s", path, strerror(errno));
	struct lle_buf b = LLE_BUF_INIT;
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (lle_buf_add(&b, chunk, n) < 0) {
			fclose(f);
			lle_buf_free(&b);
			return lle_err_oom(err);
		}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		lle_buf_free(&b);
		return lle_err_set(err, LLE_EXIT_IO, "cannot read '%s'", path);
	}
	int rc = lle_results_parse(lle_buf_str(&b), b.n, path, rec, err);
	lle_buf_free(&b);
	return rc;
}

void lle_sample_files_free(struct lle_sample_file *files, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(files[i].task);
		free(files[i].path);
	}
	free(files);
}

int lle_results_sample_files(const char *results_path, struct lle_sample_file **files, size_t *n,
			     struct lle_err *err)
{
	*files = NULL;
	*n = 0;
	const char *base = strrchr(results_path, '/');
	base = base ? base + 1 : results_path;
	size_t bl = strlen(base);
	if (strncmp(base, "results_", 8) != 0 || bl < 8 + 5 || strcmp(base + bl - 5, ".json") != 0)
		return 0;
	struct lle_buf date = LLE_BUF_INIT, pat = LLE_BUF_INIT;
	lle_buf_add(&date, base + 8, bl - 8 - 5);
	/* glob() metacharacters in the directory or date are escaped. */
	for (const char *p = results_path; p < base; p++) {
		if (strchr("*?[\\", *p))
			lle_buf_addc(&pat, '\\');
		lle_buf_addc(&pat, *p);
	}
	lle_buf_adds(&pat, "samples_*_");
	for (const char *p = lle_buf_str(&date); *p; p++) {
		if (strchr("*?[\\", *p))
			lle_buf_addc(&pat, '\\');
		lle_buf_addc(&pat, *p);
	}
	lle_buf_adds(&pat, ".jsonl");
	int rc = 0;
	glob_t g;
	memset(&g, 0, sizeof(g));
	if (date.oom || pat.oom) {
		rc = lle_err_oom(err);
		goto out;
	}
	int gr = glob(pat.p, 0, NULL, &g);
	if (gr == GLOB_NOMATCH)
		goto out;
	if (gr != 0) {
		rc = gr == GLOB_NOSPACE ? lle_err_oom(err)
				       : lle_err_set(err, LLE_EXIT_IO, "cannot list the samples beside '%s'", results_path);
		goto out;
	}
	*files = calloc(g.gl_pathc + 1, sizeof(**files));
	if (!*files) {
		rc = lle_err_oom(err);
		goto out;
	}
	size_t tail = 1 + date.n + 6; /* "_" DATE ".jsonl" */
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *f = strrchr(g.gl_pathv[i], '/');
		f = f ? f + 1 : g.gl_pathv[i];
		size_t fl = strlen(f);
		if (fl <= 8 + tail)
			continue;
		struct lle_sample_file *sf = &(*files)[*n];
		sf->task = lle_strndup(f + 8, fl - 8 - tail);
		sf->path = lle_strdup(g.gl_pathv[i]);
		if (!sf->task || !sf->path) {
			free(sf->task);
			free(sf->path);
			lle_sample_files_free(*files, *n);
			*files = NULL;
			*n = 0;
			rc = lle_err_oom(err);
			goto out;
		}
		(*n)++;
	}
out:
	globfree(&g);
	lle_buf_free(&date);
	lle_buf_free(&pat);
	return rc;
}
