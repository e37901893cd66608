/* What index*.c, cache.c and registry.c share about a loaded source; private
 * to src/registry/. */
#ifndef LLE_REGISTRY_INDEX_INT_H
#define LLE_REGISTRY_INDEX_INT_H

#include <stddef.h>

#include "registry/index_fmt.h"

struct lle_reg_source {
	char *root;                 /* absolute */
	unsigned char *blob;        /* owned: the index bytes */
	size_t nblob;
	int mapped;                 /* blob is a read-only mapping of the cache file */
	const struct lle_idx_hdr *h;
	const struct lle_idx_dir *dirs;
	const struct lle_idx_file *files;
	const struct lle_idx_rec *recs;
	const uint32_t *deps, *tags;
	const struct lle_idx_entry *entries;
	const struct lle_idx_diag *diags;
	const char *pool;
};

int lle_idx_open_blob(struct lle_reg_source *s, unsigned char *blob, size_t n, char *note, size_t nnote);
/* Read the cache file at path; NULL (with a reason in note, "" when there is
 * no file) when absent, unreadable, foreign, truncated or corrupt, or built for
 * another root, type or layout. */
struct lle_reg_source *lle_idx_cache_read(const char *path, const char *root, int type, int layout,
					  char *note, size_t nnote);
/* Write s to path through a temporary file and rename(); 0 or -1. */
int lle_idx_cache_write(const char *path, const struct lle_reg_source *s);

/* Lexically normalise a path in place: "a/./b/../c" -> "a/c". */
void lle_reg_normalise(char *p);

#endif
