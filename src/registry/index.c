/* The index of one source (a directory, for one registry type): what `list`
 * prints, read with libyaml's event API, never as trees.
 *
 * A build walks the directory (every *.yaml below it, hidden names and
 * __pycache__ skipped, symlinked directories not followed), sorts the paths by
 * bytes, and reads from each file only the top-level keys the index keeps
 * (for models and categories it stops as soon as it has them all). `include:`
 * is followed for those keys only, with each included file read once per
 * build. The result is one blob (index_fmt.h) that is also the cache file.
 *
 * A load first tries the cache (cache.c): if no directory and no file it
 * depends on changed (mtime, size, inode), the cache is the index and nothing
 * is parsed. Otherwise the index is rebuilt reusing every record whose file
 * and includes did not change, and written back.
 *
 * Not here: full configs (config.c), checks beyond "does it register a name"
 * (validate.c), merging several sources (registry.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "registry/index_fmt.h"
#include "registry/index_int.h"
#include "registry/msg.h"
#include "registry/registry.h"
#include "util/buf.h"

/* A file whose time stamp is this close to the start of a build may change
 * again within the same clock tick without its mtime moving; such files are
 * re-read by the next load (git's "racily clean" problem). */
#define RACY_NS (30 * 1000000LL)

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

static int64_t ts_ns(const struct timespec *t) { return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec; }

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return ts_ns(&t);
}

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

/* A map from strings to uint32 values, open addressing. The key of value v is
 * got back through keyof, so the map stores only the values. */
struct smap {
	uint32_t *slot; /* value + 1, 0 empty */
	size_t cap, n;
	const char *(*keyof)(void *ctx, uint32_t v);
	void *ctx;
};

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
static uint32_t smap_get(struct smap *m, const char *key, uint32_t insert_v, int *oom)
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

enum field {
	F_TASK, F_GROUP, F_CLASS, F_TAG, F_CATEGORY, F_DESCRIPTION,
	F_NAME, F_CATEGORIES, F_PARAMS, F_SIZE, F_BACKEND, F_INCLUDE, F_METADATA, NFIELDS
};

static const char *const field_keys[NFIELDS] = {
	"task", "group", "class", "tag", "category", "description",
	"name", "categories", "params_b", "size_gb", "backend", "include", "metadata",
};

/* Which keys each registry type reads. */
static const unsigned type_fields[LLE_REG_NTYPES] = {
	[LLE_REG_MODELS] = 1u << F_NAME | 1u << F_DESCRIPTION | 1u << F_CATEGORIES | 1u << F_PARAMS |
			   1u << F_SIZE | 1u << F_BACKEND | 1u << F_INCLUDE,
	[LLE_REG_TASKS] = 1u << F_TASK | 1u << F_GROUP | 1u << F_CLASS | 1u << F_TAG |
			  1u << F_CATEGORY | 1u << F_DESCRIPTION | 1u << F_INCLUDE | 1u << F_METADATA,
	[LLE_REG_CATEGORIES] = 1u << F_CATEGORY | 1u << F_DESCRIPTION | 1u << F_INCLUDE,
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
};

#define ARR(b, T) ((T *)(void *)(b).p)
#define CNT(b, T) ((uint32_t)((b).n / sizeof(T)))

static const char *pool_str(const struct builder *B, uint32_t off) { return B->pool.p + off; }

static uint32_t pstrn(struct builder *B, const char *s, size_t n)
{
	if (n == 0)
		return 0;
	uint32_t off = (uint32_t)B->pool.n;
	lle_buf_add(&B->pool, s, n);
	lle_buf_addc(&B->pool, '\0');
	return off;
}

static uint32_t pstr(struct builder *B, const char *s) { return pstrn(B, s, strlen(s)); }

