/* Streaming dataset readers and data-file resolution: see dataset.h.
 *
 * Every file is read through zlib's gzread, which passes plain files through
 * unchanged, so one buffered byte reader serves all formats, compressed or
 * not. Only the current record (one line, one array element, one CSV row) is
 * held in memory, and a record may not grow past a limit (64 MiB; see
 * dataset.h), so a damaged or hostile file (one 512 MB line inside a small
 * .gz) is refused with its file and line instead of filling memory. This file does not interpret documents; file resolution
 * is datapath.c. */
#include "data/dataset.h"

#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data/parquet.h"
#include "util/buf.h"
#include "util/utf8.h"

enum fmt { FMT_JSONL, FMT_JSON, FMT_CSV, FMT_PARQUET };

struct lle_ds {
	char **files;
	size_t nfiles, fi;     /* fi: index of the next file to open */
	gzFile gz;             /* the open file, or NULL */
	struct lle_pq *pq;     /* the open Parquet file, or NULL (parquet.h) */
	const char *path;      /* files[fi - 1] while open */
	enum fmt fmt;
	int started;           /* JSON array: '[' seen; CSV: header read */
	int done;              /* JSON array: ']' seen */
	unsigned char *buf;
	size_t pos, len;
	int eof;
	long line, doc_line;
	size_t index;
	char **hdr;            /* CSV header names */
	size_t nhdr;
	struct lle_buf rec;    /* the record being read */
	size_t *offs;          /* CSV: field start offsets into rec */
	size_t noffs, capoffs;
	int failed;
};

#define BUFSZ (1u << 17)

static size_t max_record = LLE_DS_MAX_RECORD;

size_t lle_ds_set_max_record(size_t bytes)
{
	size_t old = max_record;
	max_record = bytes ? bytes : LLE_DS_MAX_RECORD;
	return old;
}

/* The record being gathered has passed the limit: an error naming the file
 * and the line where the record starts. */
static int too_big(const struct lle_ds *ds, struct lle_err *err)
{
	char lim[32];
	if (max_record % (1u << 20) == 0)
		snprintf(lim, sizeof(lim), "%zu MiB", max_record >> 20);
	else
		snprintf(lim, sizeof(lim), "%zu bytes", max_record);
	return lle_err_set(err, LLE_EXIT_DATA,
			   "%s:%ld: a record longer than %s, the limit for one line or document; "
			   "the file is damaged or not a dataset", ds->path, ds->doc_line, lim);
}

