/* The index of one source (a directory, for one registry type): what `list`
 * prints, read with libyaml's event API, never as trees.
 *
 * A build walks the directory (every *.yaml below it, hidden names and
 * __pycache__ skipped, symlinked directories not followed), sorts the paths by
 * bytes, and reads from each file only the top-level keys the index keeps
 * (for models and categories it stops as soon as it has them all). `include:`
 * is followed for those keys only (include.c, the one implementation full
 * configs use too), with each included file read once per build. The
 * result is one blob (index_fmt.h) that is also the cache file.
 *
 * A load first tries the cache (cache.c): if no directory and no file it
 * depends on changed (mtime, size, inode), the cache is the index and nothing
 * is parsed. Otherwise the index is rebuilt reusing every record whose file
 * and includes did not change, and written back.
 *
 * This file has the builder's pool and file table, the records and entries
 * made from each file's keys, the build and the load. index_scan.c walks the
 * directory and reads the keys of each file (following include:);
 * index_blob.c lays the builder out as one blob, opens a blob and answers
 * the accessors of a loaded source.
 *
 * Not here: full configs (config.c), checks beyond "does it register a name"
 * (validate.c), merging several sources (registry.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "registry/index_build.h"
#include "registry/index_fmt.h"
#include "registry/index_int.h"
#include "registry/msg.h"
#include "registry/registry.h"
#include "util/buf.h"

/* ---------- small helpers ---------- */

uint64_t lle_idx_hash(const void *p, size_t n)
{
	/* Four independent lanes, so the multiplies overlap: the checksum of a
	 * few MB of cache must cost well under a millisecond. */
	const unsigned char *s = p;
	const uint64_t k = 0xff51afd7ed558ccdULL;
	uint64_t a = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n, b = 0xC2B2AE3D27D4EB4FULL, c = 0x165667B19E3779F9ULL,
		 d = 0x27D4EB2F165667C5ULL;
	while (n >= 32) {
		uint64_t w[4];
		memcpy(w, s, 32);
		a = (a ^ w[0]) * k;
		b = (b ^ w[1]) * k;
		c = (c ^ w[2]) * k;
		d = (d ^ w[3]) * k;
		a ^= a >> 29;
		b ^= b >> 31;
		c ^= c >> 27;
		d ^= d >> 33;
		s += 32;
		n -= 32;
	}
	uint64_t h = a ^ (b * 3) ^ (c * 5) ^ (d * 7);
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * k;
		h ^= h >> 32;
		s += 8;
		n -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, s, n);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 29;
	return h;
}

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return ts_ns(&t);
}

static uint64_t str_hash(const char *s) { return lle_idx_hash(s, strlen(s)); }

static int smap_grow(struct smap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 256;
	uint32_t *s = calloc(cap, sizeof(*s));
	if (!s)
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->slot[i])
			continue;
		size_t j = str_hash(m->keyof(m->ctx, m->slot[i] - 1)) & (cap - 1);
		while (s[j])
			j = (j + 1) & (cap - 1);
		s[j] = m->slot[i];
	}
	free(m->slot);
	m->slot = s;
	m->cap = cap;
	return 0;
}

/* Find key; when absent and insert_v != UINT32_MAX, insert it. Returns the
 * value, or UINT32_MAX when absent (or on allocation failure with *oom set). */
uint32_t lle_idx_smap_get(struct smap *m, const char *key, uint32_t insert_v, int *oom)
{
	if (m->cap == 0 || (m->n + 1) * 4 > m->cap * 3) {
		if (insert_v == UINT32_MAX && m->cap == 0)
			return UINT32_MAX;
		if (insert_v != UINT32_MAX && smap_grow(m) < 0) {
			*oom = 1;
			return UINT32_MAX;
		}
	}
	size_t j = str_hash(key) & (m->cap - 1);
	while (m->slot[j]) {
		if (strcmp(m->keyof(m->ctx, m->slot[j] - 1), key) == 0)
			return m->slot[j] - 1;
		j = (j + 1) & (m->cap - 1);
	}
	if (insert_v != UINT32_MAX) {
		m->slot[j] = insert_v + 1;
		m->n++;
	}
	return UINT32_MAX;
}

