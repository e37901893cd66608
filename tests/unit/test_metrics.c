/* Unit tests for src/tasks/filter.c and src/tasks/metrics.c. Expected values
 * are worked out in the comments; the bootstrap ones follow the harness's
 * procedure (chunks of 1000 resamples seeded 0, 1, ... with
 * random.choices, then the sample standard deviation), computed with
 * python3 while writing the test and hard-coded here. */
#include "check.h"

#include <math.h>
#include <stdlib.h>

#include "data/yaml.h"
#include "tasks/filter.h"
#include "tasks/metrics.h"

static struct lle_filter_chain *chain(const char *yaml, struct lle_err *e)
{
	struct lle_node *n = lle_yaml_load_mem(yaml, strlen(yaml), "f.yaml", e);
	if (!n)
		return NULL;
	struct lle_filter_chain *fc = lle_filter_chain_from_node(n, "task 't'", e);
	lle_node_free(n);
	return fc;
}

static char *apply1(struct lle_filter_chain *fc, const char *resp)
{
	struct lle_err e = { 0 };
	json_t *in = json_pack("[s]", resp);
	json_t *out = lle_filter_apply(fc, in, NULL, &e);
	json_decref(in);
	if (!out)
		return NULL;
	char *s = strdup(json_string_value(json_array_get(out, 0)));
	json_decref(out);
	return s;
}

static int metric(struct lle_metric *m, const char *yaml, enum lle_output_type ot, struct lle_err *e)
{
	struct lle_node *n = lle_yaml_load_mem(yaml, strlen(yaml), "m.yaml", e);
	if (!n)
		return -1;
	int r = lle_metric_from_node(m, n, ot, "task 't'", e);
	lle_node_free(n);
	return r;
}

#define STRICT "{name: strict-match, filter: [{function: regex, regex_pattern: \"#### (\\\\-?[0-9\\\\.\\\\,]+)\"}, {function: take_first}]}"
#define FLEX "{name: flexible-extract, filter: [{function: regex, group_select: -1, regex_pattern: \"(-?[$0-9.,]{2,})|(-?[0-9]+)\"}, {function: take_first}]}"

TEST(gsm8k_filters)
{
	struct lle_err e = { 0 };
	struct lle_filter_chain *s = chain(STRICT, &e), *f = chain(FLEX, &e);
	CHECK(s && f);
	if (!s || !f)
		return;
	static const struct {
		const char *resp, *strict, *flex;
	} c[] = {
		/* "..." is itself a match of [$0-9.,]{2,}; the last match wins */
		{ "Natalia sold 48/2 = 24 clips in May... so the answer is $1,234.", "[invalid]", "$1,234." },
		{ "#### 18", "18", "18" },
		{ "18.", "[invalid]", "18." },
		{ "I do not know.", "[invalid]", "[invalid]" },
		{ "The total is 5 + 7 = 12\n#### 12\n\nQuestion: next", "12", "12" },
		{ "-3 degrees, then #### -3.5", "-3.5", "-3.5" },
		/* "$5," is a match of the first group; "6" only of the second */
		{ "It costs $5, not 6", "[invalid]", "6" },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char *a = apply1(s, c[i].resp), *b = apply1(f, c[i].resp);
		CHECK_STREQ(a, c[i].strict);
		CHECK_STREQ(b, c[i].flex);
		free(a);
		free(b);
	}
	lle_filter_chain_free(s);
	lle_filter_chain_free(f);
}