static uint32_t pprintf(struct builder *B, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static uint32_t pprintf(struct builder *B, const char *fmt, ...)
{
	uint32_t off = (uint32_t)B->pool.n;
	va_list ap;
	va_start(ap, fmt);
	lle_buf_vprintf(&B->pool, fmt, ap);
	va_end(ap);
	lle_buf_addc(&B->pool, '\0');
	return off;
}

static int add_u32(struct lle_buf *b, uint32_t v) { return lle_buf_add(b, &v, sizeof(v)); }

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
	if (B->rootfd >= 0)
		close(B->rootfd);
}

/* The file index of a path (relative to the root or absolute), added when new. */
static uint32_t file_index(struct builder *B, const char *path, int *oom)
{
	uint32_t n = CNT(B->files, struct lle_idx_file);
	uint32_t hit = smap_get(&B->filemap, path, UINT32_MAX, oom);
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
	smap_get(&B->filemap, pool_str(B, f.path), n, oom);
	return *oom ? UINT32_MAX : n;
}

/* The full path of a file of the index, into out. */
static const char *full_path(const char *root, const char *path, char *out, size_t n)
{
	if (path[0] == '/')
		snprintf(out, n, "%s", path);
	else
		snprintf(out, n, "%s/%s", root, path);
	return out;
}

/* ---------- walking the tree ---------- */

static int has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n > m && memcmp(s + n - m, suf, m) == 0;
}

struct walk {
	struct builder *B;
	struct lle_buf found; /* uint32 pool offsets of the *.yaml paths */
};

static int walk_dir(struct walk *W, int dfd, const char *rel, int depth)
{
	struct builder *B = W->B;
	struct stat st;
	if (fstat(dfd, &st) < 0) {
		close(dfd);
		return 0;
	}
	struct lle_idx_dir d = { 0 };
	d.path = pstr(B, rel);
	d.mtime_ns = ts_ns(&st.st_mtim);
	d.ino = (uint64_t)st.st_ino;
	if (d.mtime_ns > B->t0 - RACY_NS)
		d.flags |= LLE_IDX_RACY;
	lle_buf_add(&B->dirs, &d, sizeof(d));
	DIR *dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return 0;
	}
	struct lle_buf sub = LLE_BUF_INIT; /* pool offsets of sub-directory paths */
	struct dirent *de;
	while ((de = readdir(dir)) != NULL) {
		const char *nm = de->d_name;
		if (nm[0] == '.' || strcmp(nm, "__pycache__") == 0)
			continue;
		int isdir = de->d_type == DT_DIR, isreg = de->d_type == DT_REG;
		if (de->d_type == DT_UNKNOWN || (de->d_type == DT_LNK && has_suffix(nm, ".yaml"))) {
			/* Symlinks to files are read; symlinks to directories are not
			 * followed (no loops), as lm-evaluation-harness's os.walk. */
			struct stat s2;
			if (fstatat(dirfd(dir), nm, &s2, de->d_type == DT_LNK ? 0 : AT_SYMLINK_NOFOLLOW) == 0) {
				isdir = S_ISDIR(s2.st_mode) && de->d_type != DT_LNK;
				isreg = S_ISREG(s2.st_mode);
			}
		}
		if (!isdir && !(isreg && has_suffix(nm, ".yaml")))
			continue;
		uint32_t off = rel[0] ? pprintf(B, "%s/%s", rel, nm) : pstr(B, nm);
		add_u32(isdir ? &sub : &W->found, off);
	}
	closedir(dir);
	int rc = 0;
	uint32_t *subs = ARR(sub, uint32_t);
	for (size_t i = 0; i < CNT(sub, uint32_t) && rc == 0; i++) {
		if (depth > 64)
			break;
		int fd = openat(B->rootfd, pool_str(B, subs[i]), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* Copy the path: the pool may move while the sub-tree is walked. */
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s", pool_str(B, subs[i]));
		rc = walk_dir(W, fd, path, depth + 1);
	}
	if (sub.oom)
		rc = -1;
	lle_buf_free(&sub);
	return rc;
}

static int cmp_off(const void *a, const void *b, void *pool)
{
	return strcmp((const char *)pool + *(const uint32_t *)a, (const char *)pool + *(const uint32_t *)b);
}

/* ---------- reading the keys of one file ---------- */

