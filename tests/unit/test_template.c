/* Unit tests for src/tasks/template.c and src/tasks/pystr.c.
 *
 * The rendering table was checked against Jinja2 3.1 configured as
 * lm-evaluation-harness configures it (StrictUndefined,
 * keep_trailing_newline=True): each expected string is what Jinja printed for
 * the template and the document below while this test was written, copied
 * here by hand-run tooling. Python is not run at test time. */
#include "check.h"

#include <stdlib.h>

#include "tasks/pystr.h"
#include "tasks/template.h"

static const char *k_doc =
"{\"question\": \"  What is 2+2?\\n\", \"answer\": \"It is 4.\\n#### 4\", \"choices\": [\"three\", \"four\", \"five's\", \"say \\\"x\\\"\"], \"label\": 1, \"n\": 3, \"f\": 1.0, \"g\": 0.1, \"big\": 1e+16, \"small\": 1e-05, \"neg\": -2.5, \"t\": true, \"none\": null, \"meta\": {\"a\": {\"b\": \"deep\"}, \"k\": [1, 2.5, \"x\", null, true]}, \"nums\": [3, 1, 2], \"empty\": \"\", \"uni\": \"\xc3""\x9c""n\xc3""\xaf""code \xc3""\x80""\xc3""\x89"" stra\xc3""\x9f""e\", \"ctx\": {\"text\": [\"A\", \"B\"], \"label\": [\"x\", \"y\"]}, \"key\": \"y\", \"ctrl\": \"tab\\there\xc2""\xa0""nb\"}";

static const struct {
	const char *tpl, *want;
} k_cases[] = {
	{ "Question: {{question}}\nAnswer:",
	  "Question:   What is 2+2?\n\nAnswer:" },
	{ "{{question.strip()}}|{{ question | trim }}|",
	  "What is 2+2?|What is 2+2?|" },
	{ "{{answer.split('####')[-1].strip()}}",
	  "4" },
	{ "{{choices}}",
	  "['three', 'four', \"five's\", 'say \"x\"']" },
	{ "{{choices[0]}} {{choices[-1]}} {{choices[1:3]}} {{choices[:-1]}}",
	  "three say \"x\" ['four', \"five's\"] ['three', 'four', \"five's\"]" },
	{ "{{f}} {{g}} {{big}} {{small}} {{neg}} {{t}} {{none}} {{n}}",
	  "1.0 0.1 1e+16 1e-05 -2.5 True None 3" },
	{ "{{meta}}",
	  "{'a': {'b': 'deep'}, 'k': [1, 2.5, 'x', None, True]}" },
	{ "{{meta.a.b}} {{meta['a']['b']}} {{meta.k}}",
	  "deep deep [1, 2.5, 'x', None, True]" },
	{ "{% for c in choices %}{{ loop.index }}. {{ c }}\n{% endfor %}",
	  "1. three\n2. four\n3. five's\n4. say \"x\"\n" },
	{ "{% for c in choices %}{{ loop.index0 }}{% if not loop.last %},{% endif %}{% endfor %}",
	  "0,1,2,3" },
	{ "{%- if label == 1 -%}\n  one\n{%- elif label == 2 -%} two {%- else -%} other {%- endif %}!",
	  "one!" },
	{ "{{ 'yes' if label in [1,2] else 'no' }} {{ 'a' ~ n ~ f }} {{ 'x' + 'y' }} {{ n + 2 }} {{ n * 2 }} {{ n / 2 }} {{ n // 2 }} {{ -n % 2 }}",
	  "yes a31.0 xy 5 6 1.5 1 1" },
	{ "{{ choices | join(', ') }}|{{ nums | join }}|{{ choices | length }}|{{ question | length }}",
	  "three, four, five's, say \"x\"|312|4|15" },
	{ "{{ question | lower }}{{ uni | upper }}{{ uni | lower }}{{ 'ab' | upper }}",
	  "  what is 2+2?\n\xc3""\x9c""N\xc3""\x8f""CODE \xc3""\x80""\xc3""\x89"" STRASSE\xc3""\xbc""n\xc3""\xaf""code \xc3""\xa0""\xc3""\xa9"" stra\xc3""\x9f""eAB" },
	{ "{{ answer | replace('#', '*') }} {{ answer.replace('4', 'four') }}",
	  "It is 4.\n**** 4 It is four.\n#### four" },
	{ "{{ '12' | int + 1 }} {{ ' 7 ' | int }} {{ '3.9' | int }} {{ 'x' | int }} {{ f | int }} {{ n | string }} {{ nums | string }}",
	  "13 7 3 0 1 3 [3, 1, 2]" },
	{ "{{ missing is defined }} {{ question is defined }} {{ missing is not defined }} {{ none is none }}",
	  "False True True True" },
	{ "{{ choices.index('four') }} {{ answer.index('####') }} {{ ['A','B','C','D'][label] }}",
	  "1 9 B" },
	{ "{{ ctx.label.index(key) }} {{ ctx.text[ctx.label.index(key)] }}",
	  "1 B" },
	{ "{{ 'four' in choices }} {{ 'x' not in choices }} {{ 'is' in answer }} {{ label != 2 and n == 3 }} {{ label == 2 or n }}",
	  "True True True True 3" },
	{ "{{ question.lower() }}{{ question.upper() }}",
	  "  what is 2+2?\n  WHAT IS 2+2?\n" },
	{ "{{ ' '.join(choices) }} {{ answer.split() }} {{ 'a,b,,c'.split(',') }}",
	  "three four five's say \"x\" ['It', 'is', '4.', '####', '4'] ['a', 'b', '', 'c']" },
	{ "{% set x = n * 2 %}{{ x }} {{ x + 1 }}",
	  "6 7" },
	{ "{{ empty or 'fallback' }} {{ missing | default('dflt') }}",
	  "fallback dflt" },
	{ "{{ ctrl }} {{ [ctrl, \"it's\", 'q\"'] }}",
	  "tab\there\xc2""\xa0""nb ['tab\\there\\xa0nb', \"it's\", 'q\"']" },
	{ "{# comment #}a  {{- ' b ' -}}  c",
	  "a b c" },
	{ "{{ uni[0] }}{{ uni[-1] }}{{ uni[1:4] }} {{ uni.index('c') }}",
	  "\xc3""\x9c""en\xc3""\xaf""c 3" },
	{ "{{ 1 < 2 < 3 }} {{ 3 > n }} {{ 'a' < 'b' }} {{ n >= 3 }}",
	  "True False True True" },
	{ "{{ question.strip()[0:8] }}",
	  "What is " },
	{ "trailing\n\n",
	  "trailing\n\n" },
	{ "{{ (n + 1) * 2 }} {{ not t }} {{ -f }}",
	  "8 False -1.0" },
	{ "{{ 'a\\nb' }} {{ \"it's\" }}",
	  "a\nb it's" },
};

