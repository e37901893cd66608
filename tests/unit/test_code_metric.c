/* The code_exec metric of a task config: one pass@K metric per k sharing one
 * config, its options and errors, the program template over the document
 * plus the completion, and the task layer leaving pass@k items to the run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tasks/code_metric.h"
#include "tasks/task.h"
#include "tasks/template.h"

static struct lle_task *task_from_text(const char *yaml, struct lle_err *e)
{
	struct lle_node *n = lle_yaml_load_mem(yaml, strlen(yaml), "t.yaml", e);
	if (!n)
		return NULL;
	struct lle_task *t = lle_task_from_node(n, e);
	lle_node_free(n);
	return t;
}

#define HEAD "task: c\noutput_type: generate_until\ndoc_to_text: '{{prompt}}'\ndoc_to_target: '{{test}}'\n"

TEST(one_metric_per_k)
{
	struct lle_err e = { 0 };
	struct lle_task *t = task_from_text(HEAD "repeats: 10\nmetric_list:\n"
					    "  - metric: exact_match\n"
					    "  - metric: code_exec\n    k: [1, 10]\n    timeout_s: 2.5\n"
					    "    memory_mb: 256\n    program: '{{prompt}}{{completion}}'\n", &e);
	CHECK(t != NULL);
	if (!t) {
		printf("# %s\n", e.msg);
		return;
	}
	CHECK_INTEQ(t->nmetrics, 3);
	CHECK_STREQ(t->metrics[1].name, "pass@1");
	CHECK_STREQ(t->metrics[2].name, "pass@10");
	CHECK(t->metrics[1].kind == LLE_M_PASS_AT_K && t->metrics[2].kind == LLE_M_PASS_AT_K);
	CHECK_INTEQ(t->metrics[1].pass_k, 1);
	CHECK_INTEQ(t->metrics[2].pass_k, 10);
	CHECK(t->metrics[1].agg == LLE_AGG_MEAN && t->metrics[1].higher_is_better);
	const struct lle_code_cfg *c = t->metrics[1].code;
	CHECK(c != NULL && c == t->metrics[2].code);
	if (c) {
		CHECK_INTEQ(c->refs, 2);
		CHECK_STREQ(c->interpreter, "python3");
		CHECK(!c->raw);
		CHECK_NEAR(c->timeout_s, 2.5, 0);
		CHECK_INTEQ(c->memory_mb, 256);
	}
	lle_task_free(t);
}

TEST(defaults_and_other_interpreters)
{
	struct lle_err e = { 0 };
	struct lle_task *t = task_from_text(HEAD "metric_list:\n  - metric: code_exec\n"
					    "    interpreter: /usr/bin/node\n    program: '{{completion}}'\n", &e);
	CHECK(t != NULL);
	if (!t)
		return;
	CHECK_INTEQ(t->nmetrics, 1);
	CHECK_STREQ(t->metrics[0].name, "pass@1");
	CHECK(t->metrics[0].code->raw); /* not Python: no sentinel line */
	CHECK_NEAR(t->metrics[0].code->timeout_s, 10, 0);
	CHECK_INTEQ(t->metrics[0].code->memory_mb, 1024);
	lle_task_free(t);
}

TEST(program_renders_doc_and_completion)
{
	struct lle_err e = { 0 };
	struct lle_task *t = task_from_text(HEAD "metric_list:\n  - metric: code_exec\n"
					    "    program: \"{{prompt}}{{completion}}\\n{{test}}\\ncheck({{entry_point}})\"\n",
					    &e);
	CHECK(t != NULL);
	if (!t)
		return;
	json_t *doc = json_pack("{s:s,s:s,s:s}", "prompt", "def f():\n", "test", "def check(c):\n    assert c() == 1",
				"entry_point", "f");
	char *p = lle_code_program(t->metrics[0].code, doc, "    return 1", "w", &e);
	CHECK(p != NULL);
	if (p)
		CHECK_STREQ(p, "def f():\n    return 1\ndef check(c):\n    assert c() == 1\ncheck(f)");
	free(p);
	/* the document is not changed */
	CHECK(json_object_get(doc, "completion") == NULL);
	json_t *bad = json_pack("{s:s}", "prompt", "x");
	CHECK(lle_code_program(t->metrics[0].code, bad, "", "task 'c': doc 3: program", &e) == NULL);
	CHECK(strstr(e.msg, "task 'c': doc 3: program") != NULL);
	CHECK(strstr(e.msg, "missing field 'test'") != NULL);
	json_decref(bad);
	json_decref(doc);
	lle_task_free(t);
}

