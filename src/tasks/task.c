/* Task configs: a merged task tree compiled into struct lle_task (every
 * template, regex and metric checked), freeing it, and where a split's data
 * is. See task.h.
 *
 * The task layer is four files: this one (the config), task_doc.c (doc_to_*
 * and process_docs' per-document values), task_prompt.c (few-shot examples
 * and the requests of a document), task_score.c (scoring, aggregation).
 * Their shared helpers are in task_int.h. Keys and defaults follow
 * lm-evaluation-harness's TaskConfig (facts documented in docs/tasks.md).
 *
 * Not here: reading YAML files or merging includes (the registry). */
#include "tasks/task.h"
#include "tasks/task_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/hub.h"
#include "tasks/code_metric.h"
#include "tasks/pystr.h"
#include "util/buf.h"
#include "util/path.h"

/* ---------- YAML helpers ---------- */

json_t *lle_node_to_json(const struct lle_node *n)
{
	if (!n)
		return json_null();
	if (n->kind == LLE_NODE_SEQ) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < n->n; i++) {
			json_t *v = lle_node_to_json(n->items[i]);
			if (!v || json_array_append_new(a, v) < 0) {
				json_decref(a);
				return NULL;
			}
		}
		return a;
	}
	if (n->kind == LLE_NODE_MAP) {
		json_t *o = json_object();
		for (size_t i = 0; o && i < n->n; i++) {
			json_t *v = lle_node_to_json(n->items[i]);
			if (!v || json_object_set_new(o, n->keys[i], v) < 0) {
				json_decref(o);
				return NULL;
			}
		}
		return o;
	}
	if (n->plain && !n->tag) {
		long l;
		double d;
		int b;
		if (lle_node_is_null(n))
			return json_null();
		if ((b = lle_node_bool(n)) >= 0)
			return json_boolean(b);
		if (lle_node_long(n, &l) == 0)
			return json_integer(l);
		if (lle_node_double(n, &d) == 0)
			return json_real(d);
	}
	if (n->tag && !strcmp(n->tag, "!function")) {
		struct lle_buf b = LLE_BUF_INIT;
		lle_buf_printf(&b, "!function %s", n->str);
		json_t *j = b.oom ? NULL : json_string(lle_buf_str(&b));
		lle_buf_free(&b);
		return j;
	}
	return json_string(n->str);
}

/* ---------- errors ---------- */

static int kerr(const struct lle_task *t, const struct lle_node *n, const char *key, struct lle_err *err,
		const char *fmt, const char *arg)
{
	char m[700];
	snprintf(m, sizeof(m), fmt, arg);
	return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: task '%s': %s: %s", n->file, n->line, n->col,
			   t->name ? t->name : "?", key, m);
}

