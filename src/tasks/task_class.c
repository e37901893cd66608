/* `class:` tasks: a config whose `class: !function task.Name` names a
 * Python subclass of lm-evaluation-harness's Task. The worker makes the
 * object as the harness's TaskFactory does and describes it as a config
 * (YAML text) whose hooks are the object's methods, named
 * "task.Name@TASK.method" (src/hooks/driver.py, "class: tasks"); that
 * config compiles as any other. Per document, the object's
 * construct_requests(doc, ctx) gives the requests: generate_until ones
 * (their arguments the task's, from the first document), loglikelihood
 * ones (each its own context and continuation, scored as the choices of a
 * multiple_choice task, so process_results gets [[ll, is_greedy], ...]) or
 * one loglikelihood_rolling. One kind per task: a document whose requests
 * are of another kind than the first document's is an error naming it.
 *
 * Not here: the worker and its stand-in base classes (src/hooks/), the
 * prompt (task_prompt.c builds the context as for any task). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hooks/hooks.h"
#include "tasks/task.h"
#include "tasks/task_int.h"
#include "util/buf.h"

static const struct lle_node *class_node(const struct lle_node *root, const char **task, struct lle_err *err)
{
	const struct lle_node *n = lle_node_get(root, "class");
	*task = lle_node_str(root, "task");
	if (!*task)
		*task = "?";
	if (!n || n->kind != LLE_NODE_SCALAR || !n->tag || strcmp(n->tag, "!function")) {
		const struct lle_node *at = n ? n : root;
		lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: task '%s': class: must be a '!function module.Class'",
			    at->file, at->line, at->col, *task);
		return NULL;
	}
	return n;
}

/* The class's reference; its module file must be readable. */
static struct lle_hookref *class_ref(const struct lle_node *n, const char *task, struct lle_err *err)
{
	struct lle_hookref *h = lle_hookref_new(n->file, n->str, err);
	if (!h) {
		lle_err_prefix(err, "%s:%d:%d: task '%s': class", n->file, n->line, n->col, task);
		return NULL;
	}
	if (access(h->module, R_OK) < 0 && !strchr(h->name, '.')) {
		lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: task '%s': class: '!function %s' needs %s, which cannot "
			    "be read (%s)", n->file, n->line, n->col, task, n->str, h->module, strerror(errno));
		lle_hookref_free(h);
		return NULL;
	}
	return h;
}

int lle_task_class_check(const struct lle_node *root, struct lle_err *err)
{
	const char *task;
	const struct lle_node *n = class_node(root, &task, err);
	struct lle_hookref *h = n ? class_ref(n, task, err) : NULL;
	lle_hookref_free(h);
	return h ? 0 : -1;
}

/* A method reference "MODULE.Class@TASK.fn" resolves to the class's own
 * module file (not MODULE/Class@TASK.py). */
static int fix_ref(struct lle_hookref *h, const struct lle_hookref *cls, struct lle_err *err)
{
	if (!h || !strchr(h->name, '@'))
		return 0;
	char *m = lle_strdup(cls->module);
	if (!m)
		return lle_err_oom(err);
	free(h->module);
	h->module = m;
	return 0;
}

static int fix_refs(struct lle_task *t, const struct lle_hookref *cls, struct lle_err *err)
{
	struct lle_hookref *one[] = { t->process_docs_hook, t->process_results_hook, t->fewshot_samples_hook,
				      t->doc_to_text.hook, t->doc_to_target.hook, t->doc_to_choice.hook,
				      t->fs_doc_to_text.hook, t->fs_doc_to_target.hook, t->fs_doc_to_choice.hook,
				      t->class_hook };
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++)
		if (fix_ref(one[i], cls, err) < 0)
			return -1;
	for (size_t i = 0; i < t->nmetrics; i++)
		if ((t->agg_hooks && fix_ref(t->agg_hooks[i], cls, err) < 0) ||
		    (t->metric_hooks && fix_ref(t->metric_hooks[i], cls, err) < 0))
			return -1;
	return 0;
}

