/* The run: the planner (which models on which tasks) and the engine (build
 * requests, call the backend, score, aggregate), with live progress and the
 * results files.
 *
 *   lle_run_plan()      resolve models, tasks, groups, categories and data
 *                       files; every problem is found here, before any work
 *   lle_run_execute()   for each model: load the plugin, open the model in the
 *                       background while the first task's prompts are built,
 *                       then every task in chunks of documents; results and
 *                       per-sample logs written as lm-evaluation-harness
 *                       writes them (output.c, output_log.c)
 *
 * Not here: parsing the command line (src/cli/engine/cmd_run.c), task
 * semantics (src/tasks/), the backends (plugins). */
#ifndef LLE_RUN_RUN_H
#define LLE_RUN_RUN_H

#include <stddef.h>

#include "util/err.h"

struct lle_registry;

/* Documents per backend submission when not told (--batch-size). */
#define LLE_RUN_BATCH_SIZE 32

/* The options of a run. Start from lle_run_opts_default(), which sets every
 * default in one place; a field left 0 by a caller that zeroes the struct
 * means the same default where 0 is not a meaningful value. */
struct lle_run_opts {
	const char *const *models;    /* registry model names */
	size_t nmodels;
	const char *model_path;       /* --model-path FILE.gguf (instead of or with models) */
	const char *backend;          /* --backend: overrides the model's default */
	const char *const *model_args; /* --model-args "K=V,K=V": backend options after the registry's */
	size_t nmodel_args;
	const char *model_dir;        /* --model-dir (else LLM_EVAL_MODEL_DIR, else XDG data) */
	const char *const *tasks;     /* task, group or tag names */
	size_t ntasks;
	const char *category;         /* --category: its models x its tasks */
	double limit;                 /* 0: all; >= 1: documents per task; < 1: a fraction */
	long num_fewshot;             /* -1: each task's own */
	long fewshot_seed;            /* the harness's fewshot_random_seed (LLE_FEWSHOT_SEED) */
	long seed;                    /* seed of sampled generations */
	int apply_chat_template;
	const char *chat_template;    /* --apply-chat-template=NAME|FILE: overrides the model's */
	int fewshot_as_multiturn;     /* chat: each few-shot example a user + assistant turn */
	const char *system_instruction;
	const char *gen_kwargs;       /* "k=v,k=v": temperature, top_p, max_gen_toks, do_sample, until */
	long batch_size;              /* documents per backend submission (LLE_RUN_BATCH_SIZE) */
	long threads;                 /* 0: the backend's default */
	long max_length;              /* 0: the model's context */
	const char *output_dir;       /* NULL: no files, only the table */
	int log_samples;
	const char *data_dir;         /* --data-dir */
	long bootstrap_iters;         /* for stderr of non-mean metrics (LLE_BOOTSTRAP_ITERS, as the harness) */
	int quiet;                    /* no progress */
	int json_table;               /* print the final results JSON to stdout instead of a table */
	unsigned monitor_interval_ms; /* 0: the default */
	int on_error_stop;            /* --on-error stop: end the run at the first failed document */
	/* the response cache, the run store, sharding (cache_glue.c) */
	const char *cache_path;       /* --cache: NULL for $XDG_CACHE_HOME/llm-eval/cache.sqlite */
	int no_cache;                 /* --no-cache: neither read nor write a cache */
	const char *store_path;       /* --store: NULL for $XDG_DATA_HOME/llm-eval/runs.sqlite */
	int no_store;                 /* --no-store */
	long shard_i, shard_n;        /* --shard i/N: documents with doc_id % N == i; shard_n 0: all */
	int allow_weak_sandbox;       /* code tasks: run even where the sandbox lacks a protection */
	int allow_hook_network;       /* --allow-hook-network: the tasks' Python hooks may use the network */
	/* --samples: only these documents of these tasks (the harness's --samples) */
	const struct lle_run_samples *samples;
	size_t nsamples;
	/* --show-prompts N / --write-out: each request of the first show_prompts
	 * documents of every task goes to on_prompt as it is sent (prompts_only:
	 * nothing is sent, lle_run_prompts) */
	long show_prompts;
	int prompts_only;             /* --show-prompts: no run follows, so no model is needed */
	void (*on_prompt)(void *user, const char *task, size_t doc_id, const char *context,
			  const char *continuation);
	void *on_prompt_user;
	const char *metadata;         /* --metadata: a JSON object merged into each task's metadata */
	int predict_only;             /* --predict-only: generate and log, no metrics (the
					 harness's bypass; lle_task_predict_only) */
	struct lle_run_outcome *outcome; /* NULL, or filled by lle_run_execute: what was kept */
};

