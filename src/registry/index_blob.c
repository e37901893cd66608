/* A source's index as one blob (index_fmt.h): laying the builder's arrays
 * out (with the string pool compacted) and checksumming them, opening a blob
 * read from the cache with every offset checked, and the accessors of a
 * loaded source (lle_reg_source_*, registry.h).
 *
 * Not here: building the arrays (index.c, index_scan.c), reading and writing
 * the cache file (cache.c). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "registry/index_build.h"
#include "registry/index_fmt.h"
#include "registry/index_int.h"
#include "registry/registry.h"
#include "util/buf.h"

uint64_t lle_idx_checksum(const unsigned char *blob, size_t n)
{
	/* The header is covered too, with its checksum field taken as 0. */
	struct lle_idx_hdr h;
	memcpy(&h, blob, sizeof(h));
	h.checksum = 0;
	uint64_t a = lle_idx_hash(&h, sizeof(h));
	uint64_t b = lle_idx_hash(blob + sizeof(h), n - sizeof(h));
	return a ^ (b * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL);
}

/* ---------- the blob ---------- */

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

struct compact {
	struct lle_buf pool;
	struct smap map;
	const char *old;
	int oom;
};

static const char *compact_key(void *ctx, uint32_t v) { return ((struct compact *)ctx)->pool.p + v; }

static void remap(struct compact *C, uint32_t *off)
{
	if (*off == 0)
		return;
	const char *s = C->old + *off;
	uint32_t hit = lle_idx_smap_get(&C->map, s, UINT32_MAX, &C->oom);
	if (hit == UINT32_MAX) {
		hit = (uint32_t)C->pool.n;
		lle_buf_add(&C->pool, s, strlen(s) + 1);
		lle_idx_smap_get(&C->map, s, hit, &C->oom);
	}
	*off = hit;
}

/* Keep only the strings the index refers to, each once: the build leaves
 * many behind (values of templates, paths written twice), and every byte of
 * the blob is read and checked by every warm list. */
static int compact_pool(struct builder *B, uint32_t *root_off)
{
	struct compact C = { LLE_BUF_INIT, { NULL, 0, 0, compact_key, NULL }, B->pool.p, 0 };
	C.map.ctx = &C;
	lle_buf_addc(&C.pool, '\0');
	remap(&C, root_off);
	for (uint32_t i = 0; i < CNT(B->dirs, struct lle_idx_dir); i++)
		remap(&C, &ARR(B->dirs, struct lle_idx_dir)[i].path);
	for (uint32_t i = 0; i < CNT(B->files, struct lle_idx_file); i++)
		remap(&C, &ARR(B->files, struct lle_idx_file)[i].path);
	for (uint32_t i = 0; i < CNT(B->recs, struct lle_idx_rec); i++) {
		struct lle_idx_rec *r = &ARR(B->recs, struct lle_idx_rec)[i];
		uint32_t *f[] = { &r->name, &r->category, &r->description, &r->params, &r->size, &r->backend, &r->error };
		for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++)
			remap(&C, f[k]);
	}
	for (uint32_t i = 0; i < CNT(B->tags, uint32_t); i++)
		remap(&C, &ARR(B->tags, uint32_t)[i]);
	for (uint32_t i = 0; i < CNT(B->entries, struct lle_idx_entry); i++) {
		remap(&C, &ARR(B->entries, struct lle_idx_entry)[i].name);
		remap(&C, &ARR(B->entries, struct lle_idx_entry)[i].description);
	}
	for (uint32_t i = 0; i < CNT(B->diags, struct lle_idx_diag); i++)
		remap(&C, &ARR(B->diags, struct lle_idx_diag)[i].msg);
	free(C.map.slot);
	if (C.oom || C.pool.oom) {
		lle_buf_free(&C.pool);
		return -1;
	}
	lle_buf_free(&B->pool);
	B->pool = C.pool;
	return 0;
}