static json_t *doc(void)
{
	json_error_t je;
	return json_loads(k_doc, 0, &je);
}

static char *render(const char *tpl, json_t *d, struct lle_err *e)
{
	struct lle_tpl *t = lle_tpl_compile(tpl, "task 't': doc_to_text", e);
	if (!t)
		return NULL;
	char *s = lle_tpl_render(t, d, "task 't': doc 3: doc_to_text", NULL, e);
	lle_tpl_free(t);
	return s;
}

TEST(renders_like_jinja)
{
	json_t *d = doc();
	CHECK(d != NULL);
	for (size_t i = 0; i < sizeof(k_cases) / sizeof(k_cases[0]); i++) {
		struct lle_err e = { 0 };
		char *s = render(k_cases[i].tpl, d, &e);
		if (!s)
			CHECK_FAIL_("template %zu %s: %s", i, k_cases[i].tpl, e.msg);
		else
			CHECK_STREQ(s, k_cases[i].want);
		free(s);
	}
	json_decref(d);
}

/* lm-evaluation-harness registers regex_replace (re.sub) in its Jinja
 * environment; range() is Jinja's global. Expected values from Jinja2. */
TEST(regex_replace_and_range)
{
	static const struct {
		const char *tpl, *want;
	} c[] = {
		{ "{{ text | regex_replace('\\s+', ' ') }}", "The cat sat on 12 mats" },
		{ "{{ text | regex_replace('(\\d+)', '<\\1>') }}", "The  cat\tsat   on <12> mats" },
		{ "{{ text | regex_replace('(?P<w>cat)', '\\g<1>s') }}", "The  cats\tsat   on 12 mats" },
		{ "{{ text | regex_replace('a', 'A', 2) }}", "The  cAt\tsAt   on 12 mats" },
		{ "{{ text | regex_replace('x*', '-') }}", "-T-h-e- - -c-a-t-\t-s-a-t- - - -o-n- -1-2- -m-a-t-s-" },
		{ "{% for i in range(choices|length) %}{{ i }}:{{ choices[i] }} {% endfor %}", "0:a 1:b 2:c " },
		{ "{{ range(1, 7, 2) | join(',') }} {{ range(5, 0, -2) | join(',') }}", "1,3,5 5,3,1" },
	};
	json_t *d = json_pack("{sss[sss]}", "text", "The  cat\tsat   on 12 mats", "choices", "a", "b", "c");
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct lle_err e = { 0 };
		char *s = render(c[i].tpl, d, &e);
		if (!s)
			CHECK_FAIL_("%s: %s", c[i].tpl, e.msg);
		CHECK_STREQ(s, c[i].want);
		free(s);
	}
	struct lle_err e = { 0 };
	CHECK(render("{{ text | regex_replace('(', '') }}", d, &e) == NULL);
	CHECK(strstr(e.msg, "regex_replace: pattern does not compile") != NULL);
	CHECK(render("{{ range() }}", d, &e) == NULL);
	CHECK_STREQ(e.msg, "task 't': doc_to_text: at character 4: range() takes 1 to 3 arguments");
	json_decref(d);
}

