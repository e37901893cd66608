/* Parquet files through DuckDB's C API, loaded with dlopen the first time a
 * Parquet file is read (libduckdb is 70 MB: no command maps it otherwise).
 *
 * A file is read by one streaming query in file order, fetched a DuckDB chunk
 * (about 2,048 rows) at a time, and each row becomes the JSON object the
 * JSONL reader would give for the same record: integers as integers, floats
 * as reals, lists and structs nested, nulls as null (what `datasets` hands
 * the harness for the same columns). Columns of the common types (booleans,
 * integers, floats, strings, lists and structs of them) are read straight
 * from DuckDB's vectors; a file with any other type (dates, decimals, blobs,
 * maps, ...) is read as `to_json` of each row instead, parsed like a line.
 *
 * Where libduckdb is: $LLM_EVAL_DUCKDB (a path to the library), else
 * duckdb/libduckdb.so beside the engine library (or ../lib/ beside a test
 * binary), else the system's libduckdb.so. Its version must be 1.x from 1.1
 * (the C API functions used here; their declarations are from duckdb.h of
 * v1.5.6, the pinned version, see third_party/duckdb/). This file does not
 * know datasets' formats or tasks: dataset.c calls it. */
#ifndef LLE_DATA_PARQUET_H
#define LLE_DATA_PARQUET_H

#include <jansson.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

struct lle_pq;

/* Start reading one Parquet file. NULL on error: DuckDB missing or too old
 * (LLE_EXIT_DATA, saying how to get it), the file unreadable or not Parquet
 * (LLE_EXIT_DATA, naming it). */
struct lle_pq *lle_pq_open(const char *path, struct lle_err *err);
/* The next row: 1 and *doc (the caller's reference), 0 at the end, -1 on
 * error (err names the file and the row). A row read as JSON text longer
 * than max_text bytes is an error. */
int lle_pq_next(struct lle_pq *pq, json_t **doc, size_t max_text, struct lle_err *err);
void lle_pq_close(struct lle_pq *pq);
/* Number of rows of a Parquet file or glob, from the files' metadata. -1 on error. */
long lle_pq_count(const char *path_or_glob, struct lle_err *err);
/* Run one SQL statement that returns nothing (tests and tools write Parquet
 * files with `COPY ... TO 'x.parquet'`). -1 on error. */
int lle_pq_exec(const char *sql, struct lle_err *err);
/* Append `s` to `b` as an SQL string literal (quotes doubled), for the
 * statements lle_pq_exec runs. -1 when out of memory. */
int lle_pq_sql_str(struct lle_buf *b, const char *s);
/* DuckDB's version ("v1.5.6"), loading it if needed; NULL on error. */
const char *lle_pq_version(struct lle_err *err);

#endif
