/* Parquet through DuckDB (src/data/parquet.c) as the dataset readers see it
 * (src/data/dataset.c): files written at test time by DuckDB from JSONL (no
 * binary fixture), read back document by document and compared with the JSONL
 * reader's documents of the same rows; file order across DuckDB chunks and row
 * groups; typed columns as `datasets` hands them to the harness; counts from
 * metadata; two readers open at once; errors naming the file. DuckDB is found
 * as build/lib/duckdb/libduckdb.so (make builds it from `make deps`). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "data/dataset.h"
#include "data/parquet.h"
#include "util/buf.h"

static char g_dir[] = "/tmp/lle-test-parquet.XXXXXX";

static char *path_of(const char *name)
{
	static char p[8][512];
	static int k;
	char *s = p[k++ % 8];
	snprintf(s, 512, "%s/%s", g_dir, name);
	return s;
}

static void write_file(const char *name, const char *text)
{
	FILE *f = fopen(path_of(name), "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

/* COPY a SQL SELECT to a Parquet file of the scratch dir. */
static int to_parquet(const char *select, const char *name, long rows_per_group, struct lle_err *err)
{
	char sql[4096];
	snprintf(sql, sizeof(sql), "COPY (%s) TO '%s' (FORMAT parquet, ROW_GROUP_SIZE %ld)", select,
		 path_of(name), rows_per_group);
	return lle_pq_exec(sql, err);
}

/* Every document of two readers equal, in order, and both the same length. */
static int same_docs(const char *a, const char *b, long *n, struct lle_err *err)
{
	struct lle_ds *x = lle_ds_open(a, err), *y = x ? lle_ds_open(b, err) : NULL;
	int ok = x && y;
	*n = 0;
	while (ok) {
		json_t *dx = NULL, *dy = NULL;
		int rx = lle_ds_next(x, &dx, err), ry = lle_ds_next(y, &dy, err);
		if (rx != ry || rx < 0) {
			ok = 0;
		} else if (rx == 0) {
			break;
		} else if (!json_equal(dx, dy)) {
			char *sx = json_dumps(dx, JSON_COMPACT), *sy = json_dumps(dy, JSON_COMPACT);
			printf("#   doc %ld differs:\n#   %s\n#   %s\n", *n, sx, sy);
			free(sx);
			free(sy);
			ok = 0;
		}
		json_decref(dx);
		json_decref(dy);
		if (ok)
			(*n)++;
	}
	lle_ds_close(x);
	lle_ds_close(y);
	return ok;
}

static const char *MIXED =
	"{\"id\": 1, \"q\": \"it's a \\\"test\\\"\\nline 2\", \"score\": 0.5, \"choices\": [\"a\", \"b\"], "
	"\"meta\": {\"k\": 3, \"tags\": [1, 2]}, \"opt\": null}\n"
	"{\"id\": 2, \"q\": \"\\u00e9 \\u4e2d\\u6587 \\ud83d\\ude00\", \"score\": 1.0, \"choices\": [], "
	"\"meta\": {\"k\": null, \"tags\": []}, \"opt\": \"x\"}\n"
	"{\"id\": 3, \"q\": \"\", \"score\": -2.25e-7, \"choices\": [\"c\"], \"meta\": null, \"opt\": null}\n";

TEST(same_documents_as_jsonl)
{
	struct lle_err err = {0};
	write_file("mixed.jsonl", MIXED);
	char sel[1024];
	snprintf(sel, sizeof(sel), "SELECT * FROM read_json('%s', format = 'newline_delimited')",
		 path_of("mixed.jsonl"));
	CHECK(to_parquet(sel, "mixed.parquet", 100000, &err) == 0);
	long n = 0;
	CHECK(same_docs(path_of("mixed.parquet"), path_of("mixed.jsonl"), &n, &err));
	CHECK_INTEQ(n, 3);
	CHECK_STREQ(err.msg, "");
	/* keys keep the file's column order, as the JSONL line has them */
	struct lle_ds *ds = lle_ds_open(path_of("mixed.parquet"), &err);
	json_t *d = NULL;
	CHECK(ds && lle_ds_next(ds, &d, &err) == 1);
	char *s = d ? json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	CHECK_STREQ(s, "{\"id\":1,\"q\":\"it's a \\\"test\\\"\\nline 2\",\"score\":0.5,"
		       "\"choices\":[\"a\",\"b\"],\"meta\":{\"k\":3,\"tags\":[1,2]},\"opt\":null}");
	CHECK_INTEQ(lle_ds_line(ds), 1);
	free(s);
	json_decref(d);
	lle_ds_close(ds);
}

