/* `llm-eval run`: parse the options, open the registry, plan (which checks
 * everything before any work), then execute. SIGINT/SIGTERM stop the run
 * between chunks: finished tasks are written, the stopped task's sample log
 * stays as .part, and the exit code is 130. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cmd.h"
#include "data/hub.h"
#include "data/yaml.h"
#include "monitor/monitor.h"
#include "registry/registry.h"
#include "run/run.h"
#include "util/buf.h"
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

/* The closing lines: where each model's results went and the run id that
 * `compare` and `results show` take, on stderr (stdout has the table or the
 * JSON); -q leaves them out. */
static void say_kept(const struct lle_run_outcome *oc)
{
	if (lle_diag_verbosity() < LLE_NORMAL)
		return;
	for (size_t i = 0; i < oc->nmodels; i++) {
		const struct lle_run_model_outcome *m = &oc->models[i];
		if (m->results_path)
			fprintf(stderr, "model '%s': results written to %s\n", m->model, m->results_path);
		if (m->run_id > 0)
			fprintf(stderr, "model '%s': results stored in the run store as run %lld "
				"(llm-eval results show %lld)\n", m->model, m->run_id, m->run_id);
	}
	fflush(stderr);
}

/* lm-evaluation-harness's --seed list: "R,N,T[,F]", the seeds of Python's
 * random, numpy, torch and the few-shot sampler, each an integer or "None".
 * The first is the sampling seed here, the fourth (when given and not None)
 * the few-shot seed; numpy's and torch's have nothing to seed. */
static int parse_harness_seeds(const struct lle_cmd *c, const char *v, long *seed, long *fewshot)
{
	char buf[128];
	if (strlen(v) >= sizeof(buf))
		return lle_cmd_usage_error(c, "option '--seed': too long a list '%s'", v);
	strcpy(buf, v);
	long vals[4];
	int nv = 0, none[4] = { 0 };
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *end;
		if (nv == 4)
			return lle_cmd_usage_error(c, "option '--seed' takes S or the harness's R,N,T[,F], not '%s'", v);
		none[nv] = strcmp(t, "None") == 0 || strcmp(t, "none") == 0;
		vals[nv] = none[nv] ? 0 : strtol(t, &end, 10);
		if (!none[nv] && (!*t || *end || vals[nv] < 0))
			return lle_cmd_usage_error(c, "option '--seed': '%s' is not an integer >= 0 or None", t);
		nv++;
	}
	if (nv < 3)
		return lle_cmd_usage_error(c, "option '--seed' takes S or the harness's R,N,T[,F], not '%s'", v);
	if (!none[0])
		*seed = vals[0];
	if (nv == 4 && !none[3])
		*fewshot = vals[3];
	return 0;
}