/* Lay the builder's arrays out as one blob. */
unsigned char *lle_idx_serialise(struct builder *B, uint32_t root_off, size_t *total)
{
	if (compact_pool(B, &root_off) < 0)
		return NULL;
	struct lle_idx_hdr h;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, LLE_IDX_MAGIC, 8);
	h.version = LLE_IDX_VERSION;
	h.bom = LLE_IDX_BOM;
	h.built_ns = B->t0;
	h.type = (uint32_t)B->type;
	h.layout = (uint32_t)B->layout;
	h.root = root_off;
	struct lle_buf *sec[] = { &B->dirs, &B->files, &B->recs, &B->deps, &B->tags, &B->entries, &B->diags, &B->pool };
	uint32_t *offs[] = { &h.off_dirs, &h.off_files, &h.off_recs, &h.off_deps, &h.off_tags, &h.off_entries,
			     &h.off_diags, &h.off_pool };
	size_t sizes[] = { sizeof(struct lle_idx_dir), sizeof(struct lle_idx_file), sizeof(struct lle_idx_rec),
			   4, 4, sizeof(struct lle_idx_entry), sizeof(struct lle_idx_diag), 1 };
	uint32_t *counts[] = { &h.ndirs, &h.nfiles, &h.nrecs, &h.ndeps, &h.ntags, &h.nentries, &h.ndiags, &h.npool };
	size_t off = align8(sizeof(h));
	for (int i = 0; i < 8; i++) {
		*offs[i] = (uint32_t)off;
		*counts[i] = (uint32_t)(sec[i]->n / sizes[i]);
		off = align8(off + sec[i]->n);
	}
	if (off > UINT32_MAX)
		return NULL;
	unsigned char *blob = calloc(1, off);
	if (!blob)
		return NULL;
	for (int i = 0; i < 8; i++)
		if (sec[i]->n)
			memcpy(blob + *offs[i], sec[i]->p, sec[i]->n);
	h.total = off;
	memcpy(blob, &h, sizeof(h));
	uint64_t sum = lle_idx_checksum(blob, off);
	memcpy(blob + offsetof(struct lle_idx_hdr, checksum), &sum, sizeof(sum));
	*total = off;
	return blob;
}

static int sec_ok(const struct lle_idx_hdr *h, uint32_t off, uint32_t n, size_t size)
{
	return off % 8 == 0 && (uint64_t)off + (uint64_t)n * size <= h->total;
}

/* Point s at the sections of blob, checking every offset. Returns 0, or -1
 * with a reason in note. */
int lle_idx_open_blob(struct lle_reg_source *s, unsigned char *blob, size_t n, char *note, size_t nnote)
{
	const struct lle_idx_hdr *h = (const void *)blob;
#define BAD(why) do { snprintf(note, nnote, "%s", why); return -1; } while (0)
	if (n < sizeof(*h) || memcmp(h->magic, LLE_IDX_MAGIC, 8) != 0)
		BAD("not an llm-eval index");
	if (h->bom != LLE_IDX_BOM)
		BAD("written on a machine of another byte order");
	if (h->version != LLE_IDX_VERSION)
		BAD("written by another version of llm-eval");
	if (h->total != n)
		BAD("truncated");
	if (lle_idx_checksum(blob, n) != h->checksum)
		BAD("checksum mismatch");
	if (!sec_ok(h, h->off_dirs, h->ndirs, sizeof(struct lle_idx_dir)) ||
	    !sec_ok(h, h->off_files, h->nfiles, sizeof(struct lle_idx_file)) ||
	    !sec_ok(h, h->off_recs, h->nrecs, sizeof(struct lle_idx_rec)) ||
	    !sec_ok(h, h->off_deps, h->ndeps, 4) || !sec_ok(h, h->off_tags, h->ntags, 4) ||
	    !sec_ok(h, h->off_entries, h->nentries, sizeof(struct lle_idx_entry)) ||
	    !sec_ok(h, h->off_diags, h->ndiags, sizeof(struct lle_idx_diag)) ||
	    !sec_ok(h, h->off_pool, h->npool, 1) || h->npool == 0)
		BAD("bad section");
	const char *pool = (const char *)blob + h->off_pool;
	if (pool[0] || pool[h->npool - 1])
		BAD("bad string pool");
	uint32_t np = h->npool;
	if (h->root >= np)
		BAD("bad root");
	const struct lle_idx_dir *dirs = (const void *)(blob + h->off_dirs);
	const struct lle_idx_file *files = (const void *)(blob + h->off_files);
	const struct lle_idx_rec *recs = (const void *)(blob + h->off_recs);
	const uint32_t *deps = (const void *)(blob + h->off_deps);
	const uint32_t *tags = (const void *)(blob + h->off_tags);
	const struct lle_idx_entry *ents = (const void *)(blob + h->off_entries);
	const struct lle_idx_diag *diags = (const void *)(blob + h->off_diags);
	for (uint32_t i = 0; i < h->ndirs; i++)
		if (dirs[i].path >= np)
			BAD("bad directory");
	for (uint32_t i = 0; i < h->nfiles; i++)
		if (files[i].path >= np)
			BAD("bad file");
	for (uint32_t i = 0; i < h->ndeps; i++)
		if (deps[i] >= h->nfiles)
			BAD("bad dependency");
	for (uint32_t i = 0; i < h->ntags; i++)
		if (tags[i] >= np)
			BAD("bad tag");
	for (uint32_t i = 0; i < h->nrecs; i++) {
		const struct lle_idx_rec *r = &recs[i];
		if (r->file >= h->nfiles || (uint64_t)r->dep0 + r->ndeps > h->ndeps ||
		    (uint64_t)r->tag0 + r->ntags > h->ntags || r->kind > LLE_KIND_PYTASK || r->name >= np ||
		    r->category >= np || r->description >= np || r->params >= np || r->size >= np ||
		    r->backend >= np || r->error >= np)
			BAD("bad record");
	}
	for (uint32_t i = 0; i < h->nentries; i++) {
		const struct lle_idx_entry *e = &ents[i];
		if (e->rec >= h->nrecs || e->kind > LLE_KIND_PYTASK || e->name >= np || e->description >= np)
			BAD("bad entry");
	}
	for (uint32_t i = 0; i < h->ndiags; i++)
		if (diags[i].msg >= np)
			BAD("bad diagnostic");
#undef BAD
	s->blob = blob;
	s->nblob = n;
	s->h = h;
	s->dirs = dirs;
	s->files = files;
	s->recs = recs;
	s->deps = deps;
	s->tags = tags;
	s->entries = ents;
	s->diags = diags;
	s->pool = pool;
	return 0;
}