TEST(regex_findall_semantics)
{
	struct lle_err e = { 0 };
	char *r;
	/* several groups: the first non-empty group of the selected match */
	r = lle_regex_extract("(a)|(b)", 0, "[invalid]", "xbya", &e);
	CHECK_STREQ(r, "b");
	free(r);
	r = lle_regex_extract("(a)|(b)", -1, "[invalid]", "xbya", &e);
	CHECK_STREQ(r, "a");
	free(r);
	/* no group: the whole match, stripped */
	r = lle_regex_extract("answer: \\w+ ", 0, "none", "answer: B ", &e);
	CHECK_STREQ(r, "answer: B");
	free(r);
	/* group_select beyond the matches falls back */
	r = lle_regex_extract("\\d", 5, "none", "1 2", &e);
	CHECK_STREQ(r, "none");
	free(r);
	/* empty matches advance one character (Python: ['', '1', '']) */
	r = lle_regex_extract("\\d*", 1, "none", "a1", &e);
	CHECK_STREQ(r, "1");
	free(r);
	r = lle_regex_extract("\\d*", -1, "none", "a1", &e);
	CHECK_STREQ(r, "");
	free(r);
	/* \d is Unicode, as in Python: the Arabic-Indic digit three */
	r = lle_regex_extract("(\\d)", 0, "none", "x \xd9\xa3", &e);
	CHECK_STREQ(r, "\xd9\xa3");
	free(r);
	/* broken UTF-8 in a response does not fail the match */
	r = lle_regex_extract("(\\d+)", 0, "none", "\xff 42", &e);
	CHECK_STREQ(r, "42");
	free(r);
	CHECK(lle_regex_extract("(", 0, "x", "y", &e) == NULL);
	CHECK(strstr(e.msg, "does not compile") != NULL);
}

TEST(other_filters_and_chains)
{
	struct lle_err e = { 0 };
	struct lle_filter_chain *fc = chain("{name: c, filter: [{function: remove_whitespace}, {function: lowercase},"
					    " {function: regex, regex_pattern: '^(\\w+)'}, {function: uppercase}]}", &e);
	CHECK(fc != NULL);
	json_t *in = json_pack("[ss]", "  \n Hello World", "\tyes no");
	json_t *out = fc ? lle_filter_apply(fc, in, NULL, &e) : NULL;
	CHECK(out && json_array_size(out) == 2); /* no take_first: both kept */
	CHECK_STREQ(json_string_value(json_array_get(out, 0)), "HELLO");
	CHECK_STREQ(json_string_value(json_array_get(out, 1)), "YES");
	json_decref(out);
	lle_filter_chain_free(fc);
	fc = chain("{name: s, filter: [{function: strip}, {function: take_first}]}", &e);
	out = lle_filter_apply(fc, in, NULL, &e);
	CHECK(out && json_array_size(out) == 1);
	CHECK_STREQ(json_string_value(json_array_get(out, 0)), "Hello World");
	json_decref(out);
	lle_filter_chain_free(fc);
	/* remove_whitespace strips both ends, Python's whitespace included
	 * (lm_eval/filters/extraction.py WhitespaceFilter: resp.strip()) */
	fc = chain("{name: w, filter: [{function: remove_whitespace}]}", &e);
	char *s = apply1(fc, "  a b \n\xe3\x80\x80");
	CHECK_STREQ(s, "a b");
	free(s);
	lle_filter_chain_free(fc);
	/* fallback_regex is tried when the pattern finds nothing */
	fc = chain("{name: fb, filter: [{function: regex, regex_pattern: 'answer is (\\d+)', "
		   "fallback_regex: ['(\\d+)'], fallback: none}]}", &e);
	CHECK(fc != NULL);
	s = apply1(fc, "maybe 7 or 8");
	CHECK_STREQ(s, "7");
	free(s);
	s = apply1(fc, "the answer is 9, not 7");
	CHECK_STREQ(s, "9");
	free(s);
	lle_filter_chain_free(fc);
	json_decref(in);
	fc = lle_filter_chain_none(&e);
	CHECK_STREQ(lle_filter_chain_name(fc), "none");
	lle_filter_chain_free(fc);
	/* errors name the task, filter and position */
	CHECK(chain("{name: x, filter: [{function: regex, group_select: one}]}", &e) == NULL);
	CHECK_STREQ(e.msg, "f.yaml:1:52: task 't': filter 'x': 'group_select' must be an integer");
	CHECK(chain("{name: x, filter: [{function: take_first, n: 2}]}", &e) == NULL);
	CHECK_STREQ(e.msg, "f.yaml:1:46: task 't': filter 'x': unknown key 'n' in filter 'take_first'");
	CHECK(chain("{name: x}", &e) == NULL);
	CHECK_STREQ(e.msg, "f.yaml:1:1: task 't': filter 'x' needs a non-empty 'filter' list");
}

