/* Benchmark driver for the data and task layers (built and run by
 * bench/tasks.sh). One mode per process so peak memory is the mode's own:
 *   read-mmlu DATA        stream MMLU's 14,042 test questions (the baseline)
 *   prompts-mmlu DATA     build every 5-shot MMLU prompt and continuation,
 *                         subject by subject, as a run would
 *   prompts-gsm8k DATA    build GSM8K's 1,319 5-shot prompts (seeded sampler)
 *   score-gsm8k DATA      prompts plus both filters and exact_match on a
 *                         canned response per document
 *   bootstrap N ITERS     bootstrap stderr of a perplexity over N items
 * Prints one line: mode, wall seconds, documents, peak RSS in KiB, bytes of
 * prompts built, CPU seconds (user + system, process total). */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "data/dataset.h"
#include "data/yaml.h"
#include "tasks/task.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static long peak_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void die(const struct lle_err *e)
{
	fprintf(stderr, "error: %s\n", e->msg);
	exit(1);
}

static struct lle_task *task_from(const char *yaml)
{
	struct lle_err e = { 0 };
	struct lle_node *n = lle_yaml_load_mem(yaml, strlen(yaml), "bench.yaml", &e);
	if (!n)
		die(&e);
	struct lle_task *t = lle_task_from_node(n, &e);
	lle_node_free(n);
	if (!t)
		die(&e);
	return t;
}

/* Streams one split through build (and optionally scoring). */
static long run_split(struct lle_task *t, const struct lle_data_dir *dd, long k, int score, size_t *bytes)
{
	struct lle_err e = { 0 };
	struct lle_fewshot *fs = lle_fewshot_open(t, dd, k, LLE_FEWSHOT_SEED, &e);
	if (!fs)
		die(&e);
	char *p = lle_task_split_path(t, t->test_split, dd, 1, &e);
	if (!p)
		die(&e);
	struct lle_ds *ds = lle_ds_open(p, &e);
	free(p);
	if (!ds)
		die(&e);
	struct lle_task_agg *agg = lle_task_agg_new(t);
	struct lle_item items[16];
	json_t *doc, *resp = json_pack("[s]", "Let me think... so the answer is $1,234.\n#### 1,234");
	long n = 0;
	int r;
	while ((r = lle_ds_next(ds, &doc, &e)) == 1) {
		struct lle_requests rq;
		if (lle_task_process_doc(t, doc, (size_t)n, &e) < 0 ||
		    lle_task_build(t, fs, doc, (size_t)n, NULL, &rq, &e) < 0)
			die(&e);
		*bytes += strlen(rq.context);
		for (size_t i = 0; i < rq.ncont; i++)
			*bytes += strlen(rq.continuations[i]);
		if (score) {
			if (lle_task_score_generated(t, &rq, doc, resp, NULL, items, &e) < 0)
				die(&e);
			lle_task_agg_add(agg, items);
		}
		lle_requests_free(&rq);
		json_decref(doc);
		n++;
	}
	if (r < 0)
		die(&e);
	if (score) {
		struct lle_metric_result *res;
		size_t nres;
		if (lle_task_agg_results(agg, 0, &res, &nres, &e) < 0)
			die(&e);
		free(res);
	}
	json_decref(resp);
	lle_task_agg_free(agg);
	lle_ds_close(ds);
	lle_fewshot_free(fs);
	return n;
}

static const char *k_mmlu =
	"task: mmlu_%s\ndata_files: {test: mmlu/test/%s_test.csv, dev: mmlu/dev/%s_dev.csv}\n"
	"test_split: test\nfewshot_split: dev\nfewshot_config: {sampler: first_n}\n"
	"process_docs: choices_from_columns\noutput_type: multiple_choice\n"
	"doc_to_text: \"{{question.strip()}}\\nA. {{choices[0]}}\\nB. {{choices[1]}}\\nC. {{choices[2]}}\\nD. "
	"{{choices[3]}}\\nAnswer:\"\n"
	"doc_to_choice: [\"A\", \"B\", \"C\", \"D\"]\ndoc_to_target: answer\n"
	"description: \"The following are multiple choice questions (with answers) about %s.\\n\\n\"\n"
	"num_fewshot: 5\nmetric_list: [{metric: acc}]\n";