int lle_task_digits_only(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

const char *lle_task_who_doc(char *b, size_t n, const struct lle_task *t, size_t doc_id, const char *col)
{
	snprintf(b, n, "task '%s': doc %zu: %s", t->name, doc_id, col);
	return b;
}

/* ---------- freeing ---------- */

static void docfn_free(struct lle_docfn *f)
{
	lle_tpl_free(f->tpl);
	for (size_t i = 0; i < f->nitems; i++)
		lle_tpl_free(f->items[i]);
	free(f->items);
	lle_hookref_free(f->hook);
	memset(f, 0, sizeof(*f));
}

void lle_task_free(struct lle_task *t)
{
	if (!t)
		return;
	free(t->name);
	free(t->base_dir);
	free(t->category);
	free(t->dataset_path);
	free(t->dataset_name);
	free(t->dataset_revision);
	if (t->data_files)
		json_decref(t->data_files);
	free(t->training_split);
	free(t->validation_split);
	free(t->test_split);
	free(t->fewshot_split);
	docfn_free(&t->doc_to_text);
	docfn_free(&t->doc_to_target);
	docfn_free(&t->doc_to_choice);
	docfn_free(&t->fs_doc_to_text);
	docfn_free(&t->fs_doc_to_target);
	docfn_free(&t->fs_doc_to_choice);
	if (t->fewshot_samples)
		json_decref(t->fewshot_samples);
	lle_tpl_free(t->description);
	lle_tpl_free(t->gen_prefix);
	free(t->target_delimiter);
	free(t->fewshot_delimiter);
	if (t->generation_kwargs)
		json_decref(t->generation_kwargs);
	for (size_t i = 0; i < t->nuntil; i++)
		free(t->until[i]);
	free(t->until);
	for (size_t i = 0; i < t->nfilters; i++)
		lle_filter_chain_free(t->filters[i]);
	free(t->filters);
	for (size_t i = 0; i < t->nmetrics; i++)
		lle_metric_fini(&t->metrics[i]);
	free(t->metrics);
	if (t->config)
		json_decref(t->config);
	lle_task_hooks_free(t);
	if (t->version_json)
		json_decref(t->version_json);
	free(t);
}

/* ---------- parsing ---------- */

static int get_str(struct lle_task *t, const struct lle_node *root, const char *key, char **out,
		   struct lle_err *err)
{
	const struct lle_node *n = lle_node_get(root, key);
	if (!n || lle_node_is_null(n))
		return 0;
	if (n->kind != LLE_NODE_SCALAR)
		return kerr(t, n, key, err, "must be a string, not %s", lle_node_kind_name(n));
	free(*out);
	if (!(*out = lle_strdup(n->str)))
		return lle_err_oom(err);
	return 0;
}

static int get_long(struct lle_task *t, const struct lle_node *root, const char *key, long *out,
		    long min, struct lle_err *err)
{
	const struct lle_node *n = lle_node_get(root, key);
	if (!n || lle_node_is_null(n))
		return 0;
	if (n->kind != LLE_NODE_SCALAR || lle_node_long(n, out) < 0)
		return kerr(t, n, key, err, "must be an integer%s", "");
	if (*out < min) {
		char m[64];
		snprintf(m, sizeof(m), "must be at least %ld", min);
		return kerr(t, n, key, err, "%s", m);
	}
	return 0;
}

static struct lle_tpl *compile_at(struct lle_task *t, const struct lle_node *n, const char *key,
				  const char *src, struct lle_err *err)
{
	char who[600];
	snprintf(who, sizeof(who), "%s:%d:%d: task '%s': %s", n->file, n->line, n->col, t->name, key);
	return lle_tpl_compile(src, who, err);
}

static int parse_docfn_as(struct lle_task *t, const struct lle_node *root, const char *key,
			  const char *label, struct lle_docfn *f, struct lle_err *err);

static int parse_docfn(struct lle_task *t, const struct lle_node *root, const char *key,
		       struct lle_docfn *f, struct lle_err *err)
{
	return parse_docfn_as(t, root, key, key, f, err);
}

static int parse_docfn_as(struct lle_task *t, const struct lle_node *root, const char *key,
			  const char *label, struct lle_docfn *f, struct lle_err *err)
{
	const struct lle_node *n = lle_node_get(root, key);
	if (!n || lle_node_is_null(n))
		return 0;
	if (n->tag && !strcmp(n->tag, "!function")) {
		f->kind = LLE_DOCFN_HOOK;
		return (f->hook = lle_task_hookref(t, n, label, err)) ? 0 : -1;
	}
	if (n->kind == LLE_NODE_SCALAR) {
		long v;
		if (n->plain && lle_node_long(n, &v) == 0) {
			f->kind = LLE_DOCFN_INT;
			f->ival = v;
			return 0;
		}
		f->kind = LLE_DOCFN_TEMPLATE;
		f->tpl = compile_at(t, n, label, n->str, err);
		return f->tpl ? 0 : -1;
	}
	/* a list (or, for doc_to_choice, a map whose values are the choices) */
	if (n->kind == LLE_NODE_MAP && strcmp(key, "doc_to_choice"))
		return kerr(t, n, label, err, "must be a template, a field name or a list, not %s", "a map");
	f->kind = LLE_DOCFN_LIST;
	f->items = calloc(n->n ? n->n : 1, sizeof(*f->items));
	if (!f->items)
		return lle_err_oom(err);
	for (size_t i = 0; i < n->n; i++) {
		const struct lle_node *it = n->items[i];
		if (it->kind != LLE_NODE_SCALAR)
			return kerr(t, it, label, err, "list items must be strings, not %s", lle_node_kind_name(it));
		if (!(f->items[i] = compile_at(t, it, label, it->str, err)))
			return -1;
		f->nitems++;
	}
	return 0;
}

static const char *const k_transforms[] = { "choices_from_columns", "parse_ints", "gpqa_shuffle",
						   "drop_answers", NULL };

static int parse_process_docs(struct lle_task *t, const struct lle_node *root, struct lle_err *err)
{
	const struct lle_node *n = lle_node_get(root, "process_docs");
	if (!n || lle_node_is_null(n))
		return 0;
	if (n->kind != LLE_NODE_SCALAR)
		return kerr(t, n, "process_docs", err, "must be the name of a built-in transform%s", "");
	/* `!function utils.NAME` works when NAME is a built-in */
	const char *name = n->str;
	if (n->tag && !strcmp(n->tag, "!function")) {
		const char *dot = strrchr(name, '.');
		name = dot ? dot + 1 : name;
	}
	for (int i = 0; k_transforms[i]; i++) {
		if (!strcmp(name, k_transforms[i])) {
			t->process_docs = (enum lle_transform)(i + 1);
			return 0;
		}
	}
	if (n->tag && !strcmp(n->tag, "!function")) { /* a Python hook (task_hooks.c) */
		return (t->process_docs_hook = lle_task_hookref(t, n, "process_docs", err)) ? 0 : -1;
	}
	char m[300];
	snprintf(m, sizeof(m), "'%s%s%s' is not a built-in transform (built-in: choices_from_columns, "
		 "parse_ints, gpqa_shuffle, drop_answers)", n->tag ? n->tag : "", n->tag ? " " : "", n->str);
	return kerr(t, n, "process_docs", err, "%s", m);
}

static int parse_fewshot_config(struct lle_task *t, const struct lle_node *root, struct lle_err *err)
{
	const struct lle_node *n = lle_node_get(root, "fewshot_config");
	if (!n || lle_node_is_null(n))
		return 0;
	if (n->kind != LLE_NODE_MAP)
		return kerr(t, n, "fewshot_config", err, "must be a map%s", "");
	for (size_t i = 0; i < n->n; i++) {
		const struct lle_node *v = n->items[i];
		const char *k = n->keys[i];
		if (!strcmp(k, "sampler")) {
			if (v->kind != LLE_NODE_SCALAR)
				return kerr(t, v, "fewshot_config.sampler", err, "must be a name%s", "");
			if (!strcmp(v->str, "first_n"))
				t->sampler = LLE_SAMPLER_FIRST_N;
			else if (!strcmp(v->str, "default") || !strcmp(v->str, "random"))
				t->sampler = LLE_SAMPLER_RANDOM;
			else
				return kerr(t, v, "fewshot_config.sampler", err, "unknown sampler '%s' (known: "
					    "default, first_n)", v->str);
		} else if (!strcmp(k, "samples")) {
			/* a '!function': called with no arguments for the list (lm_eval/api/task.py) */
			if (v->tag && !strcmp(v->tag, "!function")) {
				if (!(t->fewshot_samples_hook = lle_task_hookref(t, v, "fewshot_config.samples", err)))
					return -1;
				continue;
			}
			if (v->kind != LLE_NODE_SEQ)
				return kerr(t, v, "fewshot_config.samples", err, "must be a list of documents%s", "");
			for (size_t j = 0; j < v->n; j++)
				if (v->items[j]->kind != LLE_NODE_MAP)
					return kerr(t, v->items[j], "fewshot_config.samples", err,
						    "each sample must be a map of fields%s", "");
			if (!(t->fewshot_samples = lle_node_to_json(v)))
				return lle_err_oom(err);
		} else if (!strcmp(k, "doc_to_text")) {
			if (parse_docfn_as(t, n, k, "fewshot_config.doc_to_text", &t->fs_doc_to_text, err) < 0)
				return -1;
		} else if (!strcmp(k, "doc_to_target")) {
			if (parse_docfn_as(t, n, k, "fewshot_config.doc_to_target", &t->fs_doc_to_target, err) < 0)
				return -1;
		} else if (!strcmp(k, "doc_to_choice")) {
			if (parse_docfn_as(t, n, k, "fewshot_config.doc_to_choice", &t->fs_doc_to_choice, err) < 0)
				return -1;
		} else {
			return kerr(t, v, "fewshot_config", err, "unsupported key '%s' (llm-eval supports sampler, "
				    "samples, doc_to_text, doc_to_target, doc_to_choice)", k);
		}
	}
	return 0;
}

static int parse_output_type(struct lle_task *t, const struct lle_node *root, struct lle_err *err)
{
	const struct lle_node *n = lle_node_get(root, "output_type");
	t->output_type = LLE_OUT_GENERATE_UNTIL;
	if (!n)
		return 0;
	static const char *const names[] = { "generate_until", "multiple_choice", "loglikelihood",
					     "loglikelihood_rolling", NULL };
	for (int i = 0; names[i]; i++) {
		if (n->kind == LLE_NODE_SCALAR && !strcmp(n->str, names[i])) {
			t->output_type = (enum lle_output_type)i;
			return 0;
		}
	}
	return kerr(t, n, "output_type", err, "unknown output type '%s' (known: generate_until, "
		    "multiple_choice, loglikelihood, loglikelihood_rolling)",
		    n->kind == LLE_NODE_SCALAR ? n->str : "");
}

static int add_until(struct lle_task *t, const char *s, struct lle_err *err)
{
	char **v = realloc(t->until, (t->nuntil + 1) * sizeof(*v));
	if (!v)
		return lle_err_oom(err);
	t->until = v;
	if (!(t->until[t->nuntil] = lle_strdup(s)))
		return lle_err_oom(err);
	t->nuntil++;
	return 0;
}

static int parse_generation_kwargs(struct lle_task *t, const struct lle_node *root, struct lle_err *err)
{
	const struct lle_node *n = lle_node_get(root, "generation_kwargs");
	t->max_gen_toks = LLE_MAX_GEN_TOKS;
	t->temperature = 0;
	t->do_sample = 0;
	if (n && !lle_node_is_null(n)) {
		if (n->kind != LLE_NODE_MAP)
			return kerr(t, n, "generation_kwargs", err, "must be a map%s", "");
		t->generation_kwargs = lle_node_to_json(n);
		if (!t->generation_kwargs)
			return lle_err_oom(err);
		const struct lle_node *u = lle_node_get(n, "until");
		if (u) {
			if (u->kind == LLE_NODE_SCALAR) {
				if (add_until(t, u->str, err) < 0)
					return -1;
				json_object_set_new(t->generation_kwargs, "until", json_pack("[s]", u->str));
			} else if (u->kind == LLE_NODE_SEQ) {
				for (size_t i = 0; i < u->n; i++) {
					if (u->items[i]->kind != LLE_NODE_SCALAR)
						return kerr(t, u->items[i], "generation_kwargs.until", err,
							    "must be strings%s", "");
					if (add_until(t, u->items[i]->str, err) < 0)
						return -1;
				}
			} else {
				return kerr(t, u, "generation_kwargs.until", err, "must be a string or a list%s", "");
			}
		}
		const struct lle_node *x;
		if ((x = lle_node_get(n, "max_gen_toks")) &&
		    (lle_node_long(x, &t->max_gen_toks) < 0 || t->max_gen_toks < 1))
			return kerr(t, x, "generation_kwargs.max_gen_toks", err, "must be a positive integer%s", "");
		if ((x = lle_node_get(n, "temperature"))) {
			if (lle_node_double(x, &t->temperature) < 0 || t->temperature < 0)
				return kerr(t, x, "generation_kwargs.temperature", err, "must be a number >= 0%s", "");
			/* the harness makes it a float */
			json_object_set_new(t->generation_kwargs, "temperature", json_real(t->temperature));
		}
		if ((x = lle_node_get(n, "do_sample")) && (t->do_sample = lle_node_bool(x)) < 0)
			return kerr(t, x, "generation_kwargs.do_sample", err, "must be true or false%s", "");
	} else if (t->output_type == LLE_OUT_GENERATE_UNTIL) {
		/* the harness: greedy, stopping at the few-shot delimiter */
		t->generation_kwargs = json_pack("{s:[s],s:b,s:f}", "until", t->fewshot_delimiter, "do_sample", 0,
						 "temperature", 0.0);
		if (!t->generation_kwargs)
			return lle_err_oom(err);
	}
	if (t->output_type == LLE_OUT_GENERATE_UNTIL && t->nuntil == 0 && !lle_node_get(n, "until")) {
		if (add_until(t, t->fewshot_delimiter, err) < 0)
			return -1;
		if (json_object_set_new(t->generation_kwargs, "until", json_pack("[s]", t->fewshot_delimiter)) < 0)
			return lle_err_oom(err);
	}
	return 0;
}

static int parse_filters(struct lle_task *t, const struct lle_node *root, struct lle_err *err)
{
	const struct lle_node *n = lle_node_get(root, "filter_list");
	char who[300];
	snprintf(who, sizeof(who), "task '%s'", t->name);
	if (!n || lle_node_is_null(n)) {
		t->filters = calloc(1, sizeof(*t->filters));
		if (!t->filters || !(t->filters[0] = lle_filter_chain_none(err)))
			return t->filters ? -1 : lle_err_oom(err);
		t->nfilters = 1;
		return 0;
	}
	if (n->kind != LLE_NODE_SEQ || n->n == 0)
		return kerr(t, n, "filter_list", err, "must be a non-empty list%s", "");
	if (t->output_type != LLE_OUT_GENERATE_UNTIL)
		return kerr(t, n, "filter_list", err, "filters apply to generate_until tasks only%s", "");
	t->filters = calloc(n->n, sizeof(*t->filters));
	if (!t->filters)
		return lle_err_oom(err);
	for (size_t i = 0; i < n->n; i++) {
		if (!(t->filters[i] = lle_filter_chain_from_node(n->items[i], who, err)))
			return -1;
		t->nfilters++;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(lle_filter_chain_name(t->filters[j]), lle_filter_chain_name(t->filters[i])))
				return kerr(t, n->items[i], "filter_list", err, "duplicate filter name '%s'",
					    lle_filter_chain_name(t->filters[i]));
	}
	return 0;
}

