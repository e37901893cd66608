/* Paging through samples files for the viewer: see view_samples.h. */
#include "store/view_samples.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"

#define MAX_METRICS 16
#define MAX_FILES 4
#define MAX_LINE (64u << 20)
#define CHUNK (1u << 20)

struct vline {
	uint64_t off;
	uint32_t len;
	uint32_t filter;  /* index into filters */
	long long doc_id; /* -1 when the line has none */
};

struct vfile {
	char *path;
	off_t size;
	struct timespec mtime;
	unsigned long long used;
	struct vline *lines;
	size_t n, cap;
	float *vals;      /* n x nmetrics; NaN where a line has no number */
	char *metrics[MAX_METRICS];
	size_t nmetrics;
	char **filters;
	size_t nfilters;
};

struct lle_view_files {
	struct vfile f[MAX_FILES];
	unsigned long long clock;
};

struct lle_view_files *lle_view_files_new(void)
{
	return calloc(1, sizeof(struct lle_view_files));
}

static void vfile_clear(struct vfile *f)
{
	free(f->path);
	free(f->lines);
	free(f->vals);
	for (size_t i = 0; i < f->nmetrics; i++)
		free(f->metrics[i]);
	for (size_t i = 0; i < f->nfilters; i++)
		free(f->filters[i]);
	free(f->filters);
	memset(f, 0, sizeof(*f));
}

void lle_view_files_free(struct lle_view_files *vf)
{
	if (!vf)
		return;
	for (int i = 0; i < MAX_FILES; i++)
		vfile_clear(&vf->f[i]);
	free(vf);
}

/* --- a scanner of a line's top-level keys --- */

static const char *skip_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* p is just after an opening quote: the position after the closing one, or NULL. */
static const char *skip_str(const char *p, const char *e)
{
	while (p < e) {
		const char *q = memchr(p, '"', (size_t)(e - p));
		if (!q)
			return NULL;
		size_t bs = 0;
		while (q - bs > p && q[-1 - (ptrdiff_t)bs] == '\\')
			bs++;
		if (bs % 2 == 0)
			return q + 1;
		p = q + 1;
	}
	return NULL;
}

static const char *skip_value(const char *p, const char *e)
{
	if (p >= e)
		return NULL;
	if (*p == '"')
		return skip_str(p + 1, e);
	if (*p == '{' || *p == '[') {
		int depth = 0;
		while (p < e) {
			char c = *p;
			if (c == '"') {
				if (!(p = skip_str(p + 1, e)))
					return NULL;
				continue;
			}
			if (c == '{' || c == '[')
				depth++;
			else if ((c == '}' || c == ']') && --depth == 0)
				return p + 1;
			p++;
		}
		return NULL;
	}
	while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n')
		p++;
	return p;
}

static double scalar(const char *v, const char *ve)
{
	char tmp[64];
	size_t n = (size_t)(ve - v);
	if (n == 0 || n >= sizeof(tmp))
		return NAN;
	if (n == 4 && memcmp(v, "true", 4) == 0)
		return 1;
	if (n == 5 && memcmp(v, "false", 5) == 0)
		return 0;
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	char *end;
	double x = strtod(tmp, &end);
	return *end || end == tmp ? NAN : x;
}

static int add_filter(struct vfile *f, const char *name, size_t len, uint32_t *idx)
{
	for (size_t i = 0; i < f->nfilters; i++)
		if (strlen(f->filters[i]) == len && memcmp(f->filters[i], name, len) == 0) {
			*idx = (uint32_t)i;
			return 0;
		}
	char **nf = realloc(f->filters, (f->nfilters + 1) * sizeof(*nf));
	if (!nf)
		return -1;
	f->filters = nf;
	if (!(nf[f->nfilters] = lle_strndup(name, len)))
		return -1;
	*idx = (uint32_t)f->nfilters++;
	return 0;
}

/* The metric names: the first line's "metrics" list (llm-eval's lines have
 * one), else its numeric keys other than doc_id (lm-evaluation-harness's). */
