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

int lle_figures_group(struct lle_figures *t, const char *name, const char *const *members, size_t nm,
		      const char *metric, const char *filter, int weight_by_size, json_t *res)
{
	double *v = calloc(nm ? nm : 1, sizeof(*v)), *se = calloc(nm ? nm : 1, sizeof(*se));
	size_t *sz = calloc(nm ? nm : 1, sizeof(*sz));
	size_t k = 0, total = 0;
	int hib = 1, rc = -1;
	if (!v || !se || !sz)
		goto out;
	for (size_t i = 0; i < nm; i++) {
		const struct lle_figure *f = members[i] ? lle_figures_find(t, members[i], metric, filter) : NULL;
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