TEST(compiled_once_rendered_per_document)
{
	struct lle_err e = { 0 };
	struct lle_tpl *t = lle_tpl_compile("{{q}}={{a | int * 2}}", "w", &e);
	CHECK(t != NULL);
	json_t *d1 = json_pack("{ssss}", "q", "x", "a", "21");
	json_t *d2 = json_pack("{sssi}", "q", "y", "a", 4);
	char *s1 = lle_tpl_render(t, d1, "w", NULL, &e);
	char *s2 = lle_tpl_render(t, d2, "w", NULL, &e);
	CHECK_STREQ(s1, "x=42");
	CHECK_STREQ(s2, "y=8");
	CHECK_STREQ(lle_tpl_source(t), "{{q}}={{a | int * 2}}");
	free(s1);
	free(s2);
	json_decref(d1);
	json_decref(d2);
	lle_tpl_free(t);
}

TEST(unsupported_constructs_are_compile_errors_with_position)
{
	static const struct {
		const char *tpl, *msg;
	} bad[] = {
		{ "{{ choices | title }}",
		  "task 't': doc_to_text: at character 14: unsupported filter 'title'" },
		{ "{% macro m() %}{% endmacro %}",
		  "task 't': doc_to_text: at character 4: unsupported statement 'macro'" },
		{ "ab{{ x.capitalize() }}",
		  "task 't': doc_to_text: at character 8: unsupported method 'capitalize'" },
		{ "{{ zip(a, b) }}", "task 't': doc_to_text: at character 4: unsupported function call 'zip'" },
		{ "{% if n %}x", "task 't': doc_to_text: at character 4: 'if' without 'endif'" },
		{ "{% for x in y %}x", "task 't': doc_to_text: at character 4: 'for' without 'endfor'" },
		{ "{% endif %}", "task 't': doc_to_text: at character 4: 'endif' without a matching opening tag" },
		{ "x {{ a ", "task 't': doc_to_text: at character 3: '{{' is not closed" },
		{ "{{ a b }}", "task 't': doc_to_text: at character 6: unexpected 'b'" },
		{ "{{ {'a': 1} }}", "task 't': doc_to_text: at character 4: dict literals are not supported" },
		{ "{{ 'abc }}", "task 't': doc_to_text: at character 1: '{{' is not closed" },
		{ "{{ a | join(sep=',') }}", "task 't': doc_to_text: at character 13: keyword arguments are not supported" },
		{ "{{ a is odd }}", "task 't': doc_to_text: at character 9: unsupported test 'odd'" },
		{ "{% for a, b in x %}{% endfor %}",
		  "task 't': doc_to_text: at character 9: unpacking several loop variables is not supported" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct lle_err e = { 0 };
		struct lle_tpl *t = lle_tpl_compile(bad[i].tpl, "task 't': doc_to_text", &e);
		CHECK(t == NULL);
		lle_tpl_free(t);
		CHECK_STREQ(e.msg, bad[i].msg);
		CHECK_INTEQ(e.code, LLE_EXIT_CONFIG);
	}
}

TEST(missing_fields_name_task_document_and_field)
{
	json_t *d = doc();
	struct lle_err e = { 0 };
	CHECK(render("Q: {{ missing }}", d, &e) == NULL);
	CHECK_STREQ(e.msg, "task 't': doc 3: doc_to_text: missing field 'missing'");
	CHECK_INTEQ(e.code, LLE_EXIT_DATA);
	CHECK(render("{{ meta.nope.x }}", d, &e) == NULL);
	CHECK_STREQ(e.msg, "task 't': doc 3: doc_to_text: missing field 'meta.nope'");
	CHECK(render("{{ nums[5] }}", d, &e) == NULL);
	CHECK_STREQ(e.msg, "task 't': doc 3: doc_to_text: missing field 'nums[5]'");
	CHECK(render("{% if missing %}x{% endif %}", d, &e) == NULL); /* strict, as the harness */
	CHECK_STREQ(e.msg, "task 't': doc 3: doc_to_text: missing field 'missing'");
	CHECK(render("{{ choices.index('zzz') }}", d, &e) == NULL);
	CHECK_STREQ(e.msg, "task 't': doc 3: doc_to_text: 'zzz' is not in list (at character 4)");
	CHECK(render("{{ n + 'a' }}", d, &e) == NULL);
	CHECK_STREQ(e.msg, "task 't': doc 3: doc_to_text: unsupported operand types int and str (at character 4)");
	json_decref(d);
}

TEST(python_values_print_like_python)
{
	struct lle_buf b = LLE_BUF_INIT;
	static const struct {
		double d;
		const char *s;
	} f[] = { { 1.0, "1.0" }, { 0.1, "0.1" }, { 1e16, "1e+16" }, { 1e15, "1000000000000000.0" },
		  { 1e-4, "0.0001" }, { 1e-5, "1e-05" }, { -2.5, "-2.5" }, { 1.0 / 3, "0.3333333333333333" },
		  { 123456789.125, "123456789.125" }, { 2.5e-300, "2.5e-300" } };
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		lle_buf_reset(&b);
		lle_py_float_repr(&b, f[i].d);
		CHECK_STREQ(lle_buf_str(&b), f[i].s);
	}
	lle_buf_free(&b);
}

