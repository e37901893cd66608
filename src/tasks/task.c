/* Task configs, prompts, scoring and aggregation: see task.h.
 *
 * The doc_to_* rules, the few-shot context and the per-output-type scoring
 * follow lm-evaluation-harness's ConfigurableTask and ContextSampler (facts
 * documented in docs/tasks.md); nothing here reads files except the
 * few-shot split, and nothing runs Python. */
#include "tasks/task.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

static int digits_only(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* "task 'x': doc N: column" into b. */
static const char *who_doc(char *b, size_t n, const struct lle_task *t, size_t doc_id, const char *col)
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
	if (n->tag && !strcmp(n->tag, "!function"))
		return kerr(t, n, label, err, "'!function %s' is Python code, which llm-eval does not run; "
			    "write it as a template", n->str);
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

static const char *const k_transforms[] = { "choices_from_columns", "parse_ints", NULL };

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
	char m[300];
	snprintf(m, sizeof(m), "'%s%s%s' is not a built-in transform (built-in: choices_from_columns, "
		 "parse_ints)", n->tag ? n->tag : "", n->tag ? " " : "", n->str);
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

static int parse_metrics(struct lle_task *t, const struct lle_node *root, struct lle_err *err)
{
	const struct lle_node *n = lle_node_get(root, "metric_list");
	char who[300];
	snprintf(who, sizeof(who), "task '%s'", t->name);
	if (!n || lle_node_is_null(n)) {
		t->metrics = calloc(4, sizeof(*t->metrics));
		if (!t->metrics)
			return lle_err_oom(err);
		int k = lle_metric_defaults(t->metrics, t->output_type, err);
		if (k < 0)
			return -1;
		t->nmetrics = (size_t)k;
		return 0;
	}
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
		if (lle_code_metric_is(n->items[i])) {
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
	"filter_list", "metric_list", "repeats", "metadata",
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
	if (!t->test_split) {
		/* the harness evaluates the test split, else validation */
		const char *s = t->validation_split ? t->validation_split : "test";
		if (!(t->test_split = lle_strdup(s))) {
			lle_err_oom(err);
			goto fail;
		}
	}
	if (parse_output_type(t, root, err) < 0 || parse_data_files(t, root, err) < 0 ||
	    parse_docfn(t, root, "doc_to_text", &t->doc_to_text, err) < 0 ||
	    parse_docfn(t, root, "doc_to_target", &t->doc_to_target, err) < 0 ||
	    parse_docfn(t, root, "doc_to_choice", &t->doc_to_choice, err) < 0 ||
	    parse_process_docs(t, root, err) < 0 || parse_fewshot_config(t, root, err) < 0 ||
	    parse_generation_kwargs(t, root, err) < 0 || parse_filters(t, root, err) < 0 ||
	    parse_metrics(t, root, err) < 0)
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
	const struct lle_node *md = lle_node_get(root, "metadata");
	if (md && md->kind == LLE_NODE_MAP) {
		const struct lle_node *v = lle_node_get(md, "version");
		if (v && lle_node_double(v, &t->version) < 0) {
			kerr(t, v, "metadata.version", err, "must be a number%s", "");
			goto fail;
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
	return t;
fail:
	lle_task_free(t);
	return NULL;
}

/* ---------- --gen-kwargs ---------- */

static json_t *arg_value(const char *v)
{
	if (!strcasecmp(v, "true"))
		return json_true();
	if (!strcasecmp(v, "false"))
		return json_false();
	if (digits_only(v) && strlen(v) < 18)
		return json_integer(strtoll(v, NULL, 10));
	char *end;
	double d = strtod(v, &end);
	if (*v && !*end)
		return json_real(d);
	return json_string(v);
}

int lle_task_update_gen_kwargs(struct lle_task *t, const char *spec, struct lle_err *err)
{
	if (!t->generation_kwargs && !(t->generation_kwargs = json_object()))
		return lle_err_oom(err);
	char *copy = lle_strdup(spec);
	if (!copy)
		return lle_err_oom(err);
	int rv = 0;
	char *save = NULL;
	for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq || eq == kv) {
			rv = lle_err_set(err, LLE_EXIT_USAGE, "--gen-kwargs: '%s' is not key=value", kv);
			break;
		}
		*eq = '\0';
		const char *k = kv, *v = eq + 1;
		json_t *jv = arg_value(v);
		if (!jv) {
			rv = lle_err_oom(err);
			break;
		}
		if (!strcmp(k, "until")) {
			for (size_t i = 0; i < t->nuntil; i++)
				free(t->until[i]);
			t->nuntil = 0;
			json_decref(jv);
			jv = json_pack("[s]", v);
			if (!jv || add_until(t, v, err) < 0) {
				rv = jv ? -1 : lle_err_oom(err);
				if (jv)
					json_decref(jv);
				break;
			}
		} else if (!strcmp(k, "max_gen_toks")) {
			if (!json_is_integer(jv) || json_integer_value(jv) < 1) {
				json_decref(jv);
				rv = lle_err_set(err, LLE_EXIT_USAGE, "--gen-kwargs: max_gen_toks must be a positive "
						 "integer, not '%s'", v);
				break;
			}
			t->max_gen_toks = (long)json_integer_value(jv);
		} else if (!strcmp(k, "temperature")) {
			if (!json_is_number(jv) || json_number_value(jv) < 0) {
				json_decref(jv);
				rv = lle_err_set(err, LLE_EXIT_USAGE, "--gen-kwargs: temperature must be a number >= 0, "
						 "not '%s'", v);
				break;
			}
			t->temperature = json_number_value(jv);
			json_decref(jv);
			jv = json_real(t->temperature);
		} else if (!strcmp(k, "do_sample")) {
			if (!json_is_boolean(jv)) {
				json_decref(jv);
				rv = lle_err_set(err, LLE_EXIT_USAGE, "--gen-kwargs: do_sample must be true or false, "
						 "not '%s'", v);
				break;
			}
			t->do_sample = json_is_true(jv);
		}
		if (json_object_set_new(t->generation_kwargs, k, jv) < 0) {
			rv = lle_err_oom(err);
			break;
		}
	}
	free(copy);
	return rv;
}

/* ---------- data ---------- */

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
	if (json_is_string(v))
		return lle_data_resolve(json_string_value(v), t->base_dir, dd, must_exist, what, err);
	if (!t->dataset_path) {
		lle_err_set(err, LLE_EXIT_CONFIG, "%s: no data file (set data_files or dataset_path)", what);
		return NULL;
	}
	struct lle_buf b = LLE_BUF_INIT;
	lle_buf_printf(&b, "%s/%s.jsonl", t->dataset_path, split);
	if (b.oom) {
		lle_err_oom(err);
		return NULL;
	}
	char *p = lle_data_resolve(lle_buf_str(&b), t->base_dir, dd, must_exist, what, err);
	lle_buf_free(&b);
	return p;
}

static int int_literal(const char *s)
{
	if (*s == '-')
		s++;
	if (!digits_only(s) || strlen(s) > 18)
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
				   who_doc(who, sizeof(who), t, doc_id, "process_docs"));
	const char *k;
	json_t *v;
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
		if (!strncmp(k, "choice", 6) && digits_only(k + 6) && nc < 64) {
			cols[nc].key = k;
			cols[nc].n = strtol(k + 6, NULL, 10);
			nc++;
		}
	}
	if (nc == 0)
		return lle_err_set(err, LLE_EXIT_DATA, "%s: no 'choice0', 'choice1', ... fields",
				   who_doc(who, sizeof(who), t, doc_id, "process_docs"));
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
		if (digits_only(s) && strlen(s) < 6)
			idx = strtol(s, NULL, 10);
		else if (s[0] >= 'A' && s[0] <= 'Z' && s[1] == '\0')
			idx = s[0] - 'A';
		if (idx < 0 || (size_t)idx >= nc)
			return lle_err_set(err, LLE_EXIT_DATA, "%s: answer '%s' is not a choice index or letter",
					   who_doc(who, sizeof(who), t, doc_id, "process_docs"), s);
		if (json_object_set_new(doc, "answer", json_integer(idx)) < 0)
			return lle_err_oom(err);
	}
	return 0;
}