TEST(exact_match_options)
{
	struct lle_err e = { 0 };
	struct lle_metric m;
	CHECK(metric(&m, "{metric: exact_match, ignore_case: true, regexes_to_ignore: [',', '\\$', '(?s).*#### ', "
			 "'\\.$']}", LLE_OUT_GENERATE_UNTIL, &e) == 0);
	/* "$1,234." -> "1234" and "So... #### 1,234" -> "1234" */
	CHECK_INTEQ(lle_exact_match(&m, "$1,234.", "So the total is 1,234.\n#### 1,234", &e), 1);
	CHECK_INTEQ(lle_exact_match(&m, "[invalid]", "x\n#### 18", &e), 0);
	CHECK_INTEQ(lle_exact_match(&m, "18.", "#### 18", &e), 1);
	/* "." only at the end is removed; "1.5" stays */
	CHECK_INTEQ(lle_exact_match(&m, "1.5", "#### 15", &e), 0);
	/* the greedy (?s).*#### removes up to the last marker */
	CHECK_INTEQ(lle_exact_match(&m, "7", "#### 3\n#### 7", &e), 1);
	CHECK_INTEQ(lle_exact_match(&m, "ABC", "abc", &e), 1);
	lle_metric_fini(&m);
	CHECK(metric(&m, "{metric: exact_match, ignore_punctuation: true, ignore_numbers: true}",
		     LLE_OUT_GENERATE_UNTIL, &e) == 0);
	CHECK_INTEQ(lle_exact_match(&m, "a-b!c 1", "abc ", &e), 1);
	CHECK_INTEQ(lle_exact_match(&m, "Abc", "abc", &e), 0); /* case still counts */
	lle_metric_fini(&m);
	CHECK(metric(&m, "{metric: exact_match}", LLE_OUT_GENERATE_UNTIL, &e) == 0);
	CHECK_INTEQ(lle_exact_match(&m, "a ", "a", &e), 0);
	/* several targets: any match counts */
	json_t *golds = json_pack("[ss]", "x", "yes");
	struct lle_item it;
	CHECK(lle_score_generated(&m, "yes", golds, &it, &e) == 0);
	CHECK_NEAR(it.x, 1, 0);
	json_decref(golds);
	lle_metric_fini(&m);
	CHECK(metric(&m, "{metric: exact_match, regexes_to_ignore: ['(']}", LLE_OUT_GENERATE_UNTIL, &e) == -1);
	CHECK_STREQ(e.msg, "m.yaml:1:43: task 't': regex '(' does not compile: missing closing parenthesis at "
		    "offset 1");
	CHECK(metric(&m, "{metric: exact_match, ignore_cse: true}", LLE_OUT_GENERATE_UNTIL, &e) == -1);
	CHECK_STREQ(e.msg, "m.yaml:1:35: task 't': unknown option 'ignore_cse' for metric 'exact_match' "
		    "(lm-evaluation-harness fails on it too: exact_match_hf_evaluate takes only ignore_case, "
		    "ignore_punctuation, ignore_numbers and regexes_to_ignore)");
	/* flags are Python's truth of the YAML value (exact_match_hf_evaluate
	 * tests `if ignore_case:`): a quoted "false" is a non-empty string */
	CHECK(metric(&m, "{metric: exact_match, ignore_case: 'false', ignore_numbers: 0}", LLE_OUT_GENERATE_UNTIL,
		     &e) == 0);
	CHECK(m.ignore_case == 1 && m.ignore_numbers == 0);
	CHECK_INTEQ(lle_exact_match(&m, "ABC 1", "abc 1", &e), 1);
	CHECK_INTEQ(lle_exact_match(&m, "abc 1", "abc 2", &e), 0);
	lle_metric_fini(&m);
	/* multiple_choice and loglikelihood never call the metric functions:
	 * the harness ignores every option there (ConfigurableTask.process_results) */
	CHECK(metric(&m, "{metric: f1, aggregation: f1, average: macro, hf_evaluate: true}", LLE_OUT_MULTIPLE_CHOICE,
		     &e) == 0);
	CHECK(m.agg == LLE_AGG_F1);
	lle_metric_fini(&m);
	CHECK(metric(&m, "{metric: acc, weight_by_size: true}", LLE_OUT_LOGLIKELIHOOD, &e) == 0);
	lle_metric_fini(&m);
	CHECK(metric(&m, "{metric: exact_match, ignore_cse: true}", LLE_OUT_MULTIPLE_CHOICE, &e) == 0);
	lle_metric_fini(&m);
	/* generate_until: the passthroughs drop keywords; HF evaluate is refused
	 * but for exact_match (the harness's own port of it) */
	CHECK(metric(&m, "{metric: bleu, tokenize: intl}", LLE_OUT_GENERATE_UNTIL, &e) == 0);
	lle_metric_fini(&m);
	CHECK(metric(&m, "{metric: exact_match, hf_evaluate: true}", LLE_OUT_GENERATE_UNTIL, &e) == 0);
	lle_metric_fini(&m);
	CHECK(metric(&m, "{metric: bleu, hf_evaluate: false}", LLE_OUT_GENERATE_UNTIL, &e) == 0);
	lle_metric_fini(&m);
	/* wer is Hugging Face evaluate's whatever hf_evaluate says; its
	 * _compute takes concatenate_texts and nothing else */
	CHECK(metric(&m, "{metric: wer, hf_evaluate: true, concatenate_texts: true}", LLE_OUT_GENERATE_UNTIL,
		     &e) == 0);
	lle_metric_fini(&m);
	CHECK(metric(&m, "{metric: wer, average: macro}", LLE_OUT_GENERATE_UNTIL, &e) == -1);
	CHECK_STREQ(e.msg, "m.yaml:1:24: task 't': unknown option 'average' for metric 'wer' "
		    "(lm-evaluation-harness fails on it too: Hugging Face evaluate's wer takes only "
		    "concatenate_texts)");
	CHECK(metric(&m, "{metric: bleu, hf_evaluate: true}", LLE_OUT_GENERATE_UNTIL, &e) == -1);
	CHECK_STREQ(e.msg, "m.yaml:1:29: task 't': metric 'bleu' with 'hf_evaluate: true' is Hugging Face "
		    "evaluate's 'bleu', which llm-eval does not implement");
}

