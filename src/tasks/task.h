/* Tasks: an lm-evaluation-harness task config, its prompts and its scores.
 *
 * The run engine drives a task like this:
 *   t  = lle_task_from_node(tree)              once; every template compiled,
 *                                              every regex and metric checked
 *   fs = lle_fewshot_open(t, dd, k, seed)      once; the few-shot split in memory
 *   ds = lle_ds_open(lle_task_split_path(t, t->test_split, dd))
 *   for each document, in order:
 *       lle_task_process_doc(t, doc)           the built-in process_docs
 *       lle_task_build(t, fs, doc, id, opts, &rq)  prompt + continuations
 *       ... backend ...
 *       lle_task_score_*(t, &rq, responses, items)
 *       lle_task_agg_add(agg, items)
 *   lle_task_agg_results(agg, iters, ...)      value and stderr per filter x metric
 *
 * Prompts are built as the harness builds them: description (a template) +
 * for each few-shot example: text + target_delimiter + target, joined by
 * fewshot_delimiter, then fewshot_delimiter + the document's text. The
 * random sampler is Python's random.Random(seed).sample over the few-shot
 * split, one call per document in document order (so document i's examples
 * depend on i, as in the harness); when fewshot_split == test_split as
 * written (both unset included, as Python's None == None) it draws k+1 and
 * drops the document itself.
 *
 * Not here: reading YAML files, merging includes (the registry), talking to
 * backends, writing results (the store). */
#ifndef LLE_TASKS_TASK_H
#define LLE_TASKS_TASK_H

#include <jansson.h>
#include <stddef.h>

#include "data/dataset.h"
#include "data/yaml.h"
#include "hooks/hooks.h"
#include "tasks/filter.h"
#include "tasks/metrics.h"
#include "tasks/pyrand.h"
#include "tasks/template.h"
#include "util/err.h"

#define LLE_FEWSHOT_SEED 1234   /* the harness's default fewshot_random_seed */
#define LLE_MAX_GEN_TOKS 256    /* the harness's default max_gen_toks */

/* doc_to_text / doc_to_target / doc_to_choice: a template (which is a field
 * name when a document has a field by exactly that name, as the harness
 * decides), a literal list, an integer, or a Python hook (`!function`). */
enum lle_docfn_kind { LLE_DOCFN_NONE, LLE_DOCFN_TEMPLATE, LLE_DOCFN_LIST, LLE_DOCFN_INT, LLE_DOCFN_HOOK };
struct lle_docfn {
	enum lle_docfn_kind kind;
	struct lle_tpl *tpl;     /* TEMPLATE; its source is the field name candidate */
	struct lle_tpl **items;  /* LIST: one template per element */
	size_t nitems;
	long ival;               /* INT */
	struct lle_hookref *hook; /* HOOK */
};

enum lle_sampler { LLE_SAMPLER_RANDOM, LLE_SAMPLER_FIRST_N };
enum lle_transform { LLE_TRANSFORM_NONE, LLE_TRANSFORM_CHOICES_FROM_COLUMNS,
		     LLE_TRANSFORM_PARSE_INTS, LLE_TRANSFORM_GPQA_SHUFFLE /* docs_builtin.c */,
		     LLE_TRANSFORM_DROP_ANSWERS /* drop.c */ };

/* process_results written natively (results_builtin.c) */
enum lle_results_builtin { LLE_RESULTS_NONE, LLE_RESULTS_MC2, LLE_RESULTS_WIKITEXT, LLE_RESULTS_DROP };