/* ---------- the builder ---------- */

uint32_t lle_idx_pstrn(struct builder *B, const char *s, size_t n)
{
	if (n == 0)
		return 0;
	uint32_t off = (uint32_t)B->pool.n;
	lle_buf_add(&B->pool, s, n);
	lle_buf_addc(&B->pool, '\0');
	return off;
}

uint32_t lle_idx_pprintf(struct builder *B, const char *fmt, ...)
{
	uint32_t off = (uint32_t)B->pool.n;
	va_list ap;
	va_start(ap, fmt);
	lle_buf_vprintf(&B->pool, fmt, ap);
	va_end(ap);
	lle_buf_addc(&B->pool, '\0');
	return off;
}

static const char *file_key(void *ctx, uint32_t v)
{
	struct builder *B = ctx;
	return pool_str(B, ARR(B->files, struct lle_idx_file)[v].path);
}

static int builder_oom(struct builder *B)
{
	return B->pool.oom || B->dirs.oom || B->files.oom || B->recs.oom || B->deps.oom ||
	       B->tags.oom || B->entries.oom || B->diags.oom || B->lists.oom || B->exts.oom ||
	       B->extdeps.oom;
}

static void builder_free(struct builder *B)
{
	lle_buf_free(&B->pool);
	lle_buf_free(&B->dirs);
	lle_buf_free(&B->files);
	lle_buf_free(&B->recs);
	lle_buf_free(&B->deps);
	lle_buf_free(&B->tags);
	lle_buf_free(&B->entries);
	lle_buf_free(&B->diags);
	lle_buf_free(&B->lists);
	lle_buf_free(&B->exts);
	lle_buf_free(&B->extdeps);
	free(B->filemap.slot);
	free(B->rbuf);
	lle_idx_scan_free(B->scan);
	if (B->rootfd >= 0)
		close(B->rootfd);
}

/* The file index of a path (relative to the root or absolute), added when new. */
uint32_t lle_idx_file_index(struct builder *B, const char *path, int *oom)
{
	uint32_t n = CNT(B->files, struct lle_idx_file);
	uint32_t hit = lle_idx_smap_get(&B->filemap, path, UINT32_MAX, oom);
	if (hit != UINT32_MAX)
		return hit;
	struct lle_idx_file f = { 0 };
	f.path = pstr(B, path);
	struct ext e = { 0 };
	if (lle_buf_add(&B->files, &f, sizeof(f)) < 0 || lle_buf_add(&B->exts, &e, sizeof(e)) < 0 ||
	    B->pool.oom) {
		*oom = 1;
		return UINT32_MAX;
	}
	lle_idx_smap_get(&B->filemap, pool_str(B, f.path), n, oom);
	return *oom ? UINT32_MAX : n;
}

/* The full path of a file of the index, into out. */
const char *lle_idx_full_path(const char *root, const char *path, char *out, size_t n)
{
	if (path[0] == '/')
		snprintf(out, n, "%s", path);
	else
		snprintf(out, n, "%s/%s", root, path);
	return out;
}

/* ---------- records and entries ---------- */

