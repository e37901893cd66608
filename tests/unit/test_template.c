/* Unit tests for src/tasks/template*.c and src/tasks/pystr.c.
 *
 *   test_template --decimals   prints "CODEPOINT VALUE" (hex, decimal) for
 *       every code point lle_py_decimal gives a digit value, for
 *       tests/cli/t0959-unicode-digits.sh to compare with python3's
 *       unicodedata.decimal over every code point
 *
 * The template cases are data: tests/template/template.test (its head says
 * the format), each a template, a context and the output or error expected.
 * Every expected output there is what Jinja2 configured as
 * lm-evaluation-harness configures it renders; tests/template/jinja2_check.py
 * (run by tests/cli/t0950-template-jinja2.sh) checks that against python3's
 * jinja2 on every run, and the cases marked as deviations say why and what
 * Jinja2 gives instead. */
#include "check.h"

#include <stdlib.h>

#include "tasks/pystr.h"
#include "tasks/template.h"

#define CASES_FILE "tests/template/template.test"
#define COMPILE_WHO "task 't': doc_to_text"
#define RENDER_WHO "task 't': doc 3: doc_to_text"

/* One block of the data file: "=== name" and its "--- section"s. */
struct tcase {
	char *name;
	int line;
	char *template_, *context, *output, *error, *error_contains, *compile_error;
};

struct tcases {
	struct tcase *v;
	size_t n;
};

static void cases_free(struct tcases *cs)
{
	for (size_t i = 0; i < cs->n; i++) {
		struct tcase *c = &cs->v[i];
		free(c->name);
		free(c->template_);
		free(c->context);
		free(c->output);
		free(c->error);
		free(c->error_contains);
		free(c->compile_error);
	}
	free(cs->v);
	cs->v = NULL;
	cs->n = 0;
}

/* The field of c a "--- NAME" section fills, or NULL for the sections only
 * the Jinja2 check reads (deviation, jinja2). -1 in *known when unknown. */
static char **section_field(struct tcase *c, const char *name, int *known)
{
	*known = 1;
	if (!strcmp(name, "template"))
		return &c->template_;
	if (!strcmp(name, "context"))
		return &c->context;
	if (!strcmp(name, "output"))
		return &c->output;
	if (!strcmp(name, "error"))
		return &c->error;
	if (!strcmp(name, "error-contains"))
		return &c->error_contains;
	if (!strcmp(name, "compile-error"))
		return &c->compile_error;
	if (!strcmp(name, "deviation") || !strcmp(name, "jinja2") || !strcmp(name, "jinja2-since"))
		return NULL;
	*known = 0;
	return NULL;
}

/* Read the data file: a section's text is its lines joined by "\n", up to
 * the next line starting with "=== " or "--- "; lines between a block's
 * "===" line and its first section are comments. 0, or -1 with a message. */
static int cases_load(const char *path, struct tcases *cs)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		printf("# cannot open %s\n", path);
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	int lineno = 0, rv = 0;
	struct tcase *cur = NULL;
	char **field = NULL, *dropped = NULL;
	struct lle_buf text = LLE_BUF_INIT;
	int have_text = 0;
	for (;;) {
		got = getline(&line, &cap, f);
		if (got > 0 && line[got - 1] == '\n')
			line[--got] = '\0';
		lineno++;
		int header = got >= 0 && (!strncmp(line, "=== ", 4) || !strncmp(line, "--- ", 4));
		if (got < 0 || header) {
			if (field) {
				*field = lle_buf_detach(&text);
				if (!*field)
					rv = -1;
				free(dropped);
				dropped = NULL;
			}
			lle_buf_reset(&text);
			field = NULL;
			have_text = 0;
		}
		if (got < 0 || rv < 0)
			break;
		if (!header) {
			if (field) {
				if (have_text)
					lle_buf_addc(&text, '\n');
				lle_buf_add(&text, line, (size_t)got);
				have_text = 1;
			} else if (!cur && got > 0 && line[0] != '#') {
				printf("# %s:%d: text outside a block\n", path, lineno);
				rv = -1;
			}
			continue;
		}
		if (line[0] == '=') {
			struct tcase *v = realloc(cs->v, (cs->n + 1) * sizeof(*v));
			if (!v) {
				rv = -1;
				break;
			}
			cs->v = v;
			cur = &cs->v[cs->n++];
			memset(cur, 0, sizeof(*cur));
			cur->name = strdup(line + 4);
			cur->line = lineno;
			continue;
		}
		int known;
		if (!cur) {
			printf("# %s:%d: a section outside a block\n", path, lineno);
			rv = -1;
			break;
		}
		field = section_field(cur, line + 4, &known);
		if (!known || (field && *field)) {
			printf("# %s:%d: %s section '%s'\n", path, lineno, known ? "repeated" : "unknown",
			       line + 4);
			rv = -1;
			break;
		}
		if (!field) /* read and dropped */
			field = &dropped;
	}
	lle_buf_free(&text);
	free(line);
	fclose(f);
	return rv;
}

/* The JSON context of a case: its "--- context" (a JSON object, or "@name"
 * for the context block named so), or an empty object. */
static json_t *case_context(const struct tcases *cs, const struct tcase *c)
{
	const char *src = c->context ? c->context : "{}";
	if (src[0] == '@') {
		for (size_t i = 0; i < cs->n; i++)
			if (!strcmp(cs->v[i].name, src) && cs->v[i].context)
				return case_context(cs, &cs->v[i]);
		return NULL;
	}
	json_error_t je;
	return json_loads(src, 0, &je);
}

/* Run one case; NULL when it behaved as the file says, else what differed
 * (static storage). */
