/* The run planner: turns --model/--model-path/--tasks/--category into the
 * list of models and the list of tasks (with the groups above them), and
 * checks everything a run needs before any work starts: each task config
 * parses and compiles, each data file and few-shot split is present and has
 * enough documents, each model file exists, each backend plugin loads.
 * This file has the tasks and groups, the problem list, and lle_run_plan,
 * which takes the models' steps from plan_models.c (through plan_int.h).
 *
 * What it does not do: open a model or read documents beyond counting them,
 * or resolve a model's backend, options and files (plan_models.c). */
#include "run/plan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/describe.h"
#include "hooks/hooks.h"
#include "registry/registry.h"
#include "run/plan_int.h"
#include "util/buf.h"
#include "util/path.h"

#define MAX_GROUP_DEPTH 16

/* Say which group and member a problem came from, after the message's
 * "FILE:LINE:COL: " when it has one, so every line still starts with where
 * the problem is. */
static void member_prefix(struct lle_err *err, const char *gname, const char *mname)
{
	const char *m = err->msg;
	const char *c1 = strstr(m, ": ");
	size_t loc = 0;
	if (c1) {
		/* FILE:LINE:COL: the two fields before ": " are numbers */
		const char *p = c1;
		int fields = 0;
		while (fields < 2 && p > m) {
			const char *q = p;
			while (q > m && q[-1] >= '0' && q[-1] <= '9')
				q--;
			if (q == p || q == m || q[-1] != ':')
				break;
			fields++;
			p = q - 1;
		}
		if (fields == 2)
			loc = (size_t)(c1 - m) + 2;
	}
	if (!loc) {
		lle_err_prefix(err, "group '%s': member '%s'", gname, mname);
		return;
	}
	char old[sizeof(err->msg)];
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%.*sgroup '%.100s': member '%.100s': %s", (int)loc, old, gname, mname,
		 old + loc);
}

static int strv_has(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

int plan_strv_push(char ***v, size_t *n, const char *s)
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

void plan_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Split "a,b,c" (already one argv each) into names. */
static int push_csv(char ***v, size_t *n, const char *csv)
{
	const char *p = csv;
	while (*p) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		if (len) {
			char *one = lle_strndup(p, len);
			if (!one || (!strv_has(*v, *n, one) && plan_strv_push(v, n, one) < 0)) {
				free(one);
				return -1;
			}
			free(one);
		}
		p += len + (c ? 1 : 0);
	}
	return 0;
}

char *plan_entry_path(const struct lle_reg_entry *e)
{
	return lle_path_join(e->root, e->relpath);
}

/* ---------- problems ---------- */

/* Keep a copy of err in pp (once: a problem two names share, such as a
 * group member that is also asked for, is listed once) and clear err for
 * the next step. */
static int problem_add(struct lle_plan_problems *pp, struct lle_err *err)
{
	for (size_t i = 0; i < pp->n; i++)
		if (strcmp(pp->v[i].msg, err->msg) == 0)
			goto done;
	struct lle_err *nv = realloc(pp->v, (pp->n + 1) * sizeof(*nv));
	if (!nv)
		return -1;
	pp->v = nv;
	pp->v[pp->n++] = *err;
done:
	lle_err_clear(err);
	return 0;
}

void lle_plan_problems_free(struct lle_plan_problems *pp)
{
	if (!pp)
		return;
	free(pp->v);
	pp->v = NULL;
	pp->n = 0;
}

/* ---------- tasks and groups ---------- */

static struct plan_task *find_task(struct lle_plan *p, const char *name)
{
	for (size_t i = 0; i < p->ntasks; i++)
		if (strcmp(p->tasks[i].name, name) == 0)
			return &p->tasks[i];
	return NULL;
}

static struct plan_group *find_group(struct lle_plan *p, const char *name)
{
	for (size_t i = 0; i < p->ngroups; i++)
		if (strcmp(p->groups[i].name, name) == 0)
			return &p->groups[i];
	return NULL;
}

/* Multiple inputs (winogrande) are decided from the first test document, as
 * the harness decides them (lle_task_detect_inputs); so is a class task's
 * request kind (lle_task_class_detect). */
