/* What the planner's two files share, and no other file includes: plan.c
 * (tasks, groups, the problem list, lle_run_plan itself) and plan_models.c
 * (models and backends). The plan's structs are in plan.h. */
#ifndef LLE_RUN_PLAN_INT_H
#define LLE_RUN_PLAN_INT_H

#include <stddef.h>

#include "registry/registry.h"
#include "run/plan.h"
#include "util/err.h"

/* plan.c: string lists (appended copies; freed with their strings) */
int plan_strv_push(char ***v, size_t *n, const char *s);
void plan_strv_free(char **v, size_t n);
/* a registry entry's config file (root joined with relpath); NULL out of memory */
char *plan_entry_path(const struct lle_reg_entry *e);
/* "unknown task 'gsm8kk' (did you mean 'gsm8k'?)": tasks, groups, tags, models */
int plan_unknown_name(struct lle_registry *reg, int type, const char *what, const char *name,
		      struct lle_err *err);

/* plan_models.c: the steps lle_run_plan takes for models, each 0, or -1
 * with err set (one problem of the plan) */
/* the registry model `name` with its backend section, options and files */
int plan_resolve_registry_model(struct lle_plan *p, struct lle_registry *reg, const char *name,
				const struct lle_run_opts *o, struct lle_err *err);
/* --model-path FILE, run with --backend or the default backend */
int plan_resolve_model_path(struct lle_plan *p, const struct lle_run_opts *o, struct lle_err *err);
/* --apply-chat-template: each model's template found and compiled */
int plan_check_chat_templates(struct lle_plan *p, const struct lle_run_opts *o, struct lle_err *err);
/* every model's backend plugin loads */
int plan_check_backends(struct lle_plan *p, struct lle_err *err);
/* each model's secret option values, for lle_secrets_scrub */
int plan_collect_secrets(struct lle_plan *p, struct lle_err *err);

#endif
