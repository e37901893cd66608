/* The figures of a run and group aggregation (see figures.h). */
#include <stdlib.h>
#include <string.h>

#include "run/figures.h"
#include "run/output.h"
#include "tasks/metrics.h"
#include "util/buf.h"

int lle_figures_add(struct lle_figures *t, const char *name, const char *metric, const char *filter,
		    double value, double se, size_t n, int hib)
{
	struct lle_figure *nv = realloc(t->v, (t->n + 1) * sizeof(*nv));
	if (!nv)
		return -1;
	t->v = nv;
	struct lle_figure *f = &t->v[t->n];
	*f = (struct lle_figure){ lle_strdup(name), lle_strdup(metric), lle_strdup(filter), value, se, n, hib };
	if (!f->name || !f->metric || !f->filter) {
		free(f->name);
		free(f->metric);
		free(f->filter);
		return -1;
	}
	t->n++;
	return 0;
}

const struct lle_figure *lle_figures_find(const struct lle_figures *t, const char *name,
					  const char *metric, const char *filter)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].name, name) && !strcmp(t->v[i].metric, metric) &&
		    !strcmp(t->v[i].filter, filter))
			return &t->v[i];
	return NULL;
}

void lle_figures_free(struct lle_figures *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].metric);
		free(t->v[i].filter);
	}
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

struct leaves {
	const char **v;
	size_t n;
};

/* The leaf tasks under a group, depth first in member order, as the harness's
 * Group.get_all_tasks (lm_eval/api/group.py) lists them: a task under two
 * sub-groups counts twice there too. */
static int collect_leaves(struct leaves *l, const char *const *members, size_t nm,
			  lle_group_members_fn sub, void *user, int depth)
{
	if (depth > 64)
		return 0; /* the planner refuses cycles; never recurse without end */
	for (size_t i = 0; i < nm; i++) {
		if (!members[i])
			continue;
		size_t kn = 0;
		const char *const *kids = sub ? sub(user, members[i], &kn) : NULL;
		if (kids) {
			if (collect_leaves(l, kids, kn, sub, user, depth + 1) < 0)
				return -1;
			continue;
		}
		const char **nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
		if (!nv)
			return -1;
		l->v = nv;
		l->v[l->n++] = members[i];
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One (metric, filter) of the group over its leaves. */
static int group_one(struct lle_figures *t, const char *name, const struct leaves *l, const char *metric,
		     const char *filter, int weight_by_size, json_t *res)
{
	size_t cap = l->n ? l->n : 1;
	double *v = calloc(cap, sizeof(*v)), *se = calloc(cap, sizeof(*se));
	size_t *sz = calloc(cap, sizeof(*sz));
	size_t k = 0, total = 0;
	int hib = 1, rc = -1;
	if (!v || !se || !sz)
		goto out;
	for (size_t i = 0; i < l->n; i++) {
		const struct lle_figure *f = lle_figures_find(t, l->v[i], metric, filter);
		if (!f)
			continue;
		v[k] = f->value;
		se[k] = f->se;
		sz[k] = f->n;
		total += f->n;
		hib = f->hib;
		k++;
	}
	rc = 0;
	if (k > 0) {
		double value = lle_group_value(v, sz, k, weight_by_size);
		double s = lle_group_pooled_stderr(se, sz, k);
		rc = output_set_metric(res, metric, filter, value, s) < 0 ||
		     lle_figures_add(t, name, metric, filter, value, s, total, hib) < 0 ? -1 : 1;
	}
out:
	free(v);
	free(se);
	free(sz);
	return rc;
}

int lle_figures_group(struct lle_figures *t, const char *name, const char *const *members, size_t nm,
		      lle_group_members_fn sub, void *user, const char *metric, const char *filter,
		      int weight_by_size, json_t *res)
{
	struct leaves l = { 0 };
	const char **filters = NULL;
	size_t nf = 0;
	int rc = -1, any = 0;
	if (collect_leaves(&l, members, nm, sub, user, 0) < 0)
		goto out;
	if (filter) {
		rc = group_one(t, name, &l, metric, filter, weight_by_size, res);
		goto out;
	}
	/* No filter_list: every filter some leaf reports the metric under, in
	 * sorted order (Group._discover_filters_for_metric, lm_eval/api/group.py). */
	for (size_t i = 0; i < t->n; i++) {
		const struct lle_figure *f = &t->v[i];
		if (strcmp(f->metric, metric))
			continue;
		int leaf = 0, seen = 0;
		for (size_t j = 0; j < l.n && !leaf; j++)
			leaf = !strcmp(l.v[j], f->name);
		for (size_t j = 0; j < nf && !seen; j++)
			seen = !strcmp(filters[j], f->filter);
		if (!leaf || seen)
			continue;
		const char **nv = realloc(filters, (nf + 1) * sizeof(*nv));
		if (!nv)
			goto out;
		filters = nv;
		filters[nf++] = f->filter;
	}
	if (nf > 1)
		qsort(filters, nf, sizeof(*filters), cmp_str);
	for (size_t i = 0; i < nf; i++) {
		int r = group_one(t, name, &l, metric, filters[i], weight_by_size, res);
		if (r < 0)
			goto out;
		any |= r;
	}
	rc = any;
out:
	free(l.v);
	free(filters);
	return rc;
}