TEST(scoring_leaves_pass_at_k_to_the_run)
{
	struct lle_err e = { 0 };
	struct lle_task *t = task_from_text(HEAD "metric_list:\n  - metric: exact_match\n"
					    "  - metric: code_exec\n    program: '{{completion}}'\n", &e);
	CHECK(t != NULL);
	if (!t)
		return;
	json_t *doc = json_pack("{s:s,s:s}", "prompt", "p", "test", "x");
	struct lle_requests rq;
	CHECK_INTEQ(lle_task_build(t, NULL, doc, 0, NULL, &rq, &e), 0);
	json_t *resps = json_pack("[s]", "x");
	struct lle_item items[2] = { { .x = 5, .w = 5 }, { .x = 5, .w = 5 } };
	CHECK_INTEQ(lle_task_score_generated(t, &rq, NULL, resps, NULL, items, &e), 0);
	CHECK_NEAR(items[0].x, 1.0, 0);
	CHECK(isnan(items[1].x));
	json_decref(resps);
	lle_requests_free(&rq);
	json_decref(doc);
	lle_task_free(t);
}

TEST(errors)
{
	static const struct { const char *yaml, *msg; } cases[] = {
		{ HEAD "metric_list:\n  - metric: code_exec\n    k: [1, 5]\n    program: x\n",
		  "t.yaml:7:12: task 'c': metric 'code_exec': pass@5 needs at least 5 completions per problem, "
		  "but 'repeats' is 1" },
		{ HEAD "repeats: 4\nmetric_list:\n  - metric: code_exec\n    k: [2, 2]\n    program: x\n",
		  "t.yaml:8:12: task 'c': metric 'code_exec': 'k' lists the same value twice" },
		{ HEAD "metric_list:\n  - metric: code_exec\n    k: 0\n    program: x\n",
		  "t.yaml:7:8: task 'c': metric 'code_exec': 'k' must be a positive integer or a list of them" },
		{ HEAD "metric_list:\n  - metric: code_exec\n    k: one\n    program: x\n",
		  "t.yaml:7:8: task 'c': metric 'code_exec': 'k' must be a positive integer or a list of them" },
		{ HEAD "metric_list:\n  - metric: code_exec\n",
		  "t.yaml:6:5: task 'c': metric 'code_exec': needs 'program', a template over the document's "
		  "fields and 'completion'" },
		{ HEAD "metric_list:\n  - metric: code_exec\n    program: x\n    timeout_s: 0\n",
		  "t.yaml:8:16: task 'c': metric 'code_exec': 'timeout_s' must be a number of seconds above 0 "
		  "(at most 3600)" },
		{ HEAD "metric_list:\n  - metric: code_exec\n    program: x\n    memory_mb: 8\n",
		  "t.yaml:8:16: task 'c': metric 'code_exec': 'memory_mb' must be an integer from 16 to 1048576" },
		{ HEAD "metric_list:\n  - metric: code_exec\n    program: x\n    aggregation: median\n",
		  "t.yaml:8:18: task 'c': metric 'code_exec': the only aggregation of pass@k is 'mean'" },
		{ HEAD "metric_list:\n  - metric: code_exec\n    program: x\n    interpeter: python3\n",
		  "t.yaml:8:17: task 'c': unknown option 'interpeter' for metric 'code_exec' (known: aggregation, "
		  "higher_is_better, k, interpreter, program, timeout_s, memory_mb)" },
		{ HEAD "metric_list:\n  - metric: code_exec\n    program: '{{completion | nope}}'\n",
		  "t.yaml:7:14: task 'c': program: at character 16: unsupported filter 'nope'" },
		{ "task: c\noutput_type: loglikelihood\ndoc_to_text: q\ndoc_to_target: a\nmetric_list:\n"
		  "  - metric: code_exec\n    program: x\n",
		  "t.yaml:6:13: task 'c': metric 'code_exec': applies only to output_type 'generate_until'" },
		{ HEAD "repeats: 2\nmetric_list:\n  - metric: code_exec\n    k: [1]\n    program: x\n"
		  "  - metric: code_exec\n    k: [1, 2]\n    program: y\n",
		  "t.yaml:10:5: task 'c': metric_list: duplicate metric 'pass@1'" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lle_err e = { 0 };
		struct lle_task *t = task_from_text(cases[i].yaml, &e);
		CHECK(t == NULL);
		CHECK_INTEQ(e.code, LLE_EXIT_CONFIG);
		CHECK_STREQ(e.msg, cases[i].msg);
		lle_task_free(t);
	}
}

int main(void)
{
	RUN(one_metric_per_k);
	RUN(defaults_and_other_interpreters);
	RUN(program_renders_doc_and_completion);
	RUN(scoring_leaves_pass_at_k_to_the_run);
	RUN(errors);
	return check_done();
}
