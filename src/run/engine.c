/* The run engine: for each model of the plan, load its backend plugin and
 * open the model (it loads in the background), then run every task of the
 * plan on it (task_run.c, in chunks of documents: chunk.c), and write the
 * model's results (output.c). The host services the plugin calls (log,
 * progress, allocation, interruption) are here.
 *
 * Streaming keeps memory flat: only one chunk of documents and requests is
 * alive at a time, whatever the split's size (MMLU's 14,042 questions).
 *
 * Not here: resolving what to run (plan.c), one task (task_run.c), one
 * chunk (chunk.c), writing results files and the table (output.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/describe.h"
#include "backend/loader.h"
#include "monitor/monitor.h"
#include "run/cache_glue.h"
#include "run/code_glue.h"
#include "run/output.h"
#include "run/plan.h"
#include "run/task_run.h"
#include "tasks/genargs.h"
#include "util/buf.h"
#include "util/diag.h"

volatile int lle_run_interrupted;

/* ---------- host services for the plugin ---------- */

struct host_state {
	struct lle_host host;
	const struct lle_host *dflt;
	const struct lle_secrets *secrets; /* removed from what the plugin logs */
	int tty;
	double last_progress;
};

static int host_interrupted(void *user)
{
	(void)user;
	return lle_run_interrupted;
}

static void host_log(void *user, int level, const char *msg)
{
	struct host_state *h = user;
	char *clean = h->secrets && h->secrets->n ? lle_secrets_scrub(h->secrets, msg) : NULL;
	if (h->secrets && h->secrets->n && !clean)
		return; /* no memory to scrub it: say nothing rather than a secret */
	h->dflt->log(h->dflt->user, level, clean ? clean : msg);
	free(clean);
}

static void host_progress(void *user, const char *what, double done, double total)
{
	struct host_state *h = user;
	if (!h->tty || lle_diag_verbosity() < LLE_NORMAL)
		return;
	double t = run_now_s();
	if (done < total && t - h->last_progress < 0.1)
		return;
	h->last_progress = t;
	fprintf(stderr, "\r\033[K%s: %3.0f%%%s", what, total > 0 ? 100.0 * done / total : 0.0,
		done >= total ? "\n" : "");
	fflush(stderr);
}

static void *host_alloc(void *user, size_t n) { (void)user; return malloc(n); }
static void *host_realloc(void *user, void *p, size_t n) { (void)user; return realloc(p, n); }
static void host_free(void *user, void *p) { (void)user; free(p); }

static void host_init(struct host_state *h)
{
	memset(h, 0, sizeof(*h));
	h->dflt = lle_backend_default_host();
	h->tty = isatty(2);
	h->host.size = sizeof(h->host);
	h->host.abi_major = LLE_BACKEND_ABI_MAJOR;
	h->host.abi_minor = LLE_BACKEND_ABI_MINOR;
	h->host.user = h;
	h->host.log = host_log;
	h->host.progress = host_progress;
	h->host.alloc = host_alloc;
	h->host.realloc = host_realloc;
	h->host.free = host_free;
	h->host.interrupted = host_interrupted;
}

/* ---------- the whole run ---------- */

/* The plan keeps a plugin loaded after its models ran (its catalog), and the
 * plugin keeps the host it was last given: the host lives as long as the
 * process, its secrets cleared when the run ends (lle_run_execute). */
static struct host_state run_host;

