/* `llm-eval run`: parse the options, open the registry, plan (which checks
 * everything before any work), then execute. SIGINT/SIGTERM stop the run
 * between chunks: finished tasks are written, the stopped task's sample log
 * stays as .part, and the exit code is 130. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "monitor/monitor.h"
#include "registry/registry.h"
#include "run/run.h"
#include "util/diag.h"
#include "util/err.h"

int lle_cmd_run(struct lle_ctx *ctx, int argc, char **argv);

static void on_signal(int sig)
{
	(void)sig;
	if (lle_run_interrupted) {
		/* A second Ctrl-C: the user means it. */
		signal(SIGINT, SIG_DFL);
		raise(SIGINT);
	}
	lle_run_interrupted = 1;
}

static int parse_long(const struct lle_cmd *c, const char *opt, const char *v, long min, long *out)
{
	char *end;
	long x = strtol(v, &end, 10);
	if (!*v || *end || x < min)
		return lle_cmd_usage_error(c, "option '%s' needs an integer >= %ld, not '%s'", opt, min, v);
	*out = x;
	return 0;
}

enum {
	OPT_MODEL = 256, OPT_MODEL_PATH, OPT_BACKEND, OPT_MODEL_DIR, OPT_TASKS, OPT_CATEGORY, OPT_LIMIT,
	OPT_FEWSHOT, OPT_SEED, OPT_FEWSHOT_SEED, OPT_CHAT, OPT_SYSTEM, OPT_GEN, OPT_BATCH, OPT_THREADS,
	OPT_MAXLEN, OPT_MODEL_ARGS, OPT_OUTPUT, OPT_LOG, OPT_DATA, OPT_BOOT, OPT_JSON, OPT_MONINT, OPT_QUIET_PROGRESS,
	OPT_ON_ERROR,
	OPT_CACHE, OPT_NO_CACHE, OPT_STORE, OPT_NO_STORE, OPT_SHARD,
	OPT_WEAK_SANDBOX,
};

/* --shard i/N: 0 <= i < N. */
static int parse_shard(const char *v, long *i, long *n)
{
	char *end;
	*i = strtol(v, &end, 10);
	if (end == v || *end != '/' || *i < 0)
		return -1;
	const char *s = end + 1;
	*n = strtol(s, &end, 10);
	if (end == s || *end || *n < 1 || *i >= *n || *n > 100000)
		return -1;
	return 0;
}

