/* Unit tests for src/tasks/yamltruth.c: Python's truth of YAML values as
 * PyYAML reads them. The expected values are PyYAML 6.0.3's:
 *   python3 -c 'import yaml; print(bool(yaml.safe_load("x: " + S)["x"]))'
 * for each S below (run on the development machine, 2026-12-05). */
#include "check.h"

#include <string.h>

#include "data/yaml.h"
#include "tasks/yamltruth.h"

static const struct {
	const char *yaml;
	int truth;
} k_cases[] = {
	{ "true", 1 }, { "True", 1 }, { "TRUE", 1 }, { "yes", 1 }, { "on", 1 }, { "Off", 0 },
	{ "no", 0 }, { "false", 0 }, { "y", 1 }, { "n", 1 }, { "0", 0 }, { "00", 0 },
	{ "0_0", 0 }, { "+0", 0 }, { "-0", 0 }, { "0.0", 0 }, { ".0", 0 }, { "0.", 0 },
	{ "-0.0e+5", 0 }, { "0e0", 1 }, { "1e5", 1 }, { "0b0", 0 }, { "0b10", 1 }, { "0x0", 0 },
	{ "0x_0", 0 }, { "0o0", 1 }, { "0:0", 1 }, { "1:00", 1 }, { "0:00.0", 0 }, { ".inf", 1 },
	{ "-.inf", 1 }, { ".nan", 1 }, { "nan", 1 }, { "inf", 1 }, { "~", 0 }, { "null", 0 },
	{ "", 0 }, { "''", 0 }, { "'0'", 1 }, { "\"false\"", 1 }, { "!!str 0", 1 }, { "[]", 0 },
	{ "[0]", 1 }, { "{}", 0 }, { "{a: 1}", 1 }, { "1", 1 }, { "2.5", 1 }, { "x", 1 },
	{ "true - \".\"", 1 }, { " 0 ", 0 }, { "!!bool false", 0 }, { "!!int 0", 0 },
	{ "!!float 0.0", 0 }, { "012", 1 }, { "08", 1 }, { "0_", 0 }, { "-0b0", 0 }, { "+0x00", 0 },
	{ "-.0", 1 }, { ".", 1 }, { "0x1a", 1 },
	/* the harness loads !function as a function object: true */
	{ "!function utils.f", 1 },
};

TEST(truth_as_pyyaml_and_python_read_it)
{
	char doc[128], who[160];
	for (size_t i = 0; i < sizeof(k_cases) / sizeof(k_cases[0]); i++) {
		struct lle_err e = { 0 };
		snprintf(doc, sizeof(doc), "x: %s\n", k_cases[i].yaml);
		struct lle_node *r = lle_yaml_load_mem(doc, strlen(doc), "t.yaml", &e);
		CHECK(r != NULL);
		if (!r)
			continue;
		snprintf(who, sizeof(who), "%s", k_cases[i].yaml);
		int got = lle_yaml_truthy(lle_node_get(r, "x"), -1);
		if (got != k_cases[i].truth)
			CHECK_FAIL_("'%s': truth %d, PyYAML and Python say %d", who, got, k_cases[i].truth);
		lle_node_free(r);
	}
	CHECK(lle_yaml_truthy(NULL, 1) == 1 && lle_yaml_truthy(NULL, 0) == 0);
}

TEST(is_true_only_for_a_boolean_true)
{
	static const char *const docs[] = { "x: true\n", "x: yes\n", "x: 1\n", "x: 'true'\n", "x: [1]\n" };
	static const int want[] = { 1, 1, 0, 0, 0 };
	for (size_t i = 0; i < 5; i++) {
		struct lle_err e = { 0 };
		struct lle_node *r = lle_yaml_load_mem(docs[i], strlen(docs[i]), "t.yaml", &e);
		CHECK(r && lle_yaml_is_true(lle_node_get(r, "x")) == want[i]);
		lle_node_free(r);
	}
}

int main(void)
{
	RUN(truth_as_pyyaml_and_python_read_it);
	RUN(is_true_only_for_a_boolean_true);
	return check_done();
}