enum {
	OPT_MODEL = 256, OPT_MODEL_PATH, OPT_BACKEND, OPT_MODEL_DIR, OPT_TASKS, OPT_CATEGORY, OPT_LIMIT,
	OPT_FEWSHOT, OPT_SEED, OPT_FEWSHOT_SEED, OPT_CHAT, OPT_MULTITURN, OPT_SYSTEM, OPT_GEN, OPT_BATCH, OPT_THREADS,
	OPT_MAXLEN, OPT_MODEL_ARGS, OPT_OUTPUT, OPT_LOG, OPT_DATA, OPT_BOOT, OPT_JSON, OPT_MONINT, OPT_QUIET_PROGRESS,
	OPT_ON_ERROR,
	OPT_CACHE, OPT_NO_CACHE, OPT_STORE, OPT_NO_STORE, OPT_SHARD,
	OPT_WEAK_SANDBOX, OPT_HOOK_NETWORK, OPT_SAMPLES, OPT_SHOW_PROMPTS, OPT_WRITE_OUT, OPT_METADATA, OPT_CONFIG,
	OPT_PREDICT_ONLY, OPT_OFFLINE,
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

/* The table getopt_long reads: each option of `opts`, and for each one with a
 * '-' in its name the underscore spelling of lm-evaluation-harness
 * (--num_fewshot, --model_args, --output_path, ...). NULL when too long. */
static const struct option *with_underscores(const struct option *opts)
{
	static struct option all[128];
	static char names[64][32];
	size_t n = 0, nn = 0;
	for (const struct option *o = opts; o->name; o++) {
		if (n + 2 >= sizeof(all) / sizeof(all[0]))
			return NULL;
		all[n++] = *o;
		if (!strchr(o->name, '-'))
			continue;
		if (nn == sizeof(names) / sizeof(names[0]) || strlen(o->name) >= sizeof(names[0]))
			return NULL;
		char *u = names[nn++];
		strcpy(u, o->name);
		for (char *p = u; *p; p++)
			if (*p == '-')
				*p = '_';
		all[n] = *o;
		all[n++].name = u;
	}
	all[n] = (struct option){ NULL, 0, NULL, 0 };
	return all;
}

/* lm-evaluation-harness's short options (its __main__.py's setup_parser):
 * -m --model, -t --tasks, -a --model_args, -f --num_fewshot, -b --batch_size,
 * -o --output_path, -L --limit, -s --log_samples, -w --write_out, -x --predict_only
 * (its run.py). The leading ':' makes a missing value ':' rather than '?'. */
#define SHORT_OPTS "+:m:t:a:f:b:o:L:swx"

/* An environment variable that must be an integer >= 0: 1 with *v set, 0
 * when unset, -1 (after the usage error) when it is something else. */
static int env_long(const struct lle_cmd *c, const char *name, long *v)
{
	const char *s = getenv(name);
	if (!s)
		return 0;
	char *end;
	*v = strtol(s, &end, 10);
	if (!*s || *end || *v < 0) {
		lle_cmd_usage_error(c, "--shard auto: %s is '%s', not an integer >= 0", name, s);
		return -1;
	}
	return 1;
}

/* --shard auto or auto/N: the shard from a job array. Slurm's
 * SLURM_ARRAY_TASK_ID (less SLURM_ARRAY_TASK_MIN) of SLURM_ARRAY_TASK_COUNT,
 * which must be a contiguous range (--array=0-7, not 1,3,5); or Kubernetes'
 * Indexed Job, JOB_COMPLETION_INDEX, with the count given as auto/N. */
static int auto_shard(const struct lle_cmd *c, const char *v, long *i, long *n)
{
	long id, count, min = 0, max, given = 0;
	int have_id, have_count, have_min, have_max, have_k8s;
	if (v[4] == '/') {
		char *end;
		given = strtol(v + 5, &end, 10);
		if (!v[5] || *end || given < 1 || given > 100000)
			return lle_cmd_usage_error(c, "--shard auto/N needs a count N >= 1, not '%s'", v + 5);
	} else if (v[4]) {
		return lle_cmd_usage_error(c, "--shard takes i/N, auto or auto/N, not '%s'", v);
	}
	if ((have_id = env_long(c, "SLURM_ARRAY_TASK_ID", &id)) < 0 ||
	    (have_count = env_long(c, "SLURM_ARRAY_TASK_COUNT", &count)) < 0 ||
	    (have_min = env_long(c, "SLURM_ARRAY_TASK_MIN", &min)) < 0 ||
	    (have_max = env_long(c, "SLURM_ARRAY_TASK_MAX", &max)) < 0)
		return LLE_EXIT_USAGE;
	if (have_id) {
		if (!have_count && !given)
			return lle_cmd_usage_error(c, "--shard auto: SLURM_ARRAY_TASK_ID is set but not "
						   "SLURM_ARRAY_TASK_COUNT; give the count as --shard auto/N");
		if (have_count && have_max && max - min + 1 != count)
			return lle_cmd_usage_error(c, "--shard auto: the Slurm array %ld-%ld has %ld tasks, not a "
						   "contiguous range; use --array=0-%ld", min, max, count, count - 1);
		if (have_count && given && given != count)
			return lle_cmd_usage_error(c, "--shard auto/%ld: the Slurm array has %ld tasks", given, count);
		*i = id - min;
		*n = given ? given : count;
	} else {
		long k8s;
		if ((have_k8s = env_long(c, "JOB_COMPLETION_INDEX", &k8s)) < 0)
			return LLE_EXIT_USAGE;
		if (!have_k8s)
			return lle_cmd_usage_error(c, "--shard auto: neither SLURM_ARRAY_TASK_ID (a Slurm job array) "
						   "nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set");
		if (!given)
			return lle_cmd_usage_error(c, "--shard auto: JOB_COMPLETION_INDEX is set; give the number of "
						   "completions as --shard auto/N");
		*i = k8s;
		*n = given;
	}
	if (*i < 0 || *i >= *n || *n < 1 || *n > 100000)
		return lle_cmd_usage_error(c, "--shard auto: index %ld is not below the count %ld", *i, *n);
	lle_notef("--shard auto: shard %ld/%ld", *i, *n);
	return 0;
}

/* --show-prompts / --write-out: one request's text as the backend gets it,
 * in the layout of lm-evaluation-harness's --write_out (print_writeout). */
static void print_prompt(void *user, const char *task, size_t doc_id, const char *context,
			 const char *continuation)
{
	FILE *f = user;
	fprintf(f, "task '%s'; document %zu; context prompt (starting on next line):\n%s\n"
		   "(end of prompt on previous line)\n", task, doc_id, context ? context : "");
	if (continuation)
		fprintf(f, "continuation (starting on next line):\n%s\n(end of continuation on previous line)\n",
			continuation);
	fflush(f);
}

/* --samples, all of them. */
struct samples {
	struct lle_run_samples v[64];
	char *names[64];          /* v[i].task, owned */
	size_t n;
};

static void samples_free(struct samples *sm)
{
	for (size_t i = 0; i < sm->n; i++) {
		free(sm->v[i].ids);
		free(sm->names[i]);
	}
	sm->n = 0;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

/* Add ids [lo, hi] to the entry of task (the first tlen bytes of task): a
 * new one, or the task's from an earlier --samples. */
static int samples_add(const struct lle_cmd *c, struct samples *sm, const char *task, size_t tlen, size_t lo,
		       size_t hi)
{
	struct lle_run_samples *e = NULL;
	for (size_t i = 0; i < sm->n && !e; i++)
		if (strlen(sm->v[i].task) == tlen && !strncmp(sm->v[i].task, task, tlen))
			e = &sm->v[i];
	if (!e) {
		if (sm->n == sizeof(sm->v) / sizeof(sm->v[0]))
			return lle_cmd_usage_error(c, "option '--samples': too many tasks");
		char *name = strndup(task, tlen);
		if (!name) {
			lle_errorf("out of memory");
			return -1;
		}
		sm->names[sm->n] = name;
		e = &sm->v[sm->n++];
		memset(e, 0, sizeof(*e));
		e->task = name;
	}
	if (hi - lo > 10000000 || e->nids + (hi - lo + 1) > 10000000)
		return lle_cmd_usage_error(c, "option '--samples': too many documents for task '%s'", task);
	size_t *nv = realloc(e->ids, (e->nids + (hi - lo + 1)) * sizeof(*nv));
	if (!nv) {
		lle_errorf("out of memory");
		return -1;
	}
	e->ids = nv;
	for (size_t k = lo; k <= hi; k++)
		e->ids[e->nids++] = k;
	return 0;
}

/* Sort each task's ids and drop repeats. */
static void samples_tidy(struct samples *sm)
{
	for (size_t i = 0; i < sm->n; i++) {
		struct lle_run_samples *e = &sm->v[i];
		qsort(e->ids, e->nids, sizeof(*e->ids), cmp_size);
		size_t n = 0;
		for (size_t k = 0; k < e->nids; k++)
			if (n == 0 || e->ids[n - 1] != e->ids[k])
				e->ids[n++] = e->ids[k];
		e->nids = n;
	}
}

/* One --samples value: TASK:IDS (IDS comma-separated ids and ranges A-B),
 * or lm-evaluation-harness's JSON object {"TASK": [ID, ...], ...}. Task
 * names point into argv or into a string kept until exit (JSON). */
static int parse_samples(const struct lle_cmd *c, const char *v, struct samples *sm)
{
	if (v[0] == '{') {
		json_error_t je;
		json_t *j = json_loads(v, JSON_REJECT_DUPLICATES, &je);
		const char *key;
		json_t *ids;
		if (!json_is_object(j)) {
			json_decref(j);
			return lle_cmd_usage_error(c, "option '--samples': not a JSON object {\"TASK\": [ID, ...]}: %s",
						   je.text);
		}
		json_object_foreach(j, key, ids) {
			size_t k;
			json_t *id;
			if (!json_is_array(ids)) {
				json_decref(j);
				return lle_cmd_usage_error(c, "option '--samples': task '%s' needs a list of document ids",
							   key);
			}
			const char *name = key;
			json_array_foreach(ids, k, id) {
				if (!json_is_integer(id) || json_integer_value(id) < 0) {
					json_decref(j);
					return lle_cmd_usage_error(c, "option '--samples': task '%s': ids are integers >= 0",
								   name);
				}
				size_t x = (size_t)json_integer_value(id);
				if (samples_add(c, sm, name, strlen(name), x, x) < 0) {
					json_decref(j);
					return -1;
				}
			}
		}
		json_decref(j);
		samples_tidy(sm);
		return 0;
	}
	const char *colon = strrchr(v, ':');
	if (!colon || colon == v || !colon[1])
		return lle_cmd_usage_error(c, "option '--samples' takes TASK:IDS (e.g. gsm8k:0,5,10-19) or a "
					      "JSON object, not '%s'", v);
	for (const char *p = colon + 1; *p;) {
		char *end;
		if (*p < '0' || *p > '9')
			goto bad;
		unsigned long long lo = strtoull(p, &end, 10), hi = lo;
		if (*end == '-') {
			const char *q = end + 1;
			if (*q < '0' || *q > '9')
				goto bad;
			hi = strtoull(q, &end, 10);
			if (hi < lo)
				goto bad;
		}
		if (*end && *end != ',')
			goto bad;
		if (samples_add(c, sm, v, (size_t)(colon - v), (size_t)lo, (size_t)hi) < 0)
			return -1;
		p = *end ? end + 1 : end;
	}
	samples_tidy(sm);
	return 0;
bad:
	return lle_cmd_usage_error(c, "option '--samples': '%s' is not a list of document ids and ranges "
				      "(e.g. 0,5,10-19)", colon + 1);
}

static int run_planned(struct lle_ctx *ctx, struct lle_run_opts *o0, int prompts_only);
static int run_args(struct lle_ctx *ctx, const struct lle_cmd *c, const struct option *opts, int argc, char **argv);

/* --config FILE: the options of a YAML file as arguments before the command
 * line's (lm-evaluation-harness's --config: its keys are option names, in
 * either spelling; an option the command line gives wins). */
struct config_argv {
	char **argv;              /* argv[0], the file's options, the rest of the command line */
	int argc;
	char **own;               /* the strings made from the file */
	size_t nown;
};

static void config_argv_free(struct config_argv *ca)
{
	for (size_t i = 0; i < ca->nown; i++)
		free(ca->own[i]);
	free(ca->own);
	free(ca->argv);
	memset(ca, 0, sizeof(*ca));
}

/* Whether the command line gives option name (either spelling). */
static int cli_has(int argc, char **argv, const char *name)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || a[1] != '-')
			continue;
		a += 2;
		size_t k = 0;
		while (name[k] && a[k] && (a[k] == name[k] || (a[k] == '_' && name[k] == '-')))
			k++;
		if (!name[k] && (!a[k] || a[k] == '='))
			return 1;
	}
	return 0;
}