int lle_cmd_run(struct lle_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, OPT_MODEL },
		{ "model-path", required_argument, NULL, OPT_MODEL_PATH },
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "model-dir", required_argument, NULL, OPT_MODEL_DIR },
		{ "tasks", required_argument, NULL, OPT_TASKS },
		{ "category", required_argument, NULL, OPT_CATEGORY },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "num-fewshot", required_argument, NULL, OPT_FEWSHOT },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "fewshot-seed", required_argument, NULL, OPT_FEWSHOT_SEED },
		{ "apply-chat-template", no_argument, NULL, OPT_CHAT },
		{ "system-instruction", required_argument, NULL, OPT_SYSTEM },
		{ "gen-kwargs", required_argument, NULL, OPT_GEN },
		{ "batch-size", required_argument, NULL, OPT_BATCH },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "model-args", required_argument, NULL, OPT_MODEL_ARGS },
		{ "max-length", required_argument, NULL, OPT_MAXLEN },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "output-path", required_argument, NULL, OPT_OUTPUT },
		{ "log-samples", no_argument, NULL, OPT_LOG },
		{ "data-dir", required_argument, NULL, OPT_DATA },
		{ "bootstrap-iters", required_argument, NULL, OPT_BOOT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "monitor-interval", required_argument, NULL, OPT_MONINT },
		{ "no-progress", no_argument, NULL, OPT_QUIET_PROGRESS },
		{ "on-error", required_argument, NULL, OPT_ON_ERROR },
		{ "cache", required_argument, NULL, OPT_CACHE },
		{ "no-cache", no_argument, NULL, OPT_NO_CACHE },
		{ "store", required_argument, NULL, OPT_STORE },
		{ "no-store", no_argument, NULL, OPT_NO_STORE },
		{ "shard", required_argument, NULL, OPT_SHARD },
		{ "allow-weak-sandbox", no_argument, NULL, OPT_WEAK_SANDBOX },
		{ NULL, 0, NULL, 0 },
	};
	const struct lle_cmd *c = ctx->cmd;
	const char *models[64], *tasks[256], *margs[64];
	struct lle_run_opts o = { 0 };
	o.models = models;
	o.tasks = tasks;
	o.model_args = margs;
	o.num_fewshot = -1;
	o.fewshot_seed = 1234;
	o.seed = 0;
	o.bootstrap_iters = 100000;
	int opt;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		long v = 0;
		struct lle_err err = { 0 };
		switch (opt) {
		case OPT_MODEL:
			if (o.nmodels == 64)
				return lle_cmd_usage_error(c, "too many --model options");
			models[o.nmodels++] = optarg;
			break;
		case OPT_MODEL_PATH: o.model_path = optarg; break;
		case OPT_BACKEND: o.backend = optarg; break;
		case OPT_MODEL_ARGS:
			if (o.nmodel_args == 64)
				return lle_cmd_usage_error(c, "too many --model-args options");
			margs[o.nmodel_args++] = optarg;
			break;
		case OPT_MODEL_DIR: o.model_dir = optarg; break;
		case OPT_TASKS:
			if (o.ntasks == 256)
				return lle_cmd_usage_error(c, "too many --tasks options");
			tasks[o.ntasks++] = optarg;
			break;
		case OPT_CATEGORY: o.category = optarg; break;
		case OPT_LIMIT: {
			char *end;
			double d = strtod(optarg, &end);
			if (!*optarg || *end || !(d > 0) || (d > 1 && d != (double)(long)d))
				return lle_cmd_usage_error(c, "--limit takes a number of documents (>= 1) or a fraction (0 < F < 1), not '%s'",
							   optarg);
			o.limit = d;
			break;
		}
		case OPT_FEWSHOT:
			if (parse_long(c, "--num-fewshot", optarg, 0, &o.num_fewshot))
				return LLE_EXIT_USAGE;
			break;
		case OPT_SEED:
			if (parse_long(c, "--seed", optarg, 0, &o.seed))
				return LLE_EXIT_USAGE;
			break;
		case OPT_FEWSHOT_SEED:
			if (parse_long(c, "--fewshot-seed", optarg, 0, &o.fewshot_seed))
				return LLE_EXIT_USAGE;
			break;
		case OPT_CHAT: o.apply_chat_template = 1; break;
		case OPT_SYSTEM: o.system_instruction = optarg; break;
		case OPT_GEN: o.gen_kwargs = optarg; break;
		case OPT_BATCH:
			if (parse_long(c, "--batch-size", optarg, 1, &o.batch_size))
				return LLE_EXIT_USAGE;
			break;
		case OPT_THREADS:
			if (parse_long(c, "--threads", optarg, 1, &o.threads))
				return LLE_EXIT_USAGE;
			break;
		case OPT_MAXLEN:
			if (parse_long(c, "--max-length", optarg, 8, &o.max_length))
				return LLE_EXIT_USAGE;
			break;
		case OPT_OUTPUT: o.output_dir = optarg; break;
		case OPT_LOG: o.log_samples = 1; break;
		case OPT_DATA: o.data_dir = optarg; break;
		case OPT_BOOT:
			if (parse_long(c, "--bootstrap-iters", optarg, 1, &v))
				return LLE_EXIT_USAGE;
			o.bootstrap_iters = v;
			break;
		case OPT_JSON: o.json_table = 1; break;
		case OPT_QUIET_PROGRESS: o.quiet = 1; break;
		case OPT_ON_ERROR:
			if (strcmp(optarg, "stop") != 0 && strcmp(optarg, "continue") != 0)
				return lle_cmd_usage_error(c, "--on-error takes 'continue' or 'stop', not '%s'", optarg);
			o.on_error_stop = strcmp(optarg, "stop") == 0;
			break;
		case OPT_CACHE: o.cache_path = optarg; break;
		case OPT_NO_CACHE: o.no_cache = 1; break;
		case OPT_STORE: o.store_path = optarg; break;
		case OPT_NO_STORE: o.no_store = 1; break;
		case OPT_SHARD:
			if (parse_shard(optarg, &o.shard_i, &o.shard_n) < 0)
				return lle_cmd_usage_error(c, "--shard takes i/N with 0 <= i < N (e.g. 0/4), not '%s'", optarg);
			break;
		case OPT_WEAK_SANDBOX: o.allow_weak_sandbox = 1; break;
		case OPT_MONINT: {
			unsigned ms;
			if (lle_monitor_parse_interval("--monitor-interval", optarg, &ms, &err) < 0)
				return lle_cmd_usage_error(c, "%s", err.msg);
			o.monitor_interval_ms = ms;
			break;
		}
		default:
			return lle_cmd_usage_error(c, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return lle_cmd_usage_error(c, "unexpected argument '%s'", argv[optind]);
	if (o.nmodels == 0 && !o.model_path && !o.category)
		return lle_cmd_usage_error(c, "give --model NAME, --model-path FILE.gguf or --category NAME");
	if (o.ntasks == 0 && !o.category)
		return lle_cmd_usage_error(c, "give --tasks NAME[,NAME...] or --category NAME");
	if (o.log_samples && !o.output_dir)
		return lle_cmd_usage_error(c, "--log-samples needs --output DIR");
	if (o.cache_path && o.no_cache)
		return lle_cmd_usage_error(c, "--cache and --no-cache exclude each other");
	if (o.store_path && o.no_store)
		return lle_cmd_usage_error(c, "--store and --no-store exclude each other");
	if (o.shard_n > 0 && !o.output_dir)
		return lle_cmd_usage_error(c, "--shard needs --output DIR (`llm-eval merge` reads the shards from there)");

	int rc = 0;
	struct lle_registry *reg = lle_cli_registry(ctx, (1u << LLE_REG_MODELS) | (1u << LLE_REG_TASKS), &rc);
	if (!reg)
		return rc;
	lle_cli_registry_warnings(reg);
	struct lle_err err = { 0 };
	struct lle_plan_problems pp = { 0 };
	struct lle_plan *plan = lle_run_plan(reg, &o, &pp, &err);
	if (!plan) {
		/* Every problem, one line each; the first one's code is the exit code. */
		for (size_t i = 0; i < pp.n; i++)
			lle_errorf("%s", pp.v[i].msg);
		if (pp.n == 0 || err.code == LLE_EXIT_INTERNAL)
			lle_errorf("%s", err.msg);
		lle_plan_problems_free(&pp);
		lle_registry_free(reg);
		return err.code ? err.code : LLE_EXIT_INTERNAL;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = lle_run_execute(plan, &o, &err);
	if (rc != LLE_EXIT_OK && rc != LLE_EXIT_EVAL && rc != LLE_EXIT_INTERRUPTED)
		lle_errorf("%s", err.msg);
	else if (rc == LLE_EXIT_INTERRUPTED)
		lle_warnf("interrupted: finished tasks are written; run the same command again to redo the rest");
	else if (rc == LLE_EXIT_EVAL && err.msg[0])
		lle_errorf("%s", err.msg); /* --on-error stop */
	else if (rc == LLE_EXIT_EVAL)
		lle_warnf("some documents failed (see the errors above); the scores cover the others");
	lle_plan_free(plan);
	lle_registry_free(reg);
	return rc;
}