/* ---------- doc_to_* ---------- */

/* A template rendered for a document (a new JSON string). */
static json_t *render_tpl(const struct lle_task *t, const struct lle_tpl *tpl, const json_t *doc,
			  size_t doc_id, const char *col, struct lle_err *err)
{
	char who[300];
	size_t n;
	char *s = lle_tpl_render(tpl, doc, who_doc(who, sizeof(who), t, doc_id, col), &n, err);
	if (!s)
		return NULL;
	json_t *j = json_stringn_nocheck(s, n);
	free(s);
	if (!j)
		lle_err_oom(err);
	return j;
}

/* A template's value for a document: the field when the source names one,
 * else the rendered text. List items (literal choices) are never fields. */
static json_t *eval_tpl(const struct lle_task *t, const struct lle_tpl *tpl, const json_t *doc,
			size_t doc_id, const char *col, struct lle_err *err)
{
	json_t *f = json_object_get(doc, lle_tpl_source(tpl));
	if (f)
		return json_incref(f);
	return render_tpl(t, tpl, doc, doc_id, col, err);
}

/* isdigit() and doc_to_choice set: the harness turns the text into an int */
static json_t *maybe_index(const struct lle_task *t, json_t *v)
{
	if (json_is_string(v) && t->doc_to_choice.kind != LLE_DOCFN_NONE && digits_only(json_string_value(v)) &&
	    json_string_length(v) < 18) {
		json_t *i = json_integer(strtoll(json_string_value(v), NULL, 10));
		json_decref(v);
		return i;
	}
	return v;
}

static json_t *text_value(const struct lle_task *t, const struct lle_docfn *f, const json_t *doc,
			  size_t doc_id, struct lle_err *err)
{
	if (f->kind == LLE_DOCFN_INT)
		return json_integer(f->ival);
	if (f->kind != LLE_DOCFN_TEMPLATE) {
		lle_err_set(err, LLE_EXIT_CONFIG, "task '%s': doc_to_text must be a template", t->name);
		return NULL;
	}
	json_t *v = eval_tpl(t, f->tpl, doc, doc_id, "doc_to_text", err);
	if (!v)
		return NULL;
	json_t *f2 = json_object_get(doc, lle_tpl_source(f->tpl));
	return f2 ? v : maybe_index(t, v);
}

