/* Unit tests for the filters lm-evaluation-harness registers beyond regex
 * and take_first (src/tasks/filter.c): multi_choice_regex, majority_vote,
 * take_first_k, map, format_span, regex_pos, remove_whitespace, the
 * harness's take_first-then-more chains, and the refusals.
 *
 * Every expected value was computed by the harness's own filter classes
 * (lm_eval/filters/ extraction, selection, transformation .py at commit 4e7e0d47) with
 * tests/compat/filters/oracle.py; the key it prints is named beside each. */
#include "check.h"

#include <stdlib.h>

#include "data/yaml.h"
#include "tasks/filter.h"

static struct lle_filter_chain *chain(const char *yaml, struct lle_err *e)
{
	struct lle_node *n = lle_yaml_load_mem(yaml, strlen(yaml), "f.yaml", e);
	if (!n)
		return NULL;
	struct lle_filter_chain *fc = lle_filter_chain_from_node(n, "task 't'", e);
	lle_node_free(n);
	return fc;
}

/* The chain on resps (JSON text) with doc (JSON text or NULL); the result
 * as compact JSON text, or "ERR: message". */
static char *run(const char *yaml, const char *resps, const char *doc)
{
	struct lle_err e = { 0 };
	struct lle_filter_chain *fc = chain(yaml, &e);
	if (!fc)
		return strdup(e.msg);
	json_t *r = json_loads(resps, JSON_ALLOW_NUL, NULL), *d = doc ? json_loads(doc, 0, NULL) : NULL;
	json_t *out = lle_filter_apply(fc, r, d, &e);
	char *s = out ? json_dumps(out, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	if (!out) {
		s = malloc(strlen(e.msg) + 6);
		sprintf(s, "ERR: %s", e.msg);
	}
	json_decref(out);
	json_decref(r);
	json_decref(d);
	lle_filter_chain_free(fc);
	return s;
}

#define EXPECT(yaml, resps, doc, want)                                                                 \
	do {                                                                                           \
		char *got_ = run(yaml, resps, doc);                                                    \
		CHECK_STREQ(got_, want);                                                               \
		free(got_);                                                                            \
	} while (0)

/* The gpqa cot_zeroshot flexible-extract step (lm_eval/tasks/gpqa/
 * cot_zeroshot/_gpqa_cot_zeroshot_yaml). */
#define MCQ1 "{name: f, filter: [{function: multi_choice_regex, group_select: -1, ignore_case: true, " \
	"ignore_punctuation: true, regex_pattern: '(\\([A-Z]\\))'}, {function: take_first}]}"
#define DOC1 "{\"choices\": [\"Paris, France!\", \"London\", \"Rome\", \"Berlin\"]}"

TEST(multi_choice_regex)
{
	/* oracle "mcq1": the choice's text, punctuation and case removed, on
	 * both sides -> "(A)"; ": B" -> "(B)"; nothing -> the fallback; the
	 * pattern's last match (group_select -1) -> "(D)" */
	EXPECT(MCQ1, "[\"I think it is paris, France.\"]", DOC1, "[\"(A)\"]");
	EXPECT(MCQ1, "[\"The answer: B because\"]", DOC1, "[\"(B)\"]");
	EXPECT(MCQ1, "[\"no idea\"]", DOC1, "[\"[invalid]\"]");
	EXPECT(MCQ1, "[\"(C) or maybe (D)\"]", DOC1, "[\"(D)\"]");
	/* oracle "mcq2": regexes_to_ignore are removed from choices and
	 * response; the default pattern finds nothing in either response */
	EXPECT("{name: f, filter: [{function: multi_choice_regex, regexes_to_ignore: [',', '\\$'], fallback: X}]}",
	       "[\"total $1,000 ok\", \"say: C\"]", "{\"choices\": [\" 1000 \", \"2000\", \"3000\"]}",
	       "[\"(A)\",\"(C)\"]");
	/* the document's choices are needed (the harness: KeyError) */
	EXPECT(MCQ1, "[\"x\"]", "{\"options\": []}",
	       "ERR: filter 'f': filter 'multi_choice_regex' needs the document's 'choices' list (the harness "
	       "reads doc[\"choices\"])");
	EXPECT(MCQ1, "[\"x\"]", NULL,
	       "ERR: filter 'f': filter 'multi_choice_regex' needs the document's 'choices' list (the harness "
	       "reads doc[\"choices\"])");
}

TEST(majority_vote_take_first_k)
{
	/* oracle "maj": Counter.most_common(1): of equal counts the first seen */
	const char *mv = "{name: m, filter: [{function: majority_vote}, {function: take_first}]}";
	EXPECT(mv, "[\"b\",\"a\",\"a\",\"b\",\"c\"]", NULL, "[\"b\"]");
	EXPECT(mv, "[\"x\",\"y\"]", NULL, "[\"x\"]");
	EXPECT(mv, "[\"7\"]", NULL, "[\"7\"]");
	/* oracle "takek" */
	EXPECT("{name: k, filter: [{function: take_first_k, k: 2}]}", "[\"a\",\"b\",\"c\"]", NULL,
	       "[\"a\",\"b\"]");
	/* TakeKFilter asserts at least k responses */
	EXPECT("{name: k, filter: [{function: take_first_k, k: 4}]}", "[\"a\",\"b\",\"c\"]", NULL,
	       "ERR: filter 'k': take_first_k needs at least 4 responses per document, got 3 (raise repeats)");
	EXPECT("{name: k, filter: [{function: take_first_k}]}", "[\"a\"]", NULL,
	       "f.yaml:1:20: task 't': filter 'k': filter 'take_first_k' needs an integer 'k'");
	/* oracle "tf_then_regex": after take_first the harness holds a str, and
	 * regex iterates it by characters: [inv, 1, inv, 2, 2] -> the tie
	 * goes to "[invalid]", seen first */
	EXPECT("{name: t, filter: [{function: take_first}, {function: regex, regex_pattern: '\\d'}, "
	       "{function: majority_vote}, {function: take_first}]}", "[\"a1b22\",\"zzz\"]", NULL,
	       "[\"[invalid]\"]");
}

TEST(map_format_span_regex_pos_whitespace)
{
	/* oracle "map": polemo2_in's chain (lm_eval/tasks/polemo2/polemo2_in.yaml) */
	const char *m = "{name: s, filter: [{function: regex, regex_pattern: '(\\b[ABCD]\\b)'}, {function: take_first},"
			" {function: map, mapping_dict: {A: 0, B: 1, C: 2, D: 3}, default_value: -1},"
			" {function: take_first}]}";
	EXPECT(m, "[\"so B\"]", NULL, "[1]");
	EXPECT(m, "[\"none\"]", NULL, "[-1]");
	EXPECT(m, "[\"C D\"]", NULL, "[2]");
	/* oracle "span" */
	EXPECT("{name: s, filter: [{function: format_span}]}",
	       "[\"Person: John, none\\nLocation: Kenya, Uganda $$ org : UN$$\", \"company:Acme\\ntime: today\"]",
	       NULL, "[\"per: john $ loc: kenya $ loc: uganda $ org: un\",\"org: acme $ date: today\"]");
	/* oracle "pos": a list of tags per response, ["invalid"] when none */
	EXPECT("{name: p, filter: [{function: regex_pos}]}",
	       "[\"[('The', 'DET'), ('cat', 'NOUN')]\", \"nothing\"]", NULL, "[[\"DET\",\"NOUN\"],[\"invalid\"]]");
	/* oracle "ws": WhitespaceFilter is resp.strip() */
	EXPECT("{name: w, filter: [{function: remove_whitespace}]}", "[\"  a b \\n \"]", NULL, "[\"a b\"]");
}

TEST(predictions_and_refusals)
{
	struct lle_err e = { 0 };
	json_t *one = json_pack("[s]", "x"), *two = json_pack("[ss]", "x", "y"), *num = json_pack("[i]", 1);
	CHECK_STREQ(lle_filter_prediction(one, "c", &e), "x");
	CHECK(lle_filter_prediction(two, "c", &e) == NULL);
	CHECK_STREQ(e.msg, "filter 'c' leaves 2 responses, not one: the harness would score the list itself "
		    "(end the chain with take_first)");
	CHECK(lle_filter_prediction(num, "c", &e) == NULL);
	CHECK_STREQ(e.msg, "filter 'c' gives a number, not a string, to the metrics (llm-eval scores strings only)");
	json_decref(one);
	json_decref(two);
	json_decref(num);
	/* Python filters are steps (issue 15) whose module must exist beside the YAML file */
	EXPECT("{name: c, filter: [{function: custom, filter_fn: !function utils.f}]}", "[]", NULL,
	       "f.yaml:1:50: task 't': filter 'c': '!function utils.f' needs ./utils.py, which cannot be "
	       "read (No such file or directory)");
	EXPECT("{name: c, filter: [{function: custom, fn: x}]}", "[]", NULL,
	       "f.yaml:1:20: task 't': filter 'c': filter 'custom' needs 'filter_fn: !function module.name'");
	EXPECT("{name: c, filter: [{function: decontaminate, path: x}]}", "[]", NULL,
	       "f.yaml:1:31: task 't': filter 'c': filter 'decontaminate' is not supported: it is a stub in "
	       "the harness (its apply returns nothing), so there is nothing to reproduce");
	EXPECT("{name: c, filter: [{function: !function utils.MultiChoiceRegexFilter}]}", "[]", NULL,
	       "f.yaml:1:31: task 't': filter 'c': '!function utils.MultiChoiceRegexFilter' needs ./utils.py, "
	       "which cannot be read (No such file or directory)");
	EXPECT("{name: c, filter: [{function: map, mapping: {}}]}", "[]", NULL,
	       "f.yaml:1:45: task 't': filter 'c': unknown key 'mapping' in filter 'map'");
}

/* A model's text may hold NUL (issue 18 item 8): the filters work on all of
 * its bytes, as Python's str does. Expected values by Python 3.11:
 * re.findall('(-?[0-9]+)', ' \x0042') == ['42'], 'A\x00B'.lower() ==
 * 'a\x00b', 'a\x00bcd'[:3] == 'a\x00b'. */
TEST(text_with_nul)
{
	EXPECT("{name: r, filter: [{function: regex, regex_pattern: '(-?[0-9]+)'}, {function: take_first}]}",
	       "[\" \\u000042\"]", NULL, "[\"42\"]");
	EXPECT("{name: l, filter: [{function: lowercase}]}", "[\"A\\u0000B\"]", NULL, "[\"a\\u0000b\"]");
	EXPECT("{name: k, filter: [{function: take_first}, {function: take_first_k, k: 3}]}",
	       "[\"a\\u0000bcd\"]", NULL, "[\"a\\u0000b\"]");
}

int main(void)
{
	RUN(multi_choice_regex);
	RUN(majority_vote_take_first_k);
	RUN(map_format_span_regex_pos_whitespace);
	RUN(predictions_and_refusals);
	RUN(text_with_nul);
	return check_done();
}