struct lle_task {
	char *name;
	const char *file;            /* where `task:` was written */
	int line, col;
	char *base_dir;              /* the task file's directory (for ./ data files) */
	char *category;              /* llm-eval: NULL when none */
	char *dataset_path, *dataset_name;
	char *dataset_revision;      /* dataset_kwargs.revision (the Hub's branch, tag or
					commit); NULL: main */
	json_t *data_files;          /* {split: path or [paths]} or NULL */
	char *training_split, *validation_split, *test_split, *fewshot_split;
	enum lle_output_type output_type;
	struct lle_docfn doc_to_text, doc_to_target, doc_to_choice;
	struct lle_tpl *description; /* NULL when none */
	int has_gen_prefix;          /* gen_prefix given (the harness's `is not None`) */
	struct lle_tpl *gen_prefix;  /* its template (a field name when a document has that
					field); NULL for "" */
	int multiple_input;          /* doc_to_text gives an index into the choices, which are
					then the contexts (winogrande): 1 / 0 as decided from
					the first test document (lle_task_detect_inputs, as the
					harness does), -1 undecided: per document */
	char *target_delimiter;      /* default " " */
	char *fewshot_delimiter;     /* default "\n\n" */
	long num_fewshot;            /* 0 when not set */
	int num_fewshot_zero;        /* num_fewshot: 0 written in the config: --num-fewshot keeps it */
	int test_split_given;        /* test_split written in the config (test_split is then
					the evaluated split: validation when not written) */
	enum lle_sampler sampler;    /* fewshot_config.sampler: default (random) or first_n */
	json_t *fewshot_samples;     /* fewshot_config.samples: examples written in the config */
	struct lle_docfn fs_doc_to_text, fs_doc_to_target, fs_doc_to_choice; /* fewshot_config's
					overrides for examples; kind NONE when not given */
	enum lle_transform process_docs;
	json_t *generation_kwargs;   /* generate_until: the dict with defaults filled in */
	char **until;                /* generation_kwargs.until */
	size_t nuntil;
	long max_gen_toks;
	double temperature;
	int do_sample;
	struct lle_filter_chain **filters;   /* at least one ("none") */
	size_t nfilters;
	struct lle_metric *metrics;
	size_t nmetrics;
	long repeats;                /* default 1 */
	double version;              /* metadata.version, NAN when absent or not a number */
	json_t *version_json;        /* metadata.version as the harness keeps it (int, float
				      * or string: "1.0.0"), NULL when absent */
	json_t *config;              /* the whole config as JSON (for results files) */
	/* Python hooks (task_hooks.c); NULL when none */
	struct lle_hookref *process_docs_hook;    /* on each whole split, before anything reads it */
	struct lle_hookref *process_results_hook; /* per document: {metric: value} */
	enum lle_results_builtin process_results_builtin; /* or a built-in one (no hook then) */
	struct lle_hookref *fewshot_samples_hook; /* fewshot_config.samples: () -> [docs] */
	struct lle_hookref **agg_hooks;           /* per metric: a custom aggregation, or NULL */
	struct lle_hookref **metric_hooks;        /* per metric: a '!function' metric, or NULL */
	json_t *metric_kwargs;                    /* {metric: {its other keys}} for those */
	unsigned char *metric_pass;               /* per metric: a built-in passthrough metric of a
						     generation with a '!function' aggregation */
	struct lle_task_hooks *hk;                /* per-document values memo (mutable) */
	struct lle_hookref *class_hook;           /* a `class:` task: its object's construct_requests
						     (task_class.c); NULL for a config task */
	int predict_only;                         /* lle_task_predict_only: no metrics */
};

/* Parse a merged task tree. Errors name the task, the key and file:line:col:
 *   gsm8k.yaml:12:3: task 'gsm8k': doc_to_text: at character 14: unsupported filter 'title'
 * Unknown keys are errors (with the harness's keys llm-eval ignores listed in
 * docs/tasks.md), so a typo cannot silently change a prompt. */
struct lle_task *lle_task_from_node(const struct lle_node *root, struct lle_err *err);
void lle_task_free(struct lle_task *t);

/* A `class:` task (a Python subclass of the harness's Task): the worker
 * makes the object and describes it as a config whose hooks are its
 * methods (task_class.c, docs/hooks.md). Starts the worker. */
struct lle_task *lle_task_from_class(const struct lle_node *root, struct lle_err *err);
/* The check of a `class:` config without Python (validate, show): the
 * class's module file can be read. */
int lle_task_class_check(const struct lle_node *root, struct lle_err *err);
/* The request kind and generation arguments of a class task, from its
 * construct_requests on the first test document (processed), as the
 * harness makes one kind of request per task. */
