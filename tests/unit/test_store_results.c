/* Results JSON reading (both writers' layouts), the run store round trip, and
 * the numbers reports and comparisons compute (category averages, combined
 * standard errors), each worked out by hand in the test. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "store/report.h"
#include "store/results.h"
#include "store/runstore.h"

#define FIX "tests/fixtures/results/"

static const struct lle_result_row *row(const struct lle_run_record *r, const char *task, const char *metric,
					const char *filter)
{
	for (size_t i = 0; i < r->n_rows; i++)
		if (!strcmp(r->rows[i].task, task) && !strcmp(r->rows[i].metric, metric) &&
		    !strcmp(r->rows[i].filter, filter))
			return &r->rows[i];
	return NULL;
}

TEST(lm_eval_harness_layout)
{
	struct lle_run_record r;
	struct lle_err e = { 0 };
	CHECK(lle_results_load(FIX "lmeval_pythia-160m.json", &r, &e) == 0);
	if (e.code) {
		printf("# %s\n", e.msg);
		return;
	}
	CHECK_STREQ(r.model, "EleutherAI/pythia-160m");
	CHECK_STREQ(r.source, "lm-evaluation-harness");
	CHECK_STREQ(r.model_args, "pretrained=EleutherAI/pythia-160m,dtype=float16");
	CHECK_STREQ(r.date, "2024-11-28T00:00:00Z"); /* 1732752000 */
	CHECK_NEAR(r.total_seconds, 735.7506313929998, 1e-9); /* written as a string */
	CHECK(r.hardware && strncmp(r.hardware, "PyTorch version", 15) == 0);
	CHECK(strlen(r.uid) == 16);
	CHECK_INTEQ(r.n_rows, 10); /* arc_challenge 2, arc_easy 2, gsm8k 2, mmlu 1 + 3 subjects */
	const struct lle_result_row *g = row(&r, "gsm8k", "exact_match", "flexible-extract");
	CHECK(g && g->has_stderr && g->n == 1319 && g->higher_is_better == 1 && g->n_shot == 5 && !g->is_group);
	CHECK(g && fabs(g->value - 0.02122820318423048) < 1e-17 && fabs(g->stderr_ - 0.003970449129848635) < 1e-17);
	const struct lle_result_row *a = row(&r, "mmlu_astronomy", "acc", "none");
	CHECK(a && !a->has_stderr && a->has_value); /* "N/A" */
	CHECK(a && a->parent && !strcmp(a->parent, "mmlu") && a->alias && !strcmp(a->alias, " - astronomy"));
	const struct lle_result_row *m = row(&r, "mmlu", "acc", "none");
	CHECK(m && m->is_group && !m->parent && m->n == -1);
	CHECK(r.config_json && strstr(r.config_json, "\"fewshot_seed\":1234"));
	CHECK(r.versions_json && strstr(r.versions_json, "\"git_hash\":\"4e44f0a\""));
	lle_run_record_free(&r);
}

TEST(older_layout_and_llm_eval)
{
	struct lle_run_record r;
	struct lle_err e = { 0 };
	CHECK(lle_results_load(FIX "lmeval-old_pythia-410m.json", &r, &e) == 0);
	CHECK_STREQ(r.model, "EleutherAI/pythia-410m"); /* from model_args: no model_name */
	CHECK(r.date == NULL && r.total_seconds < 0);
	const struct lle_result_row *g = row(&r, "gsm8k", "exact_match", "flexible-extract");
	CHECK(g && !g->has_stderr && g->n == -1 && g->higher_is_better == -1); /* no n-samples, no higher_is_better */
	lle_run_record_free(&r);

	CHECK(lle_results_load(FIX "llmeval_qwen2.5-0.5b.json", &r, &e) == 0);
	CHECK_STREQ(r.source, "llm-eval");
	CHECK_STREQ(r.model, "qwen25_05b_instruct");
	CHECK_STREQ(r.date, "2026-11-27T22:15:03Z");
	const struct lle_result_row *m = row(&r, "mmlu", "acc", "none");
	CHECK(m && m->category && !strcmp(m->category, "knowledge")); /* from its members */
	g = row(&r, "gsm8k", "exact_match", "strict-match");
	CHECK(g && g->category && !strcmp(g->category, "mathematics"));
	CHECK(r.hardware && strstr(r.hardware, "EPYC"));
	lle_run_record_free(&r);
}