TEST(token_f1_squad_style)
{
	/* normalised: lower case, no punctuation, no articles, single spaces */
	CHECK_NEAR(lle_token_f1("The Cat sat.", "a cat sat"), 1.0, 0);
	/* pred {cat, on, mat}, gold {cat, sat}: 1 in common, p 1/3 r 1/2, f1 0.4 */
	CHECK_NEAR(lle_token_f1("cat on mat", "the cat sat"), 0.4, 1e-15);
	CHECK_NEAR(lle_token_f1("dog", "cat"), 0.0, 0);
	/* repeated tokens count as a multiset: {a,a} vs {a}... articles go, so
	 * use real words: pred {x, x, y}, gold {x, y, y}: common 2, p r 2/3 */
	CHECK_NEAR(lle_token_f1("x x y", "x y y"), 2.0 / 3, 1e-15);
	CHECK_NEAR(lle_token_f1("", "the"), 1.0, 0); /* both empty after normalising */
	CHECK_NEAR(lle_token_f1("", "cat"), 0.0, 0);
}

TEST(word_and_byte_counts)
{
	CHECK_INTEQ(lle_count_words("two words"), 2);
	CHECK_INTEQ(lle_count_words(" lead"), 2);  /* re.split gives ['', 'lead'] */
	CHECK_INTEQ(lle_count_words("a\n\n b\t"), 3);
	CHECK_INTEQ(lle_count_words(""), 1);
	CHECK_INTEQ(lle_count_bytes("caf\xc3\xa9"), 5);
}