static int name_ends(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int has_glob_chars(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Files matching a path or pattern, sorted bytewise. */
static int expand(const char *pattern, char ***out, size_t *nout, struct lle_err *err)
{
	*out = NULL;
	*nout = 0;
	if (strchr(pattern, '\n')) {
		/* a list of files, read in the order given (a Hub split: hub.h) */
		size_t n = 1;
		for (const char *p = pattern; (p = strchr(p, '\n')); p++)
			n++;
		char **v = calloc(n, sizeof(*v));
		if (!v)
			return lle_err_oom(err);
		const char *p = pattern;
		for (size_t i = 0; i < n; i++) {
			size_t len = strcspn(p, "\n");
			if (!(v[i] = lle_strndup(p, len))) {
				for (size_t j = 0; j < i; j++)
					free(v[j]);
				free(v);
				return lle_err_oom(err);
			}
			p += len + (p[len] != 0);
		}
		*out = v;
		*nout = n;
		return 0;
	}
	if (!has_glob_chars(pattern)) {
		char **v = malloc(sizeof(*v));
		if (!v || !(v[0] = lle_strdup(pattern))) {
			free(v);
			return lle_err_oom(err);
		}
		*out = v;
		*nout = 1;
		return 0;
	}
	glob_t g;
	memset(&g, 0, sizeof(g));
	int rc = glob(pattern, GLOB_NOSORT, NULL, &g);
	if (rc == GLOB_NOMATCH) {
		globfree(&g);
		return lle_err_set(err, LLE_EXIT_DATA, "no file matches '%s'", pattern);
	}
	if (rc != 0) {
		globfree(&g);
		return rc == GLOB_NOSPACE ? lle_err_oom(err)
			: lle_err_set(err, LLE_EXIT_IO, "cannot read the files of '%s'", pattern);
	}
	char **v = calloc(g.gl_pathc, sizeof(*v));
	if (!v) {
		globfree(&g);
		return lle_err_oom(err);
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		if (!(v[i] = lle_strdup(g.gl_pathv[i]))) {
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			globfree(&g);
			return lle_err_oom(err);
		}
	}
	qsort(v, g.gl_pathc, sizeof(*v), cmp_str);
	*out = v;
	*nout = g.gl_pathc;
	globfree(&g);
	return 0;
}

struct lle_ds *lle_ds_open(const char *path_or_glob, struct lle_err *err)
{
	struct lle_ds *ds = calloc(1, sizeof(*ds));
	if (!ds) {
		lle_err_oom(err);
		return NULL;
	}
	ds->buf = malloc(BUFSZ);
	if (!ds->buf) {
		free(ds);
		lle_err_oom(err);
		return NULL;
	}
	if (expand(path_or_glob, &ds->files, &ds->nfiles, err) < 0) {
		free(ds->buf);
		free(ds);
		return NULL;
	}
	return ds;
}

static void close_file(struct lle_ds *ds)
{
	if (ds->gz)
		gzclose(ds->gz);
	ds->gz = NULL;
	lle_pq_close(ds->pq);
	ds->pq = NULL;
	for (size_t i = 0; i < ds->nhdr; i++)
		free(ds->hdr[i]);
	free(ds->hdr);
	ds->hdr = NULL;
	ds->nhdr = 0;
}

void lle_ds_close(struct lle_ds *ds)
{
	if (!ds)
		return;
	close_file(ds);
	for (size_t i = 0; i < ds->nfiles; i++)
		free(ds->files[i]);
	free(ds->files);
	free(ds->buf);
	free(ds->offs);
	lle_buf_free(&ds->rec);
	free(ds);
}

const char *lle_ds_file(const struct lle_ds *ds) { return ds->path ? ds->path : ""; }
long lle_ds_line(const struct lle_ds *ds) { return ds->doc_line; }
size_t lle_ds_index(const struct lle_ds *ds) { return ds->index; }

/* Refill the buffer; 0 ok (possibly at eof), -1 read error. */
static int fill(struct lle_ds *ds, struct lle_err *err)
{
	if (ds->eof)
		return 0;
	int n = gzread(ds->gz, ds->buf, BUFSZ);
	if (n < 0) {
		int code = 0;
		const char *m = gzerror(ds->gz, &code);
		return lle_err_set(err, code == Z_ERRNO ? LLE_EXIT_IO : LLE_EXIT_DATA,
				   "%s:%ld: cannot read: %s", ds->path, ds->line,
				   code == Z_ERRNO ? strerror(errno) : m);
	}
	ds->pos = 0;
	ds->len = (size_t)n;
	if (n == 0)
		ds->eof = 1;
	return 0;
}

/* Next byte (0..255), -1 at end of file, -2 on error. */
static inline int getb(struct lle_ds *ds, struct lle_err *err)
{
	if (ds->pos == ds->len) {
		if (fill(ds, err) < 0)
			return -2;
		if (ds->len == 0)
			return -1;
	}
	int c = ds->buf[ds->pos++];
	if (c == '\n')
		ds->line++;
	return c;
}

static inline int peekb(struct lle_ds *ds, struct lle_err *err)
{
	if (ds->pos == ds->len) {
		if (fill(ds, err) < 0)
			return -2;
		if (ds->len == 0)
			return -1;
	}
	return ds->buf[ds->pos];
}

static int is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int open_next_file(struct lle_ds *ds, struct lle_err *err)
{
	close_file(ds);
	const char *p = ds->files[ds->fi++];
	ds->path = p;
	ds->line = 1;
	ds->pos = ds->len = 0;
	ds->eof = 0;
	ds->started = ds->done = 0;
	if (name_ends(p, ".parquet")) {
		/* DuckDB reads it; the row number stands for the line in messages */
		ds->fmt = FMT_PARQUET;
		ds->line = 0;
		ds->pq = lle_pq_open(p, err);
		return ds->pq ? 0 : -1;
	}
	size_t n = strlen(p);
	size_t stem = name_ends(p, ".gz") ? n - 3 : n;
	char *s = lle_strndup(p, stem);
	if (!s)
		return lle_err_oom(err);
	int isjson = 0;
	if (name_ends(s, ".jsonl") || name_ends(s, ".ndjson"))
		ds->fmt = FMT_JSONL;
	else if (name_ends(s, ".json"))
		isjson = 1;
	else if (name_ends(s, ".csv"))
		ds->fmt = FMT_CSV;
	else {
		free(s);
		return lle_err_set(err, LLE_EXIT_DATA,
				   "'%s': unknown dataset format (expected .jsonl, .json or .csv, "
				   "optionally .gz, or .parquet)", p);
	}
	free(s);
	ds->gz = gzopen(p, "rb");
	if (!ds->gz) {
		int e = errno;
		return lle_err_set(err, e == ENOENT ? LLE_EXIT_DATA : LLE_EXIT_IO,
				   "cannot open '%s': %s", p, e ? strerror(e) : "out of memory");
	}
	gzbuffer(ds->gz, BUFSZ);
	if (isjson) {
		/* A .json file is an array, or JSON lines when it starts with '{'. */
		int c;
		while ((c = peekb(ds, err)) >= 0 && is_ws(c))
			getb(ds, err);
		if (c == -2)
			return -1;
		ds->fmt = c == '{' ? FMT_JSONL : FMT_JSON;
	}
	return 0;
}

static const char *kind_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static int parse_text(struct lle_ds *ds, const char *text, size_t n, json_t **doc,
		      struct lle_err *err)
{
	json_error_t je;
	json_t *j = json_loadb(text, n, JSON_DECODE_ANY, &je);
	if (!j) {
		/* jansson counts lines from 1 within the record */
		return lle_err_set(err, LLE_EXIT_DATA, "%s:%ld: invalid JSON: %s", ds->path,
				   ds->doc_line + (je.line > 1 ? je.line - 1 : 0), je.text);
	}
	if (!json_is_object(j)) {
		const char *k = kind_name(j);
		json_decref(j);
		return lle_err_set(err, LLE_EXIT_DATA, "%s:%ld: expected a JSON object, got %s",
				   ds->path, ds->doc_line, k);
	}
	*doc = j;
	return 1;
}

static int parse_object(struct lle_ds *ds, json_t **doc, struct lle_err *err)
{
	return parse_text(ds, ds->rec.p ? ds->rec.p : "", ds->rec.n, doc, err);
}

/* Parquet: DuckDB gives each row as a document (parquet.c). */
static int next_parquet(struct lle_ds *ds, json_t **doc, struct lle_err *err)
{
	ds->doc_line = ds->line + 1;
	int r = lle_pq_next(ds->pq, doc, max_record, err);
	if (r == 1)
		ds->line++;
	return r;
}

/* JSON lines: one object per non-blank line. 1 doc, 0 eof, -1 error.
 * Lines are gathered a buffer at a time (memchr), not byte by byte. */
static int next_jsonl(struct lle_ds *ds, json_t **doc, struct lle_err *err)
{
	for (;;) {
		lle_buf_reset(&ds->rec);
		ds->doc_line = ds->line;
		int any = 0, nl = 0;
		while (!nl) {
			if (ds->pos == ds->len) {
				if (fill(ds, err) < 0)
					return -1;
				if (ds->len == 0)
					break;
			}
			const unsigned char *p = ds->buf + ds->pos;
			size_t avail = ds->len - ds->pos;
			const unsigned char *q = memchr(p, '\n', avail);
			size_t take = q ? (size_t)(q - p) : avail;
			if (take > max_record - ds->rec.n)
				return too_big(ds, err);
			if (take && lle_buf_add(&ds->rec, p, take) < 0)
				return lle_err_oom(err);
			any = 1;
			ds->pos += take;
			if (q) {
				ds->pos++;
				ds->line++;
				nl = 1;
			}
		}
		if (!any)
			return 0;
		int blank = 1;
		for (size_t i = 0; i < ds->rec.n && blank; i++)
			blank = is_ws((unsigned char)ds->rec.p[i]);
		if (blank) {
			if (!nl)
				return 0;
			continue;
		}
		return parse_object(ds, doc, err);
	}
}

static int skip_ws(struct lle_ds *ds, struct lle_err *err)
{
	int c;
	while ((c = peekb(ds, err)) >= 0 && is_ws(c))
		getb(ds, err);
	return c;
}

/* JSON array: the bytes of one element are gathered by tracking strings and
 * nesting, then parsed alone. */
static int next_json(struct lle_ds *ds, json_t **doc, struct lle_err *err)
{
	int c = skip_ws(ds, err);
	if (c == -2)
		return -1;
	if (!ds->started) {
		if (c == -1)
			return 0; /* empty file: no documents */
		if (c != '[')
			return lle_err_set(err, LLE_EXIT_DATA, "%s:%ld: expected a JSON array", ds->path,
					   ds->line);
		getb(ds, err);
		ds->started = 1;
		c = skip_ws(ds, err);
		if (c == ']') {
			getb(ds, err);
			ds->done = 1;
		}
	} else if (!ds->done) {
		if (c == ',') {
			getb(ds, err);
			c = skip_ws(ds, err);
		} else if (c == ']') {
			getb(ds, err);
			ds->done = 1;
		} else if (c == -2) {
			return -1;
		} else if (c == -1) {
			return lle_err_set(err, LLE_EXIT_DATA, "%s:%ld: unterminated JSON array", ds->path,
					   ds->line);
		} else {
			return lle_err_set(err, LLE_EXIT_DATA, "%s:%ld: expected ',' or ']' in the array",
					   ds->path, ds->line);
		}
	}
	if (ds->done) {
		c = skip_ws(ds, err);
		if (c == -2)
			return -1;
		if (c != -1)
			return lle_err_set(err, LLE_EXIT_DATA, "%s:%ld: text after the end of the array",
					   ds->path, ds->line);
		return 0;
	}
	if (c == -2)
		return -1;
	if (c == -1)
		return lle_err_set(err, LLE_EXIT_DATA, "%s:%ld: unterminated JSON array", ds->path,
				   ds->line);
	lle_buf_reset(&ds->rec);
	ds->doc_line = ds->line;
	int depth = 0, instr = 0, esc = 0;
	for (;;) {
		c = peekb(ds, err);
		if (c == -2)
			return -1;
		if (c == -1)
			return lle_err_set(err, LLE_EXIT_DATA, "%s:%ld: unterminated JSON array",
					   ds->path, ds->line);
		if (!instr && depth == 0 && (c == ',' || c == ']' || is_ws(c)) && ds->rec.n > 0)
			break;
		getb(ds, err);
		if (ds->rec.n >= max_record)
			return too_big(ds, err);
		if (lle_buf_addc(&ds->rec, (char)c) < 0)
			return lle_err_oom(err);
		if (instr) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				instr = 0;
		} else if (c == '"') {
			instr = 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth == 0)
				break;
			if (depth < 0)
				return lle_err_set(err, LLE_EXIT_DATA, "%s:%ld: unbalanced '%c'", ds->path,
						   ds->line, c);
		}
	}
	return parse_object(ds, doc, err);
}