/* A value of the file as option text: a scalar as it is, a list joined
 * with ',', a map as k=v,k=v (model_args, gen_kwargs). NULL: not one. */
static char *config_value(const struct lle_node *v)
{
	struct lle_buf b = LLE_BUF_INIT;
	if (v->kind == LLE_NODE_SCALAR) {
		lle_buf_adds(&b, v->str);
	} else {
		for (size_t i = 0; i < v->n; i++) {
			const struct lle_node *x = v->items[i];
			if (x->kind != LLE_NODE_SCALAR) {
				lle_buf_free(&b);
				return NULL;
			}
			if (i)
				lle_buf_adds(&b, ",");
			if (v->kind == LLE_NODE_MAP)
				lle_buf_printf(&b, "%s=", v->keys[i]);
			lle_buf_adds(&b, x->str);
		}
	}
	if (b.oom) {
		lle_buf_free(&b);
		return NULL;
	}
	if (!b.n)
		lle_buf_adds(&b, "");
	return lle_buf_detach(&b);
}

/* "--NAME", or NULL. */
static char *dashdash(const char *name)
{
	size_t n = strlen(name);
	char *s = malloc(n + 3);
	if (s) {
		memcpy(s, "--", 2);
		memcpy(s + 2, name, n + 1);
	}
	return s;
}

