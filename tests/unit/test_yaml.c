/* Unit tests for src/data/yaml.c: trees, positions, tags, errors. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>

#include "data/yaml.h"

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
	CHECK(load("a: 1\na: 2\n", &e) == NULL);
	CHECK_STREQ(e.msg, "t.yaml:2:1: duplicate key 'a'");
	CHECK(load("a: 1\n---\nb: 2\n", &e) == NULL);
	CHECK(strstr(e.msg, "more than one YAML document") != NULL);
	CHECK(load("x: \"caf\xe9\"\n", &e) == NULL);
	CHECK_STREQ(e.msg, "t.yaml:1:8: not valid UTF-8 (byte 0xe9)");
	CHECK(load("? [a]\n: 1\n", &e) == NULL);
	CHECK(strstr(e.msg, "a key must be a string") != NULL);
	CHECK(load("a: *nope\n", &e) == NULL);
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
	RUN(files_missing_too_large_and_nested);
	return check_done();
}