static const char *k_gsm8k =
	"task: gsm8k\ndata_files: {test: gsm8k/test.jsonl, train: gsm8k/train.jsonl}\n"
	"test_split: test\nfewshot_split: train\n"
	"doc_to_text: \"Question: {{question}}\\nAnswer:\"\ndoc_to_target: \"{{answer}}\"\n"
	"num_fewshot: 5\ngeneration_kwargs: {until: [\"Question:\"]}\n"
	"metric_list: [{metric: exact_match, ignore_case: true, regexes_to_ignore: [\",\", \"\\\\$\", "
	"\"(?s).*#### \", \"\\\\.$\"]}]\n"
	"filter_list:\n"
	"  - {name: strict-match, filter: [{function: regex, regex_pattern: \"#### (\\\\-?[0-9\\\\.\\\\,]+)\"}, "
	"{function: take_first}]}\n"
	"  - {name: flexible-extract, filter: [{function: regex, group_select: -1, "
	"regex_pattern: \"(-?[$0-9.,]{2,})|(-?[0-9]+)\"}, {function: take_first}]}\n";

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: tasks_driver MODE ARG...\n");
		return 2;
	}
	const char *mode = argv[1];
	struct lle_data_dir dd = { argv[2], "--data-dir" };
	struct lle_err e = { 0 };
	long n = 0;
	size_t bytes = 0;
	double t0 = now();
	if (!strcmp(mode, "read-mmlu")) {
		char pat[1024];
		snprintf(pat, sizeof(pat), "%s/mmlu/test/*_test.csv", argv[2]);
		n = lle_ds_count(pat, &e);
		if (n < 0)
			die(&e);
	} else if (!strcmp(mode, "prompts-mmlu")) {
		char pat[1024];
		snprintf(pat, sizeof(pat), "%s/mmlu/test/*_test.csv", argv[2]);
		glob_t g;
		if (glob(pat, 0, NULL, &g) != 0) {
			fprintf(stderr, "error: no MMLU files under %s\n", argv[2]);
			return 1;
		}
		for (size_t i = 0; i < g.gl_pathc; i++) {
			const char *base = strrchr(g.gl_pathv[i], '/') + 1;
			char subj[256], pretty[256], yaml[4096];
			snprintf(subj, sizeof(subj), "%.*s", (int)(strlen(base) - strlen("_test.csv")), base);
			snprintf(pretty, sizeof(pretty), "%s", subj);
			for (char *c = pretty; *c; c++)
				if (*c == '_')
					*c = ' ';
			snprintf(yaml, sizeof(yaml), k_mmlu, subj, subj, subj, pretty);
			struct lle_task *t = task_from(yaml);
			n += run_split(t, &dd, 5, 0, &bytes);
			lle_task_free(t);
		}
		globfree(&g);
	} else if (!strcmp(mode, "prompts-gsm8k") || !strcmp(mode, "score-gsm8k")) {
		struct lle_task *t = task_from(k_gsm8k);
		n = run_split(t, &dd, 5, mode[0] == 's', &bytes);
		lle_task_free(t);
	} else if (!strcmp(mode, "bootstrap")) {
		size_t items = (size_t)atol(argv[2]);
		long iters = argc > 3 ? atol(argv[3]) : 1000;
		struct lle_item *v = malloc(items * sizeof(*v));
		for (size_t i = 0; i < items; i++)
			v[i].x = -1.0 - (double)(i % 7) / 3, v[i].w = 0;
		double se = lle_agg_stderr(LLE_AGG_PERPLEXITY, v, items, iters);
		free(v);
		n = (long)items * iters;
		if (se != se)
			return 1;
	} else {
		fprintf(stderr, "unknown mode '%s'\n", mode);
		return 2;
	}
	double dt = now() - t0;
	printf("%s %.6f %ld %ld %zu %.6f\n", mode, dt, n, peak_kib(), bytes, cpu_s());
	return 0;
}