/* Turn the merged keys of scanned file fi into a record. */
static int make_record(struct builder *B, uint32_t fi)
{
	B->parsed++;
	int rc = lle_idx_resolve(B, fi);
	if (rc == -2)
		return -1;
	struct ext *x = ext_of(B, fi);
	struct lle_idx_rec r = { 0 };
	r.file = fi;
	r.dep0 = CNT(B->deps, uint32_t);
	r.ndeps = x->ndeps;
	if (x->ndeps)
		lle_buf_add(&B->deps, ARR(B->extdeps, uint32_t) + x->dep0, x->ndeps * sizeof(uint32_t));
	char path[PATH_MAX];
	lle_idx_full_path(B->root, pool_str(B, ARR(B->files, struct lle_idx_file)[fi].path), path, sizeof(path));
	if (rc < 0) {
		/* Keep the name when the file itself says it, so `show` can say
		 * why the entry is not usable rather than "unknown". */
		if (x->oname) {
			r.name = x->oname;
			r.line = x->oline;
			r.col = x->ocol;
		}
		r.error = x->error;
		return lle_buf_add(&B->recs, &r, sizeof(r));
	}
	x = ext_of(B, fi);
	const struct field_val *m = x->m;
	const struct field_val *namef = NULL;
	switch (B->type) {
	case LLE_REG_MODELS:
		if (is_str(&m[F_NAME])) {
			r.kind = LLE_KIND_MODEL;
			namef = &m[F_NAME];
		} else {
			r.error = lle_idx_pprintf(B, LLE_MSG_NO_NAME, path, 1u, 1u, "name");
		}
		break;
	case LLE_REG_CATEGORIES:
		if (is_str(&m[F_CATEGORY])) {
			r.kind = LLE_KIND_CATEGORY;
			namef = &m[F_CATEGORY];
		} else {
			r.error = lle_idx_pprintf(B, LLE_MSG_NO_NAME, path, 1u, 1u, "category");
		}
		break;
	default:
		/* lm-evaluation-harness: `class:` is a python task (named by
		 * `task:`), `group:` with a `task:` list (or none) a group, a
		 * `task:` string a task. */
		if (m[F_CLASS].set && is_str(&m[F_TASK])) {
			r.kind = LLE_KIND_PYTASK;
			namef = &m[F_TASK];
		} else if (is_str(&m[F_GROUP]) && !is_str(&m[F_TASK])) {
			r.kind = LLE_KIND_GROUP;
			namef = &m[F_GROUP];
		} else if (is_str(&m[F_TASK])) {
			r.kind = LLE_KIND_TASK;
			namef = &m[F_TASK];
		} else {
			r.error = lle_idx_pprintf(B, LLE_MSG_NOT_REGISTRABLE, path, 1u, 1u);
		}
		break;
	}
	x = ext_of(B, fi);
	m = x->m;
	if (namef) {
		r.name = namef->str;
		r.line = namef->from ? 1 : namef->line;
		r.col = namef->from ? 1 : namef->col;
	}
	r.category = B->type == LLE_REG_MODELS ? m[F_CATEGORIES].str
		     : B->type == LLE_REG_TASKS && m[F_CATEGORY].is_scalar ? m[F_CATEGORY].str : 0;
	r.description = m[F_DESCRIPTION].is_scalar ? m[F_DESCRIPTION].str : 0;
	/* Tasks: metadata.description, the summary; else the first line of the
	 * prompt prefix, as a harness tree has no summary. */
	if (B->type == LLE_REG_TASKS && m[F_METADATA].set && m[F_METADATA].str)
		r.description = m[F_METADATA].str;
	if (B->type == LLE_REG_MODELS) {
		r.params = m[F_PARAMS].is_scalar ? m[F_PARAMS].str : 0;
		r.size = m[F_SIZE].is_scalar ? m[F_SIZE].str : 0;
		r.backend = m[F_BACKEND].is_scalar ? m[F_BACKEND].str : 0;
	}
	if ((r.kind == LLE_KIND_TASK || r.kind == LLE_KIND_PYTASK) && m[F_TAG].set) {
		r.tag0 = CNT(B->tags, uint32_t);
		r.ntags = m[F_TAG].nlist;
		r.tline = m[F_TAG].from ? 1 : m[F_TAG].line;
		r.tcol = m[F_TAG].from ? 1 : m[F_TAG].col;
		if (m[F_TAG].nlist)
			lle_buf_add(&B->tags, ARR(B->lists, uint32_t) + m[F_TAG].list0,
				    m[F_TAG].nlist * sizeof(uint32_t));
	}
	return lle_buf_add(&B->recs, &r, sizeof(r));
}