static json_t *docfn_choices(const struct lle_task *t, const struct lle_docfn *f, const json_t *doc,
			     size_t doc_id, struct lle_err *err)
{
	char who[300];
	who_doc(who, sizeof(who), t, doc_id, "doc_to_choice");
	json_t *out = NULL;
	if (f->kind == LLE_DOCFN_LIST) {
		out = json_array();
		for (size_t i = 0; out && i < f->nitems; i++) {
			json_t *v = render_tpl(t, f->items[i], doc, doc_id, "doc_to_choice", err);
			if (!v || json_array_append_new(out, v) < 0) {
				json_decref(out);
				return NULL;
			}
		}
		if (!out)
			lle_err_oom(err);
		return out;
	}
	if (f->kind != LLE_DOCFN_TEMPLATE) {
		lle_err_set(err, LLE_EXIT_CONFIG, "task '%s': no doc_to_choice", t->name);
		return NULL;
	}
	json_t *fv = json_object_get(doc, lle_tpl_source(f->tpl));
	if (fv) {
		out = json_incref(fv);
	} else {
		json_t *s = eval_tpl(t, f->tpl, doc, doc_id, "doc_to_choice", err);
		if (!s)
			return NULL;
		struct lle_err e2 = { 0 };
		out = lle_py_literal_eval(json_string_value(s), &e2);
		if (!out) {
			lle_err_set(err, LLE_EXIT_DATA, "%s: rendered '%.200s', which is not a list: %s", who,
				    json_string_value(s), e2.msg);
			json_decref(s);
			return NULL;
		}
		json_decref(s);
	}
	if (json_is_object(out)) { /* a dict's values */
		json_t *a = json_array();
		const char *k;
		json_t *v;
		json_object_foreach(out, k, v)
			if (a && json_array_append(a, v) < 0) {
				json_decref(a);
				a = NULL;
			}
		json_decref(out);
		if (!a)
			lle_err_oom(err);
		out = a;
		if (!out)
			return NULL;
	}
	if (!json_is_array(out)) {
		json_decref(out);
		lle_err_set(err, LLE_EXIT_DATA, "%s: not a list of choices", who);
		return NULL;
	}
	return out;
}

json_t *lle_task_doc_choices(const struct lle_task *t, const json_t *doc, size_t doc_id, struct lle_err *err)
{
	return docfn_choices(t, &t->doc_to_choice, doc, doc_id, err);
}

static json_t *docfn_target(const struct lle_task *t, const struct lle_docfn *f, const json_t *doc,
			    size_t doc_id, struct lle_err *err)
{
	if (f->kind == LLE_DOCFN_INT)
		return json_integer(f->ival);
	if (f->kind == LLE_DOCFN_LIST) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < f->nitems; i++) {
			json_t *v = render_tpl(t, f->items[i], doc, doc_id, "doc_to_target", err);
			if (!v || json_array_append_new(a, v) < 0) {
				json_decref(a);
				return NULL;
			}
		}
		if (!a)
			lle_err_oom(err);
		return a;
	}
	if (f->kind != LLE_DOCFN_TEMPLATE) {
		lle_err_set(err, LLE_EXIT_CONFIG, "task '%s': no doc_to_target", t->name);
		return NULL;
	}
	if (json_object_get(doc, lle_tpl_source(f->tpl)))
		return eval_tpl(t, f->tpl, doc, doc_id, "doc_to_target", err);
	json_t *v = eval_tpl(t, f->tpl, doc, doc_id, "doc_to_target", err);
	if (!v)
		return NULL;
	v = maybe_index(t, v);
	if (json_is_string(v)) {
		/* "[...]" is read as a Python list when it parses as one */
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);
		if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
			struct lle_err e2 = { 0 };
			json_t *l = lle_py_literal_eval(s, &e2);
			if (l) {
				json_decref(v);
				return l;
			}
		}
	}
	return v;
}

json_t *lle_task_doc_target(const struct lle_task *t, const json_t *doc, size_t doc_id, struct lle_err *err)
{
	return docfn_target(t, &t->doc_to_target, doc, doc_id, err);
}

/* The string the harness puts in a prompt for text (an index picks a choice). */
static char *as_prompt_text(const struct lle_task *t, const struct lle_docfn *fchoice, json_t *v,
			    const json_t *doc, size_t doc_id, const char *col, struct lle_err *err)
{
	struct lle_buf b = LLE_BUF_INIT;
	char who[300];
	if (json_is_integer(v) && t->doc_to_choice.kind != LLE_DOCFN_NONE) {
		json_t *ch = docfn_choices(t, fchoice, doc, doc_id, err);
		if (!ch)
			return NULL;
		long long i = json_integer_value(v);
		if (i < 0 || (size_t)i >= json_array_size(ch)) {
			json_decref(ch);
			lle_err_set(err, LLE_EXIT_DATA, "%s: index %lld is not one of the %zu choices",
				    who_doc(who, sizeof(who), t, doc_id, col), i, json_array_size(ch));
			return NULL;
		}
		lle_py_str(&b, json_array_get(ch, (size_t)i));
		json_decref(ch);
	} else if (json_is_array(v) && !strcmp(col, "doc_to_text")) {
		lle_err_set(err, LLE_EXIT_CONFIG, "%s: a list of texts (multiple inputs) is not supported",
			    who_doc(who, sizeof(who), t, doc_id, col));
		return NULL;
	} else {
		lle_py_str(&b, v);
	}
	char *s = lle_buf_detach(&b);
	if (!s)
		lle_err_oom(err);
	return s;
}