/* What a run kept, for the command's closing lines: where each model's
 * results went and its run id (which `compare` takes). */
struct lle_run_model_outcome {
	char *model;                  /* the model's name */
	char *results_path;           /* the results file written; NULL without --output */
	long long run_id;             /* its run in the run store; 0 when not stored */
	size_t tasks;                 /* tasks with results */
};
struct lle_run_outcome {
	struct lle_run_model_outcome *models; /* the models that finished a task, in run order */
	size_t nmodels;
	size_t tasks_done;            /* tasks with results, all models together */
	int incomplete;               /* out of memory while noting: models[] is short */
};
void lle_run_outcome_free(struct lle_run_outcome *oc);

/* The documents --samples TASK:IDS chose for a task, ids ascending. */
struct lle_run_samples {
	const char *task;
	size_t *ids;
	size_t nids;
};

struct lle_plan;

/* Every default: num_fewshot -1 (each task's own), fewshot_seed
 * LLE_FEWSHOT_SEED, seed 0, batch_size LLE_RUN_BATCH_SIZE, bootstrap_iters
 * LLE_BOOTSTRAP_ITERS; everything else 0 or NULL (src/run/opts.c). */
struct lle_run_opts lle_run_opts_default(void);
/* The batch size and bootstrap resamples of o, with their defaults for 0. */
long lle_run_batch_size(const struct lle_run_opts *o);
long lle_run_bootstrap_iters(const struct lle_run_opts *o);
/* Every problem a plan found, in the order found, each one line. */
struct lle_plan_problems {
	struct lle_err *v;
	size_t n;
};
void lle_plan_problems_free(struct lle_plan_problems *pp);

/* Resolve everything the run needs; NULL with err set (config, data or
 * backend code) naming the model, task, file or document at fault. Planning
 * goes on past a problem with the next model and task name; every problem
 * is put in pp (which may be NULL), and err is the first (its code is the
 * run's exit code), or out of memory. */
struct lle_plan *lle_run_plan(struct lle_registry *reg, const struct lle_run_opts *o,
			      struct lle_plan_problems *pp, struct lle_err *err);
void lle_plan_free(struct lle_plan *p);

/* Plan NAME (a task, group, tag or python task of reg) as `run --tasks NAME`
 * would, with no model and without reading data: the one compile step that
 * `validate` and `show task` share with `run`. 0, or -1 with err set. */
int lle_run_check_task(struct lle_registry *reg, const char *name, struct lle_err *err);

/* `data pull`: plan NAME (a task, group or tag) as a run would, with no
 * model, so that every split its tasks evaluate is resolved (fetched from
 * the Hub when that is where it comes from) and counted; then the split
 * each draws few-shot examples from. cb is called once per split. 0, or -1
 * with err set. */
typedef void (*lle_run_split_cb)(void *ctx, const char *task, const char *split, const char *path,
				 long ndocs);
int lle_run_data_pull(struct lle_registry *reg, const char *name, const char *data_dir,
		      lle_run_split_cb cb, void *ctx, struct lle_err *err);

/* Run the plan. Returns an exit code: 0, LLE_EXIT_EVAL when some documents
 * failed, LLE_EXIT_INTERRUPTED after Ctrl-C (what was done is written), or the
 * error's code with err set. */
int lle_run_execute(struct lle_plan *p, const struct lle_run_opts *o, struct lle_err *err);

/* --show-prompts N without a run: build the first N documents' requests of
 * every task of the plan and give each to o->on_prompt; no model is opened.
 * 0, or an exit code with err set. */
int lle_run_prompts(struct lle_plan *p, const struct lle_run_opts *o, struct lle_err *err);

/* Set by the SIGINT/SIGTERM handler of the command; checked between chunks
 * and by the backend through the host's interrupted(). */
extern volatile int lle_run_interrupted;

#endif
