/* Results files, groups and the results table: see output.h.
 *
 * The results JSON follows lm-evaluation-harness's layout so that its tools
 * (and `llm-eval results import`) read it: `results` (per task and group,
 * keys "metric,filter" and "metric_stderr,filter"; a figure that is not a
 * finite number is "N/A", see output_number), `groups`, `group_subtasks`, `configs`, `versions`, `n-shot`,
 * `higher_is_better`, `n-samples`, `config`, `date`,
 * `total_evaluation_time_seconds`. Values depend only on the inputs and
 * seeds: keys are written in a fixed order, numbers with 17 significant
 * digits, so two runs with the same seed give identical values.
 *
 * What it does not do: write a task's sample log or shard items log
 * (output_log.c, which shares struct run_output through output_int.h). */
#include "run/output_int.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "data/hub.h"
#include "monitor/monitor.h"
#include "monitor/proc.h"
#include "run/cache_glue.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/diag.h"
#include "util/path.h"

static int model_end_extra(struct run_output *ro, const struct lle_plan *p, json_t *top, struct lle_monitor *mon,
			   struct lle_err *err);
static int model_end_store(struct run_output *ro, const char *text, const char *path, struct lle_err *err);

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *output_model_dirname(const char *name)
{
	char *s = lle_strdup(name);
	if (s)
		for (char *p = s; *p; p++)
			if (*p == '/' || *p == ' ' || *p == ':')
				*p = '_';
	return s;
}

