/* A document's values as lm-evaluation-harness's ConfigurableTask computes
 * them: doc_to_text (an index into the choices when it renders to digits),
 * doc_to_target, doc_to_choice, and the same for a few-shot example (with
 * fewshot_config's overrides). See task.h.
 *
 * Not here: the config (task.c), building prompts (task_prompt.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/task.h"
#include "tasks/task_int.h"
#include "tasks/pystr.h"
#include "util/buf.h"

/* ---------- doc_to_* ---------- */

/* A template rendered for a document (a new JSON string). */
static json_t *render_tpl(const struct lle_task *t, const struct lle_tpl *tpl, const json_t *doc,
			  size_t doc_id, const char *col, struct lle_err *err)
{
	char who[300];
	size_t n;
	char *s = lle_tpl_render(tpl, doc, lle_task_who_doc(who, sizeof(who), t, doc_id, col), &n, err);
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
	if (json_is_string(v) && t->doc_to_choice.kind != LLE_DOCFN_NONE && lle_task_digits_only(json_string_value(v)) &&
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
	if (f->kind == LLE_DOCFN_HOOK) /* the harness returns the function's value as it is */
		return lle_task_hook_docfn(t, f, doc, doc_id, "doc_to_text", err);
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
	lle_task_who_doc(who, sizeof(who), t, doc_id, "doc_to_choice");
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
	if (f->kind != LLE_DOCFN_TEMPLATE && f->kind != LLE_DOCFN_HOOK) {
		lle_err_set(err, LLE_EXIT_CONFIG, "task '%s': no doc_to_choice", t->name);
		return NULL;
	}
	json_t *fv = f->kind == LLE_DOCFN_HOOK ? NULL : json_object_get(doc, lle_tpl_source(f->tpl));
	if (f->kind == LLE_DOCFN_HOOK) {
		if (!(out = lle_task_hook_docfn(t, f, doc, doc_id, "doc_to_choice", err)))
			return NULL;
	} else if (fv) {
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
	if (f->kind == LLE_DOCFN_HOOK)
		return lle_task_hook_docfn(t, f, doc, doc_id, "doc_to_target", err);
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
				    lle_task_who_doc(who, sizeof(who), t, doc_id, col), i, json_array_size(ch));
			return NULL;
		}
		lle_py_str(&b, json_array_get(ch, (size_t)i));
		json_decref(ch);
	} else if (json_is_array(v) && !strcmp(col, "doc_to_text")) {
		lle_err_set(err, LLE_EXIT_CONFIG, "%s: a list of texts (multiple inputs) is not supported",
			    lle_task_who_doc(who, sizeof(who), t, doc_id, col));
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

char *lle_task_example_text(const struct lle_task *t, const json_t *doc, size_t doc_id, struct lle_err *err)
{
	return doc_text(t, 1, doc, doc_id, err);
}

char *lle_task_example_target(const struct lle_task *t, const json_t *doc, size_t doc_id, struct lle_err *err)
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


json_t *lle_task_doc_text_value(const struct lle_task *t, const json_t *doc, size_t doc_id, struct lle_err *err)
{
	return text_value(t, &t->doc_to_text, doc, doc_id, err);
}

/* lm_eval/api/task.py (v0.4.9.2), ConfigurableTask.doc_to_prefix: the
 * field's value when gen_prefix names one, else the rendered template. */
char *lle_task_doc_prefix(const struct lle_task *t, const json_t *doc, size_t doc_id, struct lle_err *err)
{
	struct lle_buf b = LLE_BUF_INIT;
	if (t->gen_prefix) {
		json_t *v = eval_tpl(t, t->gen_prefix, doc, doc_id, "gen_prefix", err);
		if (!v)
			return NULL;
		lle_py_str(&b, v);
		json_decref(v);
	}
	char *s = lle_buf_detach(&b);
	if (!s)
		lle_err_oom(err);
	return s;
}

/* lm_eval/api/task.py (v0.4.9.2), ConfigurableTask.__init__ ("Test One
 * Doc"): multiple_input = len(choices) when doc_to_choice is set and
 * doc_to_text(task_docs[0]) is an int. */
int lle_task_detect_inputs(struct lle_task *t, const json_t *doc0, struct lle_err *err)
{
	t->multiple_input = 0;
	if (t->doc_to_choice.kind == LLE_DOCFN_NONE || t->doc_to_text.kind == LLE_DOCFN_NONE)
		return 0;
	json_t *v = text_value(t, &t->doc_to_text, doc0, 0, err);
	if (!v)
		return -1;
	t->multiple_input = json_is_integer(v);
	json_decref(v);
	return 0;
}
