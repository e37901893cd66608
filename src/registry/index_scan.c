/* Reading a source's files for its index (see index.c for the whole): the
 * directory walk (every *.yaml below the root, hidden names and __pycache__
 * skipped, symlinked directories not followed), reading from one file only
 * the top-level keys the index keeps with libyaml's event API (for models and
 * categories it stops as soon as it has them all), and the ops with which
 * include.c follows include: for those keys (the same walk full configs
 * use), each included file read once per build.
 *
 * Not here: the include semantics (include.c), turning the keys into records
 * and entries, the build and the cache check (index.c), the blob
 * (index_blob.c), full configs (config.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "registry/index_build.h"
#include "registry/index_fmt.h"
#include "registry/include.h"
#include "registry/index_int.h"
#include "registry/msg.h"
#include "registry/registry.h"
#include "util/buf.h"

/* ---------- walking the tree ---------- */

static int has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n > m && memcmp(s + n - m, suf, m) == 0;
}

int lle_idx_walk_dir(struct walk *W, int dfd, const char *rel, int depth)
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
		uint32_t off = rel[0] ? lle_idx_pprintf(B, "%s/%s", rel, nm) : pstr(B, nm);
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
		rc = lle_idx_walk_dir(W, fd, path, depth + 1);
	}
	if (sub.oom)
		rc = -1;
	lle_buf_free(&sub);
	return rc;
}

int lle_idx_cmp_off(const void *a, const void *b, void *pool)
{
	return strcmp((const char *)pool + *(const uint32_t *)a, (const char *)pool + *(const uint32_t *)b);
}


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

/* ---------- reading the keys of one file ---------- */

/* A file's include: value as the reader found it (include.h's struct
 * lle_inc_val, with pool offsets: the pool moves as it grows). */
struct inc_scan {
	int bad;
	uint32_t line, col, bad_line, bad_col;
	struct lle_buf items; /* struct inc_item */
};

struct inc_item {
	uint32_t str, line, col;
};

struct reader {
	struct builder *B;
	struct field_val *own; /* the file's own keys */
	struct inc_scan *inc;  /* its include: value */
	yaml_parser_t P;
	const char *path; /* full path, for messages */
	struct ext *x;    /* valid until the next file is added: re-fetch after file_index */
	uint32_t fi;
};


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
	uint32_t off = lle_idx_pstrn(B, s, n);
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
	struct inc_scan *inc = f == F_INCLUDE ? R->inc : NULL;
	if (inc) {
		inc->line = (uint32_t)ev->start_mark.line + 1;
		inc->col = (uint32_t)ev->start_mark.column + 1;
		inc->items.n = 0;
		inc->bad = 0;
	}
	if (ev->type == YAML_SCALAR_EVENT) {
		v.is_scalar = 1;
		const char *s = (const char *)ev->data.scalar.value;
		size_t n = ev->data.scalar.length;
		v.str = f == F_DESCRIPTION ? pstr_line(B, s, n) : lle_idx_pstrn(B, s, n);
		if (f == F_TAG || f == F_INCLUDE || f == F_CATEGORIES) {
			v.list0 = CNT(B->lists, uint32_t);
			v.nlist = 1;
			add_u32(&B->lists, v.str);
		}
		if (inc && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))) {
			inc->bad = 1; /* `include:` with no value */
			inc->bad_line = inc->line;
			inc->bad_col = inc->col;
		} else if (inc) {
			struct inc_item it = { v.str, inc->line, inc->col };
			lle_buf_add(&inc->items, &it, sizeof(it));
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
				uint32_t s = lle_idx_pstrn(B, (const char *)it.data.scalar.value, it.data.scalar.length);
				add_u32(&B->lists, s);
				v.nlist++;
				if (inc) {
					struct inc_item ii = { s, (uint32_t)it.start_mark.line + 1,
							       (uint32_t)it.start_mark.column + 1 };
					lle_buf_add(&inc->items, &ii, sizeof(ii));
				}
				if (f == F_CATEGORIES) {
					if (joined.n)
						lle_buf_addc(&joined, ',');
					lle_buf_add(&joined, it.data.scalar.value, it.data.scalar.length);
				}
			} else {
				if (inc && !inc->bad) {
					inc->bad = 1; /* a list item that is not a path */
					inc->bad_line = (uint32_t)it.start_mark.line + 1;
					inc->bad_col = (uint32_t)it.start_mark.column + 1;
				}
				if (rd_skip(R, &it) < 0) {
					yaml_event_delete(&it);
					lle_buf_free(&joined);
					return -1;
				}
			}
			yaml_event_delete(&it);
		}
		if (f == F_CATEGORIES)
			v.str = lle_idx_pstrn(B, lle_buf_str(&joined), joined.n);
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
	} else {
		if (inc) {
			inc->bad = 1; /* a map, or an alias */
			inc->bad_line = inc->line;
			inc->bad_col = inc->col;
		}
		if (rd_skip(R, ev) < 0)
			return -1;
	}
	if (inc && inc->items.oom)
		return -2;
	R->own[f] = v;
	return 0;
}

