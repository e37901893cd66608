/* The code_exec metric's config and programs: see code_metric.h. */
#include "tasks/code_metric.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/template.h"
#include "util/buf.h"

#define MAX_KS 64

void lle_code_cfg_unref(struct lle_code_cfg *c)
{
	if (!c || --c->refs > 0)
		return;
	free(c->interpreter);
	lle_tpl_free(c->program);
	free(c);
}

int lle_code_metric_is(const struct lle_node *e)
{
	const char *m = e && e->kind == LLE_NODE_MAP ? lle_node_str(e, "metric") : NULL;
	return m && !strcmp(m, "code_exec");
}

size_t lle_code_metric_count(const struct lle_node *e)
{
	if (!lle_code_metric_is(e))
		return 1;
	const struct lle_node *k = lle_node_get(e, "k");
	return k && k->kind == LLE_NODE_SEQ && k->n > 0 ? k->n : 1;
}

static int cerr(const struct lle_node *n, const char *who, struct lle_err *err, const char *what)
{
	return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: metric 'code_exec': %s", n->file, n->line,
			   n->col, who, what);
}

static int parse_k(const struct lle_node *n, long repeats, unsigned *ks, size_t *nk, const char *who,
		   struct lle_err *err)
{
	*nk = 0;
	size_t cnt = n->kind == LLE_NODE_SEQ ? n->n : 1;
	if ((n->kind != LLE_NODE_SEQ && n->kind != LLE_NODE_SCALAR) || cnt == 0 || cnt > MAX_KS)
		return cerr(n, who, err, "'k' must be a positive integer or a list of them");
	for (size_t i = 0; i < cnt; i++) {
		const struct lle_node *v = n->kind == LLE_NODE_SEQ ? n->items[i] : n;
		long k;
		if (v->kind != LLE_NODE_SCALAR || lle_node_long(v, &k) < 0 || k < 1 || k > 1000000)
			return cerr(v, who, err, "'k' must be a positive integer or a list of them");
		for (size_t j = 0; j < *nk; j++)
			if (ks[j] == (unsigned)k)
				return cerr(v, who, err, "'k' lists the same value twice");
		if (k > repeats) {
			char m[200];
			snprintf(m, sizeof(m), "pass@%ld needs at least %ld completions per problem, but "
				 "'repeats' is %ld", k, k, repeats);
			return cerr(v, who, err, m);
		}
		ks[(*nk)++] = (unsigned)k;
	}
	return 0;
}

int lle_code_metric_from_node(struct lle_metric *out, size_t *nout, const struct lle_node *e,
			      enum lle_output_type ot, long repeats, const char *who, struct lle_err *err)
{
	*nout = 0;
	static const char *const known[] = { "metric", "aggregation", "higher_is_better", "k", "interpreter",
					     "program", "timeout_s", "memory_mb", NULL };
	for (size_t i = 0; i < e->n; i++) {
		size_t j = 0;
		while (known[j] && strcmp(known[j], e->keys[i]))
			j++;
		if (!known[j])
			return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: unknown option '%s' for metric "
					   "'code_exec' (known: aggregation, higher_is_better, k, interpreter, "
					   "program, timeout_s, memory_mb)", e->items[i]->file,
					   e->items[i]->line, e->items[i]->col, who, e->keys[i]);
	}
	if (ot != LLE_OUT_GENERATE_UNTIL)
		return cerr(lle_node_get(e, "metric"), who, err, "applies only to output_type 'generate_until'");
	const struct lle_node *an = lle_node_get(e, "aggregation");
	if (an && (an->kind != LLE_NODE_SCALAR || strcmp(an->str, "mean")))
		return cerr(an, who, err, "the only aggregation of pass@k is 'mean'");
	int hib = 1;
	const struct lle_node *hn = lle_node_get(e, "higher_is_better");
	if (hn && (hib = lle_node_bool(hn)) < 0)
		return cerr(hn, who, err, "'higher_is_better' must be true or false");
	unsigned ks[MAX_KS];
	size_t nk = 0;
	const struct lle_node *kn = lle_node_get(e, "k");
	if (!kn) {
		if (repeats < 1)
			return cerr(e, who, err, "'repeats' must be at least 1");
		ks[nk++] = 1;
	} else if (parse_k(kn, repeats, ks, &nk, who, err) < 0) {
		return -1;
	}
	const struct lle_node *pn = lle_node_get(e, "program");
	if (!pn || pn->kind != LLE_NODE_SCALAR || !*pn->str)
		return cerr(pn ? pn : e, who, err, "needs 'program', a template over the document's fields "
			    "and 'completion'");
	const struct lle_node *in = lle_node_get(e, "interpreter");
	if (in && (in->kind != LLE_NODE_SCALAR || !*in->str))
		return cerr(in, who, err, "'interpreter' must be a program name");
	double timeout = 10;
	const struct lle_node *tn = lle_node_get(e, "timeout_s");
	if (tn && (lle_node_double(tn, &timeout) < 0 || !(timeout > 0) || timeout > 3600))
		return cerr(tn, who, err, "'timeout_s' must be a number of seconds above 0 (at most 3600)");
	long mem = 1024;
	const struct lle_node *mn = lle_node_get(e, "memory_mb");
	if (mn && (lle_node_long(mn, &mem) < 0 || mem < 16 || mem > 1048576))
		return cerr(mn, who, err, "'memory_mb' must be an integer from 16 to 1048576");

	struct lle_code_cfg *c = calloc(1, sizeof(*c));
	if (!c)
		return lle_err_oom(err);
	c->refs = 1;
	c->timeout_s = timeout;
	c->memory_mb = (unsigned)mem;
	if (!(c->interpreter = lle_strdup(in ? in->str : "python3"))) {
		lle_code_cfg_unref(c);
		return lle_err_oom(err);
	}
	const char *base = strrchr(c->interpreter, '/');
	base = base ? base + 1 : c->interpreter;
	c->raw = strncmp(base, "python", 6) != 0;
	char pwho[600];
	snprintf(pwho, sizeof(pwho), "%s:%d:%d: %s: program", pn->file, pn->line, pn->col, who);
	if (!(c->program = lle_tpl_compile(pn->str, pwho, err))) {
		lle_code_cfg_unref(c);
		return -1;
	}
	for (size_t i = 0; i < nk; i++) {
		struct lle_metric *m = &out[i];
		memset(m, 0, sizeof(*m));
		char name[32];
		snprintf(name, sizeof(name), "pass@%u", ks[i]);
		if (!(m->name = lle_strdup(name))) {
			for (size_t j = 0; j < i; j++)
				lle_metric_fini(&out[j]);
			*nout = 0;
			lle_code_cfg_unref(c);
			return lle_err_oom(err);
		}
		m->kind = LLE_M_PASS_AT_K;
		m->agg = LLE_AGG_MEAN;
		m->higher_is_better = hib;
		m->pass_k = ks[i];
		m->code = c;
		c->refs++;
		*nout = i + 1;
	}
	lle_code_cfg_unref(c); /* the metrics hold it now */
	return 0;
}

char *lle_code_program(const struct lle_code_cfg *c, const json_t *doc, const char *completion,
		       const char *who, struct lle_err *err)
{
	json_t *vars = json_is_object(doc) ? json_copy((json_t *)doc) : json_object();
	if (!vars || json_object_set_new(vars, "completion", json_string_nocheck(completion)) < 0) {
		if (vars)
			json_decref(vars);
		lle_err_oom(err);
		return NULL;
	}
	char *s = lle_tpl_render(c->program, vars, who, NULL, err);
	json_decref(vars);
	return s;
}