/* Copy a record of an old index whose file and includes did not change. */
static int reuse_record(struct builder *B, const struct lle_reg_source *old, const struct lle_idx_rec *o,
			const int64_t (*fresh)[3])
{
	const char *op = old->pool;
	int oom = 0;
	struct lle_idx_rec r = *o;
	const struct lle_idx_file *of = &old->files[o->file];
	r.file = lle_idx_file_index(B, op + of->path, &oom);
	if (oom)
		return -1;
	struct lle_idx_file *nf = &ARR(B->files, struct lle_idx_file)[r.file];
	nf->flags = of->flags;
	nf->mtime_ns = fresh[o->file][0];
	nf->size = fresh[o->file][1];
	nf->ino = (uint64_t)fresh[o->file][2];
	ext_of(B, r.file)->state = 0;
	r.dep0 = CNT(B->deps, uint32_t);
	for (uint32_t i = 0; i < o->ndeps; i++) {
		uint32_t od = old->deps[o->dep0 + i];
		uint32_t nd = lle_idx_file_index(B, op + old->files[od].path, &oom);
		if (oom)
			return -1;
		nf = &ARR(B->files, struct lle_idx_file)[nd];
		if (!(nf->mtime_ns || nf->ino || (nf->flags & LLE_IDX_ABSENT))) {
			nf->flags = old->files[od].flags & ~LLE_IDX_SCANNED;
			nf->mtime_ns = fresh[od][0];
			nf->size = fresh[od][1];
			nf->ino = (uint64_t)fresh[od][2];
		}
		add_u32(&B->deps, nd);
	}
	r.tag0 = CNT(B->tags, uint32_t);
	for (uint32_t i = 0; i < o->ntags; i++)
		add_u32(&B->tags, pstr(B, op + old->tags[o->tag0 + i]));
	r.name = pstr(B, op + o->name);
	r.category = pstr(B, op + o->category);
	r.description = pstr(B, op + o->description);
	r.params = pstr(B, op + o->params);
	r.size = pstr(B, op + o->size);
	r.backend = pstr(B, op + o->backend);
	r.error = pstr(B, op + o->error);
	B->reused++;
	return lle_buf_add(&B->recs, &r, sizeof(r));
}

static const char *entry_key(void *ctx, uint32_t v)
{
	struct builder *B = ctx;
	return pool_str(B, ARR(B->entries, struct lle_idx_entry)[v].name);
}

static int cmp_entry(const void *a, const void *b, void *pool)
{
	const struct lle_idx_entry *x = a, *y = b;
	return strcmp((const char *)pool + x->name, (const char *)pool + y->name);
}

static void add_diag(struct builder *B, uint32_t msg, int is_error)
{
	struct lle_idx_diag d = { msg, (uint32_t)is_error };
	lle_buf_add(&B->diags, &d, sizeof(d));
}

/* Register every record in path order: the first registration of a name
 * wins; a tag collects the tasks that carry it. Then sort by name. */
