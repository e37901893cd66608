/* Unit tests for chat templates (lle_tpl_compile_chat: src/tasks/template*.c
 * in transformers' environment), and the renderer behind
 * tests/template/chat_check.py.
 *
 * Run without arguments: TAP checks of the environment's rules, each
 * expectation being what python3's jinja2 renders in transformers'
 * environment (trim_blocks, lstrip_blocks, lenient Undefined, loop
 * controls); chat_check.py (tests/cli/t0951-chat-template-jinja2.sh)
 * compares the whole engine with jinja2 over template corpora.
 *   test_chat_template --render FILE   renders the chat template FILE with
 *   the JSON object on stdin as its variables: the text on stdout (exit 0)
 *   or the error on stderr (exit 2). */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/chat.h"
#include "tasks/template.h"
#include "util/buf.h"

/* The rendering of src with the JSON context ctx, or "ERROR: message". */
static char *render(const char *src, const char *ctx)
{
	struct lle_err err = { 0 };
	json_error_t je;
	json_t *doc = json_loads(ctx, 0, &je);
	if (!doc)
		return strdup("ERROR: bad json");
	struct lle_tpl *t = lle_tpl_compile_chat(src, "chat template", &err);
	char *out = t ? lle_tpl_render(t, doc, "chat template", NULL, &err) : NULL;
	if (!out) {
		size_t n = strlen(err.msg) + 8;
		out = malloc(n);
		if (out)
			snprintf(out, n, "ERROR: %s", err.msg);
	}
	lle_tpl_free(t);
	json_decref(doc);
	return out;
}

#define CHECK_RENDERS(src, ctx, want)             \
	do {                                      \
		char *got_ = render(src, ctx);    \
		CHECK_STREQ(got_, want);          \
		free(got_);                       \
	} while (0)

TEST(trim_and_lstrip_blocks)
{
	/* trim_blocks: the newline after %} goes; lstrip_blocks: the indent before {% */
	CHECK_RENDERS("{% if true %}\n  yes\n  {% endif %}\nend", "{}", "  yes\nend");
	CHECK_RENDERS("a\n    {% if true %}b{% endif %}\n", "{}", "a\nb");
	/* not before {{ }}, and not with {%+ */
	CHECK_RENDERS("  {{ 'x' }}\n  {%+ if true %}y{% endif %}", "{}", "  x\n  y");
	/* {# #} too */
	CHECK_RENDERS("  {# c #}\nz", "{}", "z");
	/* one trailing newline of the template is dropped; \r\n becomes \n */
	CHECK_RENDERS("a\r\nb\n", "{}", "a\nb");
}

TEST(undefined_is_lenient)
{
	CHECK_RENDERS("[{{ nothing }}]{% if nothing %}x{% endif %}{% for a in nothing %}y{% endfor %}"
		      "{{ nothing | length }}{{ 'a' ~ nothing }}{{ nothing == 1 }}",
		      "{}", "[]0aFalse");
	CHECK_RENDERS("{{ m.x }}", "{\"m\": {}}", "");
	char *e = render("{{ nothing.x }}", "{}"); /* an attribute of Undefined fails, as in Jinja */
	CHECK(e && strncmp(e, "ERROR: ", 7) == 0);
	free(e);
}

TEST(loop_controls_namespace_macros)
{
	CHECK_RENDERS("{% for i in range(5) %}{% if i == 1 %}{% continue %}{% endif %}{% if i == 3 %}"
		      "{% break %}{% endif %}{{ i }}{% endfor %}",
		      "{}", "02");
	CHECK_RENDERS("{% set ns = namespace(n=0) %}{% for i in [1, 2] %}{% set ns.n = ns.n + i %}"
		      "{% endfor %}{{ ns.n }}",
		      "{}", "3");
	CHECK_RENDERS("{% macro m(a, b='!') %}<{{ a }}{{ b }}>{% endmacro %}{{ m('x') }}{{ m('y', b='?') }}",
		      "{}", "<x!><y?>");
	CHECK_RENDERS("{% for k, v in d.items() if v %}{{ k }}={{ v }};{% else %}none{% endfor %}",
		      "{\"d\": {\"a\": 1, \"b\": 0, \"c\": 2}}", "a=1;c=2;");
	CHECK_RENDERS("{{ raise_exception('no system role') }}", "{}",
		      "ERROR: chat template: the chat template raised an exception: no system role "
		      "(at character 4)");
}

TEST(tojson_is_transformers)
{
	/* json.dumps(x, ensure_ascii=False): not Jinja's HTML-escaping tojson */
	CHECK_RENDERS("{{ x | tojson }}|{{ x | tojson(indent=2) }}",
		      "{\"x\": {\"a\": [1, 2.5, \"<é>\"], \"b\": null}}",
		      "{\"a\": [1, 2.5, \"<é>\"], \"b\": null}|{\n  \"a\": [\n    1,\n    2.5,\n    \"<é>\"\n  ],\n"
		      "  \"b\": null\n}");
}