int lle_task_class_detect(struct lle_task *t, const json_t *doc0, struct lle_err *err);

/* The data file (or glob) of a split, resolved as lle_data_resolve does:
 * data_files[split] if given, else lle_data_split_spec's
 * <dataset_path>[/<dataset_name>]/<split>.jsonl. */
char *lle_task_split_path(const struct lle_task *t, const char *split,
			  const struct lle_data_dir *dd, int must_exist, struct lle_err *err);

/* Whether the task names any Python hook (the worker will be needed). */
int lle_task_has_hooks(const struct lle_task *t);
/* Import every hook module of the task but process_docs' (which the
 * planner runs, or finds cached) and find its functions: a missing module
 * or function is found before any model loads. */
int lle_task_hooks_check(const struct lle_task *t, struct lle_err *err);

/* The doc_to_* hooks' values of these documents in one request to the
 * worker, kept for the lle_task_build calls on them that follow (a
 * document not among them asks alone). Errors are left for those calls to
 * report; -1 only when out of memory. */
int lle_task_hooks_prefetch(const struct lle_task *t, json_t *const *docs, size_t ndocs, struct lle_err *err);

/* Apply process_docs to one document in place. */
int lle_task_process_doc(const struct lle_task *t, json_t *doc, size_t doc_id, struct lle_err *err);

/* The harness's doc_to_text as a string (an index into the choices when it
 * renders to digits and there are choices), doc_to_target as a Python value
 * (str, int or list), doc_to_choice as a list of strings. New references /
 * malloc()ed strings; NULL on error (naming task, document and column). */
char *lle_task_doc_text(const struct lle_task *t, const json_t *doc, size_t doc_id, struct lle_err *err);
json_t *lle_task_doc_target(const struct lle_task *t, const json_t *doc, size_t doc_id,
			    struct lle_err *err);
json_t *lle_task_doc_choices(const struct lle_task *t, const json_t *doc, size_t doc_id,
			     struct lle_err *err);

/* Decide multiple inputs as the harness's ConfigurableTask.__init__ does
 * from its first test document: doc_to_choice is set and doc_to_text gives
 * an integer. Sets t->multiple_input to 0 or 1. */
int lle_task_detect_inputs(struct lle_task *t, const json_t *doc0, struct lle_err *err);

/* Few-shot examples. */
struct lle_fewshot;
/* Load the few-shot examples: fewshot_config.samples when given (used as
 * written), else the few-shot split (fewshot_split, else training,
 * validation, then test split) through process_docs. k: examples per prompt (the task's
 * num_fewshot or an override); seed: LLE_FEWSHOT_SEED unless told. k == 0
 * loads nothing. Fewer documents than k (k + 1 when the document is excluded) is
 * an error naming the task and split. */
struct lle_fewshot *lle_fewshot_open(const struct lle_task *t, const struct lle_data_dir *dd, long k,
				     long seed, struct lle_err *err);
/* The same from documents in memory (steals `docs`, an array; processed
 * already). same_split: whether the harness excludes the evaluated document
 * (it draws k + 1 and drops the document's equals; see lle_fewshot_open). */
struct lle_fewshot *lle_fewshot_from_docs(const struct lle_task *t, json_t *docs, int same_split, long k,
					  long seed, struct lle_err *err);
void lle_fewshot_free(struct lle_fewshot *fs);
long lle_fewshot_k(const struct lle_fewshot *fs);
/* Indices (into the few-shot split) chosen for the next document, as the
 * harness would draw them; advances the sampler exactly as building that
 * document's prompt does (so a resumed run can replay skipped documents).
 * Writes up to k (+1 on the same split) indices; returns how many, -1 on error. */
long lle_fewshot_draw(struct lle_fewshot *fs, size_t *idx, struct lle_err *err);