struct run_output *output_open(const struct lle_run_opts *o, struct lle_err *err)
{
	struct run_output *ro = calloc(1, sizeof(*ro));
	if (!ro) {
		lle_err_oom(err);
		return NULL;
	}
	ro->o = o;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	ro->unix_start = (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
	ro->mono_start = mono_now();
	struct tm tm;
	localtime_r(&tv.tv_sec, &tm);
	char base[40];
	strftime(base, sizeof(base), "%Y-%m-%dT%H-%M-%S", &tm);
	snprintf(ro->date, sizeof(ro->date), "%s.%06ld", base, (long)tv.tv_usec);
	return ro;
}

static void model_reset(struct run_output *ro)
{
	json_decref(ro->results);
	json_decref(ro->configs);
	json_decref(ro->versions);
	json_decref(ro->nshot);
	json_decref(ro->hib);
	json_decref(ro->nsamples);
	json_decref(ro->task_seconds);
	ro->results = ro->configs = ro->versions = ro->nshot = ro->hib = ro->nsamples = ro->task_seconds = NULL;
	lle_figures_free(&ro->figs);
	free(ro->dir);
	ro->dir = NULL;
}

int output_model_begin(struct run_output *ro, const struct plan_model *pm, double load_s, struct lle_err *err)
{
	model_reset(ro);
	ro->pm = pm;
	ro->load_s = load_s;
	ro->results = json_object();
	ro->configs = json_object();
	ro->versions = json_object();
	ro->nshot = json_object();
	ro->hib = json_object();
	ro->nsamples = json_object();
	ro->task_seconds = json_object();
	if (!ro->results || !ro->configs || !ro->versions || !ro->nshot || !ro->hib || !ro->nsamples ||
	    !ro->task_seconds)
		return lle_err_oom(err);
	if (ro->o->output_dir) {
		char *m = output_model_dirname(pm->name);
		ro->dir = m ? lle_path_join(ro->o->output_dir, m) : NULL;
		free(m);
		if (!ro->dir)
			return lle_err_oom(err);
		if (lle_mkdir_p(ro->dir) < 0)
			return lle_err_set(err, LLE_EXIT_IO, "cannot create the output directory '%s': %s", ro->dir,
					   strerror(errno));
	}
	return 0;
}

json_t *output_number(double x)
{
	/* lm-evaluation-harness writes "N/A" for a standard error it does not
	 * compute (lm_eval/evaluator_utils.py, TaskOutput.calculate_aggregate_metric:
	 * `stderr_fn(items) if (stderr_fn and len(items) > 1) else "N/A"`; and
	 * consolidate_group_results makes a group's stderr "N/A" when a member's
	 * is). A NaN or infinite value it would hand to json.dumps, which writes
	 * the bare tokens NaN / Infinity: not JSON, refused by strict readers. So
	 * one rule for every figure: a number that is not finite is "N/A". */
	return isfinite(x) ? json_real(x) : json_string("N/A");
}

int output_set_metric(json_t *obj, const char *metric, const char *filter, double v, double se)
{
	struct lle_buf k = LLE_BUF_INIT, ks = LLE_BUF_INIT;
	lle_buf_printf(&k, "%s,%s", metric, filter);
	lle_buf_printf(&ks, "%s_stderr,%s", metric, filter);
	json_t *jv = output_number(v), *jse = output_number(se);
	int bad = k.oom || ks.oom || !jv || !jse;
	if (!bad) {
		bad = json_object_set_new(obj, lle_buf_str(&k), jv) < 0;
		jv = NULL;
		bad = json_object_set_new(obj, lle_buf_str(&ks), jse) < 0 || bad;
		jse = NULL;
	}
	json_decref(jv);
	json_decref(jse);
	lle_buf_free(&k);
	lle_buf_free(&ks);
	return bad ? -1 : 0;
}

/* --predict-only: what lm-evaluation-harness's results show for a task
 * whose metrics were overridden with "bypass" (lm_eval/api/metrics.py: the
 * metric gives None per document, its aggregation bypass_agg returns 999, no
 * standard error, so "N/A"): a generation task has "bypass,FILTER": 999 and
 * "bypass_stderr,FILTER": "N/A" per filter; a log-likelihood task none (its
 * process_results returns no key for "bypass"); higher_is_better is
 * {"bypass": true} for both. 999 is the harness's placeholder, not a score:
 * the table shows the task as predicted only, and the run store
 * (store/results.c) keeps no value for it. The table's figure is NaN. */
static int predict_only_figures(struct run_output *ro, const struct plan_task *pt, size_t n, json_t *res,
				json_t *hib)
{
	const struct lle_task *t = pt->task;
	int gen = t->output_type == LLE_OUT_GENERATE_UNTIL;
	if (json_object_set_new(hib, "bypass", json_true()) < 0)
		return -1;
	for (size_t f = 0; f < (gen ? t->nfilters : 1); f++) {
		const char *filter = gen ? lle_filter_chain_name(t->filters[f]) : "none";
		if (gen) {
			struct lle_buf k = LLE_BUF_INIT, ks = LLE_BUF_INIT;
			lle_buf_printf(&k, "bypass,%s", filter);
			lle_buf_printf(&ks, "bypass_stderr,%s", filter);
			int bad = k.oom || ks.oom ||
				  json_object_set_new(res, lle_buf_str(&k), json_integer(999)) < 0 ||
				  json_object_set_new(res, lle_buf_str(&ks), json_string("N/A")) < 0;
			lle_buf_free(&k);
			lle_buf_free(&ks);
			if (bad)
				return -1;
		}
		if (lle_figures_add(&ro->figs, pt->name, "bypass", filter, NAN, NAN, n, 1) < 0)
			return -1;
	}
	return 0;
}

int output_task(struct task_output *to, const struct plan_task *pt, struct lle_task_agg *agg,
		long bootstrap_iters, double seconds, int interrupted, struct lle_err *err)
{
	struct run_output *ro = to->ro;
	const struct lle_task *t = pt->task;
	struct lle_metric_result *mr = NULL;
	size_t nmr = 0;
	if (output_task_logs_end(to, !interrupted, err) < 0)
		return -1;
	if (interrupted)
		return 0; /* a stopped task's score covers only some documents: its .part log keeps them */
	size_t n = lle_task_agg_count(agg);
	if (n == 0)
		return 0; /* nothing scored (all failed, or stopped before the first chunk) */
	if (lle_task_agg_results(agg, bootstrap_iters > 0 ? bootstrap_iters : LLE_BOOTSTRAP_ITERS, &mr, &nmr, err) < 0)
		return -1;
	json_t *res = json_object();
	json_object_set_new(res, "alias", json_string(pt->alias ? pt->alias : pt->name));
	json_t *hib = json_object();
	for (size_t i = 0; i < nmr; i++) {
		json_object_set_new(hib, mr[i].metric, json_boolean(mr[i].higher_is_better));
		if (output_set_metric(res, mr[i].metric, mr[i].filter, mr[i].value, mr[i].stderr_) < 0 ||
		    lle_figures_add(&ro->figs, pt->name, mr[i].metric, mr[i].filter, mr[i].value, mr[i].stderr_,
				    mr[i].n, mr[i].higher_is_better) < 0) {
			free(mr);
			json_decref(res);
			json_decref(hib);
			return lle_err_oom(err);
		}
	}
	free(mr);
	if (t->predict_only && predict_only_figures(ro, pt, n, res, hib) < 0) {
		json_decref(res);
		json_decref(hib);
		return lle_err_oom(err);
	}
	json_object_set_new(ro->results, pt->name, res);
	json_object_set_new(ro->hib, pt->name, hib);
	char commit[41];
	int hub = lle_hub_path_commit(pt->data_path, commit);
	if (json_is_object(t->config) && ((t->category && !json_object_get(t->config, "category")) || hub)) {
		json_t *c = json_deep_copy(t->config);
		if (!c)
			return lle_err_oom(err);
		/* the run store and reports group tasks by it */
		if (t->category && !json_object_get(c, "category"))
			json_object_set_new(c, "category", json_string(t->category));
		if (hub) {
			/* the Hub commit the documents came from: the harness's
			 * dataset_kwargs.revision, so a rerun reads the same data */
			json_t *kw = json_object_get(c, "dataset_kwargs");
			if (!json_is_object(kw)) {
				kw = json_object();
				json_object_set_new(c, "dataset_kwargs", kw);
			}
			json_object_set_new(kw, "revision", json_string(commit));
		}
		json_object_set_new(ro->configs, pt->name, c);
	} else {
		json_object_set(ro->configs, pt->name, t->config);
	}
	json_object_set_new(ro->versions, pt->name, t->version_json ? json_incref(t->version_json) : json_null());
	json_object_set_new(ro->nshot, pt->name, json_integer(pt->k));
	json_object_set_new(ro->nsamples, pt->name,
			    json_pack("{s:I,s:I}", "original", (json_int_t)pt->ndocs_total, "effective", (json_int_t)n));
	json_object_set_new(ro->task_seconds, pt->name, json_real(seconds));
	return 0;
}

static const char *const *plan_members(void *user, const char *name, size_t *n)
{
	const struct lle_plan *p = user;
	for (size_t i = 0; i < p->ngroups; i++)
		if (!strcmp(p->groups[i].name, name)) {
			*n = p->groups[i].nmembers;
			return (const char *const *)p->groups[i].members;
		}
	return NULL;
}

/* Aggregate a group from the tasks under it (lle_figures_group). */
static int group_figures(struct run_output *ro, const struct lle_plan *p, const struct plan_group *g,
			 json_t *groups, json_t *subtasks)
{
	json_t *res = json_object();
	json_t *members = json_array();
	int any = 0;
	for (size_t i = 0; i < g->nmembers; i++)
		json_array_append_new(members, json_string(g->members[i]));
	json_object_set_new(subtasks, g->name, members);
	json_object_set_new(res, "alias", json_string(g->alias ? g->alias : g->name));
	for (size_t a = 0; a < g->naggs; a++) {
		const struct plan_agg *ag = &g->aggs[a];
		int r = lle_figures_group(&ro->figs, g->name, (const char *const *)g->members, g->nmembers,
					  plan_members, (void *)p, ag->metric, ag->filter, ag->weight_by_size, res);
		if (r < 0) {
			json_decref(res);
			return -1;
		}
		any |= r;
	}
	if (any)
		json_object_set_new(groups, g->name, res);
	else
		json_decref(res);
	return 0;
}

/* ---------- the table ---------- */

/* The table's rule: four decimals, and "N/A" for a figure that is not a
 * finite number, as the results file writes it (output_number). */
static void fmt_num(char *buf, size_t n, double v)
{
	if (!isfinite(v))
		snprintf(buf, n, "N/A");
	else
		snprintf(buf, n, "%.4f", v);
}

static int print_rows(struct lle_buf *b, const struct run_output *ro, const char *name, int depth,
		      const struct lle_plan *p, int *widths, int measure)
{
	const struct plan_group *g = NULL;
	for (size_t i = 0; i < p->ngroups; i++)
		if (!strcmp(p->groups[i].name, name))
			g = &p->groups[i];
	const struct plan_task *pt = NULL;
	for (size_t i = 0; i < p->ntasks; i++)
		if (!strcmp(p->tasks[i].name, name))
			pt = &p->tasks[i];
	int first = 1;
	for (size_t i = 0; i < ro->figs.n; i++) {
		const struct lle_figure *f = &ro->figs.v[i];
		if (strcmp(f->name, name))
			continue;
		char label[256], ver[32], nshot[32], val[32], se[32];
		if (first)
			snprintf(label, sizeof(label), "%*s%s%s", depth * 2, "", depth ? "- " : "", name);
		else
			label[0] = '\0';
		if (pt && first && json_is_string(pt->task->version_json))
			snprintf(ver, sizeof(ver), "%s", json_string_value(pt->task->version_json));
		else if (pt && first)
			snprintf(ver, sizeof(ver), "%g", isnan(pt->task->version) ? 0 : pt->task->version);
		else if (g && first && g->version >= 0)
			snprintf(ver, sizeof(ver), "%g", g->version);
		else
			ver[0] = '\0';
		if (pt && first)
			snprintf(nshot, sizeof(nshot), "%ld", pt->k);
		else
			nshot[0] = '\0';
		fmt_num(val, sizeof(val), f->value);
		fmt_num(se, sizeof(se), f->se);
		if (pt && pt->task->predict_only && !strcmp(f->metric, "bypass")) {
			/* --predict-only: no score to show (predict_only_figures) */
			snprintf(val, sizeof(val), "predicted only");
			se[0] = '\0';
		}
		const char *cols[] = { label, ver, f->filter, nshot, f->metric, f->hib ? "↑" : "↓",
				       val, se[0] ? "±" : " ", se };
		for (int c = 0; c < 9; c++) {
			int w = (int)strlen(cols[c]);
			if (c == 5 || c == 7)
				w = 1; /* one column wide, three bytes of UTF-8 */
			if (measure) {
				if (w > widths[c])
					widths[c] = w;
			} else {
				lle_buf_printf(b, "|%s%*s", cols[c], widths[c] - w, "");
			}
		}
		if (!measure)
			lle_buf_adds(b, "|\n");
		first = 0;
	}
	if (g && first && !measure) {
		/* A group without aggregate_metric_list has no figures of its own:
		 * still show its name above its members. */
		char label[256];
		snprintf(label, sizeof(label), "%*s%s%s", depth * 2, "", depth ? "- " : "", name);
		lle_buf_printf(b, "|%s%*s", label, widths[0] - (int)strlen(label), "");
		for (int c = 1; c < 9; c++)
			lle_buf_printf(b, "|%*s", widths[c], "");
		lle_buf_adds(b, "|\n");
	} else if (g && first && measure) {
		int w = depth * 2 + (depth ? 2 : 0) + (int)strlen(name);
		if (w > widths[0])
			widths[0] = w;
	}
	if (g)
		for (size_t i = 0; i < g->nmembers; i++)
			print_rows(b, ro, g->members[i], depth + 1, p, widths, measure);
	return 0;
}

static void print_table(const struct run_output *ro, const struct lle_plan *p, FILE *out)
{
	static const char *const head[] = { "Tasks", "Version", "Filter", "n-shot", "Metric", "", "Value", "", "Stderr" };
	int widths[9];
	for (int c = 0; c < 9; c++)
		widths[c] = (int)strlen(head[c]);
	for (size_t i = 0; i < p->ntop; i++)
		print_rows(NULL, ro, p->top[i], 0, p, widths, 1);
	struct lle_buf b = LLE_BUF_INIT;
	for (int c = 0; c < 9; c++)
		lle_buf_printf(&b, "|%s%*s", head[c], widths[c] - (int)strlen(head[c]), "");
	lle_buf_adds(&b, "|\n");
	for (int c = 0; c < 9; c++) {
		lle_buf_addc(&b, '|');
		for (int k = 0; k < widths[c]; k++)
			lle_buf_addc(&b, '-');
	}
	lle_buf_adds(&b, "|\n");
	for (size_t i = 0; i < p->ntop; i++)
		print_rows(&b, ro, p->top[i], 0, p, widths, 0);
	fprintf(out, "\n%s (%s)\n%s", ro->pm->name, ro->pm->backend, lle_buf_str(&b));
	fflush(out);
	lle_buf_free(&b);
}

/* Note what the model kept in o->outcome, for the command's closing lines.
 * Out of memory only shortens that list. */
static void outcome_note(const struct run_output *ro, size_t ntasks, const char *path)
{
	struct lle_run_outcome *oc = ro->o->outcome;
	if (!oc)
		return;
	oc->tasks_done += ntasks;
	struct lle_run_model_outcome *m = realloc(oc->models, (oc->nmodels + 1) * sizeof(*m));
	if (!m) {
		oc->incomplete = 1;
		return;
	}
	oc->models = m;
	m += oc->nmodels;
	m->model = lle_strdup(ro->pm->name);
	m->results_path = path ? lle_strdup(path) : NULL;
	m->run_id = ro->run_id;
	m->tasks = ntasks;
	if (!m->model || (path && !m->results_path)) {
		free(m->model);
		free(m->results_path);
		oc->incomplete = 1;
		return;
	}
	oc->nmodels++;
}

void lle_run_outcome_free(struct lle_run_outcome *oc)
{
	for (size_t i = 0; i < oc->nmodels; i++) {
		free(oc->models[i].model);
		free(oc->models[i].results_path);
	}
	free(oc->models);
	memset(oc, 0, sizeof(*oc));
}

int output_model_end(struct run_output *ro, const struct lle_plan *p, const struct lle_run_opts *o,
		     struct lle_monitor *mon, int interrupted, struct lle_err *err)
{
	/* Stopped before any task finished: there is nothing to write or show. */
	size_t ntasks = json_object_size(ro->results);
	if (interrupted && ntasks == 0) {
		if (ro->dir)
			rmdir(ro->dir); /* made for this model; kept when a .part log is in it */
		return 0;
	}
	ro->run_id = 0;
	json_t *groups = json_object(), *subtasks = json_object();
	/* Groups are listed parents first: aggregate children first. */
	for (size_t i = p->ngroups; i-- > 0;)
		if (group_figures(ro, p, &p->groups[i], groups, subtasks) < 0) {
			json_decref(groups);
			json_decref(subtasks);
			return lle_err_oom(err);
		}
	/* The harness also lists groups under "results". */
	const char *gk;
	json_t *gv;
	json_object_foreach(groups, gk, gv) json_object_set(ro->results, gk, gv);