static void first_line_metrics(struct vfile *f, const char *p, size_t len)
{
	json_t *o = json_loadb(p, len, 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return;
	}
	json_t *m = json_object_get(o, "metrics"), *v;
	size_t i;
	const char *k;
	if (json_is_array(m)) {
		json_array_foreach(m, i, v) if (json_is_string(v) && f->nmetrics < MAX_METRICS)
			f->metrics[f->nmetrics++] = lle_strdup(json_string_value(v));
	} else {
		json_object_foreach(o, k, v) if ((json_is_number(v) || json_is_boolean(v)) &&
						 strcmp(k, "doc_id") != 0 && f->nmetrics < MAX_METRICS)
			f->metrics[f->nmetrics++] = lle_strdup(k);
	}
	for (size_t j = 0; j < f->nmetrics; j++)
		if (!f->metrics[j])
			f->nmetrics = j; /* out of memory: fewer metrics */
	json_decref(o);
}

/* What a line's top-level keys say. */
struct keys {
	long long doc_id;
	const char *fname;
	size_t flen;
	char *fdec;       /* a decoded filter name (it had escapes), or NULL */
	int has_filter;
};

/* Read top-level "key": value pairs from q (at a key's opening quote) to the
 * object's closing brace; the position after it, or NULL when the text there
 * is not such a sequence. */
static const char *scan_keys(const struct vfile *f, const char *q, const char *e, struct keys *ks, float *vals)
{
	for (;;) {
		q = skip_ws(q, e);
		if (q < e && *q == '}')
			return q + 1;
		if (q >= e || *q != '"')
			return NULL;
		const char *k = q + 1, *ke = skip_str(k, e);
		if (!ke)
			return NULL;
		size_t klen = (size_t)(ke - 1 - k);
		q = skip_ws(ke, e);
		if (q >= e || *q != ':')
			return NULL;
		const char *v = skip_ws(q + 1, e), *ve = skip_value(v, e);
		if (!ve)
			return NULL;
		if (klen == 6 && memcmp(k, "doc_id", 6) == 0) {
			double d = scalar(v, ve);
			if (!isnan(d))
				ks->doc_id = (long long)d;
		} else if (klen == 6 && memcmp(k, "filter", 6) == 0 && *v == '"') {
			ks->has_filter = 1;
			if (memchr(v, '\\', (size_t)(ve - v))) {
				json_t *s = json_loadb(v, (size_t)(ve - v), JSON_DECODE_ANY, NULL);
				free(ks->fdec);
				ks->fdec = NULL;
				if (json_is_string(s) && (ks->fdec = lle_strdup(json_string_value(s)))) {
					ks->fname = ks->fdec;
					ks->flen = strlen(ks->fdec);
				}
				json_decref(s);
			} else {
				ks->fname = v + 1;
				ks->flen = (size_t)(ve - v - 2);
			}
		} else if (*v != '"' && *v != '{' && *v != '[') {
			for (size_t m = 0; m < f->nmetrics; m++)
				if (strlen(f->metrics[m]) == klen && memcmp(f->metrics[m], k, klen) == 0)
					vals[m] = (float)scalar(v, ve);
		}
		q = skip_ws(ve, e);
		if (q < e && *q == ',')
			q++;
		else if (q < e && *q == '}')
			return q + 1;
		else
			return NULL;
	}
}

/* The fast path, for lines as both llm-eval and lm-evaluation-harness write
 * them: doc_id the first key, then the big values (doc, arguments, resps),
 * then "filter" and after it every metric. Only the line's start and its tail
 * from the last "filter" key are read; the tail must parse as top-level keys
 * ending exactly at the line's closing brace (a "filter" inside the document
 * would not), else 0 and the caller scans the whole line. */
