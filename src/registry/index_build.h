/* The index builder's internals, shared by the files that build a source's
 * index: index.c (the builder's pool and file table, records and entries, the
 * build and the load), index_scan.c (the directory walk, reading each file's
 * keys, following include:) and index_blob.c (laying the builder out as one
 * blob). Private to those three files; what the rest of src/registry/ sees of
 * a loaded source is index_int.h. */
#ifndef LLE_REGISTRY_INDEX_BUILD_H
#define LLE_REGISTRY_INDEX_BUILD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "registry/index_fmt.h"
#include "registry/registry.h"
#include "util/buf.h"
#include "util/err.h"

/* A file whose time stamp is this close to the start of a build may change
 * again within the same clock tick without its mtime moving; such files are
 * re-read by the next load (git's "racily clean" problem). */
#define RACY_NS (30 * 1000000LL)

static inline int64_t ts_ns(const struct timespec *t) { return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec; }

/* A map from strings to uint32 values, open addressing. The key of value v is
 * got back through keyof, so the map stores only the values. */
struct smap {
	uint32_t *slot; /* value + 1, 0 empty */
	size_t cap, n;
	const char *(*keyof)(void *ctx, uint32_t v);
	void *ctx;
};

/* Find key; when absent and insert_v != UINT32_MAX, insert it. Returns the
 * value, or UINT32_MAX when absent (or on allocation failure with *oom set). */
uint32_t lle_idx_smap_get(struct smap *m, const char *key, uint32_t insert_v, int *oom);

/* The keys the index reads (index_scan.c has their names). */
enum field {
	F_TASK, F_GROUP, F_CLASS, F_TAG, F_CATEGORY, F_DESCRIPTION,
	F_NAME, F_CATEGORIES, F_PARAMS, F_SIZE, F_BACKEND, F_INCLUDE, F_METADATA, NFIELDS
};

struct field_val {
	uint32_t str;         /* pool offset: the scalar, or the list joined with ',' */
	uint32_t line, col;   /* of the key */
	uint32_t list0, nlist;/* list items (pool offsets) in B->lists */
	uint8_t set, is_list, is_scalar, from; /* from: 0 own, 1 an include */
};

/* What one file says, own keys first, then with its includes merged. */
struct ext {
	uint8_t state;        /* 0 not read, 1 being resolved, 2 resolved */
	uint32_t error;       /* pool offset, 0 when fine */
	uint32_t oname, oline, ocol; /* the file's own name key, for broken files */
	struct field_val m[NFIELDS]; /* merged */
	uint32_t dep0, ndeps; /* merged dependencies in B->extdeps */
	int open_errno;       /* it could not be opened: errno */
};

struct builder {
	const char *root;     /* absolute */
	size_t rootlen;
	int rootfd;
	int type, layout;
	int64_t t0;
	struct lle_buf pool, dirs, files, recs, deps, tags, entries, diags;
	struct lle_buf lists;   /* uint32 pool offsets: list items of fields */
	struct lle_buf exts;    /* struct ext per file */
	struct lle_buf extdeps; /* uint32 file indices */
	struct smap filemap;    /* path -> file index */
	char *rbuf;
	size_t rcap;
	struct lle_err *err;
	unsigned parsed, reused;
	struct lle_idx_scan *scan; /* index_scan.c's include: state, kept for the build */
};

#define ARR(b, T) ((T *)(void *)(b).p)
#define CNT(b, T) ((uint32_t)((b).n / sizeof(T)))

static inline const char *pool_str(const struct builder *B, uint32_t off) { return B->pool.p + off; }

/* Add n bytes of s to the pool as a string; its offset (0 for ""). */
uint32_t lle_idx_pstrn(struct builder *B, const char *s, size_t n);
static inline uint32_t pstr(struct builder *B, const char *s) { return lle_idx_pstrn(B, s, strlen(s)); }

uint32_t lle_idx_pprintf(struct builder *B, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int add_u32(struct lle_buf *b, uint32_t v) { return lle_buf_add(b, &v, sizeof(v)); }

/* The file index of a path (relative to the root or absolute), added when new. */
uint32_t lle_idx_file_index(struct builder *B, const char *path, int *oom);
/* The full path of a file of the index, into out. */
const char *lle_idx_full_path(const char *root, const char *path, char *out, size_t n);
static inline struct ext *ext_of(struct builder *B, uint32_t fi) { return &ARR(B->exts, struct ext)[fi]; }
static inline int is_str(const struct field_val *v) { return v->set && v->is_scalar && v->str; }

/* index_scan.c */
struct walk {
	struct builder *B;
	struct lle_buf found; /* uint32 pool offsets of the *.yaml paths */
};

/* Add the *.yaml files below directory dfd (rel from the root; dfd is
 * closed) to W->found; 0, or -1 out of memory. */
int lle_idx_walk_dir(struct walk *W, int dfd, const char *rel, int depth);
/* qsort_r order of pool offsets (pool is the pool): by the strings' bytes. */
int lle_idx_cmp_off(const void *a, const void *b, void *pool);
/* Resolve file fi: read it if needed, then merge its includes (include.c
 * walks them). -1: broken (error in its ext), -2: out of memory. */
int lle_idx_resolve(struct builder *B, uint32_t fi);
/* Free the include: state a build kept (B->scan). */
void lle_idx_scan_free(struct lle_idx_scan *scan);

/* index_blob.c */
/* Lay the builder's arrays out as one blob (malloc()ed, *total bytes); NULL
 * when out of memory or over 4 GiB. */
unsigned char *lle_idx_serialise(struct builder *B, uint32_t root_off, size_t *total);

#endif