	json_t *cfg = json_object();
	json_object_set_new(cfg, "model", json_string(ro->pm->backend));
	struct lle_buf ma = LLE_BUF_INIT;
	/* Options as they may be shown: secret values and URLs' user-info
	 * redacted (describe.h). */
	lle_buf_printf(&ma, "%s=%s", lle_backend_caps(ro->pm->be) & LLE_CAP_MODEL_FILE ? "model_path" : "model",
		       ro->pm->model);
	for (size_t i = 0; i < ro->pm->noptions; i++) {
		lle_buf_addc(&ma, ',');
		lle_option_add_shown(&ma, ro->pm->be, ro->pm->options[i]);
	}
	json_object_set_new(cfg, "model_args", json_string(lle_buf_str(&ma)));
	lle_buf_free(&ma);
	json_object_set_new(cfg, "model_name", json_string(ro->pm->name));
	json_object_set_new(cfg, "batch_size", json_integer(lle_run_batch_size(o)));
	json_object_set_new(cfg, "limit", o->limit > 0 ? json_real(o->limit) : json_null());
	json_object_set_new(cfg, "bootstrap_iters", json_integer(lle_run_bootstrap_iters(o)));
	json_object_set_new(cfg, "gen_kwargs", o->gen_kwargs ? json_string(o->gen_kwargs) : json_null());
	json_object_set_new(cfg, "random_seed", json_integer(o->seed));
	json_object_set_new(cfg, "fewshot_seed", json_integer(o->fewshot_seed));
	json_object_set_new(cfg, "apply_chat_template", json_boolean(o->apply_chat_template));
	json_object_set_new(cfg, "system_instruction", o->system_instruction ? json_string(o->system_instruction) : json_null());
	json_object_set_new(cfg, "num_fewshot", o->num_fewshot >= 0 ? json_integer(o->num_fewshot) : json_null());