static int render_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return 2;
	}
	struct lle_buf src = LLE_BUF_INIT;
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		lle_buf_add(&src, chunk, n);
	fclose(f);
	json_error_t je;
	json_t *doc = json_loadf(stdin, 0, &je);
	if (!doc) {
		fprintf(stderr, "stdin: %s\n", je.text);
		return 2;
	}
	struct lle_err err = { 0 };
	struct lle_tpl *t = lle_tpl_compile_chat(lle_buf_str(&src), "chat template", &err);
	size_t len = 0;
	char *out = t ? lle_tpl_render(t, doc, "chat template", &len, &err) : NULL;
	int rc = 0;
	if (out) {
		fwrite(out, 1, len, stdout);
	} else {
		fprintf(stderr, "%s\n", err.msg);
		rc = 2;
	}
	free(out);
	lle_tpl_free(t);
	json_decref(doc);
	lle_buf_free(&src);
	return rc;
}

/* lle_chat_to_backend: the system instruction joins the system turn as
 * fewshot_context v0.4.9.2 joins it with a description (instruction +
 * fewshot_delimiter + description), or is a turn of its own, or (empty)
 * none; the context is json.dumps(messages, ensure_ascii=False). */
TEST(conversation_for_a_backend_that_renders_it)
{
	struct lle_err err = { 0 };
	struct lle_requests rq = { 0 };
	rq.messages = json_pack("[{ssss}{ssss}]", "role", "system", "content", "Desc.", "role", "user", "content",
				"Q: \"é\"\n\t");
	rq.context = strdup("plain");
	CHECK(lle_chat_to_backend(&rq, "Sys.", "\n\n", &err) == 0);
	CHECK_STREQ(rq.context, "[{\"role\": \"system\", \"content\": \"Sys.\\n\\nDesc.\"}, "
				"{\"role\": \"user\", \"content\": \"Q: \\\"é\\\"\\n\\t\"}]");
	size_t n = 0;
	struct lle_message *v = lle_chat_message_array(rq.messages, &n);
	CHECK(v && n == 2 && !strcmp(v[0].role, "system") && v[0].content_len == strlen("Sys.\n\nDesc.") &&
	      !strcmp(v[1].content, "Q: \"é\"\n\t"));
	free(v);
	lle_requests_free(&rq);
	rq = (struct lle_requests){ 0 };
	rq.messages = json_pack("[{ssss}]", "role", "user", "content", "Q");
	rq.context = strdup("plain");
	CHECK(lle_chat_to_backend(&rq, "Sys.", "\n\n", &err) == 0);
	CHECK_STREQ(rq.context, "[{\"role\": \"system\", \"content\": \"Sys.\"}, {\"role\": \"user\", \"content\": \"Q\"}]");
	lle_requests_free(&rq);
	rq = (struct lle_requests){ 0 };
	rq.messages = json_pack("[{ssss}]", "role", "user", "content", "Q");
	rq.context = strdup("plain");
	CHECK(lle_chat_to_backend(&rq, "", "\n\n", &err) == 0);
	CHECK_STREQ(rq.context, "[{\"role\": \"user\", \"content\": \"Q\"}]");
	lle_requests_free(&rq);
}

/* A rendering marks the messages and the template's literals static while
 * it runs (run/chat.c): every count is as before once it returns, and the
 * values stay usable after the template is freed. */
TEST(rendering_gives_back_reference_counts)
{
	struct lle_err err = { 0 };
	struct lle_chat_src cs = { .spec = "{% for m in messages %}{{ m.role + ':' + m.content }}{% set x = [m] %}"
					   "{% endfor %}{{ 'lit' }}" };
	struct lle_chat *c = NULL;
	CHECK(lle_chat_open(&cs, "t", &c, &err) == 1);
	json_t *msgs = json_pack("[{ssss}{ssss}]", "role", "user", "content", "a", "role", "assistant", "content", "b");
	json_t *m0 = json_array_get(msgs, 0), *s0 = json_object_get(m0, "content");
	json_incref(s0);
	size_t rc_msgs = msgs->refcount, rc_m0 = m0->refcount, rc_s0 = s0->refcount;
	char *out = c ? lle_chat_render(c, msgs, 0, "t", &err) : NULL;
	CHECK_STREQ(out ? out : "", "user:aassistant:blit");
	free(out);
	CHECK(msgs->refcount == rc_msgs && m0->refcount == rc_m0 && s0->refcount == rc_s0 && rc_s0 == 2);
	lle_chat_free(c);
	json_decref(msgs);
	CHECK_STREQ(json_string_value(s0), "a");
	json_decref(s0);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--render"))
		return render_file(argv[2]);
	RUN(trim_and_lstrip_blocks);
	RUN(undefined_is_lenient);
	RUN(loop_controls_namespace_macros);
	RUN(tojson_is_transformers);
	RUN(conversation_for_a_backend_that_renders_it);
	RUN(rendering_gives_back_reference_counts);
	return check_done();
}
