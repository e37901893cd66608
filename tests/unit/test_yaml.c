/* Unit tests for src/data/yaml.c: trees, positions, tags, errors. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>

#include "data/yaml.h"
#include "util/diag.h"

static struct lle_node *load(const char *s, struct lle_err *e)
{
	return lle_yaml_load_mem(s, strlen(s), "t.yaml", e);
}

TEST(maps_lists_scalars_and_positions)
{
	struct lle_err e = { 0 };
	struct lle_node *r = load("task: gsm8k\nnum_fewshot: 5\nuntil:\n  - \"Question:\"\n  - '\\n\\n'\n"
				  "flag: true\nq: \"5\"\n", &e);
	CHECK(r != NULL);
	CHECK_STREQ(lle_node_str(r, "task"), "gsm8k");
	long v = 0;
	CHECK(lle_node_long(lle_node_get(r, "num_fewshot"), &v) == 0 && v == 5);
	const struct lle_node *u = lle_node_get(r, "until");
	CHECK(u && u->kind == LLE_NODE_SEQ && u->n == 2);
	CHECK_STREQ(u->items[0]->str, "Question:");
	CHECK_STREQ(u->items[1]->str, "\\n\\n"); /* single quotes do not escape */
	CHECK_INTEQ(u->items[1]->line, 5);
	CHECK_INTEQ(u->items[1]->col, 5);
	CHECK(lle_node_bool(lle_node_get(r, "flag")) == 1);
	CHECK(lle_node_long(lle_node_get(r, "q"), &v) == -1); /* quoted: a string */
	CHECK_STREQ(lle_node_kind_name(lle_node_get(r, "q")), "a string");
	CHECK_STREQ(lle_node_kind_name(lle_node_get(r, "num_fewshot")), "a number");
	lle_node_free(r);
}

TEST(custom_tags_are_kept_not_run)
{
	struct lle_err e = { 0 };
	struct lle_node *r = load("process_docs: !function utils.process_docs\n", &e);
	CHECK(r != NULL);
	const struct lle_node *p = lle_node_get(r, "process_docs");
	CHECK(p && p->tag && strcmp(p->tag, "!function") == 0);
	CHECK_STREQ(p->str, "utils.process_docs");
	lle_node_free(r);
}

TEST(anchors_and_aliases_copy)
{
	struct lle_err e = { 0 };
	struct lle_node *r = load("a: &x [1, 2]\nb: *x\n", &e);
	CHECK(r != NULL);
	const struct lle_node *b = lle_node_get(r, "b");
	CHECK(b && b->kind == LLE_NODE_SEQ && b->n == 2);
	lle_node_free(r);
}

TEST(empty_file_is_empty_map)
{
	struct lle_err e = { 0 };
	struct lle_node *r = load("", &e);
	CHECK(r && r->kind == LLE_NODE_MAP && r->n == 0);
	lle_node_free(r);
	r = load("# only a comment\n", &e);
	CHECK(r && r->kind == LLE_NODE_MAP && r->n == 0);
	lle_node_free(r);
}

TEST(errors_name_file_line_column)
{
	struct lle_err e = { 0 };
	CHECK(load("a: 1\nb: [1, 2\n", &e) == NULL);
	CHECK(e.code == 3);
	CHECK(strncmp(e.msg, "t.yaml:", 7) == 0);
	CHECK(load("a: 1\n---\nb: 2\n", &e) == NULL);
	CHECK(strstr(e.msg, "more than one YAML document") != NULL);
	CHECK(load("x: \"caf\xe9\"\n", &e) == NULL);
	CHECK_STREQ(e.msg, "t.yaml:1:8: not valid UTF-8 (byte 0xe9)");
	CHECK(load("? [a]\n: 1\n", &e) == NULL);
	CHECK(strstr(e.msg, "a key must be a string") != NULL);
	CHECK(load("a: *nope\n", &e) == NULL);
}