static int add_off(struct lle_ds *ds, struct lle_err *err)
{
	if (ds->noffs == ds->capoffs) {
		size_t cap = ds->capoffs ? ds->capoffs * 2 : 16;
		size_t *o = realloc(ds->offs, cap * sizeof(*o));
		if (!o)
			return lle_err_oom(err);
		ds->offs = o;
		ds->capoffs = cap;
	}
	ds->offs[ds->noffs++] = ds->rec.n;
	return 0;
}

/* One CSV record into rec (fields NUL-separated, starts in offs).
 * 1 record, 0 eof, -1 error. Blank lines are skipped. */
static int csv_record(struct lle_ds *ds, struct lle_err *err)
{
	for (;;) {
		lle_buf_reset(&ds->rec);
		ds->noffs = 0;
		ds->doc_line = ds->line;
		int c = peekb(ds, err);
		if (c == -2)
			return -1;
		if (c == -1)
			return 0;
		if (c == '\n' || c == '\r') { /* blank line */
			getb(ds, err);
			if (c == '\r' && peekb(ds, err) == '\n')
				getb(ds, err);
			continue;
		}
		if (add_off(ds, err) < 0)
			return -1;
		for (;;) { /* one field per turn */
			c = getb(ds, err);
			if (c == -2)
				return -1;
			if (c == '"') {
				long qline = ds->line;
				for (;;) {
					c = getb(ds, err);
					if (c == -2)
						return -1;
					if (c == -1)
						return lle_err_set(err, LLE_EXIT_DATA,
								   "%s:%ld: unterminated quoted field",
								   ds->path, qline);
					if (c == '"') {
						if (peekb(ds, err) == '"') {
							getb(ds, err);
						} else {
							c = getb(ds, err);
							break;
						}
					}
					if (ds->rec.n >= max_record)
						return too_big(ds, err);
					if (lle_buf_addc(&ds->rec, (char)c) < 0)
						return lle_err_oom(err);
				}
				if (c == -2)
					return -1;
				if (c != ',' && c != '\n' && c != '\r' && c != -1)
					return lle_err_set(err, LLE_EXIT_DATA,
							   "%s:%ld: unexpected '%c' after a closing quote",
							   ds->path, ds->line, c);
			} else {
				while (c >= 0 && c != ',' && c != '\n' && c != '\r') {
					if (ds->rec.n >= max_record)
						return too_big(ds, err);
					if (lle_buf_addc(&ds->rec, (char)c) < 0)
						return lle_err_oom(err);
					c = getb(ds, err);
				}
				if (c == -2)
					return -1;
			}
			if (lle_buf_addc(&ds->rec, '\0') < 0)
				return lle_err_oom(err);
			if (c == ',') {
				if (add_off(ds, err) < 0)
					return -1;
				continue;
			}
			if (c == '\r' && peekb(ds, err) == '\n')
				getb(ds, err);
			return 1;
		}
	}
}