/* The doc_to_* a few-shot example uses: fewshot_config's when given. */
static const struct lle_docfn *fs_fn(const struct lle_docfn *over, const struct lle_docfn *main_fn)
{
	return over->kind != LLE_DOCFN_NONE ? over : main_fn;
}

static char *doc_text(const struct lle_task *t, int example, const json_t *doc, size_t doc_id,
		      struct lle_err *err)
{
	const struct lle_docfn *ft = example ? fs_fn(&t->fs_doc_to_text, &t->doc_to_text) : &t->doc_to_text;
	const struct lle_docfn *fc = example ? fs_fn(&t->fs_doc_to_choice, &t->doc_to_choice) : &t->doc_to_choice;
	json_t *v = text_value(t, ft, doc, doc_id, err);
	if (!v)
		return NULL;
	char *s = as_prompt_text(t, fc, v, doc, doc_id, "doc_to_text", err);
	json_decref(v);
	return s;
}

char *lle_task_doc_text(const struct lle_task *t, const json_t *doc, size_t doc_id, struct lle_err *err)
{
	return doc_text(t, 0, doc, doc_id, err);
}

/* The target as a few-shot example shows it. */
static char *example_target(const struct lle_task *t, const json_t *doc, size_t doc_id, struct lle_err *err)
{
	json_t *v = docfn_target(t, fs_fn(&t->fs_doc_to_target, &t->doc_to_target), doc, doc_id, err);
	if (!v)
		return NULL;
	char *s;
	if (json_is_array(v)) { /* several targets: the first */
		struct lle_buf b = LLE_BUF_INIT;
		if (json_array_size(v))
			lle_py_str(&b, json_array_get(v, 0));
		s = lle_buf_detach(&b);
		if (!s)
			lle_err_oom(err);
	} else {
		s = as_prompt_text(t, fs_fn(&t->fs_doc_to_choice, &t->doc_to_choice), v, doc, doc_id,
				   "doc_to_target", err);
	}
	json_decref(v);
	return s;
}

/* ---------- few-shot ---------- */

struct lle_fewshot {
	const struct lle_task *t;
	json_t *docs;
	size_t n;
	long k;
	int same_split;
	struct lle_pyrand rnd;
	char **cache;           /* per document: its text, then its target (2 * n) */
	size_t *idx;
};

void lle_fewshot_free(struct lle_fewshot *fs)
{
	if (!fs)
		return;
	for (size_t i = 0; fs->cache && i < 2 * fs->n; i++)
		free(fs->cache[i]);
	free(fs->cache);
	free(fs->idx);
	if (fs->docs)
		json_decref(fs->docs);
	free(fs);
}

long lle_fewshot_k(const struct lle_fewshot *fs) { return fs ? fs->k : 0; }

struct lle_fewshot *lle_fewshot_from_docs(const struct lle_task *t, json_t *docs, int same_split, long k,
					  long seed, struct lle_err *err)
{
	struct lle_fewshot *fs = calloc(1, sizeof(*fs));
	if (!fs) {
		json_decref(docs);
		lle_err_oom(err);
		return NULL;
	}
	fs->t = t;
	fs->docs = docs;
	fs->n = json_array_size(docs);
	fs->k = k;
	fs->same_split = same_split;
	lle_pyrand_seed(&fs->rnd, seed);
	size_t need = (size_t)k + (same_split ? 1 : 0);
	if (k > 0 && fs->n < need) {
		lle_err_set(err, LLE_EXIT_DATA, "task '%s': num_fewshot is %ld but the few-shot split has only "
			    "%zu documents%s", t->name, k, fs->n,
			    same_split ? " (one more is needed: it is the test split)" : "");
		lle_fewshot_free(fs);
		return NULL;
	}
	fs->cache = calloc(fs->n ? 2 * fs->n : 1, sizeof(*fs->cache));
	fs->idx = calloc(need ? need : 1, sizeof(*fs->idx));
	if (!fs->cache || !fs->idx) {
		lle_fewshot_free(fs);
		lle_err_oom(err);
		return NULL;
	}
	return fs;
}

struct lle_fewshot *lle_fewshot_open(const struct lle_task *t, const struct lle_data_dir *dd, long k,
				     long seed, struct lle_err *err)
{
	if (k <= 0) {
		json_t *none = json_array();
		if (!none) {
			lle_err_oom(err);
			return NULL;
		}
		return lle_fewshot_from_docs(t, none, 0, 0, seed, err);
	}
	if (t->fewshot_samples) { /* fewshot_config.samples: used as written */
		json_t *docs = json_deep_copy(t->fewshot_samples);
		if (!docs) {
			lle_err_oom(err);
			return NULL;
		}
		return lle_fewshot_from_docs(t, docs, 0, k, seed, err);
	}
	const char *split = t->fewshot_split ? t->fewshot_split
		: t->training_split ? t->training_split
		: t->validation_split ? t->validation_split : t->test_split;
	int same = t->fewshot_split && t->test_split && !strcmp(t->fewshot_split, t->test_split);
	char *path = lle_task_split_path(t, split, dd, 1, err);
	if (!path)
		return NULL;
	json_t *docs = lle_ds_load_all(path, err);
	free(path);
	if (!docs) {
		lle_err_prefix(err, "task '%s': few-shot split '%s'", t->name, split);
		return NULL;
	}
	for (size_t i = 0; i < json_array_size(docs); i++) {
		if (lle_task_process_doc(t, json_array_get(docs, i), i, err) < 0) {
			json_decref(docs);
			return NULL;
		}
	}
	return lle_fewshot_from_docs(t, docs, same, k, seed, err);
}