/* The harness's metrics of an output type when metric_list is absent
 * (lle_metric_defaults); a process_results hook returns the same names. */
int lle_task_default_metrics(struct lle_task *t, struct lle_err *err)
{
	t->metrics = calloc(4, sizeof(*t->metrics));
	if (!t->metrics)
		return lle_err_oom(err);
	int k = lle_metric_defaults(t->metrics, t->output_type, err);
	if (k < 0)
		return -1;
	t->nmetrics = (size_t)k;
	return 0;
}

static int parse_metrics(struct lle_task *t, const struct lle_node *root, struct lle_err *err)
{
	const struct lle_node *n = lle_node_get(root, "metric_list");
	if (lle_task_hook_process_results(t, root, err) < 0)
		return -1;
	/* metric_list names what process_results returns (task_results.c) */
	if (t->process_results_hook || t->process_results_builtin == LLE_RESULTS_DROP)
		return lle_task_hook_metrics(t, n, err);
	char who[300];
	snprintf(who, sizeof(who), "task '%s'", t->name);
	if (!n || lle_node_is_null(n))
		return lle_task_default_metrics(t, err);
	if (n->kind != LLE_NODE_SEQ || n->n == 0)
		return kerr(t, n, "metric_list", err, "must be a non-empty list%s", "");
	size_t cap = 0; /* a code_exec entry is one metric per k (code_metric.h) */
	for (size_t i = 0; i < n->n; i++)
		cap += lle_code_metric_count(n->items[i]);
	t->metrics = calloc(cap, sizeof(*t->metrics));
	if (!t->metrics)
		return lle_err_oom(err);
	for (size_t i = 0; i < n->n; i++) {
		size_t at = t->nmetrics, added = 0;
		if (lle_task_hook_entry_is(n->items[i])) { /* a '!function' metric or aggregation */
			int hr = lle_task_hook_metric_entry(t, &t->metrics[at], n->items[i], at, cap, err);
			t->nmetrics++; /* freed with the task even when half made */
			if (hr < 0)
				return -1;
		} else if (lle_code_metric_is(n->items[i])) {
			if (lle_code_metric_from_node(&t->metrics[at], &added, n->items[i], t->output_type,
						      t->repeats, who, err) < 0)
				return -1;
			t->nmetrics += added;
		} else {
			if (lle_metric_from_node(&t->metrics[at], n->items[i], t->output_type, who, err) < 0)
				return -1;
			t->nmetrics++;
		}
		for (size_t a = at; a < t->nmetrics; a++)
			for (size_t j = 0; j < a; j++)
				if (!strcmp(t->metrics[j].name, t->metrics[a].name))
					return kerr(t, n->items[i], "metric_list", err, "duplicate metric '%s'",
						    t->metrics[a].name);
	}
	return 0;
}

