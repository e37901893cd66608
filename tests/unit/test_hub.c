/* Which files of a Hub dataset repository a split reads (src/data/hub_pick.c),
 * against the rules of the `datasets` library (src/datasets/data_files.py:
 * SPLIT_PATTERN_SHARDED, SPLIT_KEYWORDS, KEYWORDS_IN_DIR_NAME_BASE_PATTERNS
 * and KEYWORDS_IN_FILENAME_BASE_PATTERNS for fsspec >= 2023.12, FILES_TO_IGNORE,
 * sanitize_patterns for README `configs:`), and the glob semantics those
 * patterns have there ('*' within a path part, '**' across parts). The
 * fetching and the cache are tested through the mock Hub
 * (tests/cli/t0826-run-hub.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data/hub.h"

TEST(patterns)
{
	CHECK(lle_hub_match("**/test[-._ 0-9]*", "test.jsonl"));
	CHECK(lle_hub_match("**/test[-._ 0-9]*", "data/test-00000-of-00001.parquet"));
	CHECK(!lle_hub_match("**/test[-._ 0-9]*", "data/testing.jsonl"));
	CHECK(lle_hub_match("**/*[-._ 0-9]test[-._ 0-9]*", "data/my_test.csv"));
	CHECK(!lle_hub_match("**/*[-._ 0-9]test[-._ 0-9]*", "data/contest.csv"));
	CHECK(lle_hub_match("**/test/**", "test/a.jsonl"));
	CHECK(lle_hub_match("**/test/**", "x/test/y/a.jsonl"));
	CHECK(!lle_hub_match("**/test/**", "tests/a.jsonl"));
	CHECK(lle_hub_match("data/*", "data/a.csv"));
	CHECK(!lle_hub_match("data/*", "data/a/b.csv"));
	CHECK(lle_hub_match("**", "a/b/c"));
	CHECK(lle_hub_match("easy/test-*.parquet", "easy/test-00000.parquet"));
	CHECK(lle_hub_match("[!a]x", "bx") && !lle_hub_match("[!a]x", "ax"));
	CHECK(!lle_hub_match("?", "/"));
}

static long pick(char **files, size_t n, const char *readme, const char *config, const char *split,
		 size_t *idx, int *convert, struct lle_err *e)
{
	lle_err_clear(e);
	return lle_hub_pick("org/ds", files, n, readme, config, split, idx, convert, e);
}

TEST(sharded_files)
{
	char *f[] = {"README.md", "data/test-00000-of-00002.parquet", "data/test-00001-of-00002.parquet",
		     "data/train-00000-of-00001.parquet"};
	size_t idx[4];
	int conv;
	struct lle_err e = {0};
	CHECK_INTEQ(pick(f, 4, NULL, NULL, "test", idx, &conv, &e), 2);
	CHECK(idx[0] == 1 && idx[1] == 2 && !conv);
	CHECK_INTEQ(pick(f, 4, NULL, NULL, "train", idx, &conv, &e), 1);
	CHECK(idx[0] == 3);
	CHECK_INTEQ(pick(f, 4, NULL, NULL, "validation", idx, &conv, &e), -1);
	CHECK_STREQ(e.msg, "dataset 'org/ds' has no split 'validation' (it has: test, train)");
}

