/* `--gen-kwargs`: the run's overrides of a task's generation arguments, and
 * the arguments a generate_until request gets once they are applied.
 *
 * Grammar (docs/run.md): "k=v,k=v" with the keys temperature, top_p,
 * max_gen_toks (or max_tokens), do_sample (true/True/false/False) and until,
 * whose stop strings are separated by '|' since ',' separates the pairs.
 * Any other key is an error naming the known ones.
 *
 * Not here: the task's own generation_kwargs (task.c parses them). */
#ifndef LLE_TASKS_GENARGS_H
#define LLE_TASKS_GENARGS_H

#include <stddef.h>

#include "util/err.h"

struct lle_task;

struct lle_gen_args {
	double temperature, top_p;
	long max_gen_toks;
	int do_sample;
	int has_temperature, has_top_p, has_max, has_sample;
	char **until;
	size_t nuntil;
	int has_until;
};

/* Parse spec (NULL or "" sets nothing). Errors name the option, the key and
 * the value (code LLE_EXIT_USAGE); *g is then to be freed all the same. */
int lle_gen_args_parse(struct lle_gen_args *g, const char *spec, struct lle_err *err);
void lle_gen_args_fini(struct lle_gen_args *g);

/* What one generate_until request of task t is sent: each override when
 * given, else the task's value; temperature 0 when sampling is off and no
 * temperature was given; top_p 1 unless given. `until` points into g or t. */
struct lle_gen_params {
	const char *const *until;
	size_t nuntil;
	long max_gen_toks;
	double temperature, top_p;
};
void lle_gen_args_apply(const struct lle_gen_args *g, const struct lle_task *t, struct lle_gen_params *out);

#endif
