/* Fuzz driver: the dataset readers (src/data/dataset.c): JSON lines, JSON
 * arrays, CSV, each plain or gzip-compressed.
 *
 * Input: one byte choosing the format, then the file's bytes. The byte's low
 * three bits pick the file name, which picks the reader:
 *   0 x.jsonl  1 x.json  2 x.csv                       the bytes as they are
 *   3 x.jsonl.gz  4 x.json.gz  5 x.csv.gz              the bytes gzip-compressed
 *                                                      by the driver, so the
 *                                                      readers see the text
 *   6 x.jsonl.gz  7 x.csv.gz                           the bytes as they are
 *                                                      (broken gzip streams)
 * The file is written under the scratch directory and read three ways, as
 * the run does: document by document, counted, and loaded whole.
 * Parquet has no reader yet (docs/datasets.md), so no driver either.
 * Errors are normal outcomes; crashes, sanitizer reports and leaks are findings. */
#include <jansson.h>
#include <zlib.h>

#include "data/dataset.h"
#include "fuzz.h"

static const char *const names[8] = { "x.jsonl", "x.json", "x.csv", "x.jsonl.gz",
				      "x.json.gz", "x.csv.gz", "x.jsonl.gz", "x.csv.gz" };

static void write_gz(const char *path, const uint8_t *data, size_t size)
{
	gzFile g = gzopen(path, "wb1");
	if (!g)
		abort();
	/* In pieces: gzwrite takes an unsigned length. */
	while (size) {
		unsigned k = size > (1u << 30) ? 1u << 30 : (unsigned)size;
		if (gzwrite(g, data, k) != (int)k)
			abort();
		data += k;
		size -= k;
	}
	if (gzclose(g) != Z_OK)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int fmt = data[0] & 7;
	char path[4200];
	fuzz_path(path, sizeof(path), names[fmt]);
	if (fmt >= 3 && fmt <= 5)
		write_gz(path, data + 1, size - 1);
	else
		fuzz_write(path, data + 1, size - 1);

	struct lle_err err = { 0 };
	struct lle_ds *ds = lle_ds_open(path, &err);
	long n_next = 0;
	int rc = -1;
	if (ds) {
		json_t *doc;
		while ((rc = lle_ds_next(ds, &doc, &err)) == 1) {
			if (!json_is_object(doc))
				abort(); /* documents are objects (dataset.h) */
			(void)lle_ds_file(ds);
			(void)lle_ds_line(ds);
			json_decref(doc);
			n_next++;
		}
		if ((size_t)n_next != lle_ds_index(ds))
			abort();
		lle_ds_close(ds);
	}
	memset(&err, 0, sizeof(err));
	long count = lle_ds_count(path, &err);
	/* The three ways agree: the same documents or the same failure. */
	if (rc == 0 && count != n_next)
		abort();
	if ((rc == 0) != (count >= 0))
		abort();
	memset(&err, 0, sizeof(err));
	json_t *all = lle_ds_load_all(path, &err);
	if (rc == 0 && (!all || (long)json_array_size(all) != n_next))
		abort();
	json_decref(all);
	return 0;
}