/* PyYAML builds a dict, so a repeated key keeps its first place and its last
 * value (python3 -c 'import yaml; print(yaml.safe_load(...))' prints
 * {'a': {'c': 3}, 'b': 2, 'd': {'c': 3}} and {'a': 2, 'b': 1} for the two
 * documents below); lm-evaluation-harness reads its trees with PyYAML. */
TEST(duplicate_keys_keep_the_last_value_with_one_warning)
{
	struct lle_err e = { 0 };
	unsigned w0 = lle_warn_count();
	struct lle_node *r = load("a: 1\nb: 2\na: &x {c: 3}\nd: *x\n", &e);
	CHECK(r != NULL);
	CHECK(r && r->n == 3);
	CHECK(r && !strcmp(r->keys[0], "a") && !strcmp(r->keys[1], "b") && !strcmp(r->keys[2], "d"));
	long v = 0;
	CHECK(lle_node_long(lle_node_get(lle_node_get(r, "a"), "c"), &v) == 0 && v == 3);
	CHECK(lle_node_long(lle_node_get(lle_node_get(r, "d"), "c"), &v) == 0 && v == 3);
	CHECK(lle_node_get(r, "a") && lle_node_get(r, "a")->line == 3);
	CHECK_INTEQ((int)(lle_warn_count() - w0), 1);
	lle_node_free(r);
	/* the same place again (an included file read for another task):
	 * no second warning */
	r = load("a: 1\nb: 2\na: &x {c: 3}\nd: *x\n", &e);
	CHECK(r != NULL);
	CHECK_INTEQ((int)(lle_warn_count() - w0), 1);
	lle_node_free(r);
	/* an alias of the replaced value still reads it */
	r = load("a: &y 1\na: 2\nb: *y\n", &e);
	CHECK(r && r->n == 2);
	CHECK(lle_node_long(lle_node_get(r, "a"), &v) == 0 && v == 2);
	CHECK(lle_node_long(lle_node_get(r, "b"), &v) == 0 && v == 1);
	CHECK_INTEQ((int)(lle_warn_count() - w0), 2);
	lle_node_free(r);
	/* nested maps too (kmmlu's cot_hard filter repeats regex_pattern) */
	r = load("f:\n  - function: regex\n    regex_pattern: one\n    regex_pattern: two\n", &e);
	CHECK(r != NULL);
	const struct lle_node *fl = lle_node_get(r, "f"), *f0 = fl && fl->n ? fl->items[0] : NULL;
	CHECK(f0 && f0->n == 2);
	CHECK_STREQ(lle_node_str(f0, "regex_pattern"), "two");
	lle_node_free(r);
}

TEST(files_missing_too_large_and_nested)
{
	struct lle_err e = { 0 };
	CHECK(lle_yaml_load_file("/nonexistent/x.yaml", 0, &e) == NULL);
	CHECK(e.code == 6);
	CHECK(strstr(e.msg, "/nonexistent/x.yaml: cannot open") != NULL);
	char path[] = "/tmp/lle-yaml-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	FILE *f = fdopen(fd, "w");
	for (int i = 0; i < 1000; i++)
		fprintf(f, "k%d: %d\n", i, i);
	fclose(f);
	CHECK(lle_yaml_load_file(path, 100, &e) == NULL);
	CHECK(strstr(e.msg, "larger than") != NULL);
	struct lle_node *r = lle_yaml_load_file(path, 0, &e);
	CHECK(r && r->n == 1000);
	CHECK_STREQ(lle_node_str(r, "k999"), "999");
	lle_node_free(r);
	remove(path);
	char deep[2000];
	memset(deep, '[', 1000);
	deep[1000] = '\0';
	CHECK(load(deep, &e) == NULL);
	CHECK(strstr(e.msg, "nested deeper") != NULL);
}

int main(void)
{
	RUN(maps_lists_scalars_and_positions);
	RUN(custom_tags_are_kept_not_run);
	RUN(anchors_and_aliases_copy);
	RUN(empty_file_is_empty_map);
	RUN(errors_name_file_line_column);
	RUN(duplicate_keys_keep_the_last_value_with_one_warning);
	RUN(files_missing_too_large_and_nested);
	return check_done();
}