static int register_entries(struct builder *B)
{
	struct smap names = { .keyof = entry_key, .ctx = B };
	uint32_t nrecs = CNT(B->recs, struct lle_idx_rec);
	int oom = 0;
	char path[PATH_MAX], opath[PATH_MAX];
	for (uint32_t ri = 0; ri < nrecs && !oom; ri++) {
		const struct lle_idx_rec *r = &ARR(B->recs, struct lle_idx_rec)[ri];
		if (r->kind == LLE_KIND_NONE)
			continue;
		lle_idx_full_path(B->root, pool_str(B, ARR(B->files, struct lle_idx_file)[r->file].path), path, sizeof(path));
		uint32_t hit = lle_idx_smap_get(&names, pool_str(B, r->name), UINT32_MAX, &oom);
		if (hit != UINT32_MAX) {
			const struct lle_idx_entry *e = &ARR(B->entries, struct lle_idx_entry)[hit];
			const struct lle_idx_rec *or = &ARR(B->recs, struct lle_idx_rec)[e->rec];
			lle_idx_full_path(B->root, pool_str(B, ARR(B->files, struct lle_idx_file)[or->file].path), opath,
				  sizeof(opath));
			char name[256];
			snprintf(name, sizeof(name), "%s", pool_str(B, r->name));
			add_diag(B, lle_idx_pprintf(B, LLE_MSG_DUPLICATE, path, r->line, r->col, lle_reg_kind_name((int)r->kind),
					    name, opath, e->kind == LLE_KIND_TAG ? or->tline : or->line,
					    e->kind == LLE_KIND_TAG ? or->tcol : or->col), 0);
			continue;
		}
		struct lle_idx_entry e = { 0 };
		e.name = r->name;
		e.description = r->description;
		e.rec = ri;
		e.kind = r->kind;
		e.line = r->line;
		e.col = r->col;
		uint32_t n = CNT(B->entries, struct lle_idx_entry);
		if (lle_buf_add(&B->entries, &e, sizeof(e)) < 0)
			return -1;
		lle_idx_smap_get(&names, pool_str(B, e.name), n, &oom);
		for (uint32_t t = 0; t < r->ntags && !oom; t++) {
			r = &ARR(B->recs, struct lle_idx_rec)[ri];
			uint32_t tag = ARR(B->tags, uint32_t)[r->tag0 + t];
			uint32_t th = lle_idx_smap_get(&names, pool_str(B, tag), UINT32_MAX, &oom);
			if (th == UINT32_MAX) {
				struct lle_idx_entry te = { 0 };
				te.name = tag;
				te.kind = LLE_KIND_TAG;
				te.rec = ri;
				te.line = r->tline;
				te.col = r->tcol;
				te.nmembers = 1;
				n = CNT(B->entries, struct lle_idx_entry);
				if (lle_buf_add(&B->entries, &te, sizeof(te)) < 0)
					return -1;
				lle_idx_smap_get(&names, pool_str(B, tag), n, &oom);
			} else if (ARR(B->entries, struct lle_idx_entry)[th].kind == LLE_KIND_TAG) {
				ARR(B->entries, struct lle_idx_entry)[th].nmembers++;
			} else {
				char tname[256];
				snprintf(tname, sizeof(tname), "%s", pool_str(B, tag));
				add_diag(B, lle_idx_pprintf(B, LLE_MSG_TAG_CLASH, path, r->tline, r->tcol, tname,
						    lle_reg_kind_name((int)ARR(B->entries, struct lle_idx_entry)[th].kind)), 0);
			}
		}
	}
	free(names.slot);
	if (oom)
		return -1;
	/* A tag's description says how many tasks it has. */
	uint32_t ne = CNT(B->entries, struct lle_idx_entry);
	for (uint32_t i = 0; i < ne; i++) {
		struct lle_idx_entry *e = &ARR(B->entries, struct lle_idx_entry)[i];
		if (e->kind == LLE_KIND_TAG) {
			uint32_t nm = e->nmembers;
			uint32_t d = lle_idx_pprintf(B, LLE_MSG_TAG_DESCRIPTION, nm, nm == 1 ? "" : "s");
			ARR(B->entries, struct lle_idx_entry)[i].description = d;
		}
	}
	if (builder_oom(B))
		return -1;
	if (ne)
		qsort_r(B->entries.p, ne, sizeof(struct lle_idx_entry), cmp_entry, B->pool.p);
	return 0;
}

/* ---------- build ---------- */