/* dataset_kwargs.revision: what the harness hands datasets.load_dataset
 * (revision=...), the Hub revision a split is read at. */
static int parse_revision(struct lle_task *t, const struct lle_node *root, struct lle_err *err)
{
	const struct lle_node *kw = lle_node_get(root, "dataset_kwargs");
	const struct lle_node *r = kw && kw->kind == LLE_NODE_MAP ? lle_node_get(kw, "revision") : NULL;
	if (!r || lle_node_is_null(r))
		return 0;
	if (r->kind != LLE_NODE_SCALAR || !*r->str)
		return kerr(t, r, "dataset_kwargs.revision", err, "must be a branch, tag or commit%s", "");
	return (t->dataset_revision = lle_strdup(r->str)) ? 0 : lle_err_oom(err);
}

static int parse_data_files(struct lle_task *t, const struct lle_node *root, struct lle_err *err)
{
	const struct lle_node *n = lle_node_get(root, "data_files");
	const struct lle_node *kw = lle_node_get(root, "dataset_kwargs");
	if (!n && kw && kw->kind == LLE_NODE_MAP)
		n = lle_node_get(kw, "data_files");
	if (!n || lle_node_is_null(n))
		return 0;
	if (n->kind == LLE_NODE_SCALAR) { /* one file: the test split */
		t->data_files = json_object();
		if (!t->data_files ||
		    json_object_set_new(t->data_files, t->test_split ? t->test_split : "test",
					json_string(n->str)) < 0)
			return lle_err_oom(err);
		return 0;
	}
	if (n->kind != LLE_NODE_MAP)
		return kerr(t, n, "data_files", err, "must be a map from split to file%s", "");
	for (size_t i = 0; i < n->n; i++) {
		const struct lle_node *v = n->items[i];
		int ok = v->kind == LLE_NODE_SCALAR;
		if (v->kind == LLE_NODE_SEQ) {
			ok = v->n > 0;
			for (size_t j = 0; j < v->n; j++)
				ok = ok && v->items[j]->kind == LLE_NODE_SCALAR;
		}
		if (!ok)
			return kerr(t, v, "data_files", err, "split '%s' must name a file, a glob or a list "
				    "of them", n->keys[i]);
	}
	t->data_files = lle_node_to_json(n);
	return t->data_files ? 0 : lle_err_oom(err);
}