long lle_fewshot_draw(struct lle_fewshot *fs, size_t *idx, struct lle_err *err)
{
	if (fs->k <= 0)
		return 0;
	size_t n = (size_t)fs->k + (fs->same_split ? 1 : 0);
	if (fs->t->sampler == LLE_SAMPLER_FIRST_N) {
		for (size_t i = 0; i < n; i++)
			idx[i] = i;
		return (long)n;
	}
	if (lle_pyrand_sample(&fs->rnd, fs->n, n, idx) < 0)
		return lle_err_oom(err);
	return (long)n;
}

/* A few-shot example's text and target, rendered once and kept. */
static int example(struct lle_fewshot *fs, size_t i, const char **text, const char **target,
		   struct lle_err *err)
{
	if (!fs->cache[2 * i]) {
		const struct lle_task *t = fs->t;
		const json_t *d = json_array_get(fs->docs, i);
		char *x = doc_text(t, 1, d, i, err);
		char *y = x ? example_target(t, d, i, err) : NULL;
		if (!y) {
			free(x);
			lle_err_prefix(err, "few-shot example");
			return -1;
		}
		fs->cache[2 * i] = x;
		fs->cache[2 * i + 1] = y;
	}
	*text = fs->cache[2 * i];
	*target = fs->cache[2 * i + 1];
	return 0;
}

/* ---------- requests ---------- */

void lle_requests_free(struct lle_requests *rq)
{
	free(rq->context);
	for (size_t i = 0; i < rq->ncont; i++)
		free(rq->continuations[i]);
	free(rq->continuations);
	if (rq->choices)
		json_decref(rq->choices);
	if (rq->target)
		json_decref(rq->target);
	if (rq->gold)
		json_decref(rq->gold);
	if (rq->messages)
		json_decref(rq->messages);
	memset(rq, 0, sizeof(*rq));
}

static int has_metric(const struct lle_task *t, enum lle_metric_kind k)
{
	for (size_t i = 0; i < t->nmetrics; i++)
		if (t->metrics[i].kind == k)
			return 1;
	return 0;
}

static int chat_push(json_t *msgs, const char *role, const char *content)
{
	json_t *m = json_pack("{ssss}", "role", role, "content", content);
	return m ? json_array_append_new(msgs, m) : -1;
}

/* The prompt as text (always) and as chat messages (when msgs is not NULL),
 * as the harness's fewshot_context builds them. */
static int build_context(const struct lle_task *t, struct lle_fewshot *fs, const json_t *doc, size_t doc_id,
			 const struct lle_prompt_opts *o, struct lle_buf *b, json_t *msgs, struct lle_err *err)
{
	char who[300];
	const char *sys = o ? o->system_instruction : NULL;
	int multiturn = o && o->fewshot_as_multiturn;
	char *desc = NULL;
	if (t->description) {
		desc = lle_tpl_render(t->description, doc, who_doc(who, sizeof(who), t, doc_id, "description"),
				      NULL, err);
		if (!desc)
			return -1;
	}
	struct lle_buf sp = LLE_BUF_INIT;
	if (sys && desc && *desc) {
		lle_buf_adds(&sp, sys);
		lle_buf_adds(&sp, t->fewshot_delimiter);
		lle_buf_adds(&sp, desc);
	} else if (sys) {
		lle_buf_adds(&sp, sys);
	} else if (desc) {
		lle_buf_adds(&sp, desc);
	}
	free(desc);
	lle_buf_add(b, lle_buf_str(&sp), sp.n);
	int rc = 0;
	if (msgs && sp.n && chat_push(msgs, "system", lle_buf_str(&sp)) < 0)
		rc = lle_err_oom(err);
	lle_buf_free(&sp);
	if (rc < 0)
		return -1;
	if (fs && fs->k > 0) {
		long n = lle_fewshot_draw(fs, fs->idx, err);
		if (n < 0)
			return -1;
		struct lle_buf ex = LLE_BUF_INIT;
		long used = 0;
		for (long i = 0; i < n && used < fs->k; i++) {
			const json_t *d = json_array_get(fs->docs, fs->idx[i]);
			/* the document itself never shows as its own example */
			if (fs->same_split && lle_py_eq(d, doc))
				continue;
			const char *text, *target;
			if (example(fs, fs->idx[i], &text, &target, err) < 0) {
				lle_buf_free(&ex);
				return -1;
			}
			lle_buf_adds(&ex, text);
			/* the harness adds the delimiters only after a non-empty target */
			if (*target) {
				lle_buf_adds(&ex, t->target_delimiter);
				lle_buf_adds(&ex, target);
				lle_buf_adds(&ex, t->fewshot_delimiter);
			}
			if (msgs && multiturn &&
			    (chat_push(msgs, "user", text) < 0 || chat_push(msgs, "assistant", target) < 0))
				rc = lle_err_oom(err);
			used++;
		}
		lle_buf_add(b, lle_buf_str(&ex), ex.n);
		if (msgs && !multiturn && chat_push(msgs, "user", lle_buf_str(&ex)) < 0)
			rc = lle_err_oom(err);
		lle_buf_free(&ex);
		if (rc < 0)
			return -1;
	}
	char *text = lle_task_doc_text(t, doc, doc_id, err);
	if (!text)
		return -1;
	lle_buf_adds(b, text);
	if (msgs) {
		/* the question joins the last user turn, or starts one */
		json_t *last = json_array_get(msgs, json_array_size(msgs) ? json_array_size(msgs) - 1 : 0);
		const char *role = last ? json_string_value(json_object_get(last, "role")) : NULL;
		if (!multiturn && role && !strcmp(role, "user")) {
			struct lle_buf c = LLE_BUF_INIT;
			lle_buf_adds(&c, json_string_value(json_object_get(last, "content")));
			lle_buf_adds(&c, text);
			json_t *js = c.oom ? NULL : json_stringn_nocheck(lle_buf_str(&c), c.n);
			lle_buf_free(&c);
			if (!js || json_object_set_new(last, "content", js) < 0)
				rc = lle_err_oom(err);
		} else if (chat_push(msgs, "user", text) < 0) {
			rc = lle_err_oom(err);
		}
	}
	free(text);
	if (rc < 0)
		return -1;
	return b->oom ? lle_err_oom(err) : 0;
}