static int check_utf8(struct lle_ds *ds, const char *s, struct lle_err *err)
{
	size_t n = strlen(s);
	size_t bad = lle_utf8_check((const unsigned char *)s, n);
	if (bad < n)
		return lle_err_set(err, LLE_EXIT_DATA, "%s:%ld: not valid UTF-8 (byte 0x%02x)",
				   ds->path, ds->doc_line, (unsigned char)s[bad]);
	return 0;
}

static int next_csv(struct lle_ds *ds, json_t **doc, struct lle_err *err)
{
	int r;
	if (!ds->started) {
		r = csv_record(ds, err);
		if (r <= 0)
			return r; /* an empty file has no documents */
		ds->hdr = calloc(ds->noffs, sizeof(*ds->hdr));
		if (!ds->hdr)
			return lle_err_oom(err);
		ds->nhdr = ds->noffs;
		for (size_t i = 0; i < ds->noffs; i++) {
			const char *f = ds->rec.p + ds->offs[i];
			if (i == 0 && (unsigned char)f[0] == 0xEF && (unsigned char)f[1] == 0xBB &&
			    (unsigned char)f[2] == 0xBF)
				f += 3; /* byte order mark */
			if (check_utf8(ds, f, err) < 0)
				return -1;
			for (size_t j = 0; j < i; j++)
				if (strcmp(ds->hdr[j], f) == 0)
					return lle_err_set(err, LLE_EXIT_DATA,
							   "%s:%ld: duplicate column '%s' in the header",
							   ds->path, ds->doc_line, f);
			if (!(ds->hdr[i] = lle_strdup(f)))
				return lle_err_oom(err);
		}
		ds->started = 1;
	}
	r = csv_record(ds, err);
	if (r <= 0)
		return r;
	if (ds->noffs != ds->nhdr)
		return lle_err_set(err, LLE_EXIT_DATA, "%s:%ld: row has %zu fields, the header has %zu",
				   ds->path, ds->doc_line, ds->noffs, ds->nhdr);
	json_t *o = json_object();
	if (!o)
		return lle_err_oom(err);
	for (size_t i = 0; i < ds->noffs; i++) {
		const char *f = ds->rec.p + ds->offs[i];
		if (check_utf8(ds, f, err) < 0) {
			json_decref(o);
			return -1;
		}
		json_t *s = json_string(f);
		if (!s || json_object_set_new(o, ds->hdr[i], s) < 0) {
			json_decref(o);
			return lle_err_oom(err);
		}
	}
	*doc = o;
	return 1;
}