struct reader {
	struct builder *B;
	struct field_val *own; /* the file's own keys */
	yaml_parser_t P;
	const char *path; /* full path, for messages */
	struct ext *x;    /* valid until the next file is added: re-fetch after file_index */
	uint32_t fi;
};

static struct ext *ext_of(struct builder *B, uint32_t fi) { return &ARR(B->exts, struct ext)[fi]; }

static int rd_error(struct reader *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int rd_error(struct reader *R, const char *fmt, ...)
{
	struct builder *B = R->B;
	uint32_t off = (uint32_t)B->pool.n;
	va_list ap;
	va_start(ap, fmt);
	lle_buf_vprintf(&B->pool, fmt, ap);
	va_end(ap);
	lle_buf_addc(&B->pool, '\0');
	ext_of(B, R->fi)->error = off;
	return -1;
}

static int rd_parse_error(struct reader *R)
{
	yaml_parser_t *P = &R->P;
	const yaml_mark_t *m = P->problem ? &P->problem_mark : &P->context_mark;
	if (P->error == YAML_MEMORY_ERROR)
		return -2;
	return rd_error(R, "%s:%zu:%zu: %s%s%s", R->path, m->line + 1, m->column + 1,
			P->problem ? P->problem : "syntax error", P->context ? " " : "",
			P->context ? P->context : "");
}

static int rd_next(struct reader *R, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&R->P, ev))
		return rd_parse_error(R);
	return 0;
}

/* Skip the rest of a node whose start event was ev (already consumed). */
static int rd_skip(struct reader *R, const yaml_event_t *start)
{
	if (start->type != YAML_SEQUENCE_START_EVENT && start->type != YAML_MAPPING_START_EVENT)
		return 0;
	int depth = 1;
	while (depth > 0) {
		yaml_event_t ev;
		if (rd_next(R, &ev) < 0)
			return -1;
		if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT)
			depth++;
		else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT)
			depth--;
		yaml_event_delete(&ev);
	}
	return 0;
}

/* The first line of s, trimmed, into the pool. */
static uint32_t pstr_line(struct builder *B, const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
		s++, n--;
	const char *nl = memchr(s, '\n', n);
	if (nl)
		n = (size_t)(nl - s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	uint32_t off = pstrn(B, s, n);
	/* Tabs would break TSV output; the index keeps one clean line. */
	for (char *p = B->pool.p + off; off && *p; p++)
		if (*p == '\t')
			*p = ' ';
	return off;
}

/* Read a field's value; ev is its first event (consumed by the caller). */
static int rd_value(struct reader *R, int f, const yaml_event_t *key, yaml_event_t *ev)
{
	struct builder *B = R->B;
	struct field_val v = { 0 };
	v.set = 1;
	v.line = (uint32_t)key->start_mark.line + 1;
	v.col = (uint32_t)key->start_mark.column + 1;
	if (ev->type == YAML_SCALAR_EVENT) {
		v.is_scalar = 1;
		const char *s = (const char *)ev->data.scalar.value;
		size_t n = ev->data.scalar.length;
		v.str = f == F_DESCRIPTION ? pstr_line(B, s, n) : pstrn(B, s, n);
		if (f == F_TAG || f == F_INCLUDE || f == F_CATEGORIES) {
			v.list0 = CNT(B->lists, uint32_t);
			v.nlist = 1;
			add_u32(&B->lists, v.str);
		}
	} else if (ev->type == YAML_SEQUENCE_START_EVENT) {
		v.is_list = 1;
		v.list0 = CNT(B->lists, uint32_t);
		struct lle_buf joined = LLE_BUF_INIT;
		for (;;) {
			yaml_event_t it;
			if (rd_next(R, &it) < 0) {
				lle_buf_free(&joined);
				return -1;
			}
			if (it.type == YAML_SEQUENCE_END_EVENT) {
				yaml_event_delete(&it);
				break;
			}
			if (it.type == YAML_SCALAR_EVENT) {
				uint32_t s = pstrn(B, (const char *)it.data.scalar.value, it.data.scalar.length);
				add_u32(&B->lists, s);
				v.nlist++;
				if (f == F_CATEGORIES) {
					if (joined.n)
						lle_buf_addc(&joined, ',');
					lle_buf_add(&joined, it.data.scalar.value, it.data.scalar.length);
				}
			} else if (rd_skip(R, &it) < 0) {
				yaml_event_delete(&it);
				lle_buf_free(&joined);
				return -1;
			}
			yaml_event_delete(&it);
		}
		if (f == F_CATEGORIES)
			v.str = pstrn(B, lle_buf_str(&joined), joined.n);
		if (joined.oom) {
			lle_buf_free(&joined);
			return -2;
		}
		lle_buf_free(&joined);
	} else if (f == F_METADATA && ev->type == YAML_MAPPING_START_EVENT) {
		/* A task's one-line summary is metadata.description (its own
		 * `description` is lm-evaluation-harness's prompt prefix). */
		for (;;) {
			yaml_event_t k, val;
			if (rd_next(R, &k) < 0)
				return -1;
			if (k.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&k);
				break;
			}
			if (rd_next(R, &val) < 0) {
				yaml_event_delete(&k);
				return -1;
			}
			if (k.type == YAML_SCALAR_EVENT && val.type == YAML_SCALAR_EVENT &&
			    strcmp((const char *)k.data.scalar.value, "description") == 0) {
				v.str = pstr_line(B, (const char *)val.data.scalar.value, val.data.scalar.length);
			} else if (rd_skip(R, &k) < 0 || rd_skip(R, &val) < 0) {
				yaml_event_delete(&k);
				yaml_event_delete(&val);
				return -1;
			}
			yaml_event_delete(&k);
			yaml_event_delete(&val);
		}
	} else if (rd_skip(R, ev) < 0) {
		return -1;
	}
	R->own[f] = v;
	return 0;
}