	json_t *top = json_object();
	json_object_set_new(top, "results", ro->results);
	json_object_set_new(top, "groups", groups);
	json_object_set_new(top, "group_subtasks", subtasks);
	json_object_set_new(top, "configs", ro->configs);
	json_object_set_new(top, "versions", ro->versions);
	json_object_set_new(top, "n-shot", ro->nshot);
	json_object_set_new(top, "higher_is_better", ro->hib);
	json_object_set_new(top, "n-samples", ro->nsamples);
	json_object_set_new(top, "config", cfg);
	json_object_set_new(top, "git_hash", json_string(LLE_GIT_REV));
	json_object_set_new(top, "llm_eval_version", json_string(LLE_VERSION));
	json_object_set_new(top, "date", json_real(ro->unix_start));
	json_object_set_new(top, "model_name", json_string(ro->pm->name));
	json_object_set_new(top, "model_load_seconds", json_real(ro->load_s));
	json_object_set_new(top, "task_seconds", ro->task_seconds);
	json_object_set_new(top, "interrupted", json_boolean(interrupted));
	ro->results = ro->configs = ro->versions = ro->nshot = ro->hib = ro->nsamples = ro->task_seconds = NULL;
	if (mon) {
		struct lle_mon_summary sum;
		struct lle_buf mj = LLE_BUF_INIT;
		lle_monitor_summary(mon, &sum);
		if (lle_monitor_summary_json(&mj, &sum) == 0) {
			json_t *m = json_loads(lle_buf_str(&mj), 0, NULL);
			if (m)
				json_object_set_new(top, "monitor", m);
		}
		lle_buf_free(&mj);
	}
	char secs[32];
	snprintf(secs, sizeof(secs), "%.3f", mono_now() - ro->mono_start);
	json_object_set_new(top, "total_evaluation_time_seconds", json_string(secs));
	if (model_end_extra(ro, p, top, mon, err) < 0) {
		json_decref(top);
		return -1;
	}