static int first_doc_inputs(struct lle_task *t, const char *path, struct lle_err *err)
{
	struct lle_ds *ds = lle_ds_open(path, err);
	json_t *doc = NULL;
	int rc = -1;
	if (!ds)
		return -1;
	int got = lle_ds_next(ds, &doc, err);
	if (got > 0 && lle_task_process_doc(t, doc, 0, err) == 0)
		rc = t->class_hook ? lle_task_class_detect(t, doc, err) : lle_task_detect_inputs(t, doc, err);
	else if (got == 0)
		rc = 0;
	if (doc)
		json_decref(doc);
	lle_ds_close(ds);
	return rc;
}

/* Count the documents of the task's test split and check its few-shot split. */
static int prepare_task(struct lle_plan *p, struct plan_task *pt, const struct lle_run_opts *o,
			struct lle_err *err)
{
	struct lle_task *t = pt->task;
	const char *split = t->test_split ? t->test_split
			   : t->validation_split ? t->validation_split : NULL;
	if (!split)
		return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: task '%s': no test_split or validation_split",
				   t->file, t->line, t->col, t->name);
	pt->split = lle_strdup(split);
	if (!pt->split)
		return lle_err_oom(err);
	if (p->check_only) {
		/* Without data: only what the config decides (a data file named,
		 * one file per split). The data directory is a stand-in; nothing
		 * is opened. */
		static const struct lle_data_dir any = { "DATA_DIR", "the check" };
		char *path = lle_task_split_path(t, split, &any, 0, err);
		free(path);
		if (path && p->check_only == 2 && lle_task_has_hooks(t) && lle_task_hooks_check(t, err) < 0)
			return -1;
		return path ? 0 : -1;
	}
	/* Python hooks: every module imported now, so a missing one is one
	 * line before any model loads (process_docs runs in split_path) */
	if (lle_task_has_hooks(t) && lle_task_hooks_check(t, err) < 0)
		return -1;
	pt->data_path = lle_task_split_path(t, split, &p->dd, 1, err);
	if (!pt->data_path)
		return -1;
	long n = lle_ds_count(pt->data_path, err);
	if (n < 0) {
		lle_err_prefix(err, "task '%s'", t->name);
		return -1;
	}
	if (n == 0)
		return lle_err_set(err, LLE_EXIT_DATA, "task '%s': split '%s' (%s) has no documents", t->name,
				   split, pt->data_path);
	pt->ndocs_total = n;
	long want = n;
	if (o->limit > 0 && o->limit < 1)
		want = (long)ceil((double)n * o->limit); /* the harness's int(math.ceil(len(docs) * limit)) */
	else if (o->limit >= 1)
		want = (long)o->limit;
	pt->ndocs = want < n ? want : n;
	/* a model whose backend renders a built-in template cannot start the
	 * reply; one that takes the conversation (LLE_CAP_CHAT_MESSAGES) gets
	 * the gen_prefix turn with a generation request */
	int backend_chat = 0;
	for (size_t i = 0; i < p->nmodels; i++)
		backend_chat |= !p->models[i].chat && !(t->output_type == LLE_OUT_GENERATE_UNTIL &&
						       (lle_backend_caps(p->models[i].be) & LLE_CAP_CHAT_MESSAGES));
	if (o->apply_chat_template && t->has_gen_prefix && t->gen_prefix && backend_chat)
		return lle_err_set(err, LLE_EXIT_CONFIG, "task '%s': gen_prefix with --apply-chat-template needs a "
				   "Jinja chat template (the GGUF file's, the registry's chat_template or "
				   "--apply-chat-template=FILE); a llama.cpp built-in template cannot start the "
				   "assistant's turn with it", t->name);
	if ((t->doc_to_choice.kind != LLE_DOCFN_NONE || t->class_hook) && first_doc_inputs(t, pt->data_path, err) < 0)
		return -1;
	if (o->apply_chat_template && t->class_hook) /* construct_requests gets the rendered chat there */
		return lle_err_set(err, LLE_EXIT_CONFIG, "task '%s': a class task with --apply-chat-template is not "
				   "supported", t->name);
	/* the harness renders the examples and each choice as chats of their
	 * own (run/chat.c): only where llm-eval renders the template */
	int backend_renders = 0;
	for (size_t i = 0; i < p->nmodels; i++)
		backend_renders |= !p->models[i].chat;
	if (o->apply_chat_template && t->multiple_input == 1 && backend_renders)
		return lle_err_set(err, LLE_EXIT_CONFIG, "task '%s': multiple inputs with --apply-chat-template need "
				   "a Jinja chat template llm-eval renders (the GGUF file's, the registry's "
				   "chat_template or --apply-chat-template=FILE): the harness templates the "
				   "examples and each choice separately", t->name);
	/* --num-fewshot overrides the config, except an explicit 0, which the
	 * harness keeps (lm_eval/evaluator.py simple_evaluate: "num_fewshot has
	 * been set to 0 ... in its config") */
	pt->k = o->num_fewshot >= 0 && !t->num_fewshot_zero ? o->num_fewshot : t->num_fewshot;
	if (pt->k > 0) {
		/* Opening the few-shot split now catches a missing file or too few
		 * examples before any model loads; it is small (dev/train splits). */
		struct lle_fewshot *fs = lle_fewshot_open(t, &p->dd, pt->k, o->fewshot_seed, err);
		if (!fs)
			return -1;
		lle_fewshot_free(fs);
	}
	return 0;
}