/* Read the top-level keys of file fi. Returns 0, -1 when the file is broken
 * (its ext error set), -2 when out of memory. */
static int read_keys(struct builder *B, uint32_t fi, struct field_val *own)
{
	char path[PATH_MAX];
	struct lle_idx_file *F = &ARR(B->files, struct lle_idx_file)[fi];
	full_path(B->root, pool_str(B, F->path), path, sizeof(path));
	struct reader R = { .B = B, .own = own, .path = path, .fi = fi };

	int fd = openat(B->rootfd, pool_str(B, F->path), O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		struct stat st;
		if (e == ENOENT) {
			F->flags |= LLE_IDX_ABSENT;
		} else {
			/* Unreadable: re-read at every load until it is readable (a
			 * chmod does not change the mtime). */
			F->flags |= LLE_IDX_RACY;
			if (fstatat(B->rootfd, pool_str(B, F->path), &st, 0) == 0) {
				F->mtime_ns = ts_ns(&st.st_mtim);
				F->size = st.st_size;
				F->ino = st.st_ino;
			}
		}
		return rd_error(&R, LLE_MSG_CANNOT_OPEN, path, strerror(e));
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		close(fd);
		F->flags |= LLE_IDX_RACY;
		return rd_error(&R, LLE_MSG_CANNOT_OPEN, path, S_ISDIR(st.st_mode) ? "is a directory" : strerror(errno));
	}
	F->mtime_ns = ts_ns(&st.st_mtim);
	F->size = st.st_size;
	F->ino = st.st_ino;
	if (F->mtime_ns > B->t0 - RACY_NS)
		F->flags |= LLE_IDX_RACY;
	if (st.st_size > (off_t)LLE_REG_MAX_FILE) {
		close(fd);
		return rd_error(&R, LLE_MSG_TOO_BIG, path, (long long)st.st_size, LLE_REG_MAX_FILE);
	}
	size_t want = (size_t)st.st_size + 1;
	if (want > B->rcap) {
		size_t cap = want < 65536 ? 65536 : want;
		char *nb = realloc(B->rbuf, cap);
		if (!nb) {
			close(fd);
			return -2;
		}
		B->rbuf = nb;
		B->rcap = cap;
	}
	size_t got = 0;
	for (;;) {
		ssize_t r = read(fd, B->rbuf + got, B->rcap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			F->flags |= LLE_IDX_RACY; /* re-read until it reads */
			return rd_error(&R, LLE_MSG_CANNOT_READ, path, strerror(e));
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got == B->rcap) /* grew while we read: take what fits, the size check catches the rest */
			break;
	}
	close(fd);

	if (!yaml_parser_initialize(&R.P))
		return -2;
	yaml_parser_set_input_string(&R.P, (const unsigned char *)B->rbuf, got);
	unsigned want_fields = type_fields[B->type], seen = 0;
	uint64_t keyhash[64];
	unsigned nkeys = 0;
	int rc = 0, level = 0, done = 0, ndocs = 0, stop_early = B->type != LLE_REG_TASKS;
	yaml_event_t ev, key;
	while (!done && rc == 0) {
		if ((rc = rd_next(&R, &ev)) < 0)
			break;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			if (ndocs == 0)
				rc = rd_error(&R, LLE_MSG_EMPTY, path);
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++ndocs > 1)
				rc = rd_error(&R, LLE_MSG_MULTI_DOC, path, (unsigned)ev.start_mark.line + 1,
					      (unsigned)ev.start_mark.column + 1);
			break;
		case YAML_MAPPING_START_EVENT:
			if (level != 0) {
				rc = rd_error(&R, LLE_MSG_NOT_MAP, path, (unsigned)ev.start_mark.line + 1,
					      (unsigned)ev.start_mark.column + 1);
				break;
			}
			level = 1;
			for (;;) {
				if ((rc = rd_next(&R, &key)) < 0)
					break;
				if (key.type == YAML_MAPPING_END_EVENT) {
					yaml_event_delete(&key);
					break;
				}
				if (key.type != YAML_SCALAR_EVENT) {
					rc = rd_error(&R, LLE_MSG_KEY_NOT_STR, path, (unsigned)key.start_mark.line + 1,
						      (unsigned)key.start_mark.column + 1);
					yaml_event_delete(&key);
					break;
				}
				const char *k = (const char *)key.data.scalar.value;
				uint64_t kh = lle_idx_hash(k, key.data.scalar.length);
				for (unsigned i = 0; i < nkeys && rc == 0; i++)
					if (keyhash[i] == kh)
						rc = rd_error(&R, LLE_MSG_DUP_KEY, path, (unsigned)key.start_mark.line + 1,
							      (unsigned)key.start_mark.column + 1, k);
				if (nkeys < 64)
					keyhash[nkeys++] = kh;
				int f = -1;
				for (int i = 0; rc == 0 && i < NFIELDS; i++)
					if ((want_fields & (1u << i)) && strcmp(k, field_keys[i]) == 0)
						f = i;
				yaml_event_t val;
				if (rc == 0 && (rc = rd_next(&R, &val)) == 0) {
					if (f >= 0) {
						rc = rd_value(&R, f, &key, &val);
						seen |= 1u << f;
					} else {
						rc = rd_skip(&R, &val);
					}
					yaml_event_delete(&val);
				}
				yaml_event_delete(&key);
				if (rc)
					break;
				/* Models and categories: stop once every key the index
				 * keeps is seen; validate reads the rest. */
				if (stop_early && (seen | 1u << F_INCLUDE) == want_fields) {
					done = 1;
					break;
				}
			}
			break;
		case YAML_SCALAR_EVENT:
			if (level == 0) {
				const char *s = (const char *)ev.data.scalar.value;
				if (ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
				    (!*s || !strcmp(s, "~") || !strcmp(s, "null")))
					rc = rd_error(&R, LLE_MSG_EMPTY, path);
				else
					rc = rd_error(&R, LLE_MSG_NOT_MAP, path, (unsigned)ev.start_mark.line + 1,
						      (unsigned)ev.start_mark.column + 1);
			}
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_ALIAS_EVENT:
			rc = rd_error(&R, LLE_MSG_NOT_MAP, path, (unsigned)ev.start_mark.line + 1,
				      (unsigned)ev.start_mark.column + 1);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&R.P);
	return rc;
}