TEST(split_keywords)
{
	/* a directory named after the split wins over file names */
	char *d[] = {"test/a.jsonl", "test/b.jsonl", "train/c.jsonl", "validation.jsonl"};
	size_t idx[4];
	int conv;
	struct lle_err e = {0};
	CHECK_INTEQ(pick(d, 4, NULL, NULL, "test", idx, &conv, &e), 2);
	CHECK(idx[0] == 0 && idx[1] == 1);
	/* ... so validation.jsonl is not seen: the directory rule decided */
	CHECK_INTEQ(pick(d, 4, NULL, NULL, "validation", idx, &conv, &e), -1);
	CHECK_STREQ(e.msg, "dataset 'org/ds' has no split 'validation' (it has: train test)");
	/* keywords in file names: "dev" is validation; hidden and README ignored */
	char *f[] = {".hidden/test.jsonl", "README.md", "dev.jsonl", "my_test.csv", "train.json", "notes.txt"};
	CHECK_INTEQ(pick(f, 6, NULL, NULL, "validation", idx, &conv, &e), 1);
	CHECK(idx[0] == 2);
	CHECK_INTEQ(pick(f, 6, NULL, NULL, "test", idx, &conv, &e), 1);
	CHECK(idx[0] == 3);
	/* no keyword at all: everything readable is "train" */
	char *a[] = {"x.jsonl", "y.parquet", "z.txt"};
	CHECK_INTEQ(pick(a, 3, NULL, NULL, "train", idx, &conv, &e), 2);
	CHECK_INTEQ(pick(a, 3, NULL, NULL, "test", idx, &conv, &e), -1);
	CHECK_STREQ(e.msg, "dataset 'org/ds' has no split 'test' (it has: train)");
}

static const char *README =
	"---\nlicense: mit\nconfigs:\n"
	"- config_name: easy\n  data_files:\n  - split: test\n    path: easy/test-*.parquet\n"
	"  - split: train\n    path: [easy/train.jsonl]\n"
	"- config_name: hard\n  default: true\n  data_files: hard/*.jsonl\n"
	"- config_name: dirs\n  data_dir: d\n"
	"---\n# a dataset card\n";

TEST(readme_configs)
{
	char *f[] = {"README.md", "d/test.jsonl", "d/train.jsonl", "easy/test-00000.parquet",
		     "easy/test-00001.parquet", "easy/train.jsonl", "hard/a.jsonl", "hard/b.jsonl"};
	size_t idx[8];
	int conv;
	struct lle_err e = {0};
	CHECK_INTEQ(pick(f, 8, README, "easy", "test", idx, &conv, &e), 2);
	CHECK(idx[0] == 3 && idx[1] == 4 && !conv);
	CHECK_INTEQ(pick(f, 8, README, "easy", "train", idx, &conv, &e), 1);
	CHECK(idx[0] == 5);
	CHECK_INTEQ(pick(f, 8, README, "easy", "validation", idx, &conv, &e), -1);
	CHECK_STREQ(e.msg, "dataset 'org/ds' configuration 'easy' has no split 'validation' (it has: test, train)");
	/* a bare pattern is the train split; no name asked: the default config */
	CHECK_INTEQ(pick(f, 8, README, NULL, "train", idx, &conv, &e), 2);
	CHECK(idx[0] == 6 && idx[1] == 7);
	/* data_dir: the usual patterns under it */
	CHECK_INTEQ(pick(f, 8, README, "dirs", "test", idx, &conv, &e), 1);
	CHECK(idx[0] == 1);
	CHECK_INTEQ(pick(f, 8, README, "medium", "test", idx, &conv, &e), -1);
	CHECK_STREQ(e.msg, "dataset 'org/ds' has no configuration 'medium' (it has: easy, hard, dirs)");
	CHECK_INTEQ(e.code, LLE_EXIT_DATA);
}

TEST(parquet_conversion_when_nothing_else_says)
{
	size_t idx[4];
	int conv;
	struct lle_err e = {0};
	char *script[] = {"README.md", "ds.py"};
	CHECK_INTEQ(pick(script, 2, "# no front matter\n", NULL, "test", idx, &conv, &e), 0);
	CHECK(conv);
	/* a configuration asked of a repository that declares none */
	char *plain[] = {"test.jsonl"};
	CHECK_INTEQ(pick(plain, 1, NULL, "main", "test", idx, &conv, &e), 0);
	CHECK(conv);
	CHECK_INTEQ(pick(plain, 1, NULL, "default", "test", idx, &conv, &e), 1);
	CHECK(!conv);
	char *none[] = {"README.md", "notes.txt"};
	CHECK_INTEQ(pick(none, 2, NULL, NULL, "test", idx, &conv, &e), 0);
	CHECK(conv);
}

int main(void)
{
	RUN(patterns);
	RUN(sharded_files);
	RUN(split_keywords);
	RUN(readme_configs);
	RUN(parquet_conversion_when_nothing_else_says);
	return check_done();
}