/* The record of path p in an old index (records are in path order). */
static const struct lle_idx_rec *find_rec(const struct lle_reg_source *s, const char *p)
{
	size_t lo = 0, hi = s->h->nrecs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(p, s->pool + s->files[s->recs[mid].file].path);
		if (c == 0)
			return &s->recs[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Build the index of root (absolute). With old, reuse the records whose file
 * and dependencies are not marked in changed[]; unless rewalk, the list of
 * files is taken from old (no directory changed). */
static struct lle_reg_source *build(const char *root, int type, int layout, const struct lle_reg_source *old,
				    const uint8_t *changed, const int64_t (*fresh)[3], int rewalk,
				    struct lle_reg_stats *st, struct lle_err *err)
{
	struct builder B;
	memset(&B, 0, sizeof(B));
	B.root = root;
	B.rootlen = strlen(root);
	B.type = type;
	B.layout = layout;
	B.err = err;
	B.t0 = now_ns();
	B.filemap.keyof = file_key;
	B.filemap.ctx = &B;
	B.rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (B.rootfd < 0) {
		lle_err_set(err, LLE_EXIT_CONFIG, LLE_MSG_NO_DIR, root, strerror(errno));
		B.rootfd = -1;
		builder_free(&B);
		return NULL;
	}
	lle_buf_addc(&B.pool, '\0'); /* offset 0 is "" */
	uint32_t root_off = pstr(&B, root);

	struct walk W = { .B = &B, .found = LLE_BUF_INIT };
	if (!old || rewalk) {
		int fd = dup(B.rootfd);
		if (fd < 0 || lle_idx_walk_dir(&W, fd, "", 0) < 0)
			goto oom;
	} else {
		for (uint32_t i = 0; i < old->h->ndirs; i++) {
			struct lle_idx_dir d = old->dirs[i];
			d.path = pstr(&B, old->pool + old->dirs[i].path);
			lle_buf_add(&B.dirs, &d, sizeof(d));
		}
		for (uint32_t i = 0; i < old->h->nrecs; i++)
			add_u32(&W.found, pstr(&B, old->pool + old->files[old->recs[i].file].path));
	}
	if (W.found.oom || builder_oom(&B))
		goto oom;
	if (W.found.n)
		qsort_r(W.found.p, CNT(W.found, uint32_t), sizeof(uint32_t), lle_idx_cmp_off, B.pool.p);

	/* Scanned files first, so their indices follow path order. Room for all
	 * of them (and some includes) at once: no copying as the arrays grow. */
	uint32_t nfound = CNT(W.found, uint32_t);
	size_t room = (size_t)nfound + nfound / 8 + 64;
	lle_buf_reserve(&B.files, room * sizeof(struct lle_idx_file));
	lle_buf_reserve(&B.exts, room * sizeof(struct ext));
	lle_buf_reserve(&B.recs, room * sizeof(struct lle_idx_rec));
	lle_buf_reserve(&B.pool, room * 160);
	for (uint32_t i = 0; i < nfound; i++) {
		int oom = 0;
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "%s", pool_str(&B, ARR(W.found, uint32_t)[i]));
		uint32_t fi = lle_idx_file_index(&B, p, &oom);
		if (oom)
			goto oom;
		ARR(B.files, struct lle_idx_file)[fi].flags |= LLE_IDX_SCANNED;
	}
	for (uint32_t i = 0; i < nfound; i++) {
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "%s", pool_str(&B, ARR(W.found, uint32_t)[i]));
		const struct lle_idx_rec *o = NULL;
		if (old)
			o = find_rec(old, p);
		int ok = o && !changed[o->file];
		for (uint32_t d = 0; ok && d < o->ndeps; d++)
			ok = !changed[old->deps[o->dep0 + d]];
		int rc = ok ? reuse_record(&B, old, o, fresh) : make_record(&B, i);
		if (rc < 0 || builder_oom(&B))
			goto oom;
	}
	/* Files that were only read as scanned files keep SCANNED; fix the flag
	 * of scanned files that were reused (their flags came from old). */
	for (uint32_t i = 0; i < nfound; i++)
		ARR(B.files, struct lle_idx_file)[i].flags |= LLE_IDX_SCANNED;
	if (register_entries(&B) < 0)
		goto oom;

	size_t total = 0;
	unsigned char *blob = lle_idx_serialise(&B, root_off, &total);
	if (!blob)
		goto oom;
	struct lle_reg_source *s = calloc(1, sizeof(*s));
	char note[80];
	if (!s || lle_idx_open_blob(s, blob, total, note, sizeof(note)) < 0) {
		free(blob);
		free(s);
		goto oom;
	}
	if (st) {
		st->parsed += B.parsed;
		st->reused += B.reused;
	}
	lle_buf_free(&W.found);
	builder_free(&B);
	return s;
oom:
	lle_buf_free(&W.found);
	builder_free(&B);
	lle_err_oom(err);
	return NULL;
}

/* ---------- load: cache or build ---------- */