static int config_own(struct config_argv *ca, char *s)
{
	char **n = realloc(ca->own, (ca->nown + 1) * sizeof(*n));
	if (!s || !n) {
		free(s);
		if (n)
			ca->own = n;
		return -1;
	}
	ca->own = n;
	ca->own[ca->nown++] = s;
	return 0;
}

static int with_config(const struct option *canon, int argc, char **argv, struct config_argv *ca)
{
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			path = argv[i + 1];
		else if (!strncmp(argv[i], "--config=", 9))
			path = argv[i] + 9;
	}
	if (!path)
		return 0;
	struct lle_err err = { 0 };
	struct lle_node *root = lle_yaml_load_file(path, 1u << 20, &err);
	if (!root) {
		lle_errorf("--config: %s", err.msg);
		return err.code ? err.code : LLE_EXIT_CONFIG;
	}
	int rc = 0;
	if (root->kind != LLE_NODE_MAP) {
		lle_errorf("%s:%d:%d: a config file is a map of run options, not %s", root->file, root->line,
			   root->col, lle_node_kind_name(root));
		rc = LLE_EXIT_CONFIG;
	}
	ca->argv = calloc((size_t)argc + 2 * (root->kind == LLE_NODE_MAP ? root->n : 0) + 1, sizeof(*ca->argv));
	if (!ca->argv && !rc) {
		lle_errorf("out of memory");
		rc = LLE_EXIT_INTERNAL;
	}
	int n = 0;
	if (!rc)
		ca->argv[n++] = argv[0];
	for (size_t i = 0; !rc && i < root->n; i++) {
		char name[64];
		snprintf(name, sizeof(name), "%s", root->keys[i]);
		for (char *p = name; *p; p++)
			if (*p == '_')
				*p = '-';
		const struct option *op = NULL;
		for (const struct option *x = canon; x->name && !op; x++)
			if (!strcmp(x->name, name) && x->val != OPT_CONFIG)
				op = x;
		const struct lle_node *v = root->items[i];
		if (!op) {
			lle_errorf("%s:%d:%d: '%s' is not an option of run", v->file, v->line, v->col, root->keys[i]);
			rc = LLE_EXIT_CONFIG;
			break;
		}
		if (cli_has(argc, argv, name) || lle_node_is_null(v))
			continue;
		if (op->has_arg == no_argument) {
			int b = lle_node_bool(v);
			if (b < 0) {
				lle_errorf("%s:%d:%d: '%s' is true or false, not %s", v->file, v->line, v->col,
					   root->keys[i], lle_node_kind_name(v));
				rc = LLE_EXIT_CONFIG;
			} else if (b) {
				if (config_own(ca, dashdash(name)) < 0)
					rc = LLE_EXIT_INTERNAL;
				else
					ca->argv[n++] = ca->own[ca->nown - 1];
			}
			continue;
		}
		char *val = config_value(v);
		if (!val) {
			lle_errorf("%s:%d:%d: '%s' takes a value, a list or a map of values", v->file, v->line, v->col,
				   root->keys[i]);
			rc = LLE_EXIT_CONFIG;
			break;
		}
		if (config_own(ca, dashdash(name)) < 0 || config_own(ca, val) < 0) {
			rc = LLE_EXIT_INTERNAL;
			break;
		}
		ca->argv[n++] = ca->own[ca->nown - 2];
		ca->argv[n++] = ca->own[ca->nown - 1];
	}
	lle_node_free(root);
	if (rc) {
		if (rc == LLE_EXIT_INTERNAL)
			lle_errorf("out of memory");
		config_argv_free(ca);
		return rc;
	}
	for (int i = 1; i < argc; i++)
		ca->argv[n++] = argv[i];
	ca->argc = n;
	return 0;
}