void lle_reg_source_free(struct lle_reg_source *s)
{
	if (!s)
		return;
	if (s->mapped)
		munmap(s->blob, s->nblob);
	else
		free(s->blob);
	free(s->root);
	free(s);
}

const char *lle_reg_source_root(const struct lle_reg_source *s) { return s->root; }
int lle_reg_source_layout(const struct lle_reg_source *s) { return (int)s->h->layout; }
size_t lle_reg_source_count(const struct lle_reg_source *s) { return s->h->nentries; }

void lle_reg_source_entry(const struct lle_reg_source *s, size_t i, struct lle_reg_entry *e)
{
	const struct lle_idx_entry *x = &s->entries[i];
	const struct lle_idx_rec *r = &s->recs[x->rec];
	const char *p = s->pool;
	int tag = x->kind == LLE_KIND_TAG;
	e->name = p + x->name;
	e->category = tag ? "" : p + r->category;
	e->description = p + x->description;
	e->params = tag ? "" : p + r->params;
	e->size = tag ? "" : p + r->size;
	e->backend = tag ? "" : p + r->backend;
	e->root = s->root;
	e->relpath = p + s->files[r->file].path;
	e->line = x->line;
	e->col = x->col;
	e->kind = (int)x->kind;
	e->nmembers = x->nmembers;
	e->source = 0;
}

const char *lle_reg_source_name(const struct lle_reg_source *s, size_t i) { return s->pool + s->entries[i].name; }

size_t lle_reg_source_ndiags(const struct lle_reg_source *s) { return s->h->ndiags; }

const char *lle_reg_source_diag(const struct lle_reg_source *s, size_t i, int *is_error)
{
	if (is_error)
		*is_error = (int)s->diags[i].is_error;
	return s->pool + s->diags[i].msg;
}

size_t lle_reg_source_nfiles(const struct lle_reg_source *s) { return s->h->nrecs; }

const char *lle_reg_source_file(const struct lle_reg_source *s, size_t i, int *kind, const char **name,
				const char **error)
{
	const struct lle_idx_rec *r = &s->recs[i];
	if (kind)
		*kind = (int)r->kind;
	if (name)
		*name = s->pool + r->name;
	if (error)
		*error = r->error ? s->pool + r->error : NULL;
	return s->pool + s->files[r->file].path;
}

void lle_reg_source_tag_members(const struct lle_reg_source *s, const char *tag,
				void (*fn)(void *arg, const char *task), void *arg)
{
	for (uint32_t i = 0; i < s->h->nrecs; i++) {
		const struct lle_idx_rec *r = &s->recs[i];
		for (uint32_t t = 0; t < r->ntags; t++)
			if (strcmp(s->pool + s->tags[r->tag0 + t], tag) == 0) {
				fn(arg, s->pool + r->name);
				break;
			}
	}
}

static const char *const kind_names[] = {
	[LLE_KIND_NONE] = "none", [LLE_KIND_MODEL] = "model", [LLE_KIND_CATEGORY] = "category",
	[LLE_KIND_TASK] = "task", [LLE_KIND_GROUP] = "group", [LLE_KIND_TAG] = "tag",
	[LLE_KIND_PYTASK] = "python-task",
};

const char *lle_reg_kind_name(int kind)
{
	return kind >= 0 && kind <= LLE_KIND_PYTASK ? kind_names[kind] : "?";
}

int lle_reg_kind_parse(const char *s)
{
	for (int k = LLE_KIND_MODEL; k <= LLE_KIND_PYTASK; k++)
		if (strcmp(s, kind_names[k]) == 0)
			return k;
	return -1;
}

const char *lle_reg_type_name(int type)
{
	static const char *const t[] = { "models", "tasks", "categories" };
	return type >= 0 && type < LLE_REG_NTYPES ? t[type] : "?";
}