int lle_ds_next(struct lle_ds *ds, json_t **doc, struct lle_err *err)
{
	*doc = NULL;
	if (ds->failed)
		return lle_err_set(err, LLE_EXIT_INTERNAL, "dataset reader used after an error");
	for (;;) {
		if (!ds->gz && !ds->pq) {
			if (ds->fi == ds->nfiles)
				return 0;
			if (open_next_file(ds, err) < 0)
				goto fail;
		}
		int r = ds->fmt == FMT_JSONL ? next_jsonl(ds, doc, err)
			: ds->fmt == FMT_PARQUET ? next_parquet(ds, doc, err)
			: ds->fmt == FMT_JSON ? next_json(ds, doc, err)
			: next_csv(ds, doc, err);
		if (r < 0)
			goto fail;
		if (r == 1) {
			ds->index++;
			return 1;
		}
		close_file(ds);
	}
fail:
	ds->failed = 1;
	return -1;
}

long lle_ds_count(const char *path_or_glob, struct lle_err *err)
{
	struct lle_ds *ds = lle_ds_open(path_or_glob, err);
	if (!ds)
		return -1;
	/* Parquet files say how many rows they have: no row is read */
	size_t npq = 0;
	for (size_t i = 0; i < ds->nfiles; i++)
		npq += name_ends(ds->files[i], ".parquet");
	if (npq && npq == ds->nfiles) {
		long total = 0;
		for (size_t i = 0; i < ds->nfiles; i++) {
			long c = lle_pq_count(ds->files[i], err);
			if (c < 0) {
				total = -1;
				break;
			}
			total += c;
		}
		lle_ds_close(ds);
		return total;
	}
	long n = 0;
	json_t *d;
	int r;
	while ((r = lle_ds_next(ds, &d, err)) == 1) {
		json_decref(d);
		n++;
	}
	lle_ds_close(ds);
	return r < 0 ? -1 : n;
}

json_t *lle_ds_load_all(const char *path_or_glob, struct lle_err *err)
{
	struct lle_ds *ds = lle_ds_open(path_or_glob, err);
	if (!ds)
		return NULL;
	json_t *a = json_array();
	if (!a) {
		lle_ds_close(ds);
		lle_err_oom(err);
		return NULL;
	}
	json_t *d;
	int r;
	while ((r = lle_ds_next(ds, &d, err)) == 1) {
		if (json_array_append_new(a, d) < 0) {
			r = lle_err_oom(err);
			break;
		}
	}
	lle_ds_close(ds);
	if (r < 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}
