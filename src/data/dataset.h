/* Dataset readers: a split is one file or a glob of files (read in sorted
 * order), streamed one document at a time so a large split costs little
 * memory. Formats, chosen by the file name:
 *   *.jsonl, *.jsonl.gz    one JSON object per line (gzip read through zlib)
 *   *.json, *.json.gz      a JSON array of objects, parsed one element at a
 *                          time (a *.json file whose first byte is '{' is read
 *                          as JSON lines)
 *   *.csv, *.csv.gz        RFC 4180 with a header row: quoted fields, "" for
 *                          a quote, embedded newlines, CRLF; every field is a
 *                          JSON string
 *   *.parquet              read by DuckDB (data/parquet.h, loaded on first
 *                          use), each row the JSON object of its columns;
 *                          "line" in messages is the row number
 * Documents are jansson objects. Errors name `path:line: ...` (code
 * LLE_EXIT_DATA; LLE_EXIT_IO when a file cannot be read).
 *
 * Where a split's files are (the data directory) is data/datapath.h, which
 * this header includes. This file knows nothing about tasks. */
#ifndef LLE_DATA_DATASET_H
#define LLE_DATA_DATASET_H

#include <jansson.h>
#include <stddef.h>

#include "data/datapath.h"
#include "util/err.h"

struct lle_ds;

/* Open a split: a path, a glob pattern (`*`, `?`, `[...]`), or paths
 * separated by newlines (read in that order). A pattern that matches nothing
 * is an error naming it. Nothing is read until lle_ds_next. */
struct lle_ds *lle_ds_open(const char *path_or_glob, struct lle_err *err);
/* The next document: 1 and *doc set (the caller owns the reference), 0 at the
 * end of the last file, -1 on error (err set, the reader is then spent). */
int lle_ds_next(struct lle_ds *ds, json_t **doc, struct lle_err *err);
/* File and first line of the document last returned (for messages). */
const char *lle_ds_file(const struct lle_ds *ds);
long lle_ds_line(const struct lle_ds *ds);
/* The longest record (a JSON line, an array element, a CSV row), in bytes
 * after decompression: a longer one is an error naming the file and the line
 * it starts on (LLE_EXIT_DATA), read no further, so a damaged or hostile file
 * cannot take memory without bound. The largest documents of real long-context
 * sets are a few MiB. */
#define LLE_DS_MAX_RECORD ((size_t)64 << 20)
/* Set the limit for the readers opened after it (0: back to the default);
 * returns the previous one. For tests, which prove the limit with small files. */
size_t lle_ds_set_max_record(size_t bytes);
/* Documents returned so far. */
size_t lle_ds_index(const struct lle_ds *ds);
void lle_ds_close(struct lle_ds *ds);
/* Number of documents in a split, reading (and checking) every one but
 * keeping none (Parquet files: their row counts, no row read). -1 on error. */
long lle_ds_count(const char *path_or_glob, struct lle_err *err);
/* Read a whole split into a JSON array (for few-shot splits, which are
 * small). NULL on error. */
json_t *lle_ds_load_all(const char *path_or_glob, struct lle_err *err);

#endif