static int scan_fast(const struct vfile *f, const char *p, size_t len, struct keys *ks, float *vals)
{
	static const char head[] = "{\"doc_id\":";
	const char *e = p + len;
	while (e > p && (e[-1] == ' ' || e[-1] == '\r' || e[-1] == '\t'))
		e--;
	if (len < sizeof(head) || memcmp(p, head, sizeof(head) - 1) != 0 || e[-1] != '}' || f->nmetrics == 0)
		return 0;
	const char *q = skip_ws(p + sizeof(head) - 1, e), *ve = skip_value(q, e);
	double d = ve ? scalar(q, ve) : NAN;
	if (isnan(d))
		return 0;
	ks->doc_id = (long long)d;
	/* the last ,"filter": (a space may follow the comma or the colon) */
	const char *lo = len > (64u << 10) ? e - (64u << 10) : p, *k = e;
	for (;;) {
		const char *c = k > lo ? memrchr(lo, '"', (size_t)(k - lo)) : NULL;
		if (!c)
			return 0;
		if ((size_t)(e - c) > 9 && memcmp(c, "\"filter\"", 8) == 0) {
			const char *b = c;
			while (b > p && (b[-1] == ' ' || b[-1] == '\t'))
				b--;
			if (b > p && b[-1] == ',') {
				k = c;
				break;
			}
		}
		k = c;
	}
	if (scan_keys(f, k, e, ks, vals) != e || !ks->has_filter)
		return 0;
	for (size_t m = 0; m < f->nmetrics; m++)
		if (isnan(vals[m]))
			return 0; /* a metric before "filter", or not a number: read it all */
	return 1;
}

static int scan_line(struct vfile *f, const char *p, size_t len, uint64_t off)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 1024;
		struct vline *nl = realloc(f->lines, cap * sizeof(*nl));
		if (!nl)
			return -1;
		f->lines = nl;
		float *nv = realloc(f->vals, cap * MAX_METRICS * sizeof(*nv));
		if (!nv)
			return -1;
		f->vals = nv;
		f->cap = cap;
	}
	if (f->n == 0 && f->nmetrics == 0)
		first_line_metrics(f, p, len);
	struct vline *l = &f->lines[f->n];
	float *vals = &f->vals[f->n * MAX_METRICS];
	for (size_t m = 0; m < MAX_METRICS; m++)
		vals[m] = NAN;
	l->off = off;
	l->len = (uint32_t)len;
	struct keys ks = { -1, "none", 4, NULL, 0 };
	if (!scan_fast(f, p, len, &ks, vals)) {
		free(ks.fdec);
		ks = (struct keys){ -1, "none", 4, NULL, 0 };
		for (size_t m = 0; m < MAX_METRICS; m++)
			vals[m] = NAN;
		const char *e = p + len, *q = skip_ws(p, e);
		if (q < e && *q == '{')
			scan_keys(f, q + 1, e, &ks, vals); /* a damaged line keeps what was read */
	}
	l->doc_id = ks.doc_id;
	int rc = add_filter(f, ks.fname, ks.flen, &l->filter);
	free(ks.fdec);
	if (rc < 0)
		return -1;
	f->n++;
	return 0;
}