static const char *run_case(const struct tcases *cs, const struct tcase *c)
{
	static char why[1200];
	struct lle_err e = { 0 };
	if (!c->template_)
		return "no template section";
	struct lle_tpl *t = lle_tpl_compile(c->template_, COMPILE_WHO, &e);
	if (c->compile_error) {
		if (t) {
			lle_tpl_free(t);
			return "compiled, but a compile error was expected";
		}
		if (strcmp(e.msg, c->compile_error) || e.code != LLE_EXIT_CONFIG) {
			snprintf(why, sizeof(why), "compile error \"%s\" (code %d)", e.msg, e.code);
			return why;
		}
		return NULL;
	}
	if (!t) {
		snprintf(why, sizeof(why), "does not compile: %s", e.msg);
		return why;
	}
	json_t *ctx = case_context(cs, c);
	if (!ctx) {
		lle_tpl_free(t);
		return "the context is not JSON, or names no context block";
	}
	size_t len = 0;
	char *got = lle_tpl_render(t, ctx, RENDER_WHO, &len, &e);
	json_decref(ctx);
	lle_tpl_free(t);
	const char *verdict = NULL;
	if (c->output) {
		if (!got)
			snprintf(why, sizeof(why), "render error: %s", e.msg), verdict = why;
		else if (len != strlen(c->output) || memcmp(got, c->output, len))
			snprintf(why, sizeof(why), "rendered \"%s\"", got), verdict = why;
	} else if (c->error || c->error_contains) {
		if (got)
			snprintf(why, sizeof(why), "rendered \"%s\", but an error was expected", got), verdict = why;
		else if ((c->error && strcmp(e.msg, c->error)) ||
			 (c->error_contains && !strstr(e.msg, c->error_contains)) || e.code != LLE_EXIT_DATA)
			snprintf(why, sizeof(why), "render error \"%s\" (code %d)", e.msg, e.code), verdict = why;
	} else {
		verdict = "no output, error or compile-error section";
	}
	free(got);
	return verdict;
}

TEST(cases_render_as_the_data_file_says)
{
	struct tcases cs = { 0 };
	CHECK(cases_load(CASES_FILE, &cs) == 0);
	size_t ran = 0;
	for (size_t i = 0; i < cs.n; i++) {
		const struct tcase *c = &cs.v[i];
		if (c->name[0] == '@')
			continue; /* a context block */
		ran++;
		const char *why = run_case(&cs, c);
		if (why) {
			printf("#   %s:%d: %s: %s\n", CASES_FILE, c->line, c->name, why);
			CHECK_FAIL_("case '%s' failed", c->name);
		}
	}
	CHECK(ran >= 90);
	cases_free(&cs);
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

/* Digits of other scripts, as unicodedata.decimal gives them (python3
 * 3.11, Unicode 14.0.0); every code point is checked against python3 by
 * tests/cli/t0959-unicode-digits.sh. */
TEST(decimal_digits_of_every_script)
{
	CHECK(lle_py_decimal('0') == 0 && lle_py_decimal('9') == 9);
	CHECK(lle_py_decimal('/') == -1 && lle_py_decimal(':') == -1);
	CHECK(lle_py_decimal(0x663) == 3);   /* ARABIC-INDIC DIGIT THREE */
	CHECK(lle_py_decimal(0xFF19) == 9);  /* FULLWIDTH DIGIT NINE */
	CHECK(lle_py_decimal(0x1D7CE) == 0); /* MATHEMATICAL BOLD DIGIT ZERO */
	CHECK(lle_py_decimal(0x1D7FF) == 9); /* MATHEMATICAL MONOSPACE DIGIT NINE */
	CHECK(lle_py_decimal(0x1FBF9) == 9); /* SEGMENTED DIGIT NINE, the last */
	CHECK(lle_py_decimal(0x1FBFA) == -1);
	CHECK(lle_py_decimal(0xB2) == -1);   /* SUPERSCRIPT TWO: a digit, not decimal */
	CHECK(lle_py_decimal(0x2167) == -1); /* ROMAN NUMERAL EIGHT: numeric only */
	CHECK(lle_py_decimal(0x10FFFF) == -1);
}

static int print_decimals(void)
{
	for (uint32_t c = 0; c < 0x110000; c++) {
		int d = lle_py_decimal(c);
		if (d >= 0 && printf("%X %d\n", (unsigned)c, d) < 0)
			return 1;
	}
	return fflush(stdout) != 0;
}

/* Every prefix of every template of the data file either compiles or fails
 * cleanly, and renders or fails cleanly (run under ASan by `make test SAN=1`). */
TEST(truncated_templates_fail_cleanly)
{
	struct tcases cs = { 0 };
	CHECK(cases_load(CASES_FILE, &cs) == 0);
	int compiled = 0, failed = 0;
	for (size_t i = 0; i < cs.n; i++) {
		const struct tcase *c = &cs.v[i];
		if (!c->template_)
			continue;
		json_t *d = case_context(&cs, c);
		size_t n = strlen(c->template_);
		for (size_t k = 0; d && k <= n; k++) {
			char *src = strndup(c->template_, k);
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
		if (d)
			json_decref(d);
	}
	CHECK(compiled > 0 && failed > 0);
	cases_free(&cs);
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--decimals"))
		return print_decimals();
	RUN(cases_render_as_the_data_file_says);
	RUN(compiled_once_rendered_per_document);
	RUN(python_values_print_like_python);
	RUN(literal_eval_of_rendered_lists);
	RUN(strip_split_case);
	RUN(decimal_digits_of_every_script);
	RUN(truncated_templates_fail_cleanly);
	return check_done();
}