TEST(bad_files)
{
	struct lle_run_record r;
	struct lle_err e = { 0 };
	const char *bad = "{\"results\": {\"a\": {\"acc,none\": 0.5,}}}";
	CHECK(lle_results_parse(bad, strlen(bad), "x.json", &r, &e) < 0);
	CHECK(strncmp(e.msg, "x.json:1:", 9) == 0 && e.code == LLE_EXIT_DATA);
	const char *nores = "{\"config\": {}}";
	CHECK(lle_results_parse(nores, strlen(nores), "y.json", &r, &e) < 0);
	CHECK_STREQ(e.msg, "'y.json' is not a results file: it has no \"results\" object");
	const char *empty = "{\"results\": {\"a\": {\"alias\": \"a\"}}}";
	CHECK(lle_results_parse(empty, strlen(empty), "z.json", &r, &e) < 0);
	CHECK_STREQ(e.msg, "'z.json' has no scores in \"results\"");
	const char *dup = "{\"results\": {\"a\": {\"acc,none\": 0.5}}, \"results\": {}}";
	CHECK(lle_results_parse(dup, strlen(dup), "d.json", &r, &e) < 0);
	CHECK(lle_results_load("/nonexistent/r.json", &r, &e) < 0 && strstr(e.msg, "cannot open '/nonexistent/r.json'"));
	/* A 0.3-style key without a filter is read with filter "none". */
	const char *old = "{\"results\": {\"a\": {\"acc\": 0.5, \"acc_stderr\": 0.1}}}";
	CHECK(lle_results_parse(old, strlen(old), "o.json", &r, &e) == 0);
	CHECK(r.n_rows == 1 && !strcmp(r.rows[0].filter, "none") && r.rows[0].has_stderr && r.rows[0].stderr_ == 0.1);
	CHECK_STREQ(r.model, "unknown");
	lle_run_record_free(&r);
}

