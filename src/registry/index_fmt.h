/* The binary layout of a source index, private to src/registry/.
 *
 * The same bytes are the in-memory index and the cache file: a build produces
 * one blob, which is written to disk as is and read back in one read(). All
 * integers are in the host's byte order (the header records it: a cache from
 * another machine is foreign and rebuilt). Strings are NUL-terminated in the
 * pool and referred to by offset; offset 0 is "". Sections start at multiples
 * of 8. Every offset and index is checked when a cache is opened, so a
 * corrupted file that happens to pass the checksum still cannot make us read
 * outside the blob. */
#ifndef LLE_REGISTRY_INDEX_FMT_H
#define LLE_REGISTRY_INDEX_FMT_H

#include <stdint.h>

#define LLE_IDX_MAGIC "LLEIDX\r\n" /* 8 bytes; \r\n catches text-mode mangling */
#define LLE_IDX_VERSION 6u /* 6: include: errors as full configs give them (include.c) */
#define LLE_IDX_BOM 0x01020304u

struct lle_idx_hdr {
	char magic[8];
	uint32_t version;
	uint32_t bom;          /* LLE_IDX_BOM in the writer's byte order */
	uint64_t total;        /* size of the whole blob */
	uint64_t checksum;     /* lle_idx_checksum of the whole blob */
	int64_t built_ns;      /* CLOCK_REALTIME when the build started */
	uint32_t type, layout; /* enum lle_reg_type, enum lle_reg_layout */
	uint32_t root;         /* pool offset: the absolute source directory */
	uint32_t ndirs, nfiles, nrecs, ndeps, ntags, nentries, ndiags, npool;
	uint32_t off_dirs, off_files, off_recs, off_deps, off_tags, off_entries, off_diags,
		off_pool;
	uint32_t pad;
};

/* Flags of dirs and files. */
#define LLE_IDX_RACY 1u    /* changed too close to the build to trust its time stamp */
#define LLE_IDX_ABSENT 2u  /* did not exist (an include that is missing) */
#define LLE_IDX_SCANNED 4u /* a *.yaml of the tree (has a record) */

/* A directory of the tree: a file added, removed or renamed changes its mtime. */
struct lle_idx_dir {
	uint32_t path;  /* relative to the root; "" is the root */
	uint32_t flags;
	int64_t mtime_ns;
	uint64_t ino;
};

/* A file the index depends on: a scanned *.yaml or an included file. */
struct lle_idx_file {
	uint32_t path;  /* relative to the root, or absolute when outside it */
	uint32_t flags;
	int64_t mtime_ns;
	int64_t size;
	uint64_t ino;
};

/* What the index keeps of one scanned file (its includes merged). */
struct lle_idx_rec {
	uint32_t file;           /* index into files */
	uint32_t dep0, ndeps;    /* deps[dep0 ..]: files it includes, transitively */
	uint32_t tag0, ntags;    /* tags[tag0 ..]: pool offsets of its tags */
	uint32_t kind;           /* enum lle_reg_kind */
	uint32_t name, category, description, params, size, backend;
	uint32_t error;          /* pool offset of why it registers nothing, 0 if it does */
	uint32_t line, col;      /* of the naming key */
	uint32_t tline, tcol;    /* of the tag key */
};

/* An entry as listed, sorted by name. Its category, params, size and backend
 * are its record's (a tag has none). */
struct lle_idx_entry {
	uint32_t name, description;
	uint32_t rec;            /* the record that registered it */
	uint32_t kind, line, col, nmembers;
};

struct lle_idx_diag {
	uint32_t msg;            /* pool offset */
	uint32_t is_error;
};

uint64_t lle_idx_hash(const void *p, size_t n);
/* Checksum of a blob of n bytes (header included, its checksum field as 0). */
uint64_t lle_idx_checksum(const unsigned char *blob, size_t n);

#endif
