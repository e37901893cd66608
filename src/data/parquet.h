/* Parquet files through DuckDB's C API, loaded with dlopen the first time a
 * Parquet file is read (libduckdb is 70 MB: no command maps it otherwise).
 *
 * A file is read by one streaming query, `to_json` of each row in file order,
 * fetched a DuckDB chunk (about 2,048 rows) at a time; the caller gets one
 * row's JSON text at a time and parses it like a JSON line, so a Parquet row
 * reaches the task pipeline as the same document the JSONL reader gives:
 * integers as integers, floats as reals, lists and structs nested, nulls as
 * null (what `datasets` hands the harness for the same columns).
 *
 * Where libduckdb is: $LLM_EVAL_DUCKDB (a path to the library), else
 * duckdb/libduckdb.so beside the engine library (or ../lib/ beside a test
 * binary), else the system's libduckdb.so. Its version must be 1.x from 1.1
 * (the C API functions used here; their declarations are from duckdb.h of
 * v1.5.6, the pinned version, see third_party/duckdb/). This file does not
 * know datasets' formats or tasks: dataset.c calls it. */
#ifndef LLE_DATA_PARQUET_H
#define LLE_DATA_PARQUET_H

#include <stddef.h>

#include "util/err.h"

struct lle_pq;

/* Start reading one Parquet file. NULL on error: DuckDB missing or too old
 * (LLE_EXIT_DATA, saying how to get it), the file unreadable or not Parquet
 * (LLE_EXIT_DATA, naming it). */
struct lle_pq *lle_pq_open(const char *path, struct lle_err *err);
/* The next row as JSON text (valid until the next call): 1, 0 at the end,
 * -1 on error (err names the file and the row). */
int lle_pq_next(struct lle_pq *pq, const char **json, size_t *len, struct lle_err *err);
void lle_pq_close(struct lle_pq *pq);
/* Number of rows of a Parquet file or glob, from the files' metadata. -1 on error. */
long lle_pq_count(const char *path_or_glob, struct lle_err *err);
/* Run one SQL statement that returns nothing (tests and tools write Parquet
 * files with `COPY ... TO 'x.parquet'`). -1 on error. */
int lle_pq_exec(const char *sql, struct lle_err *err);
/* DuckDB's version ("v1.5.6"), loading it if needed; NULL on error. */
const char *lle_pq_version(struct lle_err *err);

#endif