static int run_model(struct lle_plan *p, const struct plan_model *pm, const struct lle_run_opts *o,
		     struct lle_gen_args *ga, struct lle_monitor *mon, struct run_output *ro, long *failed,
		     struct run_cache *cache, struct lle_err *err)
{
	struct host_state *hs = &run_host;
	host_init(hs);
	hs->secrets = &pm->secrets;
	struct lle_plugin *pl = lle_backend_load(pm->backend, &hs->host, err);
	if (!pl) {
		lle_err_prefix(err, "model '%s'", pm->name);
		return -1;
	}
	const struct lle_backend *be = pl->be;
	struct lle_open_params op = { 0 };
	op.size = sizeof(op);
	op.model = pm->model;
	op.max_length = (int32_t)o->max_length;
	op.n_threads = (int32_t)o->threads;
	op.apply_chat_template = o->apply_chat_template;
	op.chat_template = pm->chat_template;
	op.system_message = o->apply_chat_template ? o->system_instruction : NULL;
	op.options = (const char *const *)pm->options;
	op.n_options = pm->noptions;
	/* A backend that asks for them (an LLE_OPT_HOST option of its table) is
	 * told which tasks need prompt log-probabilities, so a server without
	 * them is refused at wait_ready, naming them. */
	const char **xopts = NULL;
	char *lltasks = NULL;
	const struct lle_option *llo = lle_backend_option(be, LLE_OPTION_LOGLIKELIHOOD_TASKS,
							  strlen(LLE_OPTION_LOGLIKELIHOOD_TASKS));
	if (llo && (llo->flags & LLE_OPT_HOST)) {
		struct lle_buf b = LLE_BUF_INIT;
		lle_buf_adds(&b, LLE_OPTION_LOGLIKELIHOOD_TASKS "=");
		size_t n0 = b.n;
		for (size_t i = 0; i < p->ntasks; i++)
			if (p->tasks[i].task->output_type != LLE_OUT_GENERATE_UNTIL)
				lle_buf_printf(&b, "%s%s", b.n > n0 ? "', '" : "", p->tasks[i].name);
		lltasks = lle_buf_detach(&b);
		xopts = calloc(pm->noptions + 1, sizeof(*xopts));
		if (!lltasks || !xopts) {
			free(lltasks);
			free(xopts);
			lle_plugin_close(pl);
			return lle_err_oom(err);
		}
		for (size_t i = 0; i < pm->noptions; i++)
			xopts[i] = pm->options[i];
		xopts[pm->noptions] = lltasks;
		op.options = xopts;
		op.n_options = pm->noptions + 1;
	}
	struct lle_model *model = NULL;
	char ebuf[1024] = "";
	lle_monitor_phase(mon, "load model");
	double t0 = run_now_s();
	/* open() returns at once; the model loads on the plugin's thread while
	 * the first chunk's prompts are built. */
	int orc = be->open(&op, &model, ebuf, sizeof(ebuf));
	free(xopts);
	free(lltasks);
	if (orc < 0) {
		lle_secrets_scrub_buf(&pm->secrets, ebuf, sizeof(ebuf));
		lle_plugin_close(pl);
		return lle_err_set(err, LLE_EXIT_BACKEND, "model '%s' (%s): %s", pm->name, pm->model, ebuf);
	}
	struct task_output *to = NULL;
	int rc = 0;
	struct progress pr = { 0 };
	pr.tty = isatty(2);
	pr.quiet = o->quiet || lle_diag_verbosity() < LLE_NORMAL;
	pr.model = pm->name;
	pr.mon = mon;
	if (be->wait_ready && be->wait_ready(model, ebuf, sizeof(ebuf)) < 0) {
		lle_secrets_scrub_buf(&pm->secrets, ebuf, sizeof(ebuf));
		rc = lle_err_set(err, LLE_EXIT_BACKEND, "model '%s' (%s): %s", pm->name, pm->model, ebuf);
		goto done;
	}
	if (output_model_begin(ro, pm, run_now_s() - t0, err) < 0 || run_cache_model(cache, pm, be, model, err) < 0) {
		rc = -1;
		goto done;
	}
	output_backend(ro, be->name, be->version);
	for (size_t i = 0; i < p->ntasks && !lle_run_interrupted; i++) {
		to = output_task_begin(ro, &p->tasks[i], err);
		if (!to) {
			rc = -1;
			break;
		}
		struct task_run tr = { p, &p->tasks[i], pm, o, be, model, ga, to, &pr, 0, cache, 0, NULL, 0, 0, 0 };
		rc = run_task(&tr, err);
		free(tr.keys);
		*failed += tr.failed;
		if (rc < 0)
			break;
	}
	long long sent, cached;
	run_cache_counts(cache, &sent, &cached);
	output_requests(ro, sent, cached);
	lle_notef("model '%s': %lld requests sent to the backend, %lld found in the cache", pm->name, sent, cached);
	if (rc == 0 && output_model_end(ro, p, o, mon, lle_run_interrupted, err) < 0)
		rc = -1;
done:
	be->close(model);
	lle_plugin_close(pl);
	return rc;
}

int lle_run_execute(struct lle_plan *p, const struct lle_run_opts *o, struct lle_err *err)
{
	struct lle_gen_args ga;
	if (lle_gen_args_parse(&ga, o->gen_kwargs, err) < 0)
		return err->code;
	if (code_precheck(p, o, err) < 0) {
		lle_gen_args_fini(&ga);
		return err->code;
	}
	struct lle_monitor *mon = NULL;
	if (lle_monitor_enabled()) {
		mon = lle_monitor_start(o->monitor_interval_ms ? o->monitor_interval_ms : LLE_MON_DEFAULT_INTERVAL_MS, err);
		if (!mon && err->code) {
			lle_gen_args_fini(&ga);
			return err->code;
		}
	}
	struct run_output *ro = output_open(o, err);
	long failed = 0;
	int rc = ro ? 0 : -1;
	/* The cache and the store open before any model loads: a cache or store
	 * that cannot be written stops the run before it costs anything. */
	struct run_cache *cache = rc == 0 ? run_cache_open(o, err) : NULL;
	struct lle_runstore *store = NULL;
	if (rc == 0 && !cache)
		rc = -1;
	if (rc == 0 && !o->no_store && !(store = run_store_open(o, err)) && err->code)
		rc = -1;
	if (rc == 0)
		output_store(ro, store);
	for (size_t i = 0; rc == 0 && i < p->nmodels && !lle_run_interrupted; i++)
		rc = run_model(p, &p->models[i], o, &ga, mon, ro, &failed, cache, err);
	run_host.secrets = NULL; /* the plan's, freed after this */
	lle_monitor_stop(mon, NULL);
	output_close(ro);
	run_cache_close(cache);
	run_store_close(store);
	lle_gen_args_fini(&ga);
	if (rc < 0)
		return err->code ? err->code : LLE_EXIT_INTERNAL;
	if (lle_run_interrupted)
		return LLE_EXIT_INTERRUPTED;
	return failed ? LLE_EXIT_EVAL : LLE_EXIT_OK;
}