/* Compare what the old index recorded with the disk: every directory's mtime
 * and inode (a file added, removed or renamed changes them) and every file's
 * mtime, size and inode (a change in place changes those). The stat calls
 * are the whole cost of a warm list, so files are looked up by base name from
 * a descriptor of their directory (no path walk per file), and the work is
 * split between threads, one per processor, at directory boundaries. */
struct fresh_job {
	const struct lle_reg_source *old;
	int rootfd;
	uint32_t d0, d1, f0, f1; /* ranges of dirs and files */
	uint8_t *changed;
	int64_t (*fresh)[3];
	int dirs_changed, any;
};

static void *fresh_run(void *arg)
{
	struct fresh_job *J = arg;
	const struct lle_reg_source *old = J->old;
	struct stat st;
	for (uint32_t i = J->d0; i < J->d1 && !J->dirs_changed; i++) {
		const struct lle_idx_dir *d = &old->dirs[i];
		const char *p = old->pool + d->path;
		if ((d->flags & LLE_IDX_RACY) || fstatat(J->rootfd, *p ? p : ".", &st, 0) < 0 ||
		    ts_ns(&st.st_mtim) != d->mtime_ns || (uint64_t)st.st_ino != d->ino)
			J->dirs_changed = 1;
	}
	int dfd = -1;
	const char *dir = NULL;
	size_t dirlen = 0;
	for (uint32_t i = J->f0; i < J->f1; i++) {
		const struct lle_idx_file *f = &old->files[i];
		const char *p = old->pool + f->path, *slash = strrchr(p, '/');
		int exists;
		if (p[0] == '/' || !slash) {
			exists = fstatat(J->rootfd, p, &st, 0) == 0;
		} else {
			size_t n = (size_t)(slash - p);
			if (!dir || n != dirlen || memcmp(dir, p, n) != 0) {
				char d[PATH_MAX];
				if (dfd >= 0)
					close(dfd);
				snprintf(d, sizeof(d), "%.*s", (int)n, p);
				dfd = openat(J->rootfd, d, O_PATH | O_DIRECTORY | O_CLOEXEC);
				dir = p;
				dirlen = n;
			}
			exists = dfd >= 0 && fstatat(dfd, slash + 1, &st, 0) == 0;
		}
		if (exists) {
			J->fresh[i][0] = ts_ns(&st.st_mtim);
			J->fresh[i][1] = st.st_size;
			J->fresh[i][2] = (int64_t)st.st_ino;
		} else {
			J->fresh[i][0] = J->fresh[i][1] = J->fresh[i][2] = 0;
		}
		if (f->flags & LLE_IDX_ABSENT)
			J->changed[i] = (uint8_t)exists;
		else
			J->changed[i] = !exists || (f->flags & LLE_IDX_RACY) || J->fresh[i][0] != f->mtime_ns ||
					J->fresh[i][1] != f->size || (uint64_t)J->fresh[i][2] != f->ino;
		J->any |= J->changed[i];
	}
	if (dfd >= 0)
		close(dfd);
	return NULL;
}

/* Fills changed[] per file and fresh stats; returns whether any directory
 * changed (then the tree must be walked again), and sets *any when anything
 * at all changed. */