TEST(multiple_choice_scores)
{
	struct lle_err e = { 0 };
	struct lle_metric acc, norm, em, f1, mcc;
	CHECK(metric(&acc, "{metric: acc}", LLE_OUT_MULTIPLE_CHOICE, &e) == 0);
	CHECK(metric(&norm, "{metric: acc_norm}", LLE_OUT_MULTIPLE_CHOICE, &e) == 0);
	CHECK(metric(&em, "{metric: exact_match}", LLE_OUT_MULTIPLE_CHOICE, &e) == 0);
	CHECK(metric(&f1, "{metric: f1}", LLE_OUT_MULTIPLE_CHOICE, &e) == 0);
	CHECK(metric(&mcc, "{metric: mcc}", LLE_OUT_MULTIPLE_CHOICE, &e) == 0);
	CHECK(f1.agg == LLE_AGG_F1 && mcc.agg == LLE_AGG_MCC);
	json_t *choices = json_pack("[sss]", "no", "yes", "maybe so");
	/* acc: argmax(-1.5, -1.2, -4.0) = 1; acc_norm by characters: -0.75,
	 * -0.4, -0.5 -> 1 */
	double ll[3] = { -1.5, -1.2, -4.0 };
	int greedy[3] = { 0, 1, 0 };
	json_t *gold = json_integer(1);
	struct lle_item it;
	CHECK(lle_score_choices(&acc, ll, greedy, NULL, choices, gold, &it, &e) == 0 && it.x == 1);
	CHECK(lle_score_choices(&norm, ll, greedy, NULL, choices, gold, &it, &e) == 0 && it.x == 1);
	CHECK(lle_score_choices(&em, ll, greedy, NULL, choices, gold, &it, &e) == 0 && it.x == 1);
	/* now "maybe so" is most likely per character (-3.2/8 = -0.4 < ...): -1.5/2,
	 * -1.2/3 = -0.4, -2.4/8 = -0.3 -> 2; acc still 1 */
	ll[2] = -2.4;
	CHECK(lle_score_choices(&acc, ll, greedy, NULL, choices, gold, &it, &e) == 0 && it.x == 1);
	CHECK(lle_score_choices(&norm, ll, greedy, NULL, choices, gold, &it, &e) == 0 && it.x == 0);
	CHECK(lle_score_choices(&f1, ll, greedy, NULL, choices, gold, &it, &e) == 0);
	CHECK(it.x == 1 && it.w == 1); /* (gold, pred) */
	json_decref(gold);
	/* a choice text as gold, a list of golds, an out-of-range gold */
	gold = json_string("maybe so");
	CHECK(lle_score_choices(&norm, ll, greedy, NULL, choices, gold, &it, &e) == 0 && it.x == 1);
	json_decref(gold);
	gold = json_pack("[ii]", 0, 1);
	CHECK(lle_score_choices(&acc, ll, greedy, NULL, choices, gold, &it, &e) == 0 && it.x == 1);
	json_decref(gold);
	gold = json_integer(7);
	CHECK(lle_score_choices(&acc, ll, greedy, NULL, choices, gold, &it, &e) == 0 && it.x == 0);
	json_decref(gold);
	json_decref(choices);
	lle_metric_fini(&acc);
	lle_metric_fini(&norm);
	lle_metric_fini(&em);
	lle_metric_fini(&f1);
	lle_metric_fini(&mcc);
}

