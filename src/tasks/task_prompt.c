/* Few-shot examples (Python's random.Random(seed).sample over the few-shot
 * split, as the harness's ContextSampler) and the requests of one document:
 * its prompt, as text and as chat messages, and its continuations. See
 * task.h.
 *
 * Not here: a document's doc_to_* values (task_doc.c), scoring
 * (task_score.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/task.h"
#include "tasks/task_int.h"
#include "tasks/pystr.h"
#include "util/buf.h"

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
			    same_split ? " (one more is needed: the evaluated document is left out of its examples)" : "");
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
	/* The harness passes the evaluated document to the sampler (which then
	 * draws k + 1 and drops the document's equals) when
	 * `self.fewshot_cfg.split == self.config.test_split`
	 * (lm_eval/api/task.py ConfigurableTask.fewshot_context), both as
	 * written in the config: None == None holds, so a task with neither
	 * fewshot_split nor test_split (piqa, boolq, triviaqa...) draws k + 1
	 * from its training or validation documents. */
	int same = t->fewshot_split ? t->test_split_given && !strcmp(t->fewshot_split, t->test_split)
		: !t->test_split_given;
	if (t->fewshot_samples_hook) { /* fewshot_config.samples: a function's list */
		json_t *docs = lle_task_hook_samples(t, err);
		return docs ? lle_fewshot_from_docs(t, docs, same, k, seed, err) : NULL;
	}
	if (t->fewshot_samples) { /* fewshot_config.samples: used as written */
		json_t *docs = json_deep_copy(t->fewshot_samples);
		if (!docs) {
			lle_err_oom(err);
			return NULL;
		}
		return lle_fewshot_from_docs(t, docs, same, k, seed, err);
	}
	const char *split = t->fewshot_split ? t->fewshot_split
		: t->training_split ? t->training_split
		: t->validation_split ? t->validation_split : t->test_split;
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
		char *x = lle_task_example_text(t, d, i, err);
		char *y = x ? lle_task_example_target(t, d, i, err) : NULL;
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
	for (size_t i = 0; rq->contexts && i < rq->nchoices; i++)
		free(rq->contexts[i]);
	free(rq->contexts);
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
	if (rq->doc)
		json_decref(rq->doc);
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
/* gp: the document's gen_prefix (NULL: none). mi: multiple inputs, the
 * question is left out (lm_eval/api/task.py v0.4.9.2, fewshot_context:
 * `if self.multiple_input: return labeled_examples`). */