/* The requests of one document. */
struct lle_requests {
	char *context;          /* the prompt; loglikelihood_rolling: the whole text;
				   multiple inputs: the first choice's context */
	char **contexts;        /* multiple inputs: choice i's context for continuation i
				   (nchoices of them); else NULL */
	char **continuations;   /* multiple_choice: target_delimiter + choice, then (for
				   acc_mutual_info) each choice alone, with an empty context;
				   loglikelihood: target_delimiter + target */
	size_t ncont;
	size_t nchoices;        /* multiple_choice */
	int unconditional;      /* continuations[nchoices..] have an empty context */
	json_t *choices;        /* multiple_choice: the choices */
	json_t *target;         /* doc_to_target's value */
	json_t *gold;           /* generate_until: str or list of str to compare with;
				   multiple_choice with multiple inputs: the gold index
				   (doc_to_text's); else NULL */
	json_t *messages;       /* with apply_chat_template: [{role, content}, ...] for the
				   backend's chat template; else NULL */
	json_t *doc;            /* with process_results: the document it is called with */
	size_t doc_id;
};

struct lle_prompt_opts {
	const char *system_instruction;  /* NULL: none */
	int apply_chat_template;         /* also build rq->messages, as the harness does: a
					    system turn (instruction / description), the
					    examples as one user turn, the question appended */
	int fewshot_as_multiturn;        /* chat: each example a user + assistant turn */
	int chat_rendered;               /* chat: the engine renders rq->messages (run/chat.h),
					    so a gen_prefix becomes the assistant turn's start */
};
/* The requests of one document. opts NULL: no system instruction, no chat
 * messages. A system instruction is prepended as the harness does (with
 * fewshot_delimiter before the description). */
int lle_task_build(const struct lle_task *t, struct lle_fewshot *fs, const json_t *doc, size_t doc_id,
		   const struct lle_prompt_opts *opts, struct lle_requests *rq, struct lle_err *err);
void lle_requests_free(struct lle_requests *rq);

/* --predict-only, the harness's override_metric("bypass") (lm_eval/api/
 * task.py): the task's metrics, metric and aggregation hooks and
 * process_results are dropped (nmetrics 0), so scoring only applies the
 * filters and code tasks run no programs; the config's metric_list becomes
 * [{metric: bypass}], as the harness's configs show. 0, or -1 (out of memory). */
int lle_task_predict_only(struct lle_task *t, struct lle_err *err);

/* Scoring one document. items has nfilters x nmetrics entries, filter-major
 * (items[f * nmetrics + m]). generate_until: doc is the document (for
 * filters that read it; may be NULL), resps is the array of the
 * document's responses (one per repeat); *filtered (may be NULL) receives an
 * array with each chain's filtered responses. */
int lle_task_score_generated(const struct lle_task *t, const struct lle_requests *rq,
			     const json_t *doc, const json_t *resps, json_t **filtered, struct lle_item *items,
			     struct lle_err *err);
/* multiple_choice, loglikelihood, loglikelihood_rolling: one log-likelihood
 * and is_greedy per continuation (rolling: one, is_greedy ignored). */
int lle_task_score_loglik(const struct lle_task *t, const struct lle_requests *rq, const double *ll,
			  const int *is_greedy, struct lle_item *items, struct lle_err *err);

/* Collects items document by document. */
struct lle_task_agg;
struct lle_task_agg *lle_task_agg_new(const struct lle_task *t);
int lle_task_agg_add(struct lle_task_agg *a, const struct lle_item *items);
size_t lle_task_agg_count(const struct lle_task_agg *a);
void lle_task_agg_free(struct lle_task_agg *a);

struct lle_metric_result {
	const char *metric;      /* borrowed from the task */
	const char *filter;
	enum lle_agg agg;
	int higher_is_better;
	double value, stderr_;   /* stderr_ NAN: not available (the harness's "N/A") */
	size_t n;
};
/* One result per filter x metric, in that order (filter-major). *out is
 * malloc()ed. */
int lle_task_agg_results(const struct lle_task_agg *a, long bootstrap_iters,
			 struct lle_metric_result **out, size_t *nout, struct lle_err *err);

/* {"METRIC": true/false, ...} for the results file's higher_is_better. */
json_t *lle_task_higher_is_better(const struct lle_task *t);

/* A YAML tree as JSON (plain scalars typed as YAML 1.2 core: ints, floats,
 * booleans, null; quoted ones strings). */
json_t *lle_node_to_json(const struct lle_node *n);

#endif