TEST(aggregations_by_hand)
{
	struct lle_item v[5] = { { .x = -1.0, .w = 0 }, { .x = -2.0, .w = 0 }, { .x = -0.5, .w = 0 }, { .x = -3.0, .w = 0 }, { .x = -1.5, .w = 0 } };
	/* mean -1.6; perplexity exp(1.6); median is the harness's
	 * sorted(v)[n // 2]: -3 -2 -1.5 -1 -0.5 -> -1.5 */
	CHECK_NEAR(lle_aggregate(LLE_AGG_MEAN, v, 5), -1.6, 1e-15);
	CHECK_NEAR(lle_aggregate(LLE_AGG_PERPLEXITY, v, 5), 4.953032424395115, 1e-15);
	CHECK_NEAR(lle_aggregate(LLE_AGG_MEDIAN, v, 5), -1.5, 0);
	CHECK_NEAR(lle_aggregate(LLE_AGG_MEDIAN, v, 4), -1.0, 0); /* -3 -2 -1 -0.5: the upper */
	/* sample variance: deviations .6 -.4 1.1 -1.4 .1 -> squares sum 3.7, /4
	 * = 0.925; stderr sqrt(0.925/5) */
	CHECK_NEAR(lle_agg_stderr(LLE_AGG_MEAN, v, 5, 0), sqrt(0.925 / 5), 1e-15);
	CHECK(isnan(lle_agg_stderr(LLE_AGG_MEAN, v, 1, 0)));
	/* weighted: sum ll -22.5 over 10 words: exp(2.25); bits 2.25/ln 2 */
	struct lle_item w[4] = { { .x = -10.0, .w = 3 }, { .x = -4.0, .w = 2 }, { .x = -7.5, .w = 4 }, { .x = -1.0, .w = 1 } };
	CHECK_NEAR(lle_aggregate(LLE_AGG_WEIGHTED_PERPLEXITY, w, 4), exp(2.25), 1e-13);
	CHECK_NEAR(lle_aggregate(LLE_AGG_BITS_PER_BYTE, w, 4), 2.25 / log(2.0), 1e-15);
	/* f1 of (gold, pred): tp 2, fp 1, fn 1 -> 4/6 */
	struct lle_item p[6] = { { .x = 1, .w = 1 }, { .x = 0, .w = 1 }, { .x = 1, .w = 0 }, { .x = 1, .w = 1 }, { .x = 0, .w = 0 }, { .x = 0, .w = 0 } };
	CHECK_NEAR(lle_aggregate(LLE_AGG_F1, p, 6), 2.0 / 3, 1e-15);
	/* mcc, three classes: c = 4 right of s = 6; true counts 2,2,2, predicted
	 * 3,2,1: (4*6 - 12) / sqrt((36 - 14) * (36 - 12)) = 12 / sqrt(528) */
	struct lle_item q[6] = { { .x = 0, .w = 0 }, { .x = 1, .w = 1 }, { .x = 2, .w = 1 }, { .x = 2, .w = 2 }, { .x = 1, .w = 0 }, { .x = 0, .w = 0 } };
	CHECK_NEAR(lle_aggregate(LLE_AGG_MCC, q, 6), 12 / sqrt(528.0), 1e-15);
	struct lle_item same[3] = { { .x = 1, .w = 1 }, { .x = 1, .w = 1 }, { .x = 1, .w = 1 } };
	CHECK_NEAR(lle_aggregate(LLE_AGG_MCC, same, 3), 0.0, 0); /* zero denominator */
}