static int add_name(struct lle_plan *p, struct lle_registry *reg, const char *name, const struct lle_node *ov,
		    int depth, const struct lle_run_opts *o, struct lle_err *err);
static int add_group(struct lle_plan *p, struct lle_registry *reg, const struct lle_node *tree,
		     const struct lle_node *ov, int depth, const struct lle_run_opts *o, struct lle_err *err);

/* The keys of a group config (GroupConfig's fields, lm_eval/config/group.py):
 * in a member entry every other key overrides the config of the task, or of
 * every task under the group, it names (TaskFactory._build_group_members,
 * lm_eval/tasks/_factory.py). */
static int group_field(const char *k)
{
	static const char *const f[] = { "group", "group_alias", "task", "aggregate_metric_list", "metadata",
					 "include" };
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (!strcmp(f[i], k))
			return 1;
	return 0;
}

/* A copy of map `base` with each key of `ov` (but `skip_group` ones when
 * set) put over it: a key already there is replaced, a new one appended,
 * as Python's {**base, **ov}. NULL when out of memory. */
static struct lle_node *node_over(const struct lle_node *base, const struct lle_node *ov, int skip_group)
{
	struct lle_node *c = base ? lle_node_copy(base) : calloc(1, sizeof(*c));
	if (c && !base) {
		c->kind = LLE_NODE_MAP;
		c->file = ov ? ov->file : "";
	}
	if (!c || !ov || ov->kind != LLE_NODE_MAP || c->kind != LLE_NODE_MAP)
		return c;
	for (size_t i = 0; i < ov->n; i++) {
		if (skip_group && group_field(ov->keys[i]))
			continue;
		struct lle_node *v = lle_node_copy(ov->items[i]);
		if (!v)
			goto oom;
		size_t j = 0;
		while (j < c->n && strcmp(c->keys[j], ov->keys[i]))
			j++;
		if (j < c->n) {
			lle_node_free(c->items[j]);
			c->items[j] = v;
			continue;
		}
		char *k = lle_strdup(ov->keys[i]);
		char **nk = k ? realloc(c->keys, (c->n + 1) * sizeof(*nk)) : NULL;
		if (nk)
			c->keys = nk;
		struct lle_node **ni = nk ? realloc(c->items, (c->n + 1) * sizeof(*ni)) : NULL;
		if (!ni) {
			free(k);
			lle_node_free(v);
			goto oom;
		}
		c->items = ni;
		c->keys[c->n] = k;
		c->items[c->n++] = v;
	}
	return c;
oom:
	lle_node_free(c);
	return NULL;
}