int lle_cmd_run(struct lle_ctx *ctx, int argc, char **argv)
{
	static const struct option canon[] = {
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
		{ "apply-chat-template", optional_argument, NULL, OPT_CHAT },
		{ "fewshot-as-multiturn", no_argument, NULL, OPT_MULTITURN },
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
		{ "allow-hook-network", no_argument, NULL, OPT_HOOK_NETWORK },
		{ "samples", required_argument, NULL, OPT_SAMPLES },
		{ "show-prompts", required_argument, NULL, OPT_SHOW_PROMPTS },
		{ "write-out", no_argument, NULL, OPT_WRITE_OUT },
		{ "metadata", required_argument, NULL, OPT_METADATA },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "predict-only", no_argument, NULL, OPT_PREDICT_ONLY },
		{ "offline", no_argument, NULL, OPT_OFFLINE },
		{ NULL, 0, NULL, 0 },
	};
	const struct lle_cmd *c = ctx->cmd;
	const struct option *opts = with_underscores(canon);
	if (!opts) {
		lle_errorf("internal error: run's option table is too large");
		return LLE_EXIT_INTERNAL;
	}
	struct config_argv cfg = { 0 };
	int crc = with_config(canon, argc, argv, &cfg);
	if (crc)
		return crc;
	if (cfg.argv) {
		argc = cfg.argc;
		argv = cfg.argv;
	}
	int rc = run_args(ctx, c, opts, argc, argv);
	config_argv_free(&cfg);
	return rc;
}