TEST(store_round_trip)
{
	char dir[] = "/tmp/lle-rs-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[128];
	snprintf(path, sizeof(path), "%s/sub/runs.sqlite", dir);
	struct lle_err e = { 0 };
	struct lle_runstore *rs = lle_runstore_open(path, 0, &e);
	CHECK(rs != NULL);
	if (!rs) {
		printf("# %s\n", e.msg);
		return;
	}
	struct lle_run_record in, out;
	CHECK(lle_results_load(FIX "lmeval_pythia-160m.json", &in, &e) == 0);
	long long id, id2;
	int existed;
	CHECK(lle_runstore_add(rs, &in, &id, &existed, &e) == 0 && !existed && id == 1);
	CHECK(lle_runstore_add(rs, &in, &id2, &existed, &e) == 0 && existed && id2 == id);
	CHECK(lle_runstore_get(rs, id, &out, &e) == 0);
	CHECK_INTEQ(out.n_rows, in.n_rows);
	int same = out.n_rows == in.n_rows;
	for (size_t i = 0; same && i < in.n_rows; i++) {
		const struct lle_result_row *a = &in.rows[i], *b = &out.rows[i];
		same = !strcmp(a->task, b->task) && !strcmp(a->metric, b->metric) && !strcmp(a->filter, b->filter) &&
		       a->value == b->value && a->has_stderr == b->has_stderr && a->stderr_ == b->stderr_ &&
		       a->n == b->n && a->is_group == b->is_group && a->higher_is_better == b->higher_is_better &&
		       !a->parent == !b->parent;
	}
	CHECK(same);
	CHECK_STREQ(out.uid, in.uid);
	CHECK_STREQ(out.config_json, in.config_json);
	CHECK(out.total_seconds == in.total_seconds);
	lle_run_record_free(&out);
	/* References: id, "last", a uid prefix; errors name the run. */
	long long got;
	CHECK(lle_runstore_resolve(rs, "1", &got, &e) == 0 && got == 1);
	CHECK(lle_runstore_resolve(rs, "last", &got, &e) == 0 && got == 1);
	char pre[8];
	snprintf(pre, sizeof(pre), "%.6s", in.uid);
	CHECK(lle_runstore_resolve(rs, pre, &got, &e) == 0 && got == 1);
	CHECK(lle_runstore_resolve(rs, "7", &got, &e) < 0 && strstr(e.msg, "no run '7'"));
	CHECK(lle_runstore_resolve(rs, "ab", &got, &e) < 0);
	lle_run_record_free(&in);
	CHECK(lle_results_load(FIX "llmeval_qwen2.5-0.5b.json", &in, &e) == 0);
	CHECK(lle_runstore_add(rs, &in, &id, &existed, &e) == 0 && id == 2);
	lle_run_record_free(&in);
	struct lle_run_record *list;
	long long *nres;
	size_t n;
	CHECK(lle_runstore_list(rs, &list, &n, &nres, &e) == 0 && n == 2);
	CHECK(n == 2 && nres[0] == 10 && nres[1] == 10 && list[1].id == 2);
	for (size_t i = 0; i < n; i++)
		lle_run_record_free(&list[i]);
	free(list);
	free(nres);
	CHECK(lle_runstore_delete(rs, 1, &e) == 0);
	CHECK(lle_runstore_get(rs, 1, &out, &e) < 0);
	CHECK(lle_runstore_delete(rs, 1, &e) < 0);
	lle_runstore_close(rs);
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

static int load3(struct lle_run_record r[3])
{
	struct lle_err e = { 0 };
	const char *f[3] = { FIX "llmeval_qwen2.5-0.5b.json", FIX "lmeval-old_pythia-410m.json",
			     FIX "lmeval_pythia-160m.json" };
	for (int i = 0; i < 3; i++) {
		if (lle_results_load(f[i], &r[i], &e) < 0) {
			printf("# %s\n", e.msg);
			return -1;
		}
		r[i].id = i + 1;
	}
	return 0;
}

TEST(report_numbers)
{
	struct lle_run_record r[3];
	if (load3(r) < 0) {
		CHECK(0);
		return;
	}
	struct lle_buf out = LLE_BUF_INIT;
	struct lle_err e = { 0 };
	struct lle_report_opts o = { .category = "reasoning" };
	CHECK(lle_report_write(&out, r, 3, &o, LLE_REPORT_CSV, &e) == 0);
	/* reasoning = arc_challenge and arc_easy (acc). For qwen:
	 *   mean (0.32593856655290104 + 0.6548821548821548) / 2 = 0.49041036071752792
	 *   se sqrt(0.013697432466693242^2 + 0.009755139387152025^2) / 2 = 0.0084081...
	 * pythia-410m has no arc_challenge: no average. */
	const char *q = strstr(lle_buf_str(&out), "\r\nqwen25_05b_instruct,");
	CHECK(q != NULL);
	if (q) {
		double v[6];
		CHECK(sscanf(q + 22, "%lf,%lf,%lf,%lf,%lf,%lf", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) == 6);
		CHECK_NEAR(v[0], 0.32593856655290104, 1e-15);
		CHECK_NEAR(v[4], 0.49041036071752792, 1e-15);
		CHECK_NEAR(v[5], sqrt(0.013697432466693242 * 0.013697432466693242 +
				      0.009755139387152025 * 0.009755139387152025) / 2, 1e-15);
		CHECK_NEAR(v[5], 0.0084081, 1e-7);
	}
	const char *p = strstr(lle_buf_str(&out), "\r\nEleutherAI/pythia-410m,,,0.5185");
	CHECK(p != NULL && strstr(p, ",,\r\n") != NULL); /* the empty average at the end of its line */
	lle_buf_reset(&out);
	o.category = "cooking";
	CHECK(lle_report_write(&out, r, 3, &o, LLE_REPORT_TABLE, &e) < 0);
	CHECK_STREQ(e.msg, "no task of category 'cooking' in the selected runs");
	/* --metric picks acc_norm where a task has it. */
	lle_buf_reset(&out);
	struct lle_report_opts om = { .metric = "acc_norm" };
	CHECK(lle_report_write(&out, r, 3, &om, LLE_REPORT_JSON, &e) == 0);
	CHECK(strstr(lle_buf_str(&out), "{\"task\": \"arc_easy\", \"metric\": \"acc_norm\"") != NULL);
	CHECK(strstr(lle_buf_str(&out), "{\"task\": \"mmlu\", \"metric\": \"acc\"") != NULL);
	lle_buf_free(&out);
	for (int i = 0; i < 3; i++)
		lle_run_record_free(&r[i]);
}

/* A lower-is-better metric (a perplexity) stays out of the category average. */
TEST(perplexity_not_averaged)
{
	struct lle_run_record r = { .id = 1, .model = "m" };
	struct lle_err e = { 0 };
	struct lle_result_row acc = { .model = "m", .task = "arc", .metric = "acc", .filter = "none",
				      .category = "c", .has_value = 1, .value = 0.5, .has_stderr = 1,
				      .stderr_ = 0.01, .n = 10, .higher_is_better = 1, .n_shot = 0 };
	struct lle_result_row ppl = { .model = "m", .task = "wikitext", .metric = "word_perplexity",
				      .filter = "none", .category = "c", .has_value = 1, .value = 20.5,
				      .n = 10, .higher_is_better = 0, .n_shot = 0 };
	CHECK(lle_run_record_add(&r, &acc, &e) == 0 && lle_run_record_add(&r, &ppl, &e) == 0);
	struct lle_buf out = LLE_BUF_INIT;
	CHECK(lle_report_write(&out, &r, 1, NULL, LLE_REPORT_JSON, &e) == 0);
	CHECK(strstr(lle_buf_str(&out), "\"categories\": {\"c\": {\"value\": 0.5, \"stderr\": 0.01, \"tasks\": 1}}"));
	CHECK(strstr(lle_buf_str(&out), "\"wikitext\": {\"value\": 20.5, \"stderr\": null, \"n\": 10, \"run\": 1}"));
	lle_buf_free(&out);
	/* lle_run_record_free would free the literals: free only the copies. */
	for (size_t i = 0; i < r.n_rows; i++) {
		free(r.rows[i].model);
		free(r.rows[i].task);
		free(r.rows[i].metric);
		free(r.rows[i].filter);
		free(r.rows[i].category);
	}
	free(r.rows);
}

TEST(compare_numbers)
{
	struct lle_run_record r[3];
	if (load3(r) < 0) {
		CHECK(0);
		return;
	}
	struct lle_buf out = LLE_BUF_INIT;
	struct lle_err e = { 0 };
	CHECK(lle_compare_write(&out, &r[1], &r[2], LLE_REPORT_JSON, NULL, NULL, &e) == 0);
	/* 410m (A) vs 160m (B), arc_easy acc: d = 0.4377104377104377 - 0.5185185185185185 = -0.0808080808080808,
	 * se = sqrt(0.010252744217435633^2 + 0.010179856486006902^2) = 0.0144481224..., |d| > se. */
	const char *s = strstr(lle_buf_str(&out), "\"task\": \"arc_easy\", \"metric\": \"acc\",");
	CHECK(s != NULL);
	if (s) {
		double d = 0, se = 0;
		const char *pd = strstr(s, "\"diff\": "), *ps = strstr(s, "\"stderr\": ");
		CHECK(pd && ps && sscanf(pd + 8, "%lf", &d) == 1 && sscanf(ps + 10, "%lf", &se) == 1);
		CHECK_NEAR(d, -0.0808080808080808, 1e-15);
		CHECK_NEAR(se, 0.014448122440807, 1e-12);
		CHECK(strstr(s, "\"exceeds\": true") != NULL);
	}
	/* gsm8k flexible-extract: A's stderr is "N/A", so whether it exceeds is unknown. */
	s = strstr(lle_buf_str(&out), "\"metric\": \"exact_match\", \"filter\": \"flexible-extract\"");
	CHECK(s && strstr(s, "\"exceeds\": null"));
	CHECK(strstr(lle_buf_str(&out), "\"compared\": 4, \"paired\": 0, \"exceed\": 2, \"stderr_unknown\": 1, \"only_a\": 0, \"only_b\": 6"));
	lle_buf_free(&out);
	for (int i = 0; i < 3; i++)
		lle_run_record_free(&r[i]);
}

static int cmp_sf(const void *a, const void *b)
{
	return strcmp(((const struct lle_sample_file *)a)->task, ((const struct lle_sample_file *)b)->task);
}

TEST(sample_files_beside_results)
{
	/* A directory name with glob characters, tasks with underscores, and a
	 * samples file of another date that must not be taken. */
	char dir[] = "/tmp/lle-sf-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char sub[128], path[256];
	snprintf(sub, sizeof(sub), "%s/r[1]*", dir);
	CHECK(mkdir(sub, 0755) == 0);
	const char *names[] = { "results_2026-01-01T00-00-00.5.json", "samples_gsm8k_2026-01-01T00-00-00.5.jsonl",
				"samples_mmlu_abstract_algebra_2026-01-01T00-00-00.5.jsonl",
				"samples_gsm8k_2026-01-02T00-00-00.5.jsonl" };
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", sub, names[i]);
		FILE *f = fopen(path, "w");
		CHECK(f != NULL);
		if (f)
			fclose(f);
	}
	snprintf(path, sizeof(path), "%s/%s", sub, names[0]);
	struct lle_sample_file *sf;
	size_t n;
	struct lle_err e = { 0 };
	CHECK(lle_results_sample_files(path, &sf, &n, &e) == 0);
	CHECK_INTEQ(n, 2);
	if (n == 2) {
		qsort(sf, n, sizeof(*sf), cmp_sf);
		CHECK_STREQ(sf[0].task, "gsm8k");
		CHECK_STREQ(sf[1].task, "mmlu_abstract_algebra");
		CHECK(strstr(sf[1].path, "r[1]*/samples_mmlu_abstract_algebra_2026-01-01T00-00-00.5.jsonl") != NULL);
	}
	lle_sample_files_free(sf, n);
	/* A file not named results_*.json has no samples. */
	CHECK(lle_results_sample_files(FIX "lmeval_pythia-160m.json", &sf, &n, &e) == 0 && n == 0);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}