static int add_task_tree(struct lle_plan *p, const struct lle_node *tree, const struct lle_run_opts *o,
			 struct lle_err *err)
{
	struct lle_task *t = lle_node_get(tree, "class") ? lle_task_from_class(tree, err)
							: lle_task_from_node(tree, err);
	if (!t)
		return -1;
	if (o->predict_only && lle_task_predict_only(t, err) < 0) {
		lle_task_free(t);
		return -1;
	}
	if (find_task(p, t->name)) {
		lle_task_free(t);
		return 0;
	}
	struct plan_task *nt = realloc(p->tasks, (p->ntasks + 1) * sizeof(*nt));
	if (!nt) {
		lle_task_free(t);
		return lle_err_oom(err);
	}
	p->tasks = nt;
	struct plan_task *pt = &p->tasks[p->ntasks];
	memset(pt, 0, sizeof(*pt));
	pt->task = t;
	pt->name = lle_strdup(t->name);
	const char *alias = lle_node_str(tree, "task_alias");
	pt->alias = alias ? lle_strdup(alias) : NULL;
	p->ntasks++;
	if (!pt->name)
		return lle_err_oom(err);
	return prepare_task(p, pt, o, err);
}

/* Python's truth of an AggMetricConfig.weight_by_size as written (the
 * harness tests it with `if not weight_by_size`): absent is the default
 * True; null, false, 0 and "" are false; any other value is true. */
static int agg_truthy(const struct lle_node *n)
{
	double d;
	if (!n)
		return 1;
	if (n->kind != LLE_NODE_SCALAR)
		return n->n > 0;
	if (n->plain && lle_node_is_null(n))
		return 0;
	if (n->plain && lle_node_bool(n) >= 0)
		return lle_node_bool(n);
	if (n->plain && lle_node_double(n, &d) == 0)
		return d != 0;
	return n->str[0] != '\0';
}

/* The members of group `gname` (p->groups[gi]), each planned with the keys
 * that apply to it: `ov` (those of the entry that named this group) with a
 * member entry's own keys over them, as TaskFactory._build_group_members
 * (lm_eval/tasks/_factory.py) merges {**overrides, **item}. */