static int run_args(struct lle_ctx *ctx, const struct lle_cmd *c, const struct option *opts, int argc, char **argv)
{
	const char *models[64], *tasks[256], *margs[64], *smargs[64];
	size_t nsmargs = 0;
	int prompts_only = 0, write_out = 0, offline = 0;
	struct lle_run_opts o = lle_run_opts_default();
	o.models = models;
	o.tasks = tasks;
	o.model_args = margs;
	int opt;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, SHORT_OPTS, opts, NULL)) != -1) {
		long v = 0;
		struct lle_err err = { 0 };
		switch (opt) {
		case OPT_MODEL:
		case 'm':
			if (o.nmodels == 64)
				return lle_cmd_usage_error(c, "too many --model options");
			models[o.nmodels++] = optarg;
			break;
		case OPT_MODEL_PATH: o.model_path = optarg; break;
		case OPT_BACKEND: o.backend = optarg; break;
		case OPT_MODEL_ARGS:
		case 'a':
			if (o.nmodel_args == 64)
				return lle_cmd_usage_error(c, "too many --model-args options");
			margs[o.nmodel_args++] = optarg;
			break;
		case OPT_MODEL_DIR: o.model_dir = optarg; break;
		case OPT_TASKS:
		case 't':
			if (o.ntasks == 256)
				return lle_cmd_usage_error(c, "too many --tasks options");
			tasks[o.ntasks++] = optarg;
			break;
		case OPT_CATEGORY: o.category = optarg; break;
		case OPT_LIMIT:
		case 'L': {
			char *end;
			double d = strtod(optarg, &end);
			if (!*optarg || *end || !(d > 0) || (d > 1 && d != (double)(long)d))
				return lle_cmd_usage_error(c, "--limit takes a number of documents (>= 1) or a fraction (0 < F < 1), not '%s'",
							   optarg);
			o.limit = d;
			break;
		}
		case OPT_FEWSHOT:
		case 'f':
			if (parse_long(c, "--num-fewshot", optarg, 0, &o.num_fewshot))
				return LLE_EXIT_USAGE;
			break;
		case OPT_SEED:
			if (strchr(optarg, ',')) {
				if (parse_harness_seeds(c, optarg, &o.seed, &o.fewshot_seed))
					return LLE_EXIT_USAGE;
			} else if (parse_long(c, "--seed", optarg, 0, &o.seed)) {
				return LLE_EXIT_USAGE;
			}
			break;
		case OPT_FEWSHOT_SEED:
			if (parse_long(c, "--fewshot-seed", optarg, 0, &o.fewshot_seed))
				return LLE_EXIT_USAGE;
			break;
		case OPT_CHAT:
			o.apply_chat_template = 1;
			o.chat_template = optarg; /* NAME or FILE; NULL: the model's */
			break;
		case OPT_MULTITURN: o.fewshot_as_multiturn = 1; break;
		case OPT_SYSTEM: o.system_instruction = optarg; break;
		case OPT_GEN: o.gen_kwargs = optarg; break;
		case OPT_BATCH:
		case 'b':
			/* The harness's "auto" and "auto:N" pick the largest batch that
			 * fits; here results never depend on it: the default. */
			if (strcmp(optarg, "auto") == 0 || strncmp(optarg, "auto:", 5) == 0)
				o.batch_size = 0;
			else if (parse_long(c, "--batch-size", optarg, 1, &o.batch_size))
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
		case OPT_OUTPUT:
		case 'o': o.output_dir = optarg; break;
		case OPT_LOG:
		case 's': o.log_samples = 1; break;
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
			if (strncmp(optarg, "auto", 4) == 0) {
				if (auto_shard(c, optarg, &o.shard_i, &o.shard_n))
					return LLE_EXIT_USAGE;
			} else if (parse_shard(optarg, &o.shard_i, &o.shard_n) < 0)
				return lle_cmd_usage_error(c, "--shard takes i/N with 0 <= i < N (e.g. 0/4), not '%s'", optarg);
			break;
		case OPT_WEAK_SANDBOX: o.allow_weak_sandbox = 1; break;
		case OPT_HOOK_NETWORK: o.allow_hook_network = 1; break;
		case OPT_SAMPLES:
			if (nsmargs == sizeof(smargs) / sizeof(smargs[0]))
				return lle_cmd_usage_error(c, "option '--samples': too many (at most %zu)", nsmargs);
			smargs[nsmargs++] = optarg;
			break;
		case OPT_SHOW_PROMPTS:
			if (parse_long(c, "--show-prompts", optarg, 1, &v))
				return LLE_EXIT_USAGE;
			o.show_prompts = v;
			o.prompts_only = prompts_only = 1;
			break;
		case OPT_WRITE_OUT:
		case 'w':
			write_out = 1;
			break;
		case OPT_METADATA: o.metadata = optarg; break;
		case OPT_CONFIG: break; /* read before (with_config) */
		case OPT_PREDICT_ONLY:
		case 'x':
			/* the harness's --predict_only implies --log_samples */
			o.predict_only = o.log_samples = 1;
			break;
		case OPT_OFFLINE: offline = 1; break;
		case OPT_MONINT: {
			unsigned ms;
			if (lle_monitor_parse_interval("--monitor-interval", optarg, &ms, &err) < 0)
				return lle_cmd_usage_error(c, "%s", err.msg);
			o.monitor_interval_ms = ms;
			break;
		}
		case ':': {
			/* A value is missing: a long option is the last argument. */
			char sh[3] = { '-', (char)optopt, '\0' };
			return lle_cmd_usage_error(c, "option '%s' needs a value", optopt >= 256 ? argv[argc - 1] : sh);
		}
		default: {
			char sh[3] = { '-', (char)optopt, '\0' };
			if (optopt >= 256) /* --flag=VALUE for a flag */
				return lle_cmd_usage_error(c, "option '%s' takes no value", argv[optind - 1]);
			/* An unknown short option is one letter of an argument. */
			return lle_cmd_unknown_option(c, optopt ? sh : argv[optind - 1]);
		}
		}
	}
	if (optind < argc)
		return lle_cmd_usage_error(c, "unexpected argument '%s'", argv[optind]);
	if (o.nmodels == 0 && !o.model_path && !o.category && !prompts_only)
		return lle_cmd_usage_error(c, "give --model NAME, --model-path FILE.gguf or --category NAME");
	if (nsmargs && o.limit > 0)
		return lle_cmd_usage_error(c, "--samples and --limit exclude each other (as in lm-evaluation-harness)");
	if (o.metadata) {
		json_error_t je;
		json_t *j = json_loads(o.metadata, JSON_REJECT_DUPLICATES, &je);
		int ok = json_is_object(j);
		json_decref(j);
		if (!ok)
			return lle_cmd_usage_error(c, "option '--metadata' takes a JSON object, not '%s'", o.metadata);
	}
	if (write_out && !prompts_only)
		o.show_prompts = 1; /* the harness's --write_out: the first document's prompts, then the run */
	if (o.show_prompts) {
		o.on_prompt = print_prompt;
		o.on_prompt_user = prompts_only ? stdout : stderr;
	}
	if (o.ntasks == 0 && !o.category)
		return lle_cmd_usage_error(c, "give --tasks NAME[,NAME...] or --category NAME");
	if (o.predict_only && !o.output_dir)
		return lle_cmd_usage_error(c, "--predict-only needs --output DIR (the predictions are the sample logs)");
	if (o.predict_only && o.shard_n > 0)
		return lle_cmd_usage_error(c, "--predict-only and --shard exclude each other (`llm-eval merge` "
					      "aggregates metrics, which a predict-only run has none of)");
	if (o.log_samples && !o.output_dir)
		return lle_cmd_usage_error(c, "--log-samples needs --output DIR");
	if (o.cache_path && o.no_cache)
		return lle_cmd_usage_error(c, "--cache and --no-cache exclude each other");
	if (o.store_path && o.no_store)
		return lle_cmd_usage_error(c, "--store and --no-store exclude each other");
	if (o.shard_n > 0 && !o.output_dir)
		return lle_cmd_usage_error(c, "--shard needs --output DIR (`llm-eval merge` reads the shards from there)");

	struct samples sm = { 0 };
	for (size_t i = 0; i < nsmargs; i++) {
		int r = parse_samples(c, smargs[i], &sm);
		if (r != 0) {
			samples_free(&sm);
			return r < 0 ? LLE_EXIT_INTERNAL : r;
		}
	}
	if (offline) {
		/* HF_HUB_OFFLINE=1 for this run: the Hub cache only (data/hub.h) */
		struct lle_hub_cfg hc = { 1, NULL, NULL };
		lle_hub_configure(&hc);
	}
	o.samples = sm.v;
	o.nsamples = sm.n;
	int rc = run_planned(ctx, &o, prompts_only);
	samples_free(&sm);
	return rc;
}