static const char *const k_keys[] = {
	"task", "category", "description", "dataset_path", "dataset_name", "data_files",
	"dataset_kwargs", "training_split", "validation_split", "test_split", "fewshot_split",
	"output_type", "doc_to_text", "doc_to_target", "doc_to_choice", "target_delimiter",
	"fewshot_delimiter", "num_fewshot", "fewshot_config", "process_docs", "generation_kwargs",
	"filter_list", "metric_list", "repeats", "metadata", "gen_prefix", "process_results",
	/* accepted and ignored: they do not change what is evaluated */
	"tag", "group", "group_alias", "task_alias", "should_decontaminate",
	"doc_to_decontamination_query", "include", "unsafe_code", NULL
};

struct lle_task *lle_task_from_node(const struct lle_node *root, struct lle_err *err)
{
	struct lle_task *t = calloc(1, sizeof(*t));
	if (!t) {
		lle_err_oom(err);
		return NULL;
	}
	t->version = NAN;
	t->repeats = 1;
	t->multiple_input = -1;
	if (!root || root->kind != LLE_NODE_MAP) {
		lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: a task config must be a map",
			    root ? root->file : "?", root ? root->line : 0, root ? root->col : 0);
		goto fail;
	}
	const struct lle_node *tn = lle_node_get(root, "task");
	t->file = root->file;
	t->line = root->line;
	t->col = root->col;
	if (!tn || tn->kind != LLE_NODE_SCALAR || !*tn->str) {
		lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: task config without a 'task' name", root->file,
			    root->line, root->col);
		goto fail;
	}
	if (!(t->name = lle_strdup(tn->str)) || !(t->base_dir = lle_path_dirname(root->file)) ||
	    !(t->target_delimiter = lle_strdup(" ")) || !(t->fewshot_delimiter = lle_strdup("\n\n"))) {
		lle_err_oom(err);
		goto fail;
	}
	for (size_t i = 0; i < root->n; i++) {
		size_t j = 0;
		while (k_keys[j] && strcmp(k_keys[j], root->keys[i]))
			j++;
		if (!k_keys[j]) {
			const char *hint = "";
			if (!strcmp(root->keys[i], "process_results") || !strcmp(root->keys[i], "use_prompt"))
				hint = " (Python hooks are not supported)";
			char m[200];
			snprintf(m, sizeof(m), "unknown key%s", hint);
			kerr(t, root->items[i], root->keys[i], err, "%s", m);
			goto fail;
		}
	}
	if (get_str(t, root, "category", &t->category, err) < 0 ||
	    get_str(t, root, "dataset_path", &t->dataset_path, err) < 0 ||
	    get_str(t, root, "dataset_name", &t->dataset_name, err) < 0 ||
	    get_str(t, root, "training_split", &t->training_split, err) < 0 ||
	    get_str(t, root, "validation_split", &t->validation_split, err) < 0 ||
	    get_str(t, root, "test_split", &t->test_split, err) < 0 ||
	    get_str(t, root, "fewshot_split", &t->fewshot_split, err) < 0 ||
	    get_str(t, root, "target_delimiter", &t->target_delimiter, err) < 0 ||
	    get_str(t, root, "fewshot_delimiter", &t->fewshot_delimiter, err) < 0 ||
	    get_long(t, root, "num_fewshot", &t->num_fewshot, 0, err) < 0 ||
	    get_long(t, root, "repeats", &t->repeats, 1, err) < 0)
		goto fail;
	t->test_split_given = t->test_split != NULL;
	{
		const struct lle_node *k = lle_node_get(root, "num_fewshot");
		t->num_fewshot_zero = k && !lle_node_is_null(k) && t->num_fewshot == 0;
	}
	if (!t->test_split) {
		/* the harness evaluates the test split, else validation */
		const char *s = t->validation_split ? t->validation_split : "test";
		if (!(t->test_split = lle_strdup(s))) {
			lle_err_oom(err);
			goto fail;
		}
	}
	if (parse_output_type(t, root, err) < 0 || parse_data_files(t, root, err) < 0 ||
	    parse_revision(t, root, err) < 0 ||
	    parse_docfn(t, root, "doc_to_text", &t->doc_to_text, err) < 0 ||
	    parse_docfn(t, root, "doc_to_target", &t->doc_to_target, err) < 0 ||
	    parse_docfn(t, root, "doc_to_choice", &t->doc_to_choice, err) < 0 ||
	    parse_process_docs(t, root, err) < 0 || parse_fewshot_config(t, root, err) < 0 ||
	    parse_generation_kwargs(t, root, err) < 0 || parse_filters(t, root, err) < 0 ||
	    parse_metrics(t, root, err) < 0 || lle_task_results_builtin_check(t, root, err) < 0)
		goto fail;
	const struct lle_node *d = lle_node_get(root, "description");
	if (d && !lle_node_is_null(d)) {
		if (d->kind != LLE_NODE_SCALAR) {
			kerr(t, d, "description", err, "must be a string%s", "");
			goto fail;
		}
		if (*d->str && !(t->description = compile_at(t, d, "description", d->str, err)))
			goto fail;
	}
	/* gen_prefix: a template (or field name), rendered per document
	 * (the harness's doc_to_prefix); null is no prefix */
	const struct lle_node *gp = lle_node_get(root, "gen_prefix");
	if (gp && !lle_node_is_null(gp)) {
		if (gp->tag && !strcmp(gp->tag, "!function")) {
			kerr(t, gp, "gen_prefix", err, "'!function %s' is Python code, which llm-eval does not run; "
			     "write it as a template", gp->str);
			goto fail;
		}
		if (gp->kind != LLE_NODE_SCALAR) {
			kerr(t, gp, "gen_prefix", err, "must be a string%s", "");
			goto fail;
		}
		t->has_gen_prefix = 1;
		if (*gp->str && !(t->gen_prefix = compile_at(t, gp, "gen_prefix", gp->str, err)))
			goto fail;
	}
	/* ConfigurableTask: self.VERSION = self.config.metadata["version"],
	 * whatever PyYAML made of it (ulqa's "1.0.0" is a string) */
	const struct lle_node *md = lle_node_get(root, "metadata");
	if (md && md->kind == LLE_NODE_MAP) {
		const struct lle_node *v = lle_node_get(md, "version");
		if (v && v->kind != LLE_NODE_SCALAR) {
			kerr(t, v, "metadata.version", err, "must be a number or a string, not %s",
			     lle_node_kind_name(v));
			goto fail;
		}
		if (v && !lle_node_is_null(v)) {
			if (!v->plain || lle_node_double(v, &t->version) < 0)
				t->version = NAN;
			if (!(t->version_json = lle_node_to_json(v))) {
				lle_err_oom(err);
				goto fail;
			}
		}
	}
	if (t->output_type == LLE_OUT_MULTIPLE_CHOICE && t->doc_to_choice.kind == LLE_DOCFN_NONE) {
		kerr(t, tn, "doc_to_choice", err, "a multiple_choice task needs doc_to_choice%s", "");
		goto fail;
	}
	if (t->output_type != LLE_OUT_LOGLIKELIHOOD_ROLLING && t->doc_to_text.kind == LLE_DOCFN_NONE) {
		kerr(t, tn, "doc_to_text", err, "missing (every task but loglikelihood_rolling needs it)%s", "");
		goto fail;
	}
	if (t->doc_to_target.kind == LLE_DOCFN_NONE) {
		kerr(t, tn, "doc_to_target", err, "missing%s", "");
		goto fail;
	}
	if (!(t->config = lle_node_to_json(root))) {
		lle_err_oom(err);
		goto fail;
	}
	if (lle_task_hooks_init(t, err) < 0)
		goto fail;
	return t;
