/* lle-parquet: Parquet files for tests and benchmarks, through the same
 * DuckDB loader the engine uses (src/data/parquet.c), so no binary fixture is
 * committed: tests write their Parquet files from JSONL at test time.
 *
 *   lle-parquet write IN.jsonl OUT.parquet [ROWS_PER_GROUP]
 *                         DuckDB's read_json of IN (types inferred: integers,
 *                         doubles, lists, structs, nulls) copied to OUT
 *   lle-parquet cat FILE|GLOB...      every document through the dataset
 *                         reader (src/data/dataset.c), one compact JSON line each
 *   lle-parquet read FILE|GLOB...     the same, printing only the count (benches)
 *   lle-parquet count FILE|GLOB       lle_ds_count
 *   lle-parquet load      load DuckDB and print its version, nothing else
 *                         (benches subtract this from a read)
 *   lle-parquet sql STATEMENT         run one statement
 * Errors go to stderr as the engine words them; exit status 1. Not installed. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/parquet.h"
#include "util/buf.h"

static int die(const struct lle_err *err)
{
	fprintf(stderr, "lle-parquet: %s\n", err->msg);
	return 1;
}

static int cmd_write(int argc, char **argv, struct lle_err *err)
{
	if (argc < 4)
		return lle_err_set(err, 2, "usage: lle-parquet write IN.jsonl OUT.parquet [ROWS_PER_GROUP]");
	struct lle_buf sql = {0};
	int rc = -1;
	if (lle_buf_adds(&sql, "COPY (SELECT * FROM read_json(") < 0 || lle_pq_sql_str(&sql, argv[2]) < 0 ||
	    lle_buf_adds(&sql, ", format = 'newline_delimited')) TO ") < 0 ||
	    lle_pq_sql_str(&sql, argv[3]) < 0 || lle_buf_adds(&sql, " (FORMAT parquet") < 0 ||
	    (argc > 4 && lle_buf_printf(&sql, ", ROW_GROUP_SIZE %ld", atol(argv[4])) < 0) ||
	    lle_buf_addc(&sql, ')') < 0)
		lle_err_oom(err);
	else
		rc = lle_pq_exec(lle_buf_str(&sql), err);
	lle_buf_free(&sql);
	return rc;
}

static int cmd_read(int argc, char **argv, int print, struct lle_err *err)
{
	long n = 0;
	for (int i = 2; i < argc; i++) {
		struct lle_ds *ds = lle_ds_open(argv[i], err);
		if (!ds)
			return -1;
		json_t *d;
		int r;
		while ((r = lle_ds_next(ds, &d, err)) == 1) {
			if (print) {
				char *s = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
				if (!s) {
					json_decref(d);
					lle_ds_close(ds);
					return lle_err_oom(err);
				}
				puts(s);
				free(s);
			}
			json_decref(d);
			n++;
		}
		lle_ds_close(ds);
		if (r < 0)
			return -1;
	}
	if (!print)
		printf("%ld\n", n);
	return fflush(stdout) == 0 ? 0 : lle_err_set(err, 6, "cannot write the output");
}

int main(int argc, char **argv)
{
	struct lle_err err = {0};
	const char *cmd = argc > 1 ? argv[1] : "";
	int rc;
	if (strcmp(cmd, "write") == 0) {
		rc = cmd_write(argc, argv, &err);
	} else if (strcmp(cmd, "cat") == 0 || strcmp(cmd, "read") == 0) {
		rc = cmd_read(argc, argv, cmd[0] == 'c', &err);
	} else if (strcmp(cmd, "count") == 0 && argc == 3) {
		long n = lle_ds_count(argv[2], &err);
		rc = n < 0 ? -1 : 0;
		if (n >= 0)
			printf("%ld\n", n);
	} else if (strcmp(cmd, "load") == 0) {
		const char *v = lle_pq_version(&err);
		rc = v ? 0 : -1;
		if (v)
			puts(v);
	} else if (strcmp(cmd, "sql") == 0 && argc == 3) {
		rc = lle_pq_exec(argv[2], &err);
	} else {
		fprintf(stderr, "usage: lle-parquet write|cat|read|count|load|sql ... (see tools/lle-parquet.c)\n");
		return 2;
	}
	return rc < 0 ? die(&err) : 0;
}