struct lle_task *lle_task_from_class(const struct lle_node *root, struct lle_err *err)
{
	const char *task;
	const struct lle_node *n = class_node(root, &task, err);
	if (!n)
		return NULL;
	struct lle_hookref *h = class_ref(n, task, err);
	if (!h)
		return NULL;
	struct lle_task *t = NULL;
	struct lle_node *cfg = NULL;
	json_t *conf = lle_node_to_json(root);
	if (conf)
		json_object_del(conf, "class");
	json_t *req = conf ? json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "op", "class", "module", h->module, "name",
				       h->name, "base", h->base, "fn", h->fn, "task", task, "config", conf)
			   : NULL;
	if (!req) {
		lle_err_oom(err);
		goto out;
	}
	json_t *text = lle_hooks_request(h, req, err);
	json_decref(req);
	if (!text) {
		/* a class that cannot be made or served is the config's problem */
		if (err->code == LLE_EXIT_DATA)
			err->code = LLE_EXIT_CONFIG;
		lle_err_prefix(err, "%s:%d:%d: task '%s': class", n->file, n->line, n->col, task);
		goto out;
	}
	if (json_is_string(text))
		cfg = lle_yaml_load_mem(json_string_value(text), json_string_length(text), n->file, err);
	else
		lle_err_set(err, LLE_EXIT_INTERNAL, "the python hook worker answered %s", "no config for a class");
	json_decref(text);
	if (!cfg) {
		lle_err_prefix(err, "task '%s': class '%s': its description", task, n->str);
		goto out;
	}
	if (!(t = lle_task_from_node(cfg, err))) {
		lle_err_prefix(err, "task '%s': class '%s': its description", task, n->str);
		goto out;
	}
	/* construct_requests, as "MODULE.Class@TASK.construct_requests" */
	struct lle_buf b = LLE_BUF_INIT;
	lle_buf_printf(&b, "%s@%s.construct_requests", n->str, task);
	t->class_hook = b.oom ? NULL : lle_hookref_new(n->file, lle_buf_str(&b), err);
	if (b.oom)
		lle_err_oom(err);
	lle_buf_free(&b);
	if (!t->class_hook || fix_refs(t, h, err) < 0) {
		lle_task_free(t);
		t = NULL;
		goto out;
	}
	/* the config as written (results files), with what the class gave */
	json_t *c = lle_node_to_json(root);
	if (c) {
		json_object_set_new(c, "class", json_string(n->str));
		if (t->config)
			json_decref(t->config);
		t->config = c;
	}
out:
	lle_node_free(cfg);
	lle_hookref_free(h);
	return t;
}

/* ---------- requests ---------- */

/* construct_requests(doc, ctx): [[kind, args...], ...] (a new reference). */
static json_t *class_requests(const struct lle_task *t, const json_t *doc, size_t doc_id, const char *ctx,
			      struct lle_err *err)
{
	const struct lle_hookref *h = t->class_hook;
	json_t *req = json_pack("{s:s,s:s,s:s,s:s,s:s,s:O,s:s,s:I}", "op", "requests", "module", h->module, "name",
				h->name, "base", h->base, "fn", h->fn, "doc", doc, "ctx", ctx, "doc_id",
				(json_int_t)doc_id);
	if (!req) {
		lle_err_oom(err);
		return NULL;
	}
	json_t *r = lle_hooks_request(h, req, err);
	json_decref(req);
	if (!r)
		return NULL;
	if (!json_is_array(r) || json_array_size(r) == 0) {
		json_decref(r);
		lle_err_set(err, LLE_EXIT_DATA, "'%s' returned no requests", h->spec);
		return NULL;
	}
	return r;
}