	int rc = 0;
	if (ro->dir) {
		char *text = json_dumps(top, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
		struct lle_buf path = LLE_BUF_INIT;
		lle_buf_printf(&path, "%s/results_%s.json", ro->dir, ro->date);
		if (!text || path.oom)
			rc = lle_err_oom(err);
		else if (lle_write_file_atomic(path.p, text, strlen(text), err) < 0)
			rc = -1;
		if (rc == 0 && model_end_store(ro, text, path.p, err) < 0)
			rc = -1;
		if (rc == 0)
			outcome_note(ro, ntasks, path.p);
		free(text);
		lle_buf_free(&path);
	} else if (ro->store) {
		char *text = json_dumps(top, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
		if (!text)
			rc = lle_err_oom(err);
		else if (model_end_store(ro, text, NULL, err) < 0)
			rc = -1;
		else
			outcome_note(ro, ntasks, NULL);
		free(text);
	} else {
		outcome_note(ro, ntasks, NULL);
	}
	/* The model's results stay in `top` until here; the table reads figures. */
	if (rc == 0 && o->json_table) {
		char *text = json_dumps(top, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
		if (!text)
			rc = lle_err_oom(err);
		else if (puts(text) == EOF || fflush(stdout) != 0)
			rc = lle_err_set(err, LLE_EXIT_IO, "cannot write the results: %s", strerror(errno));
		free(text);
	} else if (rc == 0) {
		print_table(ro, p, stdout);
	}
	json_decref(top);
	return rc;
}

void output_close(struct run_output *ro)
{
	if (!ro)
		return;
	model_reset(ro);
	free(ro->be_name);
	free(ro->be_version);
	free(ro);
}

/* ---------- run store, shards ---------- */

void output_backend(struct run_output *ro, const char *name, const char *version)
{
	free(ro->be_name);
	free(ro->be_version);
	ro->be_name = name ? lle_strdup(name) : NULL;
	ro->be_version = version ? lle_strdup(version) : NULL;
}

void output_requests(struct run_output *ro, long long sent, long long cached)
{
	ro->sent = sent;
	ro->cached = cached;
}

void output_store(struct run_output *ro, struct lle_runstore *rs) { ro->store = rs; }

/* What the machine is, for the results file and the run store. */
static json_t *hardware_json(const struct lle_monitor *mon)
{
	json_t *hw = json_object();
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f) {
		char line[512];
		while (fgets(line, sizeof(line), f)) {
			if (strncmp(line, "model name", 10) == 0) {
				char *v = strchr(line, ':');
				if (v) {
					v++;
					while (*v == ' ' || *v == '\t')
						v++;
					v[strcspn(v, "\n")] = '\0';
					json_object_set_new(hw, "cpu", json_string(v));
				}
				break;
			}
		}
		fclose(f);
	}
	json_object_set_new(hw, "cpus", json_integer((json_int_t)lle_sys_ncpu()));
	struct lle_sys_mem mem;
	struct lle_err e = { 0 };
	if (lle_sys_mem_read(&mem, &e) == 0)
		json_object_set_new(hw, "memory_bytes", json_integer((json_int_t)mem.total));
	struct utsname u;
	if (uname(&u) == 0) {
		char os[3 * sizeof(u.release)];
		snprintf(os, sizeof(os), "%s %s %s", u.sysname, u.release, u.machine);
		json_object_set_new(hw, "os", json_string(os));
	}
	json_t *gpus = json_array();
	if (mon) {
		struct lle_mon_summary sum;
		lle_monitor_summary((struct lle_monitor *)mon, &sum);
		for (unsigned i = 0; i < sum.ngpu; i++)
			json_array_append_new(gpus, json_string(sum.gpu[i].name));
	}
	json_object_set_new(hw, "gpus", gpus);
	return hw;
}

/* What `llm-eval merge` needs beyond the results: per task its config, its
 * item columns and its items file; the groups and what was asked for. */
static json_t *shard_plan_json(const struct run_output *ro, const struct lle_plan *p)
{
	json_t *plan = json_object(), *tasks = json_object(), *groups = json_array(), *top = json_array();
	for (size_t i = 0; i < p->ntasks; i++) {
		const struct plan_task *pt = &p->tasks[i];
		const struct lle_task *t = pt->task;
		json_t *cols = json_array();
		for (size_t f = 0; f < t->nfilters; f++)
			for (size_t m = 0; m < t->nmetrics; m++)
				json_array_append_new(cols, json_pack("{s:s,s:s,s:s,s:b}", "metric", t->metrics[m].name,
								      "filter", lle_filter_chain_name(t->filters[f]),
								      "aggregation", lle_agg_name(t->metrics[m].agg),
								      "higher_is_better", t->metrics[m].higher_is_better));
		json_t *cfg = json_object_get(ro->configs, pt->name);
		json_t *c = cfg ? json_incref(cfg) : json_deep_copy(t->config);
		if (!cfg && t->category && json_is_object(c) && !json_object_get(c, "category"))
			json_object_set_new(c, "category", json_string(t->category));
		json_object_set_new(tasks, pt->name,
				    json_pack("{s:s,s:o,s:o,s:I,s:I,s:I,s:o}", "alias", pt->alias ? pt->alias : pt->name,
					      "config", c ? c : json_null(), "version",
					      t->version_json ? json_incref(t->version_json) : json_null(), "n_shot",
					      (json_int_t)pt->k, "ndocs_total", (json_int_t)pt->ndocs_total, "ndocs",
					      (json_int_t)pt->ndocs, "columns", cols));
	}
	for (size_t i = 0; i < p->ngroups; i++) {
		const struct plan_group *g = &p->groups[i];
		json_t *members = json_array(), *aggs = json_array();
		for (size_t m = 0; m < g->nmembers; m++)
			json_array_append_new(members, json_string(g->members[m]));
		for (size_t a = 0; a < g->naggs; a++)
			json_array_append_new(aggs, json_pack("{s:s,s:o,s:b}", "metric", g->aggs[a].metric, "filter",
							      g->aggs[a].filter ? json_string(g->aggs[a].filter) : json_null(),
							      "weight_by_size", g->aggs[a].weight_by_size));
		json_array_append_new(groups, json_pack("{s:s,s:s,s:o,s:o,s:o}", "name", g->name, "alias",
							g->alias ? g->alias : g->name, "members", members, "aggregate",
							aggs, "version", g->version >= 0 ? json_real(g->version) : json_null()));
	}
	for (size_t i = 0; i < p->ntop; i++)
		json_array_append_new(top, json_string(p->top[i]));
	json_object_set_new(plan, "tasks", tasks);
	json_object_set_new(plan, "groups", groups);
	json_object_set_new(plan, "top", top);
	return plan;
}

static int model_end_extra(struct run_output *ro, const struct lle_plan *p, json_t *top, struct lle_monitor *mon,
			   struct lle_err *err)
{
	int bad = 0;
	bad |= json_object_set_new(top, "requests", json_pack("{s:I,s:I}", "sent", (json_int_t)ro->sent, "cached",
								(json_int_t)ro->cached));
	json_t *bv = json_object();
	if (ro->be_name)
		json_object_set_new(bv, ro->be_name, ro->be_version ? json_string(ro->be_version) : json_null());
	bad |= json_object_set_new(top, "backend_versions", bv);
	bad |= json_object_set_new(top, "hardware", hardware_json(mon));
	if (ro->o->shard_n > 0) {
		char sh[64];
		snprintf(sh, sizeof(sh), "%ld/%ld", ro->o->shard_i, ro->o->shard_n);
		bad |= json_object_set_new(top, "shard", json_string(sh));
		bad |= json_object_set_new(top, "shard_plan", shard_plan_json(ro, p));
		json_t *files = json_object();
		for (size_t i = 0; i < p->ntasks; i++) {
			char *name = output_items_name(ro, p->tasks[i].name);
			json_object_set_new(files, p->tasks[i].name, name ? json_string(name) : NULL);
			free(name);
		}
		bad |= json_object_set_new(top, "shard_items", files);
	}
	return bad ? lle_err_oom(err) : 0;
}

static int model_end_store(struct run_output *ro, const char *text, const char *path, struct lle_err *err)
{
	if (!ro->store || lle_run_interrupted)
		return 0; /* an interrupted run's results are partial: the rerun stores them */
	long long id = 0;
	struct lle_err serr = { 0 };
	(void)err;
	/* The results file is written already; the store is an index over such
	 * files. A run that has nothing to store (every document failed), or a
	 * store that cannot be written, is said but does not fail the run:
	 * `llm-eval results import FILE` can add the file later. */
	if (run_store_add(ro->store, text, path, &id, &serr) < 0) {
		lle_warnf("results not added to the run store: %s", serr.msg);
		return 0;
	}
	ro->run_id = id;
	return 0;
}