/* Read the top-level keys of file fi (its include: value into inc). Returns
 * 0, -1 when the file is broken (its ext error set), -3 when it cannot be
 * opened (its ext error and open_errno set), -2 when out of memory. */
static int read_keys(struct builder *B, uint32_t fi, struct field_val *own, struct inc_scan *inc)
{
	char path[PATH_MAX];
	struct lle_idx_file *F = &ARR(B->files, struct lle_idx_file)[fi];
	lle_idx_full_path(B->root, pool_str(B, F->path), path, sizeof(path));
	struct reader R = { .B = B, .own = own, .inc = inc, .path = path, .fi = fi };

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
		rd_error(&R, LLE_MSG_CANNOT_OPEN, path, strerror(e));
		ext_of(B, fi)->open_errno = e;
		return -3;
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

/* include.c walks the chain; these ops read a file's keys (read_keys), merge
 * them as fields, collect the files each one depends on, and keep every
 * resolved file in its ext, so a file included by many is read once a
 * build. A resolved file is handed on as its file index + 1. */

/* A file being resolved. */
struct unit {
	uint32_t fi;
	struct field_val own[NFIELDS];
	struct field_val merged[NFIELDS]; /* what its includes gave so far */
	struct lle_buf deps;              /* uint32 file indices */
	struct unit *next;                /* the next spare one */
};

/* The ops' context, kept by the builder for the whole build. */
struct lle_idx_scan {
	struct builder *B;
	struct inc_scan inc;
	struct lle_buf items; /* struct lle_inc_item, pointing into the pool */
	struct unit *spare;   /* units to reuse: a build resolves thousands */
	const char *top_path;  /* the path lle_idx_resolve hands include.c, */
	uint32_t top_fi;       /* and its file */
};

#define HANDLE(fi) ((void *)(uintptr_t)((fi) + 1))
#define HANDLE_FI(h) ((uint32_t)((uintptr_t)(h) - 1))

/* The index path of a full path: relative to the root when inside it. */
static const char *index_path(const struct builder *B, const char *path)
{
	if (strncmp(path, B->root, B->rootlen) == 0 && path[B->rootlen] == '/')
		return path + B->rootlen + 1;
	return path;
}

/* The file index of a full path (the one lle_idx_resolve was given is
 * known: no lookup for it). */
static uint32_t file_of(struct lle_idx_scan *C, const char *path, int *oom)
{
	if (path == C->top_path)
		return C->top_fi;
	return lle_idx_file_index(C->B, index_path(C->B, path), oom);
}

/* The message a resolved, broken file gave, as read gives it. */
static int broken(struct builder *B, const struct ext *x, struct lle_err *err)
{
	if (x->open_errno) {
		lle_err_set(err, LLE_EXIT_CONFIG, "%s", strerror(x->open_errno));
		return LLE_INC_NOFILE;
	}
	lle_err_set(err, LLE_EXIT_CONFIG, "%s", pool_str(B, x->error));
	return LLE_INC_BROKEN;
}

static int scan_lookup(void *ctx, const char *path, void **unit, struct lle_err *err)
{
	struct lle_idx_scan *C = ctx;
	struct builder *B = C->B;
	int oom = 0;
	uint32_t fi = file_of(C, path, &oom);
	if (oom)
		return LLE_INC_NOMEM;
	const struct ext *x = ext_of(B, fi);
	if (x->state == 0)
		return 1;
	*unit = HANDLE(fi);
	if (x->state == 1) /* on the chain: include.c reports the cycle before */
		return lle_err_set(err, LLE_EXIT_CONFIG, LLE_MSG_INCLUDE_CYCLE, path, 1u, 1u, path);
	return x->error ? broken(B, x, err) : LLE_INC_OK;
}

static int scan_read(void *ctx, const char *path, void **unitp, struct lle_inc_val *iv, struct lle_err *err)
{
	struct lle_idx_scan *C = ctx;
	struct builder *B = C->B;
	int oom = 0;
	uint32_t fi = file_of(C, path, &oom);
	struct unit *u = oom ? NULL : C->spare ? C->spare : calloc(1, sizeof(*u));
	if (!u)
		return LLE_INC_NOMEM;
	if (u == C->spare) {
		C->spare = u->next;
		struct lle_buf deps = u->deps;
		memset(u, 0, sizeof(*u));
		u->deps = deps;
		u->deps.n = 0;
	}
	u->fi = fi;
	*unitp = u;
	ext_of(B, fi)->state = 1;
	C->inc.items.n = 0;
	int rc = read_keys(B, fi, u->own, &C->inc);
	struct ext *x = ext_of(B, fi);
	/* The name the file gives itself, kept for messages about broken files. */
	static const int namekey[LLE_REG_NTYPES] = { F_NAME, F_TASK, F_CATEGORY };
	const struct field_val *nv = &u->own[namekey[B->type]];
	if (!is_str(nv) && B->type == LLE_REG_TASKS)
		nv = &u->own[F_GROUP];
	if (is_str(nv)) {
		x->oname = nv->str;
		x->oline = nv->line;
		x->ocol = nv->col;
	}
	if (rc == -2)
		return LLE_INC_NOMEM;
	if (rc < 0)
		return broken(B, x, err);
	const struct field_val *inc = &u->own[F_INCLUDE];
	if (!inc->set)
		return LLE_INC_OK;
	iv->present = 1;
	iv->line = C->inc.line;
	iv->col = C->inc.col;
	iv->bad = C->inc.bad;
	iv->bad_line = C->inc.bad_line;
	iv->bad_col = C->inc.bad_col;
	const struct inc_item *it = ARR(C->inc.items, struct inc_item);
	size_t n = C->inc.items.n / sizeof(*it);
	C->items.n = 0;
	for (size_t i = 0; i < n; i++) {
		struct lle_inc_item li = { pool_str(B, it[i].str), it[i].line, it[i].col };
		lle_buf_add(&C->items, &li, sizeof(li));
	}
	if (C->items.oom)
		return LLE_INC_NOMEM;
	iv->items = ARR(C->items, struct lle_inc_item);
	iv->n = n;
	return LLE_INC_OK;
}

static int scan_include(void *ctx, void *unit, const char *path, void *sub, int ok)
{
	struct lle_idx_scan *C = ctx;
	struct builder *B = C->B;
	struct unit *u = unit;
	int oom = 0;
	uint32_t sfi = sub ? HANDLE_FI(sub) : file_of(C, path, &oom);
	if (oom)
		return -1;
	add_u32(&u->deps, sfi);
	const struct ext *ix = ext_of(B, sfi);
	if (ix->state == 2) /* a broken include's own dependencies too, so fixing them is seen */
		lle_buf_add(&u->deps, ARR(B->extdeps, uint32_t) + ix->dep0, ix->ndeps * sizeof(uint32_t));
	for (int f = 0; ok && f < NFIELDS; f++)
		if (ix->m[f].set && f != F_INCLUDE) {
			u->merged[f] = ix->m[f];
			u->merged[f].from = 1;
		}
	return u->deps.oom ? -1 : 0;
}

static void *scan_finish(void *ctx, void *unit, const struct lle_err *err)
{
	struct lle_idx_scan *C = ctx;
	struct builder *B = C->B;
	struct unit *u = unit;
	if (!u)
		return NULL;
	struct ext *x = ext_of(B, u->fi);
	if (!err) {
		for (int f = 0; f < NFIELDS; f++)
			if (u->own[f].set && f != F_INCLUDE)
				u->merged[f] = u->own[f];
		memcpy(x->m, u->merged, sizeof(u->merged));
	} else if (!x->error) {
		uint32_t e = lle_idx_pprintf(B, "%s", err->msg);
		ext_of(B, u->fi)->error = e;
	}
	x = ext_of(B, u->fi);
	/* Dependencies are kept even for a broken file: fixing an include must
	 * invalidate it. */
	x->dep0 = CNT(B->extdeps, uint32_t);
	x->ndeps = CNT(u->deps, uint32_t);
	lle_buf_add(&B->extdeps, u->deps.p, u->deps.n);
	x->state = 2;
	void *h = HANDLE(u->fi);
	u->next = C->spare; /* its deps buffer stays for the next use */
	C->spare = u;
	return h;
}

void lle_idx_scan_free(struct lle_idx_scan *C)
{
	if (!C)
		return;
	while (C->spare) {
		struct unit *u = C->spare;
		C->spare = u->next;
		lle_buf_free(&u->deps);
		free(u);
	}
	lle_buf_free(&C->inc.items);
	lle_buf_free(&C->items);
	free(C);
}

int lle_idx_resolve(struct builder *B, uint32_t fi)
{
	struct ext *x = ext_of(B, fi);
	if (x->state == 2)
		return x->error ? -1 : 0;
	if (!B->scan && !(B->scan = calloc(1, sizeof(*B->scan))))
		return -2;
	struct lle_idx_scan *C = B->scan;
	C->B = B;
	char path[PATH_MAX];
	lle_idx_full_path(B->root, pool_str(B, ARR(B->files, struct lle_idx_file)[fi].path), path, sizeof(path));
	C->top_path = path;
	C->top_fi = fi;
	const struct lle_inc_ops ops = { .ctx = C, .wrap_broken = 1, .lookup = scan_lookup, .read = scan_read,
					 .include = scan_include, .finish = scan_finish };
	struct lle_err err = { 0, "" };
	int rc;
	lle_inc_resolve(&ops, path, NULL, &rc, &err);
	C->top_path = NULL;
	if (rc == LLE_INC_NOMEM || B->pool.oom || B->extdeps.oom)
		return -2;
	return rc == LLE_INC_OK ? 0 : -1;
}