/* ---------- includes: the keys of a file with its includes merged ---------- */

/* Lexically normalise a path ("a/./b/../c" -> "a/c") in place. */
void lle_reg_normalise(char *p)
{
	char *src = p, *dst = p;
	int abs = *p == '/';
	if (abs)
		src++, dst++;
	char *base = dst;
	while (*src) {
		char *end = strchr(src, '/');
		size_t n = end ? (size_t)(end - src) : strlen(src);
		if (n == 0 || (n == 1 && src[0] == '.')) {
			/* skip */
		} else if (n == 2 && src[0] == '.' && src[1] == '.' && abs && dst == base) {
			/* "/.." is "/" */
		} else if (n == 2 && src[0] == '.' && src[1] == '.' && dst > base &&
			   !(dst - base >= 2 && dst[-1] == '.' && dst[-2] == '.' &&
			     (dst - base == 2 || dst[-3] == '/'))) {
			/* drop the last component */
			dst--;
			while (dst > base && dst[-1] != '/')
				dst--;
		} else {
			if (dst != base && dst[-1] != '/')
				*dst++ = '/';
			memmove(dst, src, n);
			dst += n;
		}
		src += n;
		if (*src == '/')
			src++;
	}
	if (dst > base && dst[-1] == '/')
		dst--;
	*dst = '\0';
	if (!*p)
		strcpy(p, ".");
}

