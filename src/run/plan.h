/* The plan of a run: models, tasks and groups, resolved and checked
 * (plan.c). Internal to src/run/. */
#ifndef LLE_RUN_PLAN_H
#define LLE_RUN_PLAN_H

#include <stddef.h>

#include "backend/describe.h"
#include "data/dataset.h"
#include "run/chat.h"
#include "run/run.h"
#include "tasks/task.h"

struct plan_model {
	char *name;            /* registry name, or the GGUF file's base name */
	char *backend;         /* plugin name */
	char *model;           /* GGUF path (LLE_CAP_MODEL_FILE) or the model's name */
	char *chat_template;   /* the registry's template name, or NULL: the model's own */
	struct lle_chat *chat; /* the template the engine renders (run/chat.h); NULL: the
				  backend renders (a llama.cpp built-in) or no chat */
	char *think_end;       /* think_end_token (registry key or --model-args), or the chat
				  template family's; NULL or "": responses are not cut */
	int think_end_given;   /* set explicitly (even to ""): no default from the template */
	char *bos_token;       /* bos_token= / eos_token= (registry key or --model-args): what a
				  Jinja chat template prints for them; NULL: not given */
	char *eos_token;
	char *tokenizer_config;/* tokenizer_config= (registry key or --model-args): a
				  tokenizer_config.json whose chat template and special tokens a
				  rendering uses (run/chat.h); NULL: none */
	char **options;        /* "key=value" for the plugin */
	size_t noptions;
	const struct lle_backend *be;  /* its description (the plan's catalog keeps it loaded) */
	struct lle_secrets secrets;    /* option values never written or shown */
};

struct plan_task {
	char *name;
	char *alias;           /* task_alias, or NULL */
	struct lle_task *task;
	char *split;           /* the split evaluated */
	char *data_path;       /* its file (or glob) */
	long ndocs_total;      /* documents in the split */
	long ndocs;            /* documents evaluated (after --limit) */
	long k;                /* few-shot examples per prompt */
	struct lle_fewshot *fs; /* the few-shot source the plan opened (first task
				 * only), for its first run to take; or NULL */
	long fs_seed;          /* the seed fs was opened with */
};

struct plan_agg {
	char *metric;
	char *filter;          /* NULL: every filter the tasks report */
	int weight_by_size;
};

struct plan_group {
	char *name;
	char *alias;
	char **members;        /* task or group names, in config order */
	size_t nmembers;
	struct plan_agg *aggs; /* aggregate_metric_list */
	size_t naggs;
	double version;        /* metadata.version, -1 when absent */
};

struct lle_plan {
	struct plan_model *models;
	size_t nmodels;
	struct plan_task *tasks;   /* leaf tasks, in the order they run */
	size_t ntasks;
	struct plan_group *groups; /* parents before children */
	size_t ngroups;
	char **top;                /* the names asked for */
	size_t ntop;
	struct lle_data_dir dd;
	struct lle_backend_catalog *backends; /* every backend of models[], loaded */
	int check_only;            /* lle_run_check_task: compile, read no data (2: and
				      import the hooks' modules, describe class tasks) */
};

void plan_model_fini(struct plan_model *m);
void plan_group_fini(struct plan_group *g);

#endif
