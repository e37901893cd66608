/* The figures of a run: value, standard error, size and direction of each
 * (task or group, metric, filter), and a group's figures aggregated from its
 * members' ones. A run's results file (output.c) and `llm-eval merge`
 * (run/merge.c) both aggregate groups here, so a merged file reads exactly
 * like the run's. Internal to src/run/. */
#ifndef LLE_RUN_FIGURES_H
#define LLE_RUN_FIGURES_H

#include <jansson.h>
#include <stddef.h>

struct lle_figure {
	char *name;        /* task or group */
	char *metric, *filter;
	double value, se;
	size_t n;          /* documents */
	int hib;           /* higher is better */
};

struct lle_figures {
	struct lle_figure *v;
	size_t n;
};

/* Add a figure (the strings are copied); 0, or -1 when out of memory. */
int lle_figures_add(struct lle_figures *t, const char *name, const char *metric, const char *filter,
		    double value, double se, size_t n, int hib);
const struct lle_figure *lle_figures_find(const struct lle_figures *t, const char *name,
					  const char *metric, const char *filter);
void lle_figures_free(struct lle_figures *t);

/* The members of group `name`, or NULL when `name` is a task. */
typedef const char *const *(*lle_group_members_fn)(void *user, const char *name, size_t *n);

/* One aggregate of group `name` as lm-evaluation-harness's Group.aggregate
 * (lm_eval/api/group.py): over the group's LEAF tasks (members expanded
 * through `sub`, sub-groups' own figures are not used), the mean weighted by
 * size or not (aggregate_subtask_metrics) and the standard error pooled over
 * those tasks (pooled_sample_stderr). `filter` NULL: every filter a leaf
 * reports `metric` under, in sorted order, as the harness does without a
 * filter_list. Each is written into `res` with output_set_metric and added as
 * the group's own figure. Returns 1 when some leaf had the figure, 0 when
 * none did, -1 when out of memory. */
int lle_figures_group(struct lle_figures *t, const char *name, const char *const *members, size_t nm,
		      lle_group_members_fn sub, void *user, const char *metric, const char *filter,
		      int weight_by_size, json_t *res);

#endif
