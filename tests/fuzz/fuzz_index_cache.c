/* Fuzz driver: the registry's index cache (src/registry/index_blob.c checking a
 * cache blob, src/registry/cache.c reading the file), then every accessor
 * `list` uses on an index that passed the checks.
 *
 * Input: a cache file's bytes. A random change almost always fails the
 * checksum, which would hide everything behind it, so the driver first
 * writes the right `total` and checksum into the header (when the input is
 * at least a header long); a torn or foreign file is still fuzzed through
 * the bytes before those fields. The blob is checked in memory and also read
 * from a file, as the registry reads a cache. Rejection is a normal outcome;
 * a crash, a read outside the blob (ASan), UB or a leak is a finding.
 *
 * Not here: the freshness check and the reuse of records of a cache that
 * passed (lle_reg_source_load), which need the cache to name a real
 * directory the driver would have to build per input. */
#include <stddef.h>

#include "fuzz.h"
#include "registry/index_int.h"
#include "registry/registry.h"

static void member(void *arg, const char *task)
{
	size_t *n = arg;
	*n += strlen(task);
}

static void walk(const struct lle_reg_source *s)
{
	size_t sink = 0;
	for (size_t i = 0; i < lle_reg_source_count(s); i++) {
		struct lle_reg_entry e;
		lle_reg_source_entry(s, i, &e);
		sink += strlen(e.name) + strlen(e.category) + strlen(e.description) + strlen(e.params) +
			strlen(e.size) + strlen(e.backend) + strlen(e.relpath) + strlen(lle_reg_kind_name(e.kind));
		sink += strlen(lle_reg_source_name(s, i));
		if (e.kind == LLE_KIND_TAG)
			lle_reg_source_tag_members(s, e.name, member, &sink);
	}
	for (size_t i = 0; i < lle_reg_source_ndiags(s); i++) {
		int is_error;
		sink += strlen(lle_reg_source_diag(s, i, &is_error));
	}
	for (size_t i = 0; i < lle_reg_source_nfiles(s); i++) {
		int kind;
		const char *name, *error;
		sink += strlen(lle_reg_source_file(s, i, &kind, &name, &error)) + strlen(name);
		if (error)
			sink += strlen(error);
	}
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The index is read in place with aligned loads: an 8-aligned copy. */
	unsigned char *blob = malloc(size ? size : 1);
	if (!blob)
		abort();
	if (size)
		memcpy(blob, data, size);
	if (size >= sizeof(struct lle_idx_hdr)) {
		uint64_t total = size, zero = 0;
		memcpy(blob + offsetof(struct lle_idx_hdr, total), &total, sizeof(total));
		memcpy(blob + offsetof(struct lle_idx_hdr, checksum), &zero, sizeof(zero));
		uint64_t sum = lle_idx_checksum(blob, size);
		memcpy(blob + offsetof(struct lle_idx_hdr, checksum), &sum, sizeof(sum));
	}

	char note[160];
	struct lle_reg_source *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	if (lle_idx_open_blob(s, blob, size, note, sizeof(note)) == 0) {
		if (!(s->root = strdup(s->pool + s->h->root)))
			abort();
		walk(s);
		/* The same bytes as a cache file, read as the registry reads it. */
		char path[4200];
		fuzz_path(path, sizeof(path), "index.cache");
		fuzz_write(path, blob, size);
		struct lle_reg_source *f = lle_idx_cache_read(path, s->root, (int)s->h->type, (int)s->h->layout,
							     note, sizeof(note));
		if (!f)
			abort(); /* the blob passed in memory: the file must too */
		walk(f);
		lle_reg_source_free(f);
		lle_reg_source_free(s); /* frees blob */
	} else {
		free(blob);
		free(s);
	}
	return 0;
}