static int add_members(struct lle_plan *p, struct lle_registry *reg, const char *gname, size_t gi,
		       const struct lle_node *members, const struct lle_node *ov, int depth,
		       const struct lle_run_opts *o, struct lle_err *err)
{
	for (size_t i = 0; i < members->n; i++) {
		const struct lle_node *m = members->items[i];
		const char *mname = NULL;
		struct lle_node *mo = NULL;
		struct lle_reg_entry ent;
		char *full = NULL;
		int rc;
		if (m->kind == LLE_NODE_SCALAR) {
			mname = m->str;
			rc = add_name(p, reg, mname, ov, depth + 1, o, err);
		} else if (m->kind == LLE_NODE_MAP && lle_node_str(m, "group")) {
			mname = lle_node_str(m, "group");
			if (lle_registry_find(reg, LLE_REG_TASKS, mname, &ent)) {
				/* A registered group, with overrides for its tasks. */
				mo = node_over(ov, m, 0);
				rc = mo ? add_name(p, reg, mname, mo, depth + 1, o, err) : lle_err_oom(err);
			} else {
				/* A group defined right here; the harness names it
				 * parent::name and puts its other keys over its tasks. */
				size_t len = strlen(gname) + strlen(mname) + 3;
				mo = node_over(m, ov, 0);
				full = mo ? malloc(len) : NULL;
				for (size_t k = 0; full && k < mo->n; k++)
					if (!strcmp(mo->keys[k], "group") && mo->items[k]->kind == LLE_NODE_SCALAR) {
						snprintf(full, len, "%s::%s", gname, mname);
						free(mo->items[k]->str);
						mo->items[k]->str = full;
						mname = full;
						full = NULL;
					}
				rc = mo && mname != lle_node_str(m, "group") ? add_group(p, reg, mo, mo, depth + 1, o, err)
									       : lle_err_oom(err);
			}
		} else if (m->kind == LLE_NODE_MAP && lle_node_str(m, "task")) {
			mname = lle_node_str(m, "task");
			if (lle_registry_find(reg, LLE_REG_TASKS, mname, &ent)) {
				/* `{task: name, key: value, ...}`: the registered task (or
				 * group, or tag) with these keys over its config. */
				mo = node_over(ov, m, 0);
				rc = mo ? add_name(p, reg, mname, mo, depth + 1, o, err) : lle_err_oom(err);
			} else {
				/* An inline task config inside the group. */
				mo = node_over(ov, m, 0);
				rc = mo ? add_task_tree(p, mo, o, err) : lle_err_oom(err);
			}
		} else {
			return lle_err_set(err, LLE_EXIT_CONFIG,
					   "%s:%d:%d: group '%s': each member must be a name, or a map with 'task' or 'group'",
					   m->file, m->line, m->col, gname);
		}
		struct plan_group *pg = &p->groups[gi];
		if (rc < 0)
			member_prefix(err, gname, mname);
		else if (!strv_has(pg->members, pg->nmembers, mname) &&
			 plan_strv_push(&pg->members, &pg->nmembers, mname) < 0)
			rc = lle_err_oom(err);
		free(full);
		lle_node_free(mo);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* A group and its members; `ov`, when not NULL, is a map of keys put over
 * the config of every task under it (the keys of the member entry that
 * named it, group fields aside). */
static int add_group(struct lle_plan *p, struct lle_registry *reg, const struct lle_node *tree,
		     const struct lle_node *ov, int depth, const struct lle_run_opts *o, struct lle_err *err)
{
	const char *gname = lle_node_str(tree, "group");
	const struct lle_node *members = lle_node_get(tree, "task");
	if (!gname)
		return lle_err_set(err, LLE_EXIT_CONFIG, "%s: group without a name", tree->file);
	if (find_group(p, gname))
		return 0;
	if (!members || members->kind != LLE_NODE_SEQ || members->n == 0)
		return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: group '%s': 'task' must be a non-empty list",
				   tree->file, tree->line, tree->col, gname);
	struct plan_group g = { 0 };
	if (!(g.name = lle_strdup(gname)))
		return lle_err_oom(err);
	const char *alias = lle_node_str(tree, "group_alias");
	g.alias = alias ? lle_strdup(alias) : NULL;
	/* aggregate_metric_list: which metrics to aggregate and how. Without
	 * one, lm-evaluation-harness reports no metrics for the group. A single
	 * map counts as a list of one (Group.from_config, lm_eval/api/group.py). */
	const struct lle_node *agg = lle_node_get(tree, "aggregate_metric_list");
	size_t nagg = agg && agg->kind == LLE_NODE_SEQ ? agg->n : agg && agg->kind == LLE_NODE_MAP ? 1 : 0;
	for (size_t i = 0; i < nagg; i++) {
		const struct lle_node *it = agg->kind == LLE_NODE_SEQ ? agg->items[i] : agg;
		const char *m = lle_node_str(it, "metric");
		if (!m)
			continue;
		const char *how = lle_node_str(it, "aggregation");
		if (how && strcmp(how, "mean")) {
			plan_group_fini(&g);
			return lle_err_set(err, LLE_EXIT_CONFIG,
					   "%s:%d:%d: group '%s': aggregation '%s': only 'mean' is supported, as in the harness",
					   it->file, it->line, it->col, gname, how);
		}
		/* AggMetricConfig: weight_by_size defaults to True, filter_list to
		 * None, which aggregates every filter the tasks report the metric
		 * under (Group.aggregate); a string is a list of one. */
		int wbs = agg_truthy(lle_node_get(it, "weight_by_size"));
		const struct lle_node *fl = lle_node_get(it, "filter_list");
		size_t nfl = !fl || lle_node_is_null(fl) ? 0 : fl->kind == LLE_NODE_SEQ ? fl->n : 1;
		for (size_t f = 0; f < (nfl ? nfl : 1); f++) {
			const struct lle_node *fn = !nfl ? NULL : fl->kind == LLE_NODE_SEQ ? fl->items[f] : fl;
			if (fn && fn->kind != LLE_NODE_SCALAR)
				continue;
			struct plan_agg *na = realloc(g.aggs, (g.naggs + 1) * sizeof(*na));
			if (!na)
				goto oom;
			g.aggs = na;
			g.aggs[g.naggs].metric = lle_strdup(m);
			g.aggs[g.naggs].filter = fn ? lle_strdup(fn->str) : NULL;
			g.aggs[g.naggs].weight_by_size = wbs;
			g.naggs++;
			if (!g.aggs[g.naggs - 1].metric || (fn && !g.aggs[g.naggs - 1].filter))
				goto oom;
		}
	}
	const struct lle_node *md = lle_node_get(tree, "metadata");
	double v;
	g.version = lle_node_double(lle_node_get(md, "version"), &v) == 0 ? v : -1;
	/* Register the group before its members so a cycle is caught by depth. */
	struct plan_group *ng = realloc(p->groups, (p->ngroups + 1) * sizeof(*ng));
	if (!ng)
		goto oom;
	p->groups = ng;
	size_t gi = p->ngroups++;
	p->groups[gi] = g;
	struct lle_node *mov = ov ? node_over(NULL, ov, 1) : NULL;
	if (ov && !mov)
		return lle_err_oom(err);
	int rc = add_members(p, reg, gname, gi, members, mov, depth, o, err);
	lle_node_free(mov);
	return rc;
oom:
	plan_group_fini(&g);
	return lle_err_oom(err);
}

struct tag_collect {
	char **names;
	size_t n;
	int oom;
};

static void collect_tag(void *arg, const char *task)
{
	struct tag_collect *c = arg;
	if (!strv_has(c->names, c->n, task) && plan_strv_push(&c->names, &c->n, task) < 0)
		c->oom = 1;
}

/* "unknown task 'gsm8kk' (did you mean 'gsm8k'?)": tasks, groups, tags, models. */
int plan_unknown_name(struct lle_registry *reg, int type, const char *what, const char *name, struct lle_err *err)
{
	const char *near = lle_registry_suggest(reg, type, name);
	if (near)
		return lle_err_set(err, LLE_EXIT_CONFIG, "unknown %s '%s' (did you mean '%s'?)", what, name, near);
	return lle_err_set(err, LLE_EXIT_CONFIG, "unknown %s '%s' (see 'llm-eval list %ss')", what, name, what);
}

/* Plan the task, group or tag `name`; `ov`, when not NULL, is a map of keys
 * put over the config of the task, or of every task under it. */
static int add_name(struct lle_plan *p, struct lle_registry *reg, const char *name, const struct lle_node *ov,
		    int depth, const struct lle_run_opts *o, struct lle_err *err)
{
	if (depth > MAX_GROUP_DEPTH)
		return lle_err_set(err, LLE_EXIT_CONFIG, "group '%s' nests deeper than %d levels (a cycle?)",
				   name, MAX_GROUP_DEPTH);
	if (find_task(p, name) || find_group(p, name))
		return 0;
	struct lle_reg_entry ent;
	const struct lle_reg_entry *e = lle_registry_find(reg, LLE_REG_TASKS, name, &ent) ? &ent : NULL;
	if (!e)
		return plan_unknown_name(reg, LLE_REG_TASKS, "task", name, err);
	if (e->kind == LLE_KIND_TAG) {
		struct tag_collect c = { 0 };
		for (size_t i = 0; i < lle_registry_nsources(reg, LLE_REG_TASKS); i++)
			lle_reg_source_tag_members(lle_registry_source(reg, LLE_REG_TASKS, i), name,
						   collect_tag, &c);
		int rc = c.oom ? lle_err_oom(err) : 0;
		for (size_t i = 0; rc == 0 && i < c.n; i++)
			rc = add_name(p, reg, c.names[i], ov, depth + 1, o, err);
		plan_strv_free(c.names, c.n);
		return rc;
	}
	char *path = plan_entry_path(e);
	if (!path)
		return lle_err_oom(err);
	struct lle_node *tree = lle_reg_load_full(path, NULL, NULL, err);
	free(path);
	if (!tree)
		return -1;
	int rc;
	if (e->kind == LLE_KIND_PYTASK && p->check_only == 1) {
		/* a `class:` task: without Python, its module file is what can
		 * be checked (the worker describes the class when a run plans it) */
		rc = lle_task_class_check(tree, err);
	} else if (e->kind == LLE_KIND_GROUP) {
		rc = add_group(p, reg, tree, ov, depth, o, err);
	} else {
		struct lle_node *t = ov ? node_over(tree, ov, 0) : NULL;
		rc = ov && !t ? lle_err_oom(err) : add_task_tree(p, t ? t : tree, o, err);
		lle_node_free(t);
	}
	lle_node_free(tree);
	return rc;
}

/* Each step that fails adds its problem to pp and planning goes on with
 * the next model or task name, so that one run reports every problem at
 * once. A problem inside a name (a group's second member) still ends that
 * name. */
struct lle_plan *lle_run_plan(struct lle_registry *reg, const struct lle_run_opts *o,
			      struct lle_plan_problems *pp, struct lle_err *err)
{
	struct lle_plan *p = calloc(1, sizeof(*p));
	char **names = NULL;
	size_t nnames = 0;
	struct lle_plan_problems mine = { 0 };
	if (!pp)
		pp = &mine;
	pp->n = 0;
	if (!p) {
		lle_err_oom(err);
		return NULL;
	}
	lle_data_dir_pick(o->data_dir, &p->dd);
	if (!(p->backends = lle_backend_catalog_new()))
		goto oom;
#define PROBLEM()                                      \
	do {                                           \
		if (err->code == LLE_EXIT_INTERNAL ||  \
		    problem_add(pp, err) < 0)          \
			goto oom;                      \
	} while (0)

	/* Models: --model names, --model-path, or the category's models. */
	for (size_t i = 0; i < o->nmodels; i++)
		if (push_csv(&names, &nnames, o->models[i]) < 0)
			goto oom;
	if (o->category && nnames == 0 && !o->model_path) {
		size_t n = lle_registry_count(reg, LLE_REG_MODELS);
		for (size_t i = 0; i < n; i++) {
			struct lle_reg_entry e;
			if (lle_registry_get(reg, LLE_REG_MODELS, i, &e) < 0)
				continue;
			/* A model's category field is its categories joined with ','. */
			char *cats = lle_strdup(e.category);
			if (!cats)
				goto oom;
			int hit = 0;
			for (char *s = NULL, *t = strtok_r(cats, ",", &s); t; t = strtok_r(NULL, ",", &s))
				hit |= strcmp(t, o->category) == 0;
			free(cats);
			if (hit && plan_strv_push(&names, &nnames, e.name) < 0)
				goto oom;
		}
	}
	for (size_t i = 0; i < nnames; i++)
		if (plan_resolve_registry_model(p, reg, names[i], o, err) < 0)
			PROBLEM();
	if (o->model_path && plan_resolve_model_path(p, o, err) < 0)
		PROBLEM();
	if (plan_check_chat_templates(p, o, err) < 0)
		PROBLEM();
	plan_strv_free(names, nnames);
	names = NULL;
	nnames = 0;
	if (p->nmodels == 0 && pp->n == 0 && !o->prompts_only) {
		if (o->category)
			lle_err_set(err, LLE_EXIT_CONFIG, "category '%s' has no models; give --model or --model-path",
				    o->category);
		else
			lle_err_set(err, LLE_EXIT_USAGE, "no model: give --model NAME, --model-path FILE.gguf or --category NAME");
		PROBLEM();
	}

	/* The Python hook worker's sandbox shows the task trees, and the
	 * network only when asked (src/hooks/hooks.h). */
	for (size_t i = 0; i < lle_registry_nsources(reg, LLE_REG_TASKS); i++)
		lle_hooks_allow_dir(lle_reg_source_root(lle_registry_source(reg, LLE_REG_TASKS, i)));
	lle_hooks_allow_network(o->allow_hook_network);

	/* Tasks: --tasks names, or the category's tasks (top-level entries only:
	 * a group's members come with the group). */
	for (size_t i = 0; i < o->ntasks; i++)
		if (push_csv(&names, &nnames, o->tasks[i]) < 0)
			goto oom;
	if (o->category && nnames == 0) {
		size_t n = lle_registry_count(reg, LLE_REG_TASKS);
		for (size_t i = 0; i < n; i++) {
			struct lle_reg_entry e;
			if (lle_registry_get(reg, LLE_REG_TASKS, i, &e) == 0 && strcmp(e.category, o->category) == 0 &&
			    (e.kind == LLE_KIND_TASK || e.kind == LLE_KIND_GROUP) &&
			    plan_strv_push(&names, &nnames, e.name) < 0)
				goto oom;
		}
	}
	if (nnames == 0) {
		lle_err_set(err, o->category ? LLE_EXIT_CONFIG : LLE_EXIT_USAGE,
			    o->category ? "category has no tasks" : "no task: give --tasks NAME[,NAME...] or --category NAME");
		PROBLEM();
	}
	for (size_t i = 0; i < nnames; i++) {
		if (add_name(p, reg, names[i], NULL, 0, o, err) < 0)
			PROBLEM();
		else if (plan_strv_push(&p->top, &p->ntop, names[i]) < 0)
			goto oom;
	}
	plan_strv_free(names, nnames);
	names = NULL;
	nnames = 0;
	if (plan_check_backends(p, err) < 0)
		PROBLEM();
#undef PROBLEM
	if (pp->n == 0) {
		if (plan_collect_secrets(p, err) < 0)
			goto fail;
		return p;
	}
	/* The first problem decides the exit code. */
	*err = pp->v[0];
	goto fail;
oom:
	lle_err_oom(err);
fail:
	lle_plan_problems_free(&mine);
	plan_strv_free(names, nnames);
	lle_plan_free(p);
	return NULL;
}

int lle_run_check_task(struct lle_registry *reg, const char *name, struct lle_err *err)
{
	struct lle_plan *p = calloc(1, sizeof(*p));
	if (!p)
		return lle_err_oom(err);
	/* LLM_EVAL_CHECK_HOOKS=1 (bench/compat.sh DEEP=1): Python too, as a
	 * run plans before any model loads, but process_docs (no data): every
	 * hook module imported, every class task described */
	const char *deep = getenv("LLM_EVAL_CHECK_HOOKS");
	p->check_only = deep && !strcmp(deep, "1") ? 2 : 1;
	struct lle_run_opts o = { .num_fewshot = -1, .fewshot_seed = 1234 };
	int rc = add_name(p, reg, name, NULL, 0, &o, err);
	lle_plan_free(p);
	return rc;
}

int lle_run_data_pull(struct lle_registry *reg, const char *name, const char *data_dir,
		      lle_run_split_cb cb, void *ctx, struct lle_err *err)
{
	struct lle_plan *p = calloc(1, sizeof(*p));
	if (!p)
		return lle_err_oom(err);
	lle_data_dir_pick(data_dir, &p->dd);
	struct lle_run_opts o = { .num_fewshot = -1, .fewshot_seed = 1234 };
	int rc = add_name(p, reg, name, NULL, 0, &o, err);
	for (size_t i = 0; rc == 0 && i < p->ntasks; i++) {
		const struct plan_task *pt = &p->tasks[i];
		const struct lle_task *t = pt->task;
		cb(ctx, pt->name, pt->split, pt->data_path, pt->ndocs_total);
		/* the few-shot source, as task_prompt.c picks it */
		const char *fs = t->fewshot_split ? t->fewshot_split
			: t->training_split ? t->training_split : t->validation_split;
		if (!fs || strcmp(fs, pt->split) == 0)
			continue;
		char *path = lle_task_split_path(t, fs, &p->dd, 1, err);
		long n = path ? lle_ds_count(path, err) : -1;
		if (n < 0) {
			if (path)
				lle_err_prefix(err, "task '%s'", pt->name);
			rc = -1;
		} else {
			cb(ctx, pt->name, fs, path, n);
		}
		free(path);
	}
	lle_plan_free(p);
	return rc;
}

void plan_group_fini(struct plan_group *g)
{
	free(g->name);
	free(g->alias);
	plan_strv_free(g->members, g->nmembers);
	for (size_t i = 0; i < g->naggs; i++) {
		free(g->aggs[i].metric);
		free(g->aggs[i].filter);
	}
	free(g->aggs);
	memset(g, 0, sizeof(*g));
}

void lle_plan_free(struct lle_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nmodels; i++)
		plan_model_fini(&p->models[i]);
	free(p->models);
	for (size_t i = 0; i < p->ntasks; i++) {
		lle_task_free(p->tasks[i].task);
		free(p->tasks[i].name);
		free(p->tasks[i].alias);
		free(p->tasks[i].split);
		free(p->tasks[i].data_path);
	}
	free(p->tasks);
	for (size_t i = 0; i < p->ngroups; i++)
		plan_group_fini(&p->groups[i]);
	free(p->groups);
	plan_strv_free(p->top, p->ntop);
	lle_backend_catalog_free(p->backends);
	free(p);
}