/* The index path of `inc` included from the file at index path `from`:
 * relative to the root when inside it, else absolute. */
static void include_path(const struct builder *B, const char *from, const char *inc, char *out, size_t n)
{
	struct lle_buf b = LLE_BUF_INIT;
	const char *slash = strrchr(from, '/');
	if (inc[0] == '/')
		lle_buf_adds(&b, inc);
	else if (from[0] == '/')
		lle_buf_printf(&b, "%.*s/%s", (int)(slash - from), from, inc);
	else if (slash)
		lle_buf_printf(&b, "%s/%.*s/%s", B->root, (int)(slash - from), from, inc);
	else
		lle_buf_printf(&b, "%s/%s", B->root, inc);
	char *p = b.p ? b.p : (char *)"";
	if (b.p)
		lle_reg_normalise(p);
	if (strncmp(p, B->root, B->rootlen) == 0 && p[B->rootlen] == '/')
		p += B->rootlen + 1;
	size_t len = strlen(p);
	if (len >= n)
		len = n - 1;
	memcpy(out, p, len);
	out[len] = '\0';
	lle_buf_free(&b);
}

static int is_str(const struct field_val *v) { return v->set && v->is_scalar && v->str; }

/* Resolve file fi: read it if needed, then merge its includes. -1: broken
 * (error in its ext), -2: out of memory. */