static int add_cont(struct lle_requests *rq, const char *delim, const json_t *v, struct lle_err *err)
{
	struct lle_buf b = LLE_BUF_INIT;
	lle_buf_adds(&b, delim);
	lle_py_str(&b, v);
	char *s = lle_buf_detach(&b);
	char **c = s ? realloc(rq->continuations, (rq->ncont + 1) * sizeof(*c)) : NULL;
	if (!c) {
		free(s);
		return lle_err_oom(err);
	}
	rq->continuations = c;
	c[rq->ncont++] = s;
	return 0;
}

int lle_task_build(const struct lle_task *t, struct lle_fewshot *fs, const json_t *doc, size_t doc_id,
		   const char *system_instruction, struct lle_requests *rq, struct lle_err *err)
{
	struct lle_prompt_opts o = { system_instruction, 0, 0 };
	return lle_task_build_ex(t, fs, doc, doc_id, &o, rq, err);
}

int lle_task_build_ex(const struct lle_task *t, struct lle_fewshot *fs, const json_t *doc, size_t doc_id,
		      const struct lle_prompt_opts *o, struct lle_requests *rq, struct lle_err *err)
{
	memset(rq, 0, sizeof(*rq));
	char who[300];
	rq->target = lle_task_doc_target(t, doc, doc_id, err);
	if (!rq->target)
		goto fail;
	if (t->output_type == LLE_OUT_LOGLIKELIHOOD_ROLLING) {
		/* the whole text is scored: the harness uses doc_to_target */
		struct lle_buf b = LLE_BUF_INIT;
		lle_py_str(&b, rq->target);
		if (!(rq->context = lle_buf_detach(&b))) {
			lle_err_oom(err);
			goto fail;
		}
		return 0;
	}
	struct lle_buf b = LLE_BUF_INIT;
	if (o && o->apply_chat_template && !(rq->messages = json_array())) {
		lle_err_oom(err);
		goto fail;
	}
	if (build_context(t, fs, doc, doc_id, o, &b, rq->messages, err) < 0) {
		lle_buf_free(&b);
		goto fail;
	}
	if (!(rq->context = lle_buf_detach(&b))) {
		lle_err_oom(err);
		goto fail;
	}
	if (t->doc_to_choice.kind != LLE_DOCFN_NONE) {
		rq->choices = lle_task_doc_choices(t, doc, doc_id, err);
		if (!rq->choices)
			goto fail;
	}
	switch (t->output_type) {
	case LLE_OUT_MULTIPLE_CHOICE: {
		size_t n = json_array_size(rq->choices);
		if (n == 0) {
			lle_err_set(err, LLE_EXIT_DATA, "%s: no choices",
				    who_doc(who, sizeof(who), t, doc_id, "doc_to_choice"));
			goto fail;
		}
		rq->nchoices = n;
		for (size_t i = 0; i < n; i++)
			if (add_cont(rq, t->target_delimiter, json_array_get(rq->choices, i), err) < 0)
				goto fail;
		if (has_metric(t, LLE_M_ACC_MUTUAL_INFO)) {
			/* the harness scores each choice alone, without the delimiter */
			rq->unconditional = 1;
			for (size_t i = 0; i < n; i++)
				if (add_cont(rq, "", json_array_get(rq->choices, i), err) < 0)
					goto fail;
		}
		break;
	}
	case LLE_OUT_LOGLIKELIHOOD:
		if (add_cont(rq, t->target_delimiter, rq->target, err) < 0)
			goto fail;
		break;
	case LLE_OUT_GENERATE_UNTIL: {
		/* what the response is compared with (the harness's process_results) */
		json_t *g;
		if (rq->choices && json_is_integer(rq->target)) {
			long long i = json_integer_value(rq->target);
			if (i < 0 || (size_t)i >= json_array_size(rq->choices)) {
				lle_err_set(err, LLE_EXIT_DATA, "%s: target index %lld is not one of the choices",
					    who_doc(who, sizeof(who), t, doc_id, "doc_to_target"), i);
				goto fail;
			}
			g = json_array_get(rq->choices, (size_t)i);
			b = (struct lle_buf)LLE_BUF_INIT;
			lle_py_str(&b, g);
			char *s = lle_buf_detach(&b);
			rq->gold = s ? json_string_nocheck(s) : NULL;
			free(s);
		} else if (json_is_array(rq->target)) {
			rq->gold = json_array();
			for (size_t i = 0; rq->gold && i < json_array_size(rq->target); i++) {
				b = (struct lle_buf)LLE_BUF_INIT;
				lle_py_str(&b, json_array_get(rq->target, i));
				char *s = lle_buf_detach(&b);
				if (!s || json_array_append_new(rq->gold, json_string_nocheck(s)) < 0) {
					free(s);
					json_decref(rq->gold);
					rq->gold = NULL;
					break;
				}
				free(s);
			}
		} else {
			b = (struct lle_buf)LLE_BUF_INIT;
			lle_py_str(&b, rq->target);
			char *s = lle_buf_detach(&b);
			rq->gold = s ? json_string_nocheck(s) : NULL;
			free(s);
		}
		if (!rq->gold) {
			lle_err_oom(err);
			goto fail;
		}
		break;
	}
	case LLE_OUT_LOGLIKELIHOOD_ROLLING:
		break;
	}
	return 0;
fail:
	lle_requests_free(rq);
	return -1;
}