/* The one kind of a document's requests, or -1 with err. */
static int reqs_kind(const struct lle_task *t, const json_t *r, enum lle_output_type *out, struct lle_err *err)
{
	static const char *const kinds[] = { "generate_until", "loglikelihood", "loglikelihood_rolling" };
	const enum lle_output_type ot[] = { LLE_OUT_GENERATE_UNTIL, LLE_OUT_MULTIPLE_CHOICE,
					    LLE_OUT_LOGLIKELIHOOD_ROLLING };
	const char *first = NULL;
	size_t i;
	json_t *q;
	json_array_foreach(r, i, q) {
		const char *k = json_string_value(json_array_get(q, 0));
		if (!k)
			return lle_err_set(err, LLE_EXIT_DATA, "'%s' returned a request without a kind",
					   t->class_hook->spec);
		if (first && strcmp(first, k))
			return lle_err_set(err, LLE_EXIT_CONFIG, "'%s' makes %s and %s requests for one document; "
					   "llm-eval runs one request kind per task", t->class_hook->spec, first, k);
		first = k;
	}
	for (size_t j = 0; j < sizeof(kinds) / sizeof(kinds[0]); j++)
		if (!strcmp(first, kinds[j])) {
			*out = ot[j];
			return 0;
		}
	return lle_err_set(err, LLE_EXIT_CONFIG, "'%s' makes %s requests, which llm-eval does not run",
			   t->class_hook->spec, first);
}

/* A generate_until request's arguments {until, max_gen_toks, ...} as the task's. */
static int set_gen_args(struct lle_task *t, const json_t *kw, struct lle_err *err)
{
	const struct lle_hookref *h = t->class_hook;
	if (!json_is_object(kw))
		return lle_err_set(err, LLE_EXIT_DATA, "'%s': a generate_until request's arguments are not a dict",
				   h->spec);
	json_t *u = json_object_get(kw, "until");
	json_t *ul = json_is_string(u) ? json_pack("[O]", u) : u ? json_incref(u) : json_array();
	if (!ul)
		return lle_err_oom(err);
	for (size_t i = 0; i < json_array_size(ul); i++)
		if (!json_is_string(json_array_get(ul, i))) {
			json_decref(ul);
			return lle_err_set(err, LLE_EXIT_DATA, "'%s': generate_until's until must be strings", h->spec);
		}
	char **nu = calloc(json_array_size(ul) + 1, sizeof(*nu));
	if (!nu) {
		json_decref(ul);
		return lle_err_oom(err);
	}
	size_t n = 0;
	for (; n < json_array_size(ul); n++)
		if (!(nu[n] = lle_strdup(json_string_value(json_array_get(ul, n))))) {
			for (size_t i = 0; i < n; i++)
				free(nu[i]);
			free(nu);
			json_decref(ul);
			return lle_err_oom(err);
		}
	json_decref(ul);
	for (size_t i = 0; i < t->nuntil; i++)
		free(t->until[i]);
	free(t->until);
	t->until = nu;
	t->nuntil = n;
	json_t *x = json_object_get(kw, "max_gen_toks");
	t->max_gen_toks = json_is_integer(x) && json_integer_value(x) > 0 ? (long)json_integer_value(x)
										  : LLE_MAX_GEN_TOKS;
	x = json_object_get(kw, "temperature");
	t->temperature = json_is_number(x) ? json_number_value(x) : 0;
	t->do_sample = json_is_true(json_object_get(kw, "do_sample"));
	if (t->generation_kwargs)
		json_decref(t->generation_kwargs);
	t->generation_kwargs = json_deep_copy(kw);
	return t->generation_kwargs ? 0 : lle_err_oom(err);
}