fail:
	lle_task_free(t);
	return NULL;
}

/* ---------- data ---------- */

/* Without a data directory, a split of a Hub dataset (dataset_path a
 * repository, not one of the `datasets` file builders) comes from the
 * Hugging Face Hub cache, fetched when missing (data/hub.h); a data file the
 * task names by an absolute or ./ path is still read from there. */
static int hub_wanted(const struct lle_task *t, const json_t *v, const struct lle_data_dir *dd)
{
	return lle_data_from_hub(t->dataset_path, json_string_value(v), dd);
}

static char *hub_split_path(const struct lle_task *t, const char *split, const char *what,
			    struct lle_err *err)
{
	struct lle_hub_split hs;
	if (lle_hub_split(t->dataset_path, t->dataset_name, split, t->dataset_revision, &hs, err) < 0) {
		lle_err_prefix(err, "%s", what);
		return NULL;
	}
	char *files = hs.files;
	hs.files = NULL;
	lle_hub_split_free(&hs);
	return files;
}

char *lle_task_split_path(const struct lle_task *t, const char *split, const struct lle_data_dir *dd,
			  int must_exist, struct lle_err *err)
{
	char what[300];
	snprintf(what, sizeof(what), "task '%s': split '%s'", t->name, split);
	json_t *v = t->data_files ? json_object_get(t->data_files, split) : NULL;
	if (json_is_array(v)) {
		if (json_array_size(v) != 1) {
			lle_err_set(err, LLE_EXIT_CONFIG, "%s: several files for one split are not supported; "
				    "use a glob", what);
			return NULL;
		}
		v = json_array_get(v, 0);
	}
	if (hub_wanted(t, v, dd)) {
		char *p = hub_split_path(t, split, what, err);
		if (p && must_exist && t->process_docs_hook)
			return lle_task_hook_split(t, split, p, err);
		return p;
	}
	if (json_is_string(v)) {
		char *p = lle_data_resolve(json_string_value(v), t->base_dir, dd, must_exist, what, err);
		if (p && must_exist && t->process_docs_hook)
			return lle_task_hook_split(t, split, p, err);
		return p;
	}
	if (!t->dataset_path) {
		lle_err_set(err, LLE_EXIT_CONFIG, "%s: no data file (set data_files or dataset_path)", what);
		return NULL;
	}
	char *spec = lle_data_split_spec(t->dataset_path, t->dataset_name, split);
	if (!spec) {
		lle_err_oom(err);
		return NULL;
	}
	char *p = lle_data_resolve(spec, t->base_dir, dd, must_exist, what, err);
	free(spec);
	if (p && must_exist && t->process_docs_hook)
		return lle_task_hook_split(t, split, p, err);
	return p;
}

