/* The viewer's index of samples files (src/store/view_samples.c): the fast
 * path (doc_id first, metrics after the last top-level "filter") and the full
 * scan it falls back to must read the same doc_id, filter and metric values
 * as jansson reading each line whole, for llm-eval's compact lines,
 * lm-evaluation-harness's spaced ones, a document holding its own "filter"
 * key, a metric written before "filter", an escaped filter name, a last line
 * without a newline, a damaged line; and pages, filters and search follow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "store/view_samples.h"

static const char *const LINES[] = {
	/* 0: llm-eval, compact, metrics after filter */
	"{\"doc_id\":0,\"doc\":{\"q\":\"a \\\"filter\\\": x\"},\"target\":1,\"arguments\":[[\"P\\n\\nQ\",\" a\"]],"
	"\"resps\":[[[-1.0,false]]],\"filtered_resps\":[[-1.0,false]],\"filter\":\"none\",\"acc\":1.0,"
	"\"acc_norm\":0.0,\"metrics\":[\"acc\",\"acc_norm\"],\"doc_hash\":\"h0\"}",
	/* 1: lm-evaluation-harness, spaces, metrics after the hashes */
	"{\"doc_id\": 1, \"doc\": {\"q\": \"b\"}, \"target\": 0, \"arguments\": [[\"P\", \" b\"]], \"resps\": [], "
	"\"filtered_resps\": [], \"filter\": \"strict-match\", \"metrics\": [\"acc\", \"acc_norm\"], "
	"\"doc_hash\": \"h1\", \"acc\": 0, \"acc_norm\": 1}",
	/* 2: the document has a "filter" key and the line has none at top level */
	"{\"doc_id\":2,\"doc\":{\"filter\":\"inside\",\"x\":[1,{\"filter\":\"deeper\"}]},\"acc\":0.0,\"acc_norm\":0.0}",
	/* 3: a metric before "filter" (full scan), true/false values */
	"{\"doc_id\":3,\"acc\":true,\"doc\":{},\"filter\":\"none\",\"acc_norm\":false}",
	/* 4: an escaped filter name */
	"{\"doc_id\":4,\"doc\":{},\"filter\":\"odd\\\"name\",\"acc\":1,\"acc_norm\":1}",
	/* 5: a nested "filter" after the last top-level one */
	"{\"doc_id\":5,\"filter\":\"none\",\"acc\":0,\"acc_norm\":1,\"extra\":{\"filter\":\"x\",\"acc\":1}}",
	/* 6: damaged: cut short (what was read is kept) */
	"{\"doc_id\":6,\"doc\":{\"q\":\"unterminated",
	/* 7: the last line, without a newline */
	"{\"doc_id\":7,\"doc\":{},\"filter\":\"none\",\"acc\":1,\"acc_norm\":0}",
};
#define NL (sizeof(LINES) / sizeof(LINES[0]))

static char path[256];

static void write_file(void)
{
	snprintf(path, sizeof(path), "%s/lle-vs-%ld.jsonl", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		 (long)getpid());
	FILE *f = fopen(path, "w");
	for (size_t i = 0; i < NL; i++)
		fprintf(f, "%s%s", LINES[i], i + 1 < NL ? "\n" : "");
	fclose(f);
}

static json_t *page(struct lle_view_files *vf, const char *filter, const char *metric, int result,
		    const char *text)
{
	struct lle_view_query q = { filter, metric, result, text, -1, 0, 100 };
	json_t *out = NULL;
	struct lle_err err = { 0 };
	if (lle_view_samples_page(vf, path, &q, &out, &err) < 0)
		fprintf(stderr, "# %s\n", err.msg);
	return out;
}

/* doc_ids of a page as "0,1,..." */
static void ids(const json_t *p, char *buf, size_t n)
{
	buf[0] = '\0';
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(p, "samples"), i, s)
	{
		size_t l = strlen(buf);
		snprintf(buf + l, n - l, "%s%lld", i ? "," : "", (long long)json_integer_value(json_object_get(s, "doc_id")));
	}
}

TEST(every_line_read_as_jansson_reads_it)
{
	struct lle_view_files *vf = lle_view_files_new();
	json_t *p = page(vf, NULL, NULL, -1, NULL);
	CHECK(p != NULL);
	CHECK_INTEQ(json_integer_value(json_object_get(p, "total")), NL);
	char buf[256];
	ids(p, buf, sizeof(buf));
	CHECK_STREQ(buf, "0,1,2,3,4,5,6,7");
	const char *want_filter[] = { "none", "strict-match", "none", "none", "odd\"name", "none", "none", "none" };
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(p, "samples"), i, s)
	{
		CHECK_STREQ(json_string_value(json_object_get(s, "filter")), want_filter[i]);
		json_t *line = json_loads(LINES[i], 0, NULL);
		json_t *m = json_object_get(s, "metrics");
		if (line) { /* the same values jansson reads (the damaged line has none) */
			for (const char *const *k = (const char *const[]){ "acc", "acc_norm", NULL }; *k; k++) {
				json_t *a = json_object_get(line, *k);
				double want = json_is_true(a) ? 1 : json_is_false(a) ? 0 : json_number_value(a);
				CHECK_NEAR(json_number_value(json_object_get(m, *k)) + json_is_true(json_object_get(m, *k)), want, 0);
			}
		}
		json_decref(line);
	}
	json_decref(p);
	lle_view_files_free(vf);
}

TEST(filters_results_search)
{
	struct lle_view_files *vf = lle_view_files_new();
	char buf[256];
	json_t *p = page(vf, NULL, NULL, 1, NULL);
	ids(p, buf, sizeof(buf));
	CHECK_STREQ(buf, "0,3,4,7"); /* acc > 0 (true counts) */
	json_decref(p);
	p = page(vf, NULL, NULL, 0, NULL);
	ids(p, buf, sizeof(buf));
	CHECK_STREQ(buf, "1,2,5"); /* acc == 0; the damaged line has no value: neither */
	json_decref(p);
	p = page(vf, NULL, "acc_norm", 1, NULL);
	ids(p, buf, sizeof(buf));
	CHECK_STREQ(buf, "1,4,5");
	json_decref(p);
	p = page(vf, "strict-match", NULL, -1, NULL);
	ids(p, buf, sizeof(buf));
	CHECK_STREQ(buf, "1");
	json_decref(p);
	p = page(vf, "odd\"name", NULL, -1, NULL);
	ids(p, buf, sizeof(buf));
	CHECK_STREQ(buf, "4");
	json_decref(p);
	p = page(vf, NULL, NULL, -1, "A \"FILTER\": X");
	ids(p, buf, sizeof(buf));
	CHECK_STREQ(buf, "0"); /* the text as typed, quotes included, case aside */
	json_decref(p);
	p = page(vf, NULL, NULL, -1, "P\n\nQ");
	ids(p, buf, sizeof(buf));
	CHECK_STREQ(buf, "0");
	json_decref(p);
	CHECK(page(vf, "nope", NULL, -1, NULL) == NULL);
	CHECK(page(vf, NULL, "nope", -1, NULL) == NULL);
	json_t *line = NULL;
	struct lle_err err = { 0 };
	CHECK(lle_view_samples_line(vf, path, 7, &line, &err) == 0);
	CHECK_INTEQ(json_integer_value(json_object_get(line, "doc_id")), 7);
	json_decref(line);
	CHECK(lle_view_samples_line(vf, path, 8, &line, &err) < 0);
	lle_view_files_free(vf);
}

int main(void)
{
	write_file();
	RUN(every_line_read_as_jansson_reads_it);
	RUN(filters_results_search);
	unlink(path);
	return check_done();
}