static int resolve(struct builder *B, uint32_t fi, int depth)
{
	struct ext *x = ext_of(B, fi);
	if (x->state == 2)
		return x->error ? -1 : 0;
	if (x->state == 1) {
		/* A cycle: the caller reports it with the chain. */
		return -3;
	}
	char path[PATH_MAX];
	full_path(B->root, pool_str(B, ARR(B->files, struct lle_idx_file)[fi].path), path, sizeof(path));
	x->state = 1;
	struct field_val own[NFIELDS];
	memset(own, 0, sizeof(own));
	int rc = read_keys(B, fi, own);
	x = ext_of(B, fi);
	/* The name the file gives itself, kept for messages about broken files. */
	static const int namekey[LLE_REG_NTYPES] = { F_NAME, F_TASK, F_CATEGORY };
	const struct field_val *nv = &own[namekey[B->type]];
	if (!is_str(nv) && B->type == LLE_REG_TASKS)
		nv = &own[F_GROUP];
	if (is_str(nv)) {
		x->oname = nv->str;
		x->oline = nv->line;
		x->ocol = nv->col;
	}
	if (rc == -2)
		return -2;
	if (rc < 0) {
		x->state = 2;
		return -1;
	}
	struct lle_buf mydeps = LLE_BUF_INIT;
	struct field_val merged[NFIELDS];
	memset(merged, 0, sizeof(merged));
	struct field_val inc = own[F_INCLUDE];
	if (inc.set && !inc.is_scalar && !inc.is_list) {
		x->error = pprintf(B, LLE_MSG_INCLUDE_TYPE, path, inc.line, inc.col);
		rc = -1;
	}
	for (uint32_t i = 0; rc == 0 && inc.set && i < inc.nlist; i++) {
		char ipath[PATH_MAX];
		const char *from = pool_str(B, ARR(B->files, struct lle_idx_file)[fi].path);
		char fromcopy[PATH_MAX];
		snprintf(fromcopy, sizeof(fromcopy), "%s", from);
		uint32_t item = ARR(B->lists, uint32_t)[inc.list0 + i];
		char itemcopy[PATH_MAX];
		snprintf(itemcopy, sizeof(itemcopy), "%s", pool_str(B, item));
		include_path(B, fromcopy, itemcopy, ipath, sizeof(ipath));
		int oom = 0;
		uint32_t ifi = file_index(B, ipath, &oom);
		if (oom) {
			rc = -2;
			break;
		}
		add_u32(&mydeps, ifi);
		int r2;
		if (depth >= LLE_REG_MAX_INCLUDE_DEPTH) {
			ext_of(B, fi)->error = pprintf(B, LLE_MSG_INCLUDE_DEPTH, path, inc.line, inc.col, LLE_REG_MAX_INCLUDE_DEPTH);
			rc = -1;
			break;
		}
		r2 = resolve(B, ifi, depth + 1);
		if (r2 == -2) {
			rc = -2;
			break;
		}
		struct ext *ix = ext_of(B, ifi);
		if (r2 == -3) {
			ext_of(B, fi)->error = pprintf(B, LLE_MSG_INCLUDE_CYCLE, path, inc.line, inc.col, itemcopy);
			rc = -1;
			break;
		}
		if (r2 == -1) {
			if (ARR(B->files, struct lle_idx_file)[ifi].flags & LLE_IDX_ABSENT)
				ext_of(B, fi)->error = pprintf(B, LLE_MSG_INCLUDE_MISSING, path, inc.line, inc.col,
							       itemcopy, strerror(ENOENT));
			else
				ext_of(B, fi)->error = pprintf(B, LLE_MSG_IN_INCLUDE, path, inc.line,
							       inc.col, itemcopy, pool_str(B, ix->error));
			/* Keep the broken include's own dependencies too, so fixing them is seen. */
			for (uint32_t j = 0; j < ix->ndeps; j++)
				add_u32(&mydeps, ARR(B->extdeps, uint32_t)[ix->dep0 + j]);
			rc = -1;
			break;
		}
		for (uint32_t j = 0; j < ix->ndeps; j++)
			add_u32(&mydeps, ARR(B->extdeps, uint32_t)[ix->dep0 + j]);
		for (int f = 0; f < NFIELDS; f++)
			if (ix->m[f].set && f != F_INCLUDE) {
				merged[f] = ix->m[f];
				merged[f].from = 1;
			}
	}
	x = ext_of(B, fi);
	if (rc == 0) {
		for (int f = 0; f < NFIELDS; f++)
			if (own[f].set && f != F_INCLUDE)
				merged[f] = own[f];
		memcpy(x->m, merged, sizeof(merged));
	}
	/* Dependencies are kept even for a broken file: fixing an include must
	 * invalidate it. */
	x->dep0 = CNT(B->extdeps, uint32_t);
	x->ndeps = CNT(mydeps, uint32_t);
	lle_buf_add(&B->extdeps, mydeps.p, mydeps.n);
	if (mydeps.oom)
		rc = -2;
	lle_buf_free(&mydeps);
	x->state = 2;
	return rc;
}

/* ---------- records and entries ---------- */