TEST(bootstrap_stderr_matches_the_harness_procedure)
{
	struct lle_item v[5] = { { .x = -1.0, .w = 0 }, { .x = -2.0, .w = 0 }, { .x = -0.5, .w = 0 }, { .x = -3.0, .w = 0 }, { .x = -1.5, .w = 0 } };
	CHECK_NEAR(lle_agg_stderr(LLE_AGG_PERPLEXITY, v, 5, 2000), 2.2151013373750907, 1e-12);
	CHECK_NEAR(lle_agg_stderr(LLE_AGG_PERPLEXITY, v, 5, 500), 2.2680692760529073, 1e-12);
	CHECK_NEAR(lle_agg_stderr(LLE_AGG_MEDIAN, v, 5, 1000), 0.5777064520539331, 1e-12);
	struct lle_item w[4] = { { .x = -10.0, .w = 3 }, { .x = -4.0, .w = 2 }, { .x = -7.5, .w = 4 }, { .x = -1.0, .w = 1 } };
	CHECK_NEAR(lle_agg_stderr(LLE_AGG_WEIGHTED_PERPLEXITY, w, 4, 1000), 4.110866318791342, 1e-12);
	CHECK_NEAR(lle_agg_stderr(LLE_AGG_BITS_PER_BYTE, w, 4, 1000), 0.5726850369121115, 1e-12);
	struct lle_item p[6] = { { .x = 1, .w = 1 }, { .x = 0, .w = 1 }, { .x = 1, .w = 0 }, { .x = 1, .w = 1 }, { .x = 0, .w = 0 }, { .x = 0, .w = 0 } };
	CHECK_NEAR(lle_agg_stderr(LLE_AGG_F1, p, 6, 1000), 0.2720792738188961, 1e-12);
	struct lle_item q[6] = { { .x = 0, .w = 0 }, { .x = 1, .w = 1 }, { .x = 2, .w = 1 }, { .x = 2, .w = 2 }, { .x = 1, .w = 0 }, { .x = 0, .w = 0 } };
	CHECK_NEAR(lle_agg_stderr(LLE_AGG_MCC, q, 6, 1000), 0.30194784312685513, 1e-12);
	CHECK(isnan(lle_agg_stderr(LLE_AGG_PERPLEXITY, v, 5, 0)));
}

TEST(metric_defaults_per_output_type)
{
	struct lle_err e = { 0 };
	struct lle_metric m[4];
	CHECK_INTEQ(lle_metric_defaults(m, LLE_OUT_MULTIPLE_CHOICE, &e), 2);
	CHECK_STREQ(m[0].name, "acc");
	CHECK_STREQ(m[1].name, "acc_norm");
	CHECK(m[0].higher_is_better == 1 && m[0].agg == LLE_AGG_MEAN);
	lle_metric_fini(&m[0]);
	lle_metric_fini(&m[1]);
	CHECK_INTEQ(lle_metric_defaults(m, LLE_OUT_LOGLIKELIHOOD_ROLLING, &e), 3);
	CHECK(m[0].agg == LLE_AGG_WEIGHTED_PERPLEXITY && m[2].agg == LLE_AGG_BITS_PER_BYTE);
	CHECK(m[0].higher_is_better == 0);
	for (int i = 0; i < 3; i++)
		lle_metric_fini(&m[i]);
	struct lle_metric x;
	CHECK(metric(&x, "{metric: acc, higher_is_better: false, aggregation: median}", LLE_OUT_MULTIPLE_CHOICE,
		     &e) == 0);
	CHECK(x.higher_is_better == 0 && x.agg == LLE_AGG_MEDIAN);
	CHECK_STREQ(lle_agg_name(x.agg), "median");
	lle_metric_fini(&x);
	CHECK(metric(&x, "{metric: acc, aggregation: mode}", LLE_OUT_MULTIPLE_CHOICE, &e) == -1);
	CHECK(strstr(e.msg, "unknown aggregation 'mode'") != NULL);
}

int main(void)
{
	RUN(gsm8k_filters);
	RUN(regex_findall_semantics);
	RUN(other_filters_and_chains);
	RUN(exact_match_options);
	RUN(token_f1_squad_style);
	RUN(word_and_byte_counts);
	RUN(multiple_choice_scores);
	RUN(aggregations_by_hand);
	RUN(bootstrap_stderr_matches_the_harness_procedure);
	RUN(metric_defaults_per_output_type);
	return check_done();
}
