/* Unit tests for src/util: buffers, JSON strings, UTF-8, paths, errors, suggestions. */
#include "check.h"

#include <stdlib.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/path.h"
#include "util/suggest.h"
#include "util/utf8.h"

TEST(buf_grows_and_formats)
{
	struct lle_buf b = LLE_BUF_INIT;
	CHECK_STREQ(lle_buf_str(&b), "");
	for (int i = 0; i < 1000; i++)
		CHECK(lle_buf_printf(&b, "%d,", i) == 0);
	CHECK(b.n == 3890);
	CHECK(strncmp(b.p, "0,1,2,", 6) == 0);
	CHECK(strcmp(b.p + b.n - 4, "999,") == 0);
	char *s = lle_buf_detach(&b);
	CHECK(s && strlen(s) == 3890);
	CHECK(b.p == NULL && b.n == 0);
	free(s);
}

TEST(json_strings_escape_and_repair_utf8)
{
	struct lle_buf b = LLE_BUF_INIT;
	lle_buf_add_json_str(&b, "a\"b\\c\n\t\x01 \xc3\xa9 \xff end");
	CHECK_STREQ(lle_buf_str(&b), "\"a\\\"b\\\\c\\n\\t\\u0001 \xc3\xa9 \\ufffd end\"");
	lle_buf_free(&b);
}

TEST(utf8_validation)
{
	CHECK(lle_utf8_check((const unsigned char *)"plain", 5) == 5);
	CHECK(lle_utf8_check((const unsigned char *)"\xe2\x82\xac!", 4) == 4);
	CHECK(lle_utf8_check((const unsigned char *)"ab\xc0\xaf", 4) == 2);   /* overlong */
	CHECK(lle_utf8_check((const unsigned char *)"\xed\xa0\x80", 3) == 0); /* surrogate */
	CHECK(lle_utf8_check((const unsigned char *)"x\xe2\x82", 3) == 1);    /* truncated */
	CHECK(lle_utf8_len("h\xc3\xa9llo") == 5);
}

TEST(paths)
{
	char *p = lle_path_join("/a/b/", "c.yaml");
	CHECK_STREQ(p, "/a/b/c.yaml");
	free(p);
	p = lle_path_join("/a", "/abs");
	CHECK_STREQ(p, "/abs");
	free(p);
	p = lle_path_dirname("x/y/z.yaml");
	CHECK_STREQ(p, "x/y");
	free(p);
	p = lle_path_dirname("z.yaml");
	CHECK_STREQ(p, ".");
	free(p);
	setenv("XDG_CACHE_HOME", "/tmp/xdg-test", 1);
	p = lle_xdg_dir("cache");
	CHECK_STREQ(p, "/tmp/xdg-test/llm-eval");
	free(p);
	unsetenv("XDG_CACHE_HOME");
	setenv("HOME", "/home/u", 1);
	p = lle_xdg_dir("data");
	CHECK_STREQ(p, "/home/u/.local/share/llm-eval");
	free(p);
}

TEST(errors_carry_code_and_prefix)
{
	struct lle_err e = { 0 };
	CHECK(lle_err_set(&e, LLE_EXIT_CONFIG, "missing key '%s'", "name") == -1);
	CHECK(e.code == LLE_EXIT_CONFIG);
	lle_err_prefix(&e, "%s:%d:%d", "m.yaml", 3, 1);
	CHECK_STREQ(e.msg, "m.yaml:3:1: missing key 'name'");
	CHECK(lle_err_set(NULL, 3, "ignored") == -1);
}

TEST(suggestions)
{
	static const char *const keys[] = { "name", "description", "hf_repo", "license", "categories", NULL };
	CHECK_STREQ(lle_suggest("nmae", keys), "name");        /* transposition */
	CHECK_STREQ(lle_suggest("licence", keys), "license");
	CHECK_STREQ(lle_suggest("descripton", keys), "description");
	CHECK_STREQ(lle_suggest("category", keys), "categories"); /* a stem */
	CHECK(lle_suggest("zzzz", keys) == NULL);
	CHECK(lle_suggest("x", keys) == NULL);
	/* The names of issue 18: a task, a category, a command, an option. */
	static const char *const names[] = { "gsm8k", "gsm8k_cot", "mathematics", "coding", "--batch-size",
					     "--num-fewshot", "list", "run", NULL };
	CHECK_STREQ(lle_suggest("gsm8kk", names), "gsm8k");
	CHECK_STREQ(lle_suggest("mathematic", names), "mathematics");
	CHECK_STREQ(lle_suggest("lsit", names), "list");
	CHECK_STREQ(lle_suggest("--batchsize", names), "--batch-size");
	CHECK_STREQ(lle_suggest("--num-fewshots", names), "--num-fewshot");
	CHECK(lle_suggest("xyz", names) == NULL);
	/* Fed one by one: the first of the smallest distance wins. */
	struct lle_suggest sg;
	lle_suggest_init(&sg, "abd");
	lle_suggest_add(&sg, "abc");
	lle_suggest_add(&sg, "abe");
	lle_suggest_add(&sg, NULL);
	CHECK_STREQ(lle_suggest_result(&sg), "abc");
	char longw[100];
	memset(longw, 'a', 99);
	longw[99] = '\0';
	lle_suggest_init(&sg, longw);
	lle_suggest_add(&sg, "b");
	CHECK(lle_suggest_result(&sg) == NULL);
}

int main(void)
{
	RUN(buf_grows_and_formats);
	RUN(json_strings_escape_and_repair_utf8);
	RUN(utf8_validation);
	RUN(paths);
	RUN(errors_carry_code_and_prefix);
	RUN(suggestions);
	return check_done();
}