/* Turn the merged keys of scanned file fi into a record. */
static int make_record(struct builder *B, uint32_t fi)
{
	B->parsed++;
	int rc = resolve(B, fi, 0);
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
	full_path(B->root, pool_str(B, ARR(B->files, struct lle_idx_file)[fi].path), path, sizeof(path));
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
			r.error = pprintf(B, LLE_MSG_NO_NAME, path, 1u, 1u, "name");
		}
		break;
	case LLE_REG_CATEGORIES:
		if (is_str(&m[F_CATEGORY])) {
			r.kind = LLE_KIND_CATEGORY;
			namef = &m[F_CATEGORY];
		} else {
			r.error = pprintf(B, LLE_MSG_NO_NAME, path, 1u, 1u, "category");
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
			r.error = pprintf(B, LLE_MSG_NOT_REGISTRABLE, path, 1u, 1u);
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
	r.file = file_index(B, op + of->path, &oom);
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
		uint32_t nd = file_index(B, op + old->files[od].path, &oom);
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
		full_path(B->root, pool_str(B, ARR(B->files, struct lle_idx_file)[r->file].path), path, sizeof(path));
		uint32_t hit = smap_get(&names, pool_str(B, r->name), UINT32_MAX, &oom);
		if (hit != UINT32_MAX) {
			const struct lle_idx_entry *e = &ARR(B->entries, struct lle_idx_entry)[hit];
			const struct lle_idx_rec *or = &ARR(B->recs, struct lle_idx_rec)[e->rec];
			full_path(B->root, pool_str(B, ARR(B->files, struct lle_idx_file)[or->file].path), opath,
				  sizeof(opath));
			char name[256];
			snprintf(name, sizeof(name), "%s", pool_str(B, r->name));
			add_diag(B, pprintf(B, LLE_MSG_DUPLICATE, path, r->line, r->col, lle_reg_kind_name((int)r->kind),
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
		smap_get(&names, pool_str(B, e.name), n, &oom);
		for (uint32_t t = 0; t < r->ntags && !oom; t++) {
			r = &ARR(B->recs, struct lle_idx_rec)[ri];
			uint32_t tag = ARR(B->tags, uint32_t)[r->tag0 + t];
			uint32_t th = smap_get(&names, pool_str(B, tag), UINT32_MAX, &oom);
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
				smap_get(&names, pool_str(B, tag), n, &oom);
			} else if (ARR(B->entries, struct lle_idx_entry)[th].kind == LLE_KIND_TAG) {
				ARR(B->entries, struct lle_idx_entry)[th].nmembers++;
			} else {
				char tname[256];
				snprintf(tname, sizeof(tname), "%s", pool_str(B, tag));
				add_diag(B, pprintf(B, LLE_MSG_TAG_CLASH, path, r->tline, r->tcol, tname,
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
			uint32_t d = pprintf(B, LLE_MSG_TAG_DESCRIPTION, nm, nm == 1 ? "" : "s");
			ARR(B->entries, struct lle_idx_entry)[i].description = d;
		}
	}
	if (builder_oom(B))
		return -1;
	if (ne)
		qsort_r(B->entries.p, ne, sizeof(struct lle_idx_entry), cmp_entry, B->pool.p);
	return 0;
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
	uint32_t hit = smap_get(&C->map, s, UINT32_MAX, &C->oom);
	if (hit == UINT32_MAX) {
		hit = (uint32_t)C->pool.n;
		lle_buf_add(&C->pool, s, strlen(s) + 1);
		smap_get(&C->map, s, hit, &C->oom);
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
static unsigned char *serialise(struct builder *B, uint32_t root_off, size_t *total)
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
		if (fd < 0 || walk_dir(&W, fd, "", 0) < 0)
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
		qsort_r(W.found.p, CNT(W.found, uint32_t), sizeof(uint32_t), cmp_off, B.pool.p);

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
		uint32_t fi = file_index(&B, p, &oom);
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
	unsigned char *blob = serialise(&B, root_off, &total);
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