/* Everything after the options: registry, plan, run (or the prompts). */
static int run_planned(struct lle_ctx *ctx, struct lle_run_opts *o0, int prompts_only)
{
	struct lle_run_opts o = *o0;
	int rc = 0;
	struct lle_registry *reg = lle_cli_registry(ctx, (1u << LLE_REG_MODELS) | (1u << LLE_REG_TASKS) |
						   (o.category ? 1u << LLE_REG_CATEGORIES : 0), &rc);
	if (!reg)
		return rc;
	lle_cli_registry_warnings(reg);
	/* A mistyped category would plan nothing ("has no models"): say so, as
	 * `list --category` does. Trees without categories skip the check. */
	if (o.category && lle_registry_count(reg, LLE_REG_CATEGORIES) > 0 &&
	    !lle_registry_find(reg, LLE_REG_CATEGORIES, o.category, NULL)) {
		const char *near = lle_registry_suggest(reg, LLE_REG_CATEGORIES, o.category);
		if (near)
			lle_errorf("unknown category '%s' (did you mean '%s'?)", o.category, near);
		else
			lle_errorf("unknown category '%s' (see 'llm-eval list categories')", o.category);
		lle_registry_free(reg);
		return LLE_EXIT_CONFIG;
	}
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
	if (prompts_only) {
		rc = lle_run_prompts(plan, &o, &err);
		if (rc)
			lle_errorf("%s", err.msg);
		lle_plan_free(plan);
		lle_registry_free(reg);
		return rc;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	struct lle_run_outcome outcome = { 0 };
	o.outcome = &outcome;
	rc = lle_run_execute(plan, &o, &err);
	if (rc != LLE_EXIT_OK && rc != LLE_EXIT_EVAL && rc != LLE_EXIT_INTERRUPTED)
		lle_errorf("%s", err.msg);
	else if (rc == LLE_EXIT_INTERRUPTED && outcome.tasks_done == 0 && !outcome.incomplete)
		lle_warnf("interrupted before any task finished: no results were written; "
			  "run the same command again to start over");
	else if (rc == LLE_EXIT_INTERRUPTED)
		lle_warnf("interrupted: finished tasks are written; run the same command again to redo the rest");
	else if (rc == LLE_EXIT_EVAL && err.msg[0])
		lle_errorf("%s", err.msg); /* --on-error stop */
	else if (rc == LLE_EXIT_EVAL)
		lle_warnf("some documents failed (see the errors above); the scores cover the others");
	say_kept(&outcome);
	lle_run_outcome_free(&outcome);
	lle_plan_free(plan);
	lle_registry_free(reg);
	return rc;
}