/* ---------- scoring ---------- */

int lle_task_score_generated(const struct lle_task *t, const struct lle_requests *rq, const json_t *resps,
			     json_t **filtered, struct lle_item *items, struct lle_err *err)
{
	if (filtered)
		*filtered = NULL;
	if (t->output_type != LLE_OUT_GENERATE_UNTIL)
		return lle_err_set(err, LLE_EXIT_INTERNAL, "task '%s' is not generate_until", t->name);
	if (!json_is_array(resps) || json_array_size(resps) == 0)
		return lle_err_set(err, LLE_EXIT_INTERNAL, "task '%s': no responses to score", t->name);
	json_t *all = filtered ? json_array() : NULL;
	if (filtered && !all)
		return lle_err_oom(err);
	for (size_t f = 0; f < t->nfilters; f++) {
		json_t *fr = lle_filter_apply(t->filters[f], resps, err);
		if (!fr)
			goto fail;
		const char *pred = json_string_value(json_array_get(fr, 0));
		for (size_t m = 0; m < t->nmetrics; m++) {
			if (t->metrics[m].kind == LLE_M_PASS_AT_K) {
				/* scored from the programs' runs (the run's code glue) */
				items[f * t->nmetrics + m] = (struct lle_item){ .x = NAN };
				continue;
			}
			if (lle_score_generated(&t->metrics[m], pred ? pred : "", rq->gold,
						&items[f * t->nmetrics + m], err) < 0) {
				json_decref(fr);
				goto fail;
			}
		}
		if (all)
			json_array_append(all, fr);
		json_decref(fr);
	}
	if (filtered)
		*filtered = all;
	return 0;
fail:
	if (all)
		json_decref(all);
	return -1;
}

int lle_task_score_loglik(const struct lle_task *t, const struct lle_requests *rq, const double *ll,
			  const int *is_greedy, struct lle_item *items, struct lle_err *err)
{
	for (size_t m = 0; m < t->nmetrics; m++) {
		const struct lle_metric *mt = &t->metrics[m];
		int r;
		switch (t->output_type) {
		case LLE_OUT_MULTIPLE_CHOICE:
			r = lle_score_choices(mt, ll, is_greedy, rq->unconditional ? ll + rq->nchoices : NULL,
					      rq->choices, rq->target, &items[m], err);
			break;
		case LLE_OUT_LOGLIKELIHOOD:
			r = lle_score_loglikelihood(mt, ll[0], is_greedy ? is_greedy[0] : 0, &items[m], err);
			break;
		case LLE_OUT_LOGLIKELIHOOD_ROLLING:
			r = lle_score_rolling(mt, ll[0], rq->context, &items[m], err);
			break;
		default:
			return lle_err_set(err, LLE_EXIT_INTERNAL, "task '%s' is generate_until", t->name);
		}
		if (r < 0) {
			lle_err_prefix(err, "task '%s'", t->name);
			return -1;
		}
	}
	return 0;
}

/* ---------- aggregation ---------- */

struct lle_task_agg {
	const struct lle_task *t;
	size_t per;             /* items per document */
	struct lle_item *v;
	size_t n, cap;          /* documents */
};

struct lle_task_agg *lle_task_agg_new(const struct lle_task *t)
{
	struct lle_task_agg *a = calloc(1, sizeof(*a));
	if (a) {
		a->t = t;
		a->per = t->nfilters * t->nmetrics;
	}
	return a;
}