/* 10,000 rows in row groups of 1,000: more than one DuckDB chunk (2,048 rows)
 * and more than one row group, which DuckDB scans on several threads; the rows
 * must still come in file order. */
TEST(file_order_across_chunks_and_row_groups)
{
	struct lle_err err = {0};
	FILE *f = fopen(path_of("many.jsonl"), "w");
	CHECK(f != NULL);
	for (int i = 0; f && i < 10000; i++)
		fprintf(f, "{\"i\": %d, \"text\": \"row %d\", \"sq\": [%d, %d]}\n", i, i, i, i * 2);
	CHECK(f && fclose(f) == 0);
	char sel[1024];
	snprintf(sel, sizeof(sel), "SELECT * FROM read_json('%s', format = 'newline_delimited')",
		 path_of("many.jsonl"));
	CHECK(to_parquet(sel, "many.parquet", 1000, &err) == 0);
	long n = 0;
	CHECK(same_docs(path_of("many.parquet"), path_of("many.jsonl"), &n, &err));
	CHECK_INTEQ(n, 10000);
	CHECK_INTEQ(lle_ds_count(path_of("many.parquet"), &err), 10000);
	/* a glob of Parquet files: sorted by name, counted from metadata */
	CHECK(to_parquet("SELECT 'second' AS w", "z-2.parquet", 1000, &err) == 0);
	CHECK(to_parquet("SELECT 'first' AS w", "z-1.parquet", 1000, &err) == 0);
	CHECK_INTEQ(lle_ds_count(path_of("z-*.parquet"), &err), 2);
	json_t *all = lle_ds_load_all(path_of("z-*.parquet"), &err);
	CHECK(all && json_array_size(all) == 2);
	CHECK_STREQ(json_string_value(json_object_get(json_array_get(all, 0), "w")), "first");
	json_decref(all);
}

#define TYPED "SELECT 7::TINYINT AS t, 9007199254740993::BIGINT AS big, true AS b, " \
	"0.1::FLOAT AS f, [0.1::FLOAT, 1.5::FLOAT] AS fl, {'a': 2::INTEGER, 'b': 'x'} AS s, " \
	"NULL::STRUCT(a INTEGER) AS ns, 4000000000::UINTEGER AS u, 'nan'::DOUBLE AS nan, " \
	"[[1, 2], NULL, []] AS ll"

/* Typed columns as `datasets` gives them to the harness (Arrow to Python):
 * int8, uint32 and int64 as int, bool as bool, float32 as the Python float of
 * the float32 (float(numpy.float32(0.1)) == 0.10000000149011612), nested
 * structs and lists the same, a null struct as None. A NaN, which JSON cannot
 * carry (nor a JSONL file), is null. Read from DuckDB's vectors; then the
 * same columns with a DATE beside them, which sends the whole file through
 * to_json (parquet.c), must give the same values, and the date as its ISO
 * text (a template prints a datetime.date so). */
static void check_typed(const char *file, int with_date)
{
	struct lle_err err = {0};
	struct lle_ds *ds = lle_ds_open(path_of(file), &err);
	json_t *d = NULL;
	CHECK(ds && lle_ds_next(ds, &d, &err) == 1);
	CHECK(json_is_integer(json_object_get(d, "t")));
	CHECK_INTEQ(json_integer_value(json_object_get(d, "t")), 7);
	CHECK(json_integer_value(json_object_get(d, "big")) == 9007199254740993LL);
	CHECK(json_is_true(json_object_get(d, "b")));
	CHECK(json_is_real(json_object_get(d, "f")));
	CHECK(json_real_value(json_object_get(d, "f")) == (double)0.1f);
	CHECK(json_real_value(json_array_get(json_object_get(d, "fl"), 0)) == (double)0.1f);
	CHECK(json_real_value(json_array_get(json_object_get(d, "fl"), 1)) == 1.5);
	CHECK_INTEQ(json_integer_value(json_object_get(json_object_get(d, "s"), "a")), 2);
	CHECK_STREQ(json_string_value(json_object_get(json_object_get(d, "s"), "b")), "x");
	CHECK(json_is_null(json_object_get(d, "ns")));
	CHECK(json_integer_value(json_object_get(d, "u")) == 4000000000LL);
	CHECK(json_is_null(json_object_get(d, "nan")));
	char *ll = json_dumps(json_object_get(d, "ll"), JSON_COMPACT);
	CHECK_STREQ(ll, "[[1,2],null,[]]");
	free(ll);
	if (with_date)
		CHECK_STREQ(json_string_value(json_object_get(d, "dt")), "2020-01-02");
	json_decref(d);
	CHECK(ds && lle_ds_next(ds, &d, &err) == 0);
	CHECK_STREQ(err.msg, "");
	lle_ds_close(ds);
}