TEST(literal_eval_of_rendered_lists)
{
	struct lle_err e = { 0 };
	json_t *v = lle_py_literal_eval("['a', \"it's\", 'x\\ny', 3, -1.5, None, True, ('t',)]", &e);
	CHECK(v && json_array_size(v) == 8);
	CHECK_STREQ(json_string_value(json_array_get(v, 1)), "it's");
	CHECK_STREQ(json_string_value(json_array_get(v, 2)), "x\ny");
	CHECK_INTEQ(json_integer_value(json_array_get(v, 3)), 3);
	CHECK_NEAR(json_real_value(json_array_get(v, 4)), -1.5, 0);
	CHECK(json_is_null(json_array_get(v, 5)) && json_is_true(json_array_get(v, 6)));
	CHECK(json_is_array(json_array_get(v, 7)));
	json_decref(v);
	CHECK(lle_py_literal_eval("['a', b]", &e) == NULL);
	CHECK_STREQ(e.msg, "not a Python literal: unexpected character at character 7");
	CHECK(lle_py_literal_eval("[1, 2] x", &e) == NULL);
}

TEST(strip_split_case)
{
	struct lle_buf b = LLE_BUF_INIT;
	const char *s = "\xc2\xa0 x y \t\n";
	lle_py_strip(&b, s, strlen(s), NULL, LLE_STRIP_BOTH);
	CHECK_STREQ(lle_buf_str(&b), "x y");
	lle_buf_reset(&b);
	lle_py_strip(&b, "xxhixx", 6, "x", LLE_STRIP_LEFT);
	CHECK_STREQ(lle_buf_str(&b), "hixx");
	lle_buf_reset(&b);
	lle_py_lower(&b, "\xc3\x84\xce\xa3\xd0\x96Z", 7);
	CHECK_STREQ(lle_buf_str(&b), "\xc3\xa4\xcf\x83\xd0\xb6z");
	lle_buf_free(&b);
	json_t *a = lle_py_split("  a  b ", 7, NULL);
	CHECK(a && json_array_size(a) == 2);
	json_decref(a);
	a = lle_py_split("a##b##", 6, "##");
	CHECK(a && json_array_size(a) == 3 && json_string_length(json_array_get(a, 2)) == 0);
	json_decref(a);
}

/* Every prefix of every table template either compiles or fails cleanly,
 * and renders or fails cleanly (run under ASan by `make test SAN=1`). */
TEST(truncated_templates_fail_cleanly)
{
	json_t *d = doc();
	int compiled = 0, failed = 0;
	for (size_t i = 0; i < sizeof(k_cases) / sizeof(k_cases[0]); i++) {
		size_t n = strlen(k_cases[i].tpl);
		for (size_t k = 0; k <= n; k++) {
			char *src = strndup(k_cases[i].tpl, k);
			struct lle_err e = { 0 };
			struct lle_tpl *t = lle_tpl_compile(src, "w", &e);
			if (t) {
				compiled++;
				char *s = lle_tpl_render(t, d, "w", NULL, &e);
				free(s);
				lle_tpl_free(t);
			} else {
				failed++;
				CHECK(e.code == LLE_EXIT_CONFIG && strncmp(e.msg, "w: at character ", 16) == 0);
			}
			free(src);
		}
	}
	CHECK(compiled > 0 && failed > 0);
	json_decref(d);
}

int main(void)
{
	RUN(renders_like_jinja);
	RUN(regex_replace_and_range);
	RUN(compiled_once_rendered_per_document);
	RUN(unsupported_constructs_are_compile_errors_with_position);
	RUN(missing_fields_name_task_document_and_field);
	RUN(python_values_print_like_python);
	RUN(literal_eval_of_rendered_lists);
	RUN(strip_split_case);
	RUN(truncated_templates_fail_cleanly);
	return check_done();
}