/* Every prefix of a real results file and of a samples line, and every single
 * byte changed to a quote or a brace: the reader must fail cleanly or succeed,
 * never crash (run under ASan too). */
TEST(truncated_and_mangled_input)
{
	FILE *f = fopen(FIX "lmeval_pythia-160m.json", "rb");
	CHECK(f != NULL);
	if (!f)
		return;
	static char text[65536];
	size_t n = fread(text, 1, sizeof(text), f);
	fclose(f);
	CHECK(n > 1000 && n < sizeof(text));
	int ok = 0, failed = 0;
	for (size_t len = 0; len < n; len += 7) {
		struct lle_run_record r;
		struct lle_err e = { 0 };
		if (lle_results_parse(text, len, "t.json", &r, &e) == 0) {
			ok++;
			lle_run_record_free(&r);
		} else {
			failed += e.msg[0] != '\0';
		}
	}
	CHECK(failed > 0);
	static const char repl[] = "\"{}[],:0";
	for (size_t i = 0; i < n; i += 13) {
		char save = text[i];
		text[i] = repl[i % (sizeof(repl) - 1)];
		struct lle_run_record r;
		struct lle_err e = { 0 };
		if (lle_results_parse(text, n, "t.json", &r, &e) == 0)
			lle_run_record_free(&r);
		text[i] = save;
	}
	printf("# %d prefixes parsed, %d failed with a message\n", ok, failed);
}

int main(void)
{
	RUN(lm_eval_harness_layout);
	RUN(older_layout_and_llm_eval);
	RUN(bad_files);
	RUN(store_round_trip);
	RUN(report_numbers);
	RUN(perplexity_not_averaged);
	RUN(compare_numbers);
	RUN(sample_files_beside_results);
	RUN(truncated_and_mangled_input);
	return check_done();
}