int lle_task_class_detect(struct lle_task *t, const json_t *doc0, struct lle_err *err)
{
	char who[300];
	lle_task_who_doc(who, sizeof(who), t, 0, "construct_requests");
	char *ctx = lle_task_doc_text(t, doc0, 0, err);
	if (!ctx)
		return -1;
	json_t *r = class_requests(t, doc0, 0, ctx, err);
	free(ctx);
	enum lle_output_type ot;
	int rc = r ? reqs_kind(t, r, &ot, err) : -1;
	if (rc == 0) {
		t->output_type = ot;
		if (ot == LLE_OUT_GENERATE_UNTIL)
			rc = set_gen_args(t, json_array_get(json_array_get(r, 0), 2), err);
	}
	if (r)
		json_decref(r);
	if (rc < 0)
		lle_err_prefix(err, "%s", who);
	return rc;
}

static char *arg_str(const json_t *q, size_t i)
{
	const char *s = json_string_value(json_array_get(q, i));
	return s ? lle_strdup(s) : NULL;
}

int lle_task_class_requests(const struct lle_task *t, const json_t *doc, size_t doc_id, struct lle_requests *rq,
			    struct lle_err *err)
{
	char who[300];
	lle_task_who_doc(who, sizeof(who), t, doc_id, "construct_requests");
	json_t *r = class_requests(t, doc, doc_id, rq->context, err);
	enum lle_output_type ot;
	int rc = r ? reqs_kind(t, r, &ot, err) : -1;
	if (rc == 0 && ot != t->output_type)
		rc = lle_err_set(err, LLE_EXIT_DATA, "'%s' makes %s requests, where the first document's were %s "
				 "(llm-eval runs one request kind per task)", t->class_hook->spec,
				 ot == LLE_OUT_MULTIPLE_CHOICE ? "loglikelihood" : lle_output_type_name(ot),
				 t->output_type == LLE_OUT_MULTIPLE_CHOICE ? "loglikelihood"
									   : lle_output_type_name(t->output_type));
	size_t n = r ? json_array_size(r) : 0;
	if (rc == 0 && ot == LLE_OUT_GENERATE_UNTIL) {
		/* one request per repeat: its context; its arguments must be the task's */
		json_t *q = json_array_get(r, 0);
		char *c = arg_str(q, 1);
		if (!c || !json_equal(json_array_get(q, 2), t->generation_kwargs))
			rc = c ? lle_err_set(err, LLE_EXIT_DATA, "'%s' gives generation arguments %s, not the first "
					     "document's", t->class_hook->spec, "that differ")
			       : lle_err_set(err, LLE_EXIT_DATA, "'%s': a generate_until request without a context",
					     t->class_hook->spec);
		if (c) {
			free(rq->context);
			rq->context = c;
		}
	} else if (rc == 0 && ot == LLE_OUT_LOGLIKELIHOOD_ROLLING) {
		char *c = arg_str(json_array_get(r, 0), 1);
		if (c) {
			free(rq->context);
			rq->context = c;
		} else {
			rc = lle_err_set(err, LLE_EXIT_DATA, "'%s': a loglikelihood_rolling request without its text",
					 t->class_hook->spec);
		}
	} else if (rc == 0) {
		/* loglikelihood: (context, continuation) each */
		rq->contexts = calloc(n, sizeof(*rq->contexts));
		rq->continuations = calloc(n, sizeof(*rq->continuations));
		if (!rq->contexts || !rq->continuations)
			rc = lle_err_oom(err);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			json_t *q = json_array_get(r, i);
			rq->contexts[i] = arg_str(q, 1);
			rq->continuations[i] = arg_str(q, 2);
			if (!rq->contexts[i] || !rq->continuations[i])
				rc = lle_err_set(err, LLE_EXIT_DATA, "'%s': a loglikelihood request needs a context and "
						 "a continuation (strings)", t->class_hook->spec);
			rq->ncont = i + 1;
		}
		rq->nchoices = rq->ncont;
		if (rc == 0) {
			free(rq->context);
			rq->context = lle_strdup(rq->contexts[0]);
			if (!rq->context)
				rc = lle_err_oom(err);
		}
	}
	if (r)
		json_decref(r);
	if (rc < 0)
		lle_err_prefix(err, "%s", who);
	return rc;
}
