/* `--gen-kwargs`: see genargs.h. */
#include "tasks/genargs.h"

#include <stdlib.h>
#include <string.h>

#include "tasks/task.h"
#include "util/buf.h"

void lle_gen_args_fini(struct lle_gen_args *g)
{
	for (size_t i = 0; i < g->nuntil; i++)
		free(g->until[i]);
	free(g->until);
	g->until = NULL;
	g->nuntil = 0;
}

/* until=A|B: the stop strings, each non-empty. */
static int parse_until(struct lle_gen_args *g, const char *v, struct lle_err *err)
{
	g->has_until = 1;
	char *vs = lle_strdup(v);
	if (!vs)
		return lle_err_oom(err);
	int rc = 0;
	for (char *save = NULL, *u = strtok_r(vs, "|", &save); u; u = strtok_r(NULL, "|", &save)) {
		char **nu = realloc(g->until, (g->nuntil + 1) * sizeof(*nu));
		if (!nu) {
			rc = lle_err_oom(err);
			break;
		}
		g->until = nu;
		if (!(nu[g->nuntil] = lle_strdup(u))) {
			rc = lle_err_oom(err);
			break;
		}
		g->nuntil++;
	}
	free(vs);
	return rc;
}

int lle_gen_args_parse(struct lle_gen_args *g, const char *s, struct lle_err *err)
{
	memset(g, 0, sizeof(*g));
	if (!s || !*s)
		return 0;
	char *copy = lle_strdup(s);
	if (!copy)
		return lle_err_oom(err);
	int rc = 0;
	for (char *save = NULL, *kv = strtok_r(copy, ",", &save); kv && rc == 0; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq) {
			rc = lle_err_set(err, LLE_EXIT_USAGE, "--gen-kwargs: '%s' is not key=value", kv);
			break;
		}
		*eq = '\0';
		const char *v = eq + 1;
		char *end = NULL;
		if (strcmp(kv, "temperature") == 0) {
			g->temperature = strtod(v, &end);
			g->has_temperature = 1;
			if (g->temperature < 0)
				end = NULL;
		} else if (strcmp(kv, "top_p") == 0) {
			g->top_p = strtod(v, &end);
			g->has_top_p = 1;
		} else if (strcmp(kv, "max_gen_toks") == 0 || strcmp(kv, "max_tokens") == 0) {
			g->max_gen_toks = strtol(v, &end, 10);
			g->has_max = 1;
			if (g->max_gen_toks <= 0)
				end = NULL;
		} else if (strcmp(kv, "do_sample") == 0) {
			g->has_sample = 1;
			if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0)
				g->do_sample = 1;
			else if (strcmp(v, "false") != 0 && strcmp(v, "False") != 0)
				v = ""; /* reported as a bad value below */
			end = (char *)v + strlen(v);
		} else if (strcmp(kv, "until") == 0) {
			rc = parse_until(g, v, err);
			end = (char *)v + strlen(v);
		} else {
			rc = lle_err_set(err, LLE_EXIT_USAGE,
					 "--gen-kwargs: unknown key '%s' (known: temperature, top_p, max_gen_toks, do_sample, until)",
					 kv);
			break;
		}
		if (rc == 0 && (!end || *end || end == v))
			rc = lle_err_set(err, LLE_EXIT_USAGE, "--gen-kwargs: bad value '%s' for '%s'", v, kv);
	}
	free(copy);
	return rc;
}

void lle_gen_args_apply(const struct lle_gen_args *g, const struct lle_task *t, struct lle_gen_params *out)
{
	out->until = (const char *const *)(g->has_until ? g->until : t->until);
	out->nuntil = g->has_until ? g->nuntil : t->nuntil;
	out->max_gen_toks = g->has_max ? g->max_gen_toks : t->max_gen_toks;
	int do_sample = g->has_sample ? g->do_sample : t->do_sample;
	out->temperature = g->has_temperature ? g->temperature : t->temperature;
	if (!do_sample && !g->has_temperature)
		out->temperature = 0;
	out->top_p = g->has_top_p ? g->top_p : 1.0;
}