void lle_task_agg_free(struct lle_task_agg *a)
{
	if (a)
		free(a->v);
	free(a);
}

size_t lle_task_agg_count(const struct lle_task_agg *a) { return a->n; }

int lle_task_agg_add(struct lle_task_agg *a, const struct lle_item *items)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 256;
		struct lle_item *v = realloc(a->v, cap * a->per * sizeof(*v));
		if (!v)
			return -1;
		a->v = v;
		a->cap = cap;
	}
	memcpy(a->v + a->n * a->per, items, a->per * sizeof(*items));
	a->n++;
	return 0;
}

int lle_task_agg_results(const struct lle_task_agg *a, long iters, struct lle_metric_result **out,
			 size_t *nout, struct lle_err *err)
{
	const struct lle_task *t = a->t;
	*out = calloc(a->per ? a->per : 1, sizeof(**out));
	struct lle_item *col = malloc((a->n ? a->n : 1) * sizeof(*col));
	if (!*out || !col) {
		free(*out);
		free(col);
		*out = NULL;
		return lle_err_oom(err);
	}
	for (size_t f = 0; f < t->nfilters; f++) {
		for (size_t m = 0; m < t->nmetrics; m++) {
			size_t k = f * t->nmetrics + m;
			for (size_t d = 0; d < a->n; d++)
				col[d] = a->v[d * a->per + k];
			struct lle_metric_result *r = &(*out)[k];
			r->metric = t->metrics[m].name;
			r->filter = lle_filter_chain_name(t->filters[f]);
			r->agg = t->metrics[m].agg;
			r->higher_is_better = t->metrics[m].higher_is_better;
			r->n = a->n;
			r->value = lle_aggregate(r->agg, col, a->n);
			r->stderr_ = lle_agg_stderr(r->agg, col, a->n, iters);
		}
	}
	free(col);
	*nout = a->per;
	return 0;
}

/* ---------- results ---------- */

json_t *lle_results_entry(const char *alias, const struct lle_metric_result *r, size_t n)
{
	json_t *o = json_object();
	if (!o || (alias && json_object_set_new(o, "alias", json_string(alias)) < 0))
		goto oom;
	for (size_t i = 0; i < n; i++) {
		struct lle_buf k = LLE_BUF_INIT, ks = LLE_BUF_INIT;
		lle_buf_printf(&k, "%s,%s", r[i].metric, r[i].filter);
		lle_buf_printf(&ks, "%s_stderr,%s", r[i].metric, r[i].filter);
		json_t *v = isfinite(r[i].value) ? json_real(r[i].value) : json_null();
		json_t *se = isfinite(r[i].stderr_) ? json_real(r[i].stderr_) : json_string("N/A");
		int bad = k.oom || ks.oom || !v || !se || json_object_set_new(o, lle_buf_str(&k), v) < 0 ||
			  json_object_set_new(o, lle_buf_str(&ks), se) < 0;
		lle_buf_free(&k);
		lle_buf_free(&ks);
		if (bad)
			goto oom;
	}
	return o;
oom:
	if (o)
		json_decref(o);
	return NULL;
}

json_t *lle_task_higher_is_better(const struct lle_task *t)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < t->nmetrics; i++) {
		if (json_object_set_new(o, t->metrics[i].name, json_boolean(t->metrics[i].higher_is_better)) < 0) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

static const struct lle_metric_result *find_result(const struct lle_metric_result *r, size_t n,
						   const char *metric, const char *filter)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(r[i].metric, metric) && !strcmp(r[i].filter, filter))
			return &r[i];
	return NULL;
}

int lle_group_results(const struct lle_metric_result *const *res, const size_t *nres, size_t k,
		      int weight_by_size, struct lle_metric_result **out, size_t *nout, struct lle_err *err)
{
	*out = NULL;
	*nout = 0;
	if (k == 0)
		return lle_err_set(err, LLE_EXIT_CONFIG, "a group needs at least one task");
	*out = calloc(nres[0] ? nres[0] : 1, sizeof(**out));
	double *v = malloc(k * sizeof(*v)), *se = malloc(k * sizeof(*se));
	size_t *sz = malloc(k * sizeof(*sz));
	if (!*out || !v || !se || !sz) {
		free(*out);
		*out = NULL;
		free(v);
		free(se);
		free(sz);
		return lle_err_oom(err);
	}
	for (size_t m = 0; m < nres[0]; m++) {
		const struct lle_metric_result *first = &res[0][m];
		size_t total = 0, i;
		for (i = 0; i < k; i++) {
			const struct lle_metric_result *r = find_result(res[i], nres[i], first->metric, first->filter);
			if (!r)
				break;
			v[i] = r->value;
			se[i] = r->stderr_;
			sz[i] = r->n;
			total += r->n;
		}
		if (i < k)
			continue; /* not reported by every task */
		struct lle_metric_result *g = &(*out)[(*nout)++];
		*g = *first;
		g->n = total;
		g->value = lle_group_value(v, sz, k, weight_by_size);
		g->stderr_ = lle_group_pooled_stderr(se, sz, k);
	}
	free(v);
	free(se);
	free(sz);
	return 0;
}