static int int_literal(const char *s)
{
	if (*s == '-')
		s++;
	if (!lle_task_digits_only(s) || strlen(s) > 18)
		return 0;
	return s[0] != '0' || s[1] == '\0';
}

struct colnum {
	const char *key;
	long n;
};

static int cmp_colnum(const void *a, const void *b)
{
	long x = ((const struct colnum *)a)->n, y = ((const struct colnum *)b)->n;
	return x < y ? -1 : x > y;
}

int lle_task_process_doc(const struct lle_task *t, json_t *doc, size_t doc_id, struct lle_err *err)
{
	char who[300];
	if (t->process_docs == LLE_TRANSFORM_NONE)
		return 0;
	if (!json_is_object(doc))
		return lle_err_set(err, LLE_EXIT_DATA, "%s: not an object",
				   lle_task_who_doc(who, sizeof(who), t, doc_id, "process_docs"));
	const char *k;
	json_t *v;
	if (t->process_docs == LLE_TRANSFORM_GPQA_SHUFFLE)
		return lle_task_gpqa_doc(t, doc, doc_id, err);
	if (t->process_docs == LLE_TRANSFORM_DROP_ANSWERS)
		return lle_task_drop_doc(t, doc, doc_id, err);
	if (t->process_docs == LLE_TRANSFORM_PARSE_INTS) {
		json_object_foreach(doc, k, v) {
			if (json_is_string(v) && int_literal(json_string_value(v)) &&
			    json_object_set_new(doc, k, json_integer(strtoll(json_string_value(v), NULL, 10))) < 0)
				return lle_err_oom(err);
		}
		return 0;
	}
	/* choices_from_columns: choice0, choice1, ... become `choices`; a digit
	 * or letter `answer` becomes an index */
	struct colnum cols[64];
	size_t nc = 0;
	json_object_foreach(doc, k, v) {
		if (!strncmp(k, "choice", 6) && lle_task_digits_only(k + 6) && nc < 64) {
			cols[nc].key = k;
			cols[nc].n = strtol(k + 6, NULL, 10);
			nc++;
		}
	}
	if (nc == 0)
		return lle_err_set(err, LLE_EXIT_DATA, "%s: no 'choice0', 'choice1', ... fields",
				   lle_task_who_doc(who, sizeof(who), t, doc_id, "process_docs"));
	qsort(cols, nc, sizeof(cols[0]), cmp_colnum);
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < nc; i++)
		if (json_array_append(arr, json_object_get(doc, cols[i].key)) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	if (!arr || json_object_set_new(doc, "choices", arr) < 0)
		return lle_err_oom(err);
	json_t *a = json_object_get(doc, "answer");
	if (json_is_string(a)) {
		const char *s = json_string_value(a);
		long idx = -1;
		if (lle_task_digits_only(s) && strlen(s) < 6)
			idx = strtol(s, NULL, 10);
		else if (s[0] >= 'A' && s[0] <= 'Z' && s[1] == '\0')
			idx = s[0] - 'A';
		if (idx < 0 || (size_t)idx >= nc)
			return lle_err_set(err, LLE_EXIT_DATA, "%s: answer '%s' is not a choice index or letter",
					   lle_task_who_doc(who, sizeof(who), t, doc_id, "process_docs"), s);
		if (json_object_set_new(doc, "answer", json_integer(idx)) < 0)
			return lle_err_oom(err);
	}
	return 0;
}