TEST(typed_values)
{
	struct lle_err err = {0};
	CHECK(to_parquet(TYPED, "typed.parquet", 1000, &err) == 0);
	check_typed("typed.parquet", 0);
}

TEST(other_types_through_to_json)
{
	struct lle_err err = {0};
	CHECK(to_parquet(TYPED ", DATE '2020-01-02' AS dt", "dated.parquet", 1000, &err) == 0);
	check_typed("dated.parquet", 1);
}

/* A run streams the test split while it loads the few-shot split: two
 * readers (two streaming queries) open at once, read in turns. */
TEST(two_readers_at_once)
{
	struct lle_err err = {0};
	CHECK(to_parquet("SELECT range AS i FROM range(5000)", "r1.parquet", 700, &err) == 0);
	CHECK(to_parquet("SELECT -range AS i FROM range(5000)", "r2.parquet", 900, &err) == 0);
	struct lle_ds *a = lle_ds_open(path_of("r1.parquet"), &err);
	struct lle_ds *b = lle_ds_open(path_of("r2.parquet"), &err);
	int ok = a && b;
	for (long i = 0; ok && i < 5000; i++) {
		json_t *x = NULL, *y = NULL;
		ok = lle_ds_next(a, &x, &err) == 1 && lle_ds_next(b, &y, &err) == 1 &&
		     json_integer_value(json_object_get(x, "i")) == i &&
		     json_integer_value(json_object_get(y, "i")) == -i;
		json_decref(x);
		json_decref(y);
	}
	CHECK(ok);
	json_t *z = NULL;
	CHECK(a && lle_ds_next(a, &z, &err) == 0);
	lle_ds_close(a);
	lle_ds_close(b);
}

TEST(errors_name_the_file)
{
	struct lle_err err = {0};
	write_file("fake.parquet", "{\"not\": \"parquet\"}\n");
	struct lle_ds *ds = lle_ds_open(path_of("fake.parquet"), &err);
	json_t *d = NULL;
	CHECK(ds && lle_ds_next(ds, &d, &err) == -1);
	CHECK_INTEQ(err.code, LLE_EXIT_DATA);
	CHECK(strstr(err.msg, path_of("fake.parquet")) && strstr(err.msg, "cannot read as Parquet"));
	CHECK(!strchr(err.msg, '\n'));
	lle_ds_close(ds);
	lle_err_clear(&err);
	CHECK_INTEQ(lle_ds_count(path_of("fake.parquet"), &err), -1);
	CHECK(strstr(err.msg, "fake.parquet") != NULL);
	/* a quote in the file name is data, not SQL */
	lle_err_clear(&err);
	CHECK(to_parquet("SELECT 1 AS one", "it''s.parquet", 10, &err) == 0);
	CHECK_INTEQ(lle_ds_count(path_of("it's.parquet"), &err), 1);
	CHECK_STREQ(err.msg, "");
}

int main(void)
{
	if (!mkdtemp(g_dir)) {
		perror("mkdtemp");
		return 1;
	}
	struct lle_err err = {0};
	const char *v = lle_pq_version(&err);
	if (!v) {
		printf("not ok - duckdb loads: %s\n", err.msg);
		return 1;
	}
	printf("# duckdb %s\n", v);
	RUN(same_documents_as_jsonl);
	RUN(file_order_across_chunks_and_row_groups);
	RUN(typed_values);
	RUN(other_types_through_to_json);
	RUN(two_readers_at_once);
	RUN(errors_name_the_file);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", g_dir);
	return check_done();
}
