/* The defaults of a run's options, in one place (run.h): what
 * lle_run_opts_default() sets and what a zeroed field falls back to. Not
 * here: parsing them (src/cli/engine/cmd_run.c), using them (plan.c,
 * engine.c, output.c). */
#include "run/run.h"

#include "tasks/metrics.h"
#include "tasks/task.h"

struct lle_run_opts lle_run_opts_default(void)
{
	struct lle_run_opts o = { 0 };
	o.num_fewshot = -1;
	o.fewshot_seed = LLE_FEWSHOT_SEED;
	o.seed = 0;
	o.batch_size = LLE_RUN_BATCH_SIZE;
	o.bootstrap_iters = LLE_BOOTSTRAP_ITERS;
	return o;
}

long lle_run_batch_size(const struct lle_run_opts *o)
{
	return o->batch_size > 0 ? o->batch_size : LLE_RUN_BATCH_SIZE;
}

long lle_run_bootstrap_iters(const struct lle_run_opts *o)
{
	return o->bootstrap_iters > 0 ? o->bootstrap_iters : LLE_BOOTSTRAP_ITERS;
}