static int check_fresh(const struct lle_reg_source *old, int rootfd, uint8_t *changed, int64_t (*fresh)[3],
		       int *any)
{
	enum { MAXJOBS = 4 };
	struct fresh_job job[MAXJOBS];
	pthread_t tid[MAXJOBS];
	uint32_t nd = old->h->ndirs, nf = old->h->nfiles;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int nj = nf < 2000 || ncpu < 2 ? 1 : ncpu > MAXJOBS ? MAXJOBS : (int)ncpu;
	uint32_t f0 = 0;
	for (int j = 0; j < nj; j++) {
		job[j] = (struct fresh_job){ old, rootfd, (uint32_t)((uint64_t)nd * j / nj),
					     (uint32_t)((uint64_t)nd * (j + 1) / nj), f0, 0, changed, fresh, 0, 0 };
		/* End the range at a change of directory, so each directory is
		 * opened by one thread only. */
		uint32_t f1 = j + 1 == nj ? nf : (uint32_t)((uint64_t)nf * (j + 1) / nj);
		while (f1 > f0 && f1 < nf) {
			const char *a = old->pool + old->files[f1 - 1].path, *b = old->pool + old->files[f1].path;
			const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
			if (!sa || !sb || sa - a != sb - b || memcmp(a, b, (size_t)(sa - a)) != 0)
				break;
			f1++;
		}
		job[j].f1 = f1;
		f0 = f1;
	}
	int started = 0;
	for (int j = 1; j < nj; j++) {
		if (pthread_create(&tid[j], NULL, fresh_run, &job[j]) != 0)
			break;
		started = j;
	}
	fresh_run(&job[0]);
	for (int j = started + 1; j < nj; j++)
		fresh_run(&job[j]); /* could not start a thread: do it here */
	int dirs_changed = job[0].dirs_changed;
	*any = job[0].any;
	for (int j = 1; j < nj; j++) {
		if (j <= started)
			pthread_join(tid[j], NULL);
		dirs_changed |= job[j].dirs_changed;
		*any |= job[j].any;
	}
	*any |= dirs_changed;
	return dirs_changed;
}

static void cache_name(const char *cache_dir, const char *root, int type, char *out, size_t n)
{
	snprintf(out, n, "%s/%s-%016llx.idx", cache_dir, lle_reg_type_name(type),
		 (unsigned long long)lle_idx_hash(root, strlen(root)));
}

struct lle_reg_source *lle_reg_source_load(const char *root_in, int type, int layout,
					   const struct lle_reg_opts *opts, struct lle_reg_stats *st,
					   struct lle_err *err)
{
	struct lle_reg_stats dummy;
	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	char root[PATH_MAX];
	if (!realpath(root_in, root))
		return lle_err_set(err, LLE_EXIT_CONFIG, LLE_MSG_NO_DIR, root_in, strerror(errno)), NULL;
	char cpath[PATH_MAX + 64];
	struct lle_reg_source *old = NULL;
	if (opts && opts->cache_dir) {
		cache_name(opts->cache_dir, root, type, cpath, sizeof(cpath));
		old = lle_idx_cache_read(cpath, root, type, layout, st->cache_note, sizeof(st->cache_note));
	}
	if (old && opts->trust_cache) {
		st->from_cache = 1;
		old->root = lle_strdup(root);
		if (!old->root) {
			lle_reg_source_free(old);
			lle_err_oom(err);
			return NULL;
		}
		return old;
	}
	struct lle_reg_source *s = NULL;
	if (old) {
		int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		uint32_t nf = old->h->nfiles;
		uint8_t *changed = calloc(nf + 1, 1);
		int64_t (*fresh)[3] = calloc(nf + 1, sizeof(*fresh));
		if (rootfd < 0 || !changed || !fresh) {
			if (rootfd >= 0)
				close(rootfd);
			free(changed);
			free(fresh);
			lle_reg_source_free(old);
			if (rootfd < 0)
				return lle_err_set(err, LLE_EXIT_CONFIG, LLE_MSG_NO_DIR, root, strerror(errno)), NULL;
			lle_err_oom(err);
			return NULL;
		}
		int any = 0;
		int rewalk = check_fresh(old, rootfd, changed, fresh, &any);
		close(rootfd);
		if (!any) {
			free(changed);
			free(fresh);
			st->from_cache = 1;
			s = old;
		} else {
			s = build(root, type, layout, old, changed, (const int64_t(*)[3])fresh, rewalk, st, err);
			free(changed);
			free(fresh);
			lle_reg_source_free(old);
			if (!s)
				return NULL;
			st->cache_written = lle_idx_cache_write(cpath, s) == 0;
		}
	} else {
		s = build(root, type, layout, NULL, NULL, NULL, 1, st, err);
		if (!s)
			return NULL;
		if (opts && opts->cache_dir)
			st->cache_written = lle_idx_cache_write(cpath, s) == 0;
	}
	s->root = lle_strdup(root);
	if (!s->root) {
		lle_reg_source_free(s);
		lle_err_oom(err);
		return NULL;
	}
	return s;
}

