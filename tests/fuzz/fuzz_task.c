/* Fuzz driver: a task's YAML to its requests and scores (src/data/yaml.c,
 * src/tasks/task.c and what it uses: templates, filters, metrics, few-shot
 * sampling).
 *
 * Input: the task's YAML text, then optionally a NUL byte and a JSON array of
 * documents (objects); without it, three fixed documents with the fields the
 * built-in tasks use. The driver parses the YAML, builds the task, and for
 * each document (up to 8) runs process_docs, builds the requests with
 * few-shot examples drawn from the other documents (plain and with the chat
 * messages), scores a made-up response and aggregates, as the run engine
 * does. Errors are normal outcomes; crashes, sanitizer reports and leaks
 * are findings. Code-execution metrics are never run here (the task scores
 * them through the run's code glue, which this driver does not call). */
#include <jansson.h>

#include "data/yaml.h"
#include "fuzz.h"
#include "run/figures.h"
#include "tasks/genargs.h"
#include "tasks/task.h"

static const char default_docs[] =
	"[{\"question\": \"What is 2+2?\", \"answer\": \"#### 4\", \"choices\": [\"3\", \"4\", \"5\"], \"label\": 1,"
	"  \"text\": \"one two\", \"gold\": 1, \"endings\": [\"a\", \"b\"], \"ctx\": \"c\"},"
	" {\"question\": \"Capital of France?\", \"answer\": \"#### 9\", \"choices\": [\"Paris\", \"Rome\"], \"label\": 0,"
	"  \"text\": \"three\", \"gold\": 0, \"endings\": [\"c\", \"d\"], \"ctx\": \"e\"},"
	" {\"question\": \"\", \"answer\": \"\", \"choices\": [\"x\"], \"label\": 0, \"text\": \"\", \"gold\": 0,"
	"  \"endings\": [\"\"], \"ctx\": \"\"}]";

static void run_doc(const struct lle_task *t, json_t *docs, size_t i, struct lle_task_agg *agg)
{
	struct lle_err err = { 0 };
	json_t *doc = json_deep_copy(json_array_get(docs, i));
	if (!doc || lle_task_process_doc(t, doc, i, &err) < 0) {
		json_decref(doc);
		return;
	}
	/* Few-shot examples from the documents, at most 2 (num_fewshot when smaller). */
	long k = t->num_fewshot < 2 ? t->num_fewshot : 2;
	if (k < 0)
		k = 0;
	struct lle_fewshot *fs = NULL;
	if (k > 0) {
		json_t *fdocs = json_deep_copy(docs);
		if (fdocs)
			fs = lle_fewshot_from_docs(t, fdocs, 1, k, LLE_FEWSHOT_SEED, &err);
	}
	struct lle_requests rq;
	memset(&rq, 0, sizeof(rq));
	struct lle_prompt_opts po = { .system_instruction = (i & 1) ? "Be brief." : NULL,
				      .apply_chat_template = (int)(i & 1), .fewshot_as_multiturn = (int)(i & 2) };
	if (lle_task_build(t, fs, doc, i, &po, &rq, &err) == 0) {
		size_t nitems = t->nfilters * t->nmetrics;
		struct lle_item *items = calloc(nitems ? nitems : 1, sizeof(*items));
		int scored = -1;
		if (items && t->output_type == LLE_OUT_GENERATE_UNTIL) {
			json_t *resps = json_array();
			for (long r = 0; resps && r < t->repeats && r < 4; r++)
				json_array_append_new(resps, json_string(r & 1 ? "The answer is 4." : "#### 4"));
			if (resps && (long)json_array_size(resps) == t->repeats) {
				json_t *filtered = NULL;
				scored = lle_task_score_generated(t, &rq, doc, resps, &filtered, items, &err);
				json_decref(filtered);
			}
			json_decref(resps);
		} else if (items) {
			size_t n = rq.ncont ? rq.ncont : 1;
			double *ll = malloc(n * sizeof(*ll));
			int *g = malloc(n * sizeof(*g));
			for (size_t c = 0; ll && g && c < n; c++) {
				ll[c] = -1.0 - (double)((c * 7 + i) % 5);
				g[c] = (int)(c % 2);
			}
			if (ll && g)
				scored = lle_task_score_loglik(t, &rq, ll, g, items, &err);
			free(ll);
			free(g);
		}
		if (scored == 0)
			lle_task_agg_add(agg, items);
		free(items);
	}
	lle_requests_free(&rq);
	lle_fewshot_free(fs);
	json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *yaml;
	const uint8_t *rest;
	size_t nrest;
	fuzz_split(data, size, &yaml, &rest, &nrest);
	json_t *docs = nrest ? json_loadb((const char *)rest, nrest, 0, NULL) : NULL;
	int ok = json_is_array(docs) && json_array_size(docs) > 0;
	for (size_t i = 0; ok && i < json_array_size(docs); i++)
		ok = json_is_object(json_array_get(docs, i));
	if (!ok) {
		json_decref(docs);
		docs = json_loads(default_docs, 0, NULL);
	}
	struct lle_err err = { 0 };
	struct lle_node *root = lle_yaml_load_mem(yaml, strlen(yaml), "fuzz.yaml", &err);
	struct lle_task *t = root ? lle_task_from_node(root, &err) : NULL;
	if (t) {
		/* A --gen-kwargs override, as `run --gen-kwargs` applies it. */
		if (t->output_type == LLE_OUT_GENERATE_UNTIL) {
			struct lle_gen_args ga = { 0 };
			struct lle_gen_params gp;
			if (lle_gen_args_parse(&ga, "max_gen_toks=16,until=Q:", &err) == 0)
				lle_gen_args_apply(&ga, t, &gp);
			lle_gen_args_fini(&ga);
		}
		struct lle_task_agg *agg = lle_task_agg_new(t);
		for (size_t i = 0; agg && i < json_array_size(docs) && i < 8; i++)
			run_doc(t, docs, i, agg);
		if (agg && lle_task_agg_count(agg) > 0) {
			struct lle_metric_result *res = NULL;
			size_t nres = 0;
			if (lle_task_agg_results(agg, 10, &res, &nres, &err) == 0) {
				/* as the run records them for its results file */
				struct lle_figures fig = { 0 };
				for (size_t r = 0; r < nres; r++)
					if (lle_figures_add(&fig, t->name, res[r].metric, res[r].filter, res[r].value,
							    res[r].stderr_, res[r].n, res[r].higher_is_better) < 0)
						break;
				lle_figures_free(&fig);
			}
			free(res);
		}
		lle_task_agg_free(agg);
		lle_task_free(t);
	}
	lle_node_free(root);
	json_decref(docs);
	free(yaml);
	return 0;
}