static int build_index(struct vfile *f, int fd, const char *path, struct lle_err *err)
{
	size_t cap = CHUNK, have = 0;
	char *buf = malloc(cap);
	if (!buf)
		return lle_err_oom(err);
	uint64_t base = 0; /* file offset of buf[0] */
	int rc = -1;
	for (;;) {
		if (have == cap) {
			if (cap >= MAX_LINE) {
				lle_err_set(err, LLE_EXIT_DATA, "%s:%zu: line longer than %u MiB", path, f->n + 1,
					    MAX_LINE >> 20);
				goto out;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				lle_err_oom(err);
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + have, cap - have);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			lle_err_set(err, LLE_EXIT_IO, "cannot read '%s': %s", path, strerror(errno));
			goto out;
		}
		size_t start = 0, end = have + (size_t)r, from = have; /* buf[0, have) holds no newline */
		const char *nl;
		while (from < end && (nl = memchr(buf + from, '\n', end - from))) {
			size_t len = (size_t)(nl - (buf + start));
			if (len && scan_line(f, buf + start, len, base + start) < 0) {
				lle_err_oom(err);
				goto out;
			}
			start = from = (size_t)(nl - buf) + 1;
		}
		if (r == 0) { /* end of file: a last line without a newline */
			if (end > start && scan_line(f, buf + start, end - start, base + start) < 0) {
				lle_err_oom(err);
				goto out;
			}
			break;
		}
		memmove(buf, buf + start, end - start);
		base += start;
		have = end - start;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

/* The index of path, built or reused. */
static struct vfile *get_file(struct lle_view_files *vf, const char *path, int *fd, struct lle_err *err)
{
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (*fd < 0 || fstat(*fd, &st) != 0) {
		lle_err_set(err, LLE_EXIT_IO, "cannot read '%s': %s", path, strerror(errno));
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return NULL;
	}
	struct vfile *f = NULL, *lru = &vf->f[0];
	for (int i = 0; i < MAX_FILES; i++) {
		struct vfile *c = &vf->f[i];
		if (c->path && strcmp(c->path, path) == 0)
			f = c;
		if (c->used < lru->used)
			lru = c;
	}
	if (f && (f->size != st.st_size || f->mtime.tv_sec != st.st_mtim.tv_sec ||
		  f->mtime.tv_nsec != st.st_mtim.tv_nsec))
		vfile_clear(f); /* the file changed: index it again */
	else if (f)
		goto found;
	f = f ? f : lru;
	vfile_clear(f);
	if (!(f->path = lle_strdup(path))) {
		lle_err_oom(err);
		goto fail;
	}
	f->size = st.st_size;
	f->mtime = st.st_mtim;
	if (build_index(f, *fd, path, err) < 0)
		goto fail;
found:
	f->used = ++vf->clock;
	return f;
fail:
	vfile_clear(f);
	close(*fd);
	*fd = -1;
	return NULL;
}

static char *read_line(int fd, const struct vline *l, const char *path, struct lle_err *err)
{
	char *s = malloc((size_t)l->len + 1);
	if (!s) {
		lle_err_oom(err);
		return NULL;
	}
	size_t got = 0;
	while (got < l->len) {
		ssize_t r = pread(fd, s + got, l->len - got, (off_t)(l->off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			lle_err_set(err, LLE_EXIT_IO, "cannot read '%s': %s", path,
				    r < 0 ? strerror(errno) : "file shrank while read");
			free(s);
			return NULL;
		}
		got += (size_t)r;
	}
	s[l->len] = '\0';
	return s;
}

/* ASCII case-insensitive search of needle (already lower case). */
static int has_text(const char *h, size_t hn, const char *needle, size_t nn)
{
	if (nn == 0)
		return 1;
	unsigned char c0 = (unsigned char)needle[0];
	for (size_t i = 0; i + nn <= hn; i++) {
		if (tolower((unsigned char)h[i]) != c0)
			continue;
		size_t j = 1;
		while (j < nn && tolower((unsigned char)h[i + j]) == (unsigned char)needle[j])
			j++;
		if (j == nn)
			return 1;
	}
	return 0;
}

/* The query as it appears inside a JSON string of the line, lower-cased. */
static char *escaped_query(const char *text)
{
	json_t *s = json_string(text);
	char *d = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
	json_decref(s);
	if (!d)
		return NULL;
	size_t n = strlen(d);
	memmove(d, d + 1, n - 2); /* strip the quotes */
	d[n - 2] = '\0';
	for (char *p = d; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

/* The last n bytes of s, starting on a UTF-8 character. */
static const char *tail_utf8(const char *s, size_t n)
{
	size_t len = strlen(s);
	if (len <= n)
		return s;
	const char *p = s + len - n;
	while (((unsigned char)*p & 0xC0) == 0x80)
		p++;
	return p;
}

static json_t *summary(const json_t *line, size_t i, const struct vfile *f, const struct vline *l)
{
	json_t *o = json_object(), *m = json_object();
	if (!o || !m) {
		json_decref(o);
		json_decref(m);
		return NULL;
	}
	json_object_set_new(o, "line", json_integer((json_int_t)i));
	json_object_set_new(o, "doc_id", l->doc_id >= 0 ? json_integer(l->doc_id) : json_null());
	json_object_set_new(o, "filter", json_string(f->filters[l->filter]));
	for (size_t k = 0; k < f->nmetrics; k++) {
		json_t *v = json_object_get(line, f->metrics[k]);
		float x = f->vals[(size_t)(l - f->lines) * MAX_METRICS + k];
		if (!line && !isnan(x))
			json_object_set_new(m, f->metrics[k], json_real(x));
		else
			json_object_set(m, f->metrics[k], v ? v : json_null());
	}
	json_object_set_new(o, "metrics", m);
	json_t *t = json_object_get(line, "target");
	json_object_set(o, "target", t ? t : json_null());
	t = json_object_get(line, "filtered_resps");
	json_object_set(o, "filtered_resps", t ? t : json_null());
	const char *prompt = json_string_value(json_array_get(json_array_get(json_object_get(line, "arguments"), 0), 0));
	if (!prompt) /* lm-evaluation-harness writes arguments as {"gen_args_0": {"arg_0": ...}} */
		prompt = json_string_value(json_object_get(
			json_object_get(json_object_get(line, "arguments"), "gen_args_0"), "arg_0"));
	json_object_set_new(o, "prompt_tail", json_string(prompt ? tail_utf8(prompt, 240) : ""));
	/* a generation's text (resps [[text, ...]]), its start */
	const char *gen = json_string_value(json_array_get(json_array_get(json_object_get(line, "resps"), 0), 0));
	if (gen) {
		size_t n = strlen(gen), cut = n > 200 ? 200 : n;
		while (cut < n && ((unsigned char)gen[cut] & 0xC0) == 0x80)
			cut++;
		json_object_set_new(o, "response", json_stringn(gen, cut));
	}
	/* the continuations of log-likelihood requests: the choices of a multiple-choice task */
	json_t *args = json_object_get(line, "arguments"), *a, *ch = json_array();
	size_t ai;
	json_array_foreach(args, ai, a) if (ch && json_array_size(a) == 2 && json_is_string(json_array_get(a, 1)))
		json_array_append(ch, json_array_get(a, 1));
	if (ch && json_array_size(ch) > 1 && json_array_size(ch) == json_array_size(args))
		json_object_set_new(o, "choices", ch);
	else
		json_decref(ch);
	return o;
}

int lle_view_samples_page(struct lle_view_files *vf, const char *path, const struct lle_view_query *q,
			  json_t **out, struct lle_err *err)
{
	*out = NULL;
	int fd;
	struct vfile *f = get_file(vf, path, &fd, err);
	if (!f)
		return -1;
	int rc = -1;
	char *needle = NULL;
	json_t *res = json_object(), *samples = json_array(), *filters = json_array(), *metrics = json_array();
	if (!res || !samples || !filters || !metrics)
		goto oom;
	long mi = f->nmetrics ? 0 : -1;
	if (q->metric) {
		mi = -1;
		for (size_t m = 0; m < f->nmetrics; m++)
			if (strcmp(f->metrics[m], q->metric) == 0)
				mi = (long)m;
		if (mi < 0) {
			lle_err_set(err, LLE_EXIT_USAGE, "no metric '%s' in this task's samples", q->metric);
			goto out;
		}
	}
	long fi = -1;
	if (q->filter) {
		for (size_t k = 0; k < f->nfilters; k++)
			if (strcmp(f->filters[k], q->filter) == 0)
				fi = (long)k;
		if (fi < 0) {
			lle_err_set(err, LLE_EXIT_USAGE, "no filter '%s' in this task's samples", q->filter);
			goto out;
		}
	}
	if (q->text && *q->text && !(needle = escaped_query(q->text)))
		goto oom;
	size_t nn = needle ? strlen(needle) : 0, matched = 0;
	for (size_t i = 0; i < f->n; i++) {
		const struct vline *l = &f->lines[i];
		if ((fi >= 0 && l->filter != (uint32_t)fi) || (q->doc_id >= 0 && l->doc_id != q->doc_id))
			continue;
		if (q->result >= 0) {
			float v = mi >= 0 ? f->vals[i * MAX_METRICS + (size_t)mi] : NAN;
			if (isnan(v) || (q->result == 1 ? !(v > 0) : v != 0))
				continue;
		}
		char *s = NULL;
		if (needle) {
			if (!(s = read_line(fd, l, path, err)))
				goto out;
			if (!has_text(s, l->len, needle, nn)) {
				free(s);
				continue;
			}
		}
		if (matched >= q->offset && matched - q->offset < q->limit) {
			if (!s && !(s = read_line(fd, l, path, err)))
				goto out;
			json_error_t je;
			json_t *line = json_loadb(s, l->len, 0, &je);
			free(s);
			/* a damaged line is shown as such, with what the index read of it */
			json_t *sum = summary(json_is_object(line) ? line : NULL, i, f, l);
			if (sum && !json_is_object(line))
				json_object_set_new(sum, "error",
						    json_sprintf("line %zu is not a JSON object: %s", i + 1,
								 line ? "another JSON value" : je.text));
			json_decref(line);
			if (!sum)
				goto oom;
			json_array_append_new(samples, sum);
		} else {
			free(s);
		}
		matched++;
	}
	for (size_t k = 0; k < f->nfilters; k++)
		json_array_append_new(filters, json_string(f->filters[k]));
	for (size_t k = 0; k < f->nmetrics; k++)
		json_array_append_new(metrics, json_string(f->metrics[k]));
	json_object_set_new(res, "total", json_integer((json_int_t)f->n));
	json_object_set_new(res, "matched", json_integer((json_int_t)matched));
	json_object_set_new(res, "offset", json_integer((json_int_t)q->offset));
	json_object_set_new(res, "limit", json_integer((json_int_t)q->limit));
	json_object_set_new(res, "metric", mi >= 0 ? json_string(f->metrics[mi]) : json_null());
	json_object_set_new(res, "filters", filters);
	json_object_set_new(res, "metrics", metrics);
	json_object_set_new(res, "samples", samples);
	filters = metrics = samples = NULL;
	*out = res;
	res = NULL;
	rc = 0;
	goto out;
oom:
	lle_err_oom(err);
out:
	free(needle);
	json_decref(res);
	json_decref(samples);
	json_decref(filters);
	json_decref(metrics);
	close(fd);
	return rc;
}

int lle_view_samples_line(struct lle_view_files *vf, const char *path, size_t line, json_t **out,
			  struct lle_err *err)
{
	*out = NULL;
	int fd;
	struct vfile *f = get_file(vf, path, &fd, err);
	if (!f)
		return -1;
	int rc = -1;
	if (line >= f->n) {
		lle_err_set(err, LLE_EXIT_USAGE, "no line %zu in this task's samples (%zu lines)", line, f->n);
		goto out;
	}
	char *s = read_line(fd, &f->lines[line], path, err);
	if (!s)
		goto out;
	json_t *o = json_loadb(s, f->lines[line].len, 0, NULL);
	free(s);
	if (!json_is_object(o)) {
		json_decref(o);
		lle_err_set(err, LLE_EXIT_DATA, "%s:%zu: not a JSON object", path, line + 1);
		goto out;
	}
	json_object_set_new(o, "line", json_integer((json_int_t)line));
	json_object_set_new(o, "lines", json_integer((json_int_t)f->n));
	*out = o;
	rc = 0;
out:
	close(fd);
	return rc;
}