static int build_context(const struct lle_task *t, struct lle_fewshot *fs, const json_t *doc, size_t doc_id,
			 const struct lle_prompt_opts *o, const char *gp, int mi, struct lle_buf *b, json_t *msgs,
			 struct lle_err *err)
{
	char who[300];
	const char *sys = o ? o->system_instruction : NULL;
	int multiturn = o && o->fewshot_as_multiturn;
	char *desc = NULL;
	if (t->description) {
		desc = lle_tpl_render(t->description, doc, lle_task_who_doc(who, sizeof(who), t, doc_id, "description"),
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
			/* the harness adds the delimiters only after a non-empty target;
			 * a gen_prefix (the evaluated document's) and a space go before
			 * it (lm_eval/api/samplers.py v0.4.9.2, get_context: `prefix =
			 * gen_prefix + " " if gen_prefix else ""`) */
			if (*target) {
				lle_buf_adds(&ex, t->target_delimiter);
				if (gp && *gp) {
					lle_buf_adds(&ex, gp);
					lle_buf_adds(&ex, " ");
				}
				lle_buf_adds(&ex, target);
				lle_buf_adds(&ex, t->fewshot_delimiter);
			}
			/* build_qa_turn: the answer is `maybe_delimit(gen_prefix,
			 * answer, delimiter=" ")` */
			struct lle_buf at = LLE_BUF_INIT;
			if (gp && *gp && *target)
				lle_buf_printf(&at, "%s ", gp);
			lle_buf_adds(&at, target);
			/* an example without an answer is a user turn alone
			 * (build_qa_turn: `if has_answer:`) */
			if (msgs && multiturn &&
			    (at.oom || chat_push(msgs, "user", text) < 0 ||
			     (*target && chat_push(msgs, "assistant", lle_buf_str(&at)) < 0)))
				rc = lle_err_oom(err);
			lle_buf_free(&at);
			used++;
		}
		lle_buf_add(b, lle_buf_str(&ex), ex.n);
		if (msgs && !multiturn && chat_push(msgs, "user", lle_buf_str(&ex)) < 0)
			rc = lle_err_oom(err);
		lle_buf_free(&ex);
		if (rc < 0)
			return -1;
	}
	if (mi)
		return b->oom ? lle_err_oom(err) : 0;
	char *text = lle_task_doc_text(t, doc, doc_id, err);
	if (!text)
		return -1;
	lle_buf_adds(b, text);
	/* fewshot_context: `prefix = target_delimiter + gen_prefix if gen_prefix
	 * is not None` after the question (so an empty one still adds the
	 * delimiter) */
	if (gp) {
		lle_buf_adds(b, t->target_delimiter);
		lle_buf_adds(b, gp);
	}
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
		/* build_qa_turn: `elif gen_prefix: msgs.append(Message("assistant",
		 * gen_prefix))`, which the chat template continues */
		if (rc == 0 && gp && *gp && chat_push(msgs, "assistant", gp) < 0)
			rc = lle_err_oom(err);
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
		   const struct lle_prompt_opts *o, struct lle_requests *rq, struct lle_err *err)
{
	memset(rq, 0, sizeof(*rq));
	char who[300];
	char *gp = NULL;     /* the document's gen_prefix */
	json_t *tv = NULL;   /* doc_to_text's value, when there are choices */
	int mi = 0;          /* multiple inputs */
	if (t->process_results_hook || t->process_results_builtin) /* process_results(doc, results) scores it */
		rq->doc = json_incref((json_t *)doc);
	rq->doc_id = doc_id;
	rq->target = lle_task_doc_target(t, doc, doc_id, err);
	if (!rq->target)
		goto fail;
	if (t->output_type == LLE_OUT_LOGLIKELIHOOD_ROLLING && !t->class_hook) {
		/* the whole text is scored: the harness uses doc_to_target */
		struct lle_buf b = LLE_BUF_INIT;
		lle_py_str(&b, rq->target);
		if (!(rq->context = lle_buf_detach(&b))) {
			lle_err_oom(err);
			goto fail;
		}
		return 0;
	}
	int chat = o && o->apply_chat_template;
	if (t->has_gen_prefix && !(gp = lle_task_doc_prefix(t, doc, doc_id, err)))
		goto fail;
	if (chat && gp && *gp && !o->chat_rendered) {
		/* the harness ends the chat with an assistant turn holding the
		 * prefix and renders it with continue_final_message; the backends
		 * here wrap the context as one user turn and open the reply */
		lle_err_set(err, LLE_EXIT_CONFIG, "%s: gen_prefix with --apply-chat-template is not supported "
			    "(the assistant's turn would have to start with it)",
			    lle_task_who_doc(who, sizeof(who), t, doc_id, "gen_prefix"));
		goto fail;
	}
	if (t->doc_to_choice.kind != LLE_DOCFN_NONE && t->multiple_input != 0) {
		if (!(tv = lle_task_doc_text_value(t, doc, doc_id, err)))
			goto fail;
		if (t->multiple_input == 1 && !json_is_integer(tv)) {
			lle_err_set(err, LLE_EXIT_DATA, "%s: not an index into the choices, though the first "
				    "document's is (multiple inputs)",
				    lle_task_who_doc(who, sizeof(who), t, doc_id, "doc_to_text"));
			goto fail;
		}
		mi = json_is_integer(tv) && (t->multiple_input == 1 || t->output_type == LLE_OUT_MULTIPLE_CHOICE);
	}
	if (mi && t->output_type != LLE_OUT_MULTIPLE_CHOICE) {
		lle_err_set(err, LLE_EXIT_CONFIG, "%s: an index into the choices (multiple inputs) is supported "
			    "for multiple_choice tasks only", lle_task_who_doc(who, sizeof(who), t, doc_id, "doc_to_text"));
		goto fail;
	}
	if (mi && chat && !o->chat_rendered) {
		lle_err_set(err, LLE_EXIT_CONFIG, "%s: multiple inputs with --apply-chat-template need a Jinja chat "
			    "template llm-eval renders (the harness templates the examples and each choice separately)",
			    lle_task_who_doc(who, sizeof(who), t, doc_id, "doc_to_text"));
		goto fail;
	}
	/* construct_requests (lm_eval/api/task.py v0.4.9.2): `if
	 * apply_chat_template: target_delimiter = ""` for the choices (and a
	 * multiple-input task's shared continuation) */
	const char *cdelim = chat ? "" : t->target_delimiter;
	struct lle_buf b = LLE_BUF_INIT;
	if (chat && !(rq->messages = json_array())) {
		lle_err_oom(err);
		goto fail;
	}
	if (build_context(t, fs, doc, doc_id, o, gp, mi, &b, rq->messages, err) < 0) {
		lle_buf_free(&b);
		goto fail;
	}
	if (!(rq->context = lle_buf_detach(&b))) {
		lle_err_oom(err);
		goto fail;
	}
	if (t->class_hook) { /* a class task: its construct_requests (task_class.c) */
		if (chat) {
			/* the harness hands construct_requests the rendered chat */
			lle_err_set(err, LLE_EXIT_CONFIG, "task '%s': a class task with --apply-chat-template is not "
				    "supported", t->name);
			goto fail;
		}
		if (lle_task_class_requests(t, doc, doc_id, rq, err) < 0)
			goto fail;
		free(gp);
		if (tv)
			json_decref(tv);
		return 0;
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
				    lle_task_who_doc(who, sizeof(who), t, doc_id, "doc_to_choice"));
			goto fail;
		}
		rq->nchoices = n;
		if (mi) {
			/* lm_eval/api/task.py v0.4.9.2, construct_requests: `(ctx +
			 * choice, f"{target_delimiter}{cont}") for choice in choices`
			 * with cont = doc_to_target; process_results scores against
			 * gold = doc_to_text */
			if (!(rq->contexts = calloc(n, sizeof(*rq->contexts)))) {
				lle_err_oom(err);
				goto fail;
			}
			for (size_t i = 0; i < n; i++) {
				b = (struct lle_buf)LLE_BUF_INIT;
				lle_buf_adds(&b, rq->context);
				lle_py_str(&b, json_array_get(rq->choices, i));
				if (!(rq->contexts[i] = lle_buf_detach(&b)) ||
				    add_cont(rq, cdelim, rq->target, err) < 0) {
					lle_err_oom(err);
					goto fail;
				}
			}
			free(rq->context);
			if (!(rq->context = lle_strdup(rq->contexts[0]))) {
				lle_err_oom(err);
				goto fail;
			}
			rq->gold = json_incref(tv);
		} else {
			for (size_t i = 0; i < n; i++)
				if (add_cont(rq, cdelim, json_array_get(rq->choices, i), err) < 0)
					goto fail;
		}
		if (has_metric(t, LLE_M_ACC_MUTUAL_INFO)) {
			/* each choice alone, after an empty context, with the
			 * delimiter: the harness's ConfigurableTask.construct_requests
			 * (lm_eval/api/task.py, aux_arguments = ("",
			 * f"{target_delimiter}{choice}"), since its PR #3035) */
			rq->unconditional = 1;
			for (size_t i = 0; i < n; i++)
				if (add_cont(rq, cdelim, json_array_get(rq->choices, i), err) < 0)
					goto fail;
		}
		break;
	}
	case LLE_OUT_LOGLIKELIHOOD:
		/* the target as written, no delimiter: construct_requests has
		 * arguments = (ctx, self.doc_to_target(doc)); lambada's target
		 * carries its own leading space */
		if (add_cont(rq, "", rq->target, err) < 0)
			goto fail;
		break;
	case LLE_OUT_GENERATE_UNTIL: {
		/* what the response is compared with (the harness's process_results) */
		json_t *g;
		if (rq->choices && json_is_integer(rq->target)) {
			long long i = json_integer_value(rq->target);
			if (i < 0 || (size_t)i >= json_array_size(rq->choices)) {
				lle_err_set(err, LLE_EXIT_DATA, "%s: target index %lld is not one of the choices",
					    lle_task_who_doc(who, sizeof(who), t, doc_id, "doc_to_target"), i);
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
	free(gp);
	if (tv)
		json_decref(tv);
	return 0;
fail:
	free(gp);
	if (tv)
		json_decref(tv);
	lle_requests_free(rq);
	return -1;
}

