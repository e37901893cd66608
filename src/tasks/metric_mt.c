/* bleu, chrf, ter segment statistics and corpus scores: see metric_mt.h.
 *
 * Each function follows the sacrebleu code named in its comment, step for
 * step where the order of floating-point operations matters. Strings are
 * UTF-8; Python's str.split() and rstrip() whitespace is lle_py_isspace(),
 * and n-grams of code points compare as their UTF-8 bytes do.
 *
 * Not here: the metric table and the items (metrics.c). */
#include "tasks/metric_mt.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/pystr.h"

/* ---------- words ---------- */

struct span {
	const char *p;
	size_t n;
};

struct spans {
	struct span *v;
	size_t n, cap;
};

static int spans_add(struct spans *s, const char *p, size_t n)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		struct span *v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = (struct span){ p, n };
	return 0;
}

/* str.split(): runs of whitespace separate, no empty words. */
static int split_ws(struct spans *out, const char *s, size_t n)
{
	size_t i = 0, start = 0, l;
	int in_word = 0;
	while (i < n) {
		int ws = lle_py_isspace(lle_py_decode(s + i, n - i, &l));
		if (ws && in_word && spans_add(out, s + start, i - start) < 0)
			return -1;
		if (!ws && !in_word)
			start = i;
		in_word = !ws;
		i += l;
	}
	if (in_word && spans_add(out, s + start, n - start) < 0)
		return -1;
	return 0;
}

/* ' '.join(s.split()) appended to out. */
static int join_split(struct lle_buf *out, const char *s, size_t n)
{
	struct spans w = { 0 };
	if (split_ws(&w, s, n) < 0) {
		free(w.v);
		return -1;
	}
	for (size_t i = 0; i < w.n; i++) {
		if (i)
			lle_buf_addc(out, ' ');
		lle_buf_add(out, w.v[i].p, w.v[i].n);
	}
	free(w.v);
	return out->oom ? -1 : 0;
}

/* ---------- the 13a tokenizer ---------- */

/* A sequence of str.replace(old, new) from a to b (both reset first). */
static int replace_into(struct lle_buf *b, const struct lle_buf *a, const char *old, const char *new_)
{
	lle_buf_reset(b);
	lle_buf_add(b, "", 0);
	return b->oom ? -1 : lle_py_replace(b, lle_buf_str(a), a->n, old, new_);
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* The first class of TokenizerRegexp: [\{-\~\[-\` -\&\(-\+\:-\@\/]. */
static int tok_class(unsigned char c)
{
	return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') ||
	       (c >= '(' && c <= '+') || (c >= ':' && c <= '@') || c == '/';
}

/* tokenizers/tokenizer_13a.py Tokenizer13a.__call__ and tokenizer_re.py
 * TokenizerRegexp.__call__. The three later regexes only look at ASCII
 * digits, '.', ',' and '-', which are never part of a multi-byte UTF-8
 * character, so scanning bytes finds the same non-overlapping matches as
 * re.sub scanning characters and writes the same text. */
int lle_tokenize_13a(struct lle_buf *out, const char *s)
{
	struct lle_buf a = LLE_BUF_INIT, b = LLE_BUF_INIT;
	int rc = -1;
	/* BLEU._preprocess_segment: self.tokenizer(sent.rstrip()) */
	if (lle_py_strip(&a, s, strlen(s), NULL, LLE_STRIP_RIGHT) < 0 || lle_buf_add(&a, "", 0) < 0)
		goto done;
	static const char *const rep[][2] = { { "<skipped>", "" }, { "-\n", "" }, { "\n", " " },
					      { "&quot;", "\"" }, { "&amp;", "&" }, { "&lt;", "<" },
					      { "&gt;", ">" } };
	for (size_t r = 0; r < sizeof(rep) / sizeof(rep[0]); r++) {
		if (r == 3 && !memchr(a.p, '&', a.n))
			break;
		if (replace_into(&b, &a, rep[r][0], rep[r][1]) < 0)
			goto done;
		struct lle_buf t = a;
		a = b;
		b = t;
	}
	/* f' {line} ', then ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> ' \1 ' */
	lle_buf_reset(&b);
	for (size_t i = 0; i < a.n + 2; i++) {
		char c = i == 0 || i == a.n + 1 ? ' ' : a.p[i - 1];
		if (tok_class((unsigned char)c)) {
			char t[3] = { ' ', c, ' ' };
			lle_buf_add(&b, t, 3);
		} else {
			lle_buf_addc(&b, c);
		}
	}
	if (b.oom)
		goto done;
	/* ([^0-9])([\.,]) -> '\1 \2 ' */
	lle_buf_reset(&a);
	for (size_t i = 0; i < b.n;) {
		if (i + 1 < b.n && !is_digit(b.p[i]) && (b.p[i + 1] == '.' || b.p[i + 1] == ',')) {
			char t[4] = { b.p[i], ' ', b.p[i + 1], ' ' };
			lle_buf_add(&a, t, 4);
			i += 2;
		} else {
			lle_buf_addc(&a, b.p[i++]);
		}
	}
	/* ([\.,])([^0-9]) -> ' \1 \2' */
	lle_buf_reset(&b);
	for (size_t i = 0; i < a.n;) {
		if (i + 1 < a.n && (a.p[i] == '.' || a.p[i] == ',') && !is_digit(a.p[i + 1])) {
			char t[4] = { ' ', a.p[i], ' ', a.p[i + 1] };
			lle_buf_add(&b, t, 4);
			i += 2;
		} else {
			lle_buf_addc(&b, a.p[i++]);
		}
	}
	/* ([0-9])(-) -> '\1 \2 ' */
	lle_buf_reset(&a);
	for (size_t i = 0; i < b.n;) {
		if (i + 1 < b.n && is_digit(b.p[i]) && b.p[i + 1] == '-') {
			char t[4] = { b.p[i], ' ', '-', ' ' };
			lle_buf_add(&a, t, 4);
			i += 2;
		} else {
			lle_buf_addc(&a, b.p[i++]);
		}
	}
	if (a.oom || b.oom)
		goto done;
	rc = join_split(out, a.p ? a.p : "", a.n);
done:
	lle_buf_free(&a);
	lle_buf_free(&b);
	return rc;
}

/* ---------- n-gram counting ---------- */

/* An n-gram of one side: words w[0..n) or bytes p[0..len). */
struct gram {
	const struct span *w;
	const char *p;
	size_t len;   /* words: n; chars: bytes */
	int side;     /* 0 hypothesis, 1 reference */
};

static int cmp_spans(const struct span *a, const struct span *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t m = a[i].n < b[i].n ? a[i].n : b[i].n;
		int c = memcmp(a[i].p, b[i].p, m);
		if (c)
			return c;
		if (a[i].n != b[i].n)
			return a[i].n < b[i].n ? -1 : 1;
	}
	return 0;
}

static int cmp_word_gram(const void *x, const void *y)
{
	const struct gram *a = x, *b = y;
	int c = cmp_spans(a->w, b->w, a->len);
	return c ? c : a->side - b->side;
}

static int cmp_char_gram(const void *x, const void *y)
{
	const struct gram *a = x, *b = y;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	int c = memcmp(a->p, b->p, a->len);
	return c ? c : a->side - b->side;
}

static int gram_eq(const struct gram *a, const struct gram *b)
{
	if (a->w)
		return cmp_spans(a->w, b->w, a->len) == 0;
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/* Over grams sorted so equal n-grams are adjacent: the sum over distinct
 * hypothesis n-grams of min(hyp count, ref count) (Counter intersection). */
static double matches(const struct gram *g, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i, h = 0, r = 0;
		while (j < n && gram_eq(&g[i], &g[j])) {
			if (g[j].side)
				r++;
			else
				h++;
			j++;
		}
		m += (double)(h < r ? h : r);
		i = j;
	}
	return m;
}

static const char *buf_s(const struct lle_buf *b) { return b->p ? b->p : ""; }

/* ---------- bleu ---------- */

/* metrics/bleu.py BLEU._compute_segment_statistics with one reference:
 * extract_all_word_ngrams(line, 1, 4) of both 13a-tokenized sides. */
int lle_bleu_stats(const char *hyp, const char *ref, double *s, struct lle_err *err)
{
	struct lle_buf th = LLE_BUF_INIT, tr = LLE_BUF_INIT;
	struct spans wh = { 0 }, wr = { 0 };
	struct gram *g = NULL;
	int rc = -1;
	if (lle_tokenize_13a(&th, hyp) < 0 || lle_tokenize_13a(&tr, ref) < 0 ||
	    split_ws(&wh, buf_s(&th), th.n) < 0 || split_ws(&wr, buf_s(&tr), tr.n) < 0 ||
	    !(g = malloc((wh.n + wr.n + 1) * sizeof(*g)))) {
		lle_err_oom(err);
		goto done;
	}
	s[0] = (double)wh.n;
	s[1] = (double)wr.n; /* the closest of one reference length is itself */
	for (size_t n = 1; n <= 4; n++) {
		size_t k = 0;
		for (size_t i = 0; i + n <= wh.n; i++)
			g[k++] = (struct gram){ wh.v + i, NULL, n, 0 };
		for (size_t i = 0; i + n <= wr.n; i++)
			g[k++] = (struct gram){ wr.v + i, NULL, n, 1 };
		qsort(g, k, sizeof(*g), cmp_word_gram);
		s[1 + n] = matches(g, k);
		s[5 + n] = wh.n >= n ? (double)(wh.n - n + 1) : 0;
	}
	rc = 0;
done:
	lle_buf_free(&th);
	lle_buf_free(&tr);
	free(wh.v);
	free(wr.v);
	free(g);
	return rc;
}

/* utils.py my_log */
static double my_log(double x) { return x == 0.0 ? -9999999999.0 : log(x); }

/* metrics/bleu.py BLEU.compute_bleu(correct, total, sys_len, ref_len,
 * smooth_method='exp', effective_order=False, max_ngram_order=4). */
double lle_bleu_score(const double *s)
{
	double sys_len = s[0], ref_len = s[1];
	const double *correct = s + 2, *total = s + 6;
	double bp = 1.0;
	if (sys_len < ref_len)
		bp = sys_len > 0 ? exp(1 - ref_len / sys_len) : 0.0;
	if (correct[0] == 0 && correct[1] == 0 && correct[2] == 0 && correct[3] == 0)
		return 0.0;
	double prec[4] = { 0, 0, 0, 0 }, smooth_mteval = 1.;
	for (int n = 0; n < 4; n++) {
		if (total[n] == 0)
			break;
		if (correct[n] == 0) {
			smooth_mteval *= 2;
			prec[n] = 100. / (smooth_mteval * total[n]);
		} else {
			prec[n] = 100. * correct[n] / total[n];
		}
	}
	double sum = 0; /* sum([my_log(p) for p in precisions[:4]]) */
	for (int n = 0; n < 4; n++)
		sum += my_log(prec[n]);
	return bp * exp(sum / 4);
}

/* ---------- chrf ---------- */

/* ''.join(line.split()) and the offset of each of its characters (with the
 * end as the last). */
static int chars_nows(struct lle_buf *out, const char *s, size_t **off, size_t *nch)
{
	size_t n = strlen(s), l, k = 0;
	*off = malloc((n + 1) * sizeof(**off));
	if (!*off)
		return -1;
	for (size_t i = 0; i < n; i += l) {
		if (lle_py_isspace(lle_py_decode(s + i, n - i, &l)))
			continue;
		(*off)[k++] = out->n;
		lle_buf_add(out, s + i, l);
	}
	(*off)[k] = out->n;
	*nch = k;
	return out->oom ? -1 : 0;
}

/* metrics/chrf.py CHRF._compute_segment_statistics with one reference and
 * word_order 0: extract_all_char_ngrams(line, 6, False) and
 * _get_match_statistics per order. */
int lle_chrf_stats(const char *hyp, const char *ref, double *s, struct lle_err *err)
{
	struct lle_buf bh = LLE_BUF_INIT, br = LLE_BUF_INIT;
	size_t *oh = NULL, *orf = NULL, nh = 0, nr = 0;
	struct gram *g = NULL;
	int rc = -1;
	if (chars_nows(&bh, hyp, &oh, &nh) < 0 || chars_nows(&br, ref, &orf, &nr) < 0 ||
	    !(g = malloc((nh + nr + 1) * sizeof(*g)))) {
		lle_err_oom(err);
		goto done;
	}
	for (size_t n = 1; n <= 6; n++) {
		size_t k = 0;
		for (size_t i = 0; i + n <= nh; i++)
			g[k++] = (struct gram){ NULL, bh.p + oh[i], oh[i + n] - oh[i], 0 };
		for (size_t i = 0; i + n <= nr; i++)
			g[k++] = (struct gram){ NULL, br.p + orf[i], orf[i + n] - orf[i], 1 };
		qsort(g, k, sizeof(*g), cmp_char_gram);
		double hyp_count = nh >= n ? (double)(nh - n + 1) : 0, ref_count = nr >= n ? (double)(nr - n + 1) : 0;
		/* [hyp_count if ref_ngrams else 0, sum(ref_ngrams.values()), match_count] */
		s[3 * (n - 1)] = ref_count > 0 ? hyp_count : 0;
		s[3 * (n - 1) + 1] = ref_count;
		s[3 * (n - 1) + 2] = matches(g, k);
	}
	rc = 0;
done:
	lle_buf_free(&bh);
	lle_buf_free(&br);
	free(oh);
	free(orf);
	free(g);
	return rc;
}

/* metrics/chrf.py CHRF._compute_f_score, beta 2, order 6, eps_smoothing
 * False (the running `score` it also sums is used only with eps smoothing). */
double lle_chrf_score(const double *s)
{
	const double eps = 1e-16;
	const int factor = 2 * 2;
	double avg_prec = 0.0, avg_rec = 0.0;
	int effective_order = 0;
	for (int i = 0; i < 6; i++) {
		double n_hyp = s[3 * i], n_ref = s[3 * i + 1], n_match = s[3 * i + 2];
		double prec = n_hyp > 0 ? n_match / n_hyp : eps;
		double rec = n_ref > 0 ? n_match / n_ref : eps;
		if (n_hyp > 0 && n_ref > 0) {
			avg_prec += prec;
			avg_rec += rec;
			effective_order += 1;
		}
	}
	if (effective_order == 0) {
		avg_prec = avg_rec = 0.0;
	} else {
		avg_prec /= effective_order;
		avg_rec /= effective_order;
	}
	if (avg_prec + avg_rec != 0) {
		double score = (1 + factor) * avg_prec * avg_rec;
		score /= ((factor * avg_prec) + avg_rec);
		return 100 * score;
	}
	return 0.0;
}

/* ---------- ter ---------- */

#define TER_INF ((int64_t)10000000000000000LL) /* int(1e16) */
enum { MAX_SHIFT_SIZE = 10, MAX_SHIFT_DIST = 50, BEAM_WIDTH = 25, MAX_SHIFT_CANDIDATES = 1000 };

/* tokenizers/tokenizer_ter.py TercomTokenizer(normalized=False,
 * no_punct=False, asian_support=False, case_sensitive=False) after TER's
 * rstrip(): lower-case, then ' '.join(sent.split()). */
static int ter_tokenize(struct lle_buf *out, const char *s)
{
	struct lle_buf a = LLE_BUF_INIT, b = LLE_BUF_INIT;
	int rc = -1;
	if (lle_py_strip(&a, s, strlen(s), NULL, LLE_STRIP_RIGHT) < 0 || lle_py_lower(&b, buf_s(&a), a.n) < 0)
		goto done;
	rc = join_split(out, buf_s(&b), b.n);
done:
	lle_buf_free(&a);
	lle_buf_free(&b);
	return rc;
}

/* The edit-distance state of lib_ter.BeamEditDistance for one reference and
 * hypotheses of one length (shifts keep the length): two matrices of
 * (cost, op), the hypothesis's and a candidate's. Rows depend only on the
 * rows above, so a candidate starts from the row where it leaves the
 * hypothesis (what the class's prefix cache achieves). */
struct ted {
	const int *ref;
	size_t nr, nh, w;
	double ratio;
	long long beam;
	int64_t *bc, *sc;
	char *bo, *so;
};

/* BeamEditDistance._edit_distance: rows from+1..nh of words h in (c, o),
 * whose rows up to from are set. */
static int64_t ted_fill(const struct ted *t, const int *h, size_t from, int64_t *c, char *o)
{
	size_t W = t->w;
	for (size_t i = from + 1; i <= t->nh; i++) {
		int64_t *row = c + i * W, *prev = c + (i - 1) * W;
		char *orow = o + i * W;
		for (size_t j = 0; j < W; j++) {
			row[j] = TER_INF;
			orow[j] = 'x';
		}
		long long pseudo = (long long)floor((double)i * t->ratio);
		long long min_j = pseudo - t->beam > 0 ? pseudo - t->beam : 0;
		long long max_j = pseudo + t->beam < (long long)W ? pseudo + t->beam : (long long)W;
		if (i == t->nh)
			max_j = (long long)W;
		for (long long jj = min_j; jj < max_j; jj++) {
			size_t j = (size_t)jj;
			if (j == 0) {
				row[0] = prev[0] + 1;
				orow[0] = 'd';
				continue;
			}
			int same = h[i - 1] == t->ref[j - 1];
			/* Tercom's preference: no-op/sub, then (flipped) deletion, insertion */
			int64_t cost[3] = { prev[j - 1] + (same ? 0 : 1), prev[j] + 1, row[j - 1] + 1 };
			char op[3] = { same ? ' ' : 's', 'd', 'i' };
			for (int k = 0; k < 3; k++)
				if (row[j] > cost[k]) {
					row[j] = cost[k];
					orow[j] = op[k];
				}
		}
	}
	return c[t->nh * W + t->nr];
}

/* words[:a] style slices, clamped as Python's */
static void put_slice(int *out, size_t *k, const int *w, size_t n, long long a, long long b)
{
	if (a < 0)
		a = 0;
	if (b > (long long)n)
		b = (long long)n;
	for (long long i = a; i < b; i++)
		out[(*k)++] = w[i];
}

/* lib_ter._perform_shift */
static void perform_shift(const int *w, size_t n, long long start, long long length, long long target, int *out)
{
	size_t k = 0;
	long long N = (long long)n;
	if (target < start) {
		put_slice(out, &k, w, n, 0, target);
		put_slice(out, &k, w, n, start, start + length);
		put_slice(out, &k, w, n, target, start);
		put_slice(out, &k, w, n, start + length, N);
	} else if (target > start + length) {
		put_slice(out, &k, w, n, 0, start);
		put_slice(out, &k, w, n, start + length, target);
		put_slice(out, &k, w, n, start, start + length);
		put_slice(out, &k, w, n, target, N);
	} else {
		put_slice(out, &k, w, n, 0, start);
		put_slice(out, &k, w, n, start + length, length + target);
		put_slice(out, &k, w, n, start, start + length);
		put_slice(out, &k, w, n, length + target, N);
	}
}

/* lib_ter.translation_edit_rate for id-coded words; -1 on out of memory or a
 * trace through a cell the beam left unset (where sacrebleu raises). */
static int ter_edits(const int *hyp, size_t nh, const int *ref, size_t nr, int64_t *edits, struct lle_err *err)
{
	if (nr == 0) {
		*edits = (int64_t)nh;
		return 0;
	}
	struct ted t = { ref, nr, nh, nr + 1, nh ? (double)nr / (double)nh : 1, BEAM_WIDTH, NULL, NULL, NULL, NULL };
	if (BEAM_WIDTH < t.ratio / 2)
		t.beam = (long long)ceil(t.ratio / 2 + BEAM_WIDTH);
	size_t cells = (nh + 1) * t.w;
	if (cells / t.w != nh + 1 || cells > SIZE_MAX / sizeof(int64_t))
		return lle_err_set(err, LLE_EXIT_EVAL, "ter: a segment of %zu x %zu words is too long", nh, nr);
	int rc = -1;
	int *cur = malloc((nh + 1) * sizeof(*cur)), *cand = malloc((nh + 1) * sizeof(*cand)),
	    *best_w = malloc((nh + 1) * sizeof(*best_w));
	int *hyp_err = malloc((nh + 1) * sizeof(int)), *ref_err = malloc((nr + 1) * sizeof(int));
	long long *align = malloc((nr + 1) * sizeof(*align));
	char *trace = malloc(nh + nr + 1);
	t.bc = malloc(cells * sizeof(int64_t));
	t.sc = malloc(cells * sizeof(int64_t));
	t.bo = malloc(cells);
	t.so = malloc(cells);
	if (!cur || !cand || !best_w || !hyp_err || !ref_err || !align || !trace || !t.bc || !t.sc || !t.bo || !t.so) {
		lle_err_oom(err);
		goto done;
	}
	for (size_t j = 0; j < t.w; j++) { /* _initial_row */
		t.bc[j] = t.sc[j] = (int64_t)j;
		t.bo[j] = t.so[j] = 'i';
	}
	memcpy(cur, hyp, nh * sizeof(*cur));
	int64_t shifts = 0, pre_score;
	long checked = 0;
	for (;;) {
		/* _shift: the hypothesis's distance and trace */
		pre_score = ted_fill(&t, cur, 0, t.bc, t.bo);
		size_t i = nh, j = nr, tl = 0;
		while (i > 0 || j > 0) {
			char op = t.bo[i * t.w + j];
			trace[tl++] = op;
			if (op == 's' || op == ' ') {
				i--;
				j--;
			} else if (op == 'i') {
				j--;
			} else if (op == 'd') {
				i--;
			} else {
				lle_err_set(err, LLE_EXIT_EVAL, "ter: the edit distance left an unset cell");
				goto done;
			}
		}
		/* trace_to_alignment(_flip_trace(trace)), reading the reversed trace forwards */
		long long ph = -1, pr = -1;
		size_t nhe = 0, nre = 0;
		for (size_t q = tl; q-- > 0;) {
			char op = trace[q] == 'i' ? 'd' : trace[q] == 'd' ? 'i' : trace[q];
			if (op == ' ' || op == 's') {
				align[++pr] = ++ph;
				hyp_err[nhe++] = op == 's';
				ref_err[nre++] = op == 's';
			} else if (op == 'i') {
				ph++;
				hyp_err[nhe++] = 1;
			} else {
				align[++pr] = ph;
				ref_err[nre++] = 1;
			}
		}
		int have_best = 0;
		int64_t bd = 0;
		long long bl = 0, bs = 0, bi = 0;
		for (size_t sh = 0; sh < nh && checked < MAX_SHIFT_CANDIDATES; sh++) {
			for (size_t sr = 0; sr < nr && checked < MAX_SHIFT_CANDIDATES; sr++) {
				long long dd = (long long)sr - (long long)sh;
				if (dd > MAX_SHIFT_DIST || dd < -MAX_SHIFT_DIST)
					continue;
				/* _find_shifted_pairs yields (sh, sr, length) for each length of the match */
				for (size_t length = 0; cur[sh + length] == ref[sr + length] && length < MAX_SHIFT_SIZE;) {
					length++;
					int skip = 0, herr = 0, rerr = 0;
					for (size_t q = sh; q < sh + length; q++)
						herr += hyp_err[q];
					for (size_t q = sr; q < sr + length; q++)
						rerr += ref_err[q];
					if (herr == 0 || rerr == 0 ||
					    ((long long)sh <= align[sr] && align[sr] < (long long)(sh + length)))
						skip = 1;
					if (!skip) {
						long long prev_idx = -1;
						for (long long off = -1; off < (long long)length; off++) {
							long long idx;
							if ((long long)sr + off == -1)
								idx = 0;
							else
								idx = align[(long long)sr + off] + 1;
							if (idx == prev_idx)
								continue;
							prev_idx = idx;
							perform_shift(cur, nh, (long long)sh, (long long)length, idx, cand);
							size_t p = 0;
							while (p < nh && cand[p] == cur[p])
								p++;
							int64_t d;
							if (p == nh) {
								d = pre_score;
							} else {
								memcpy(t.sc + p * t.w, t.bc + p * t.w, t.w * sizeof(int64_t));
								memcpy(t.so + p * t.w, t.bo + p * t.w, t.w);
								d = ted_fill(&t, cand, p, t.sc, t.so);
							}
							int64_t delta = pre_score - d;
							checked++;
							/* (delta, length, -start_h, -idx) compared as tuples */
							int better = !have_best || delta > bd ||
								     (delta == bd && ((long long)length > bl ||
										      ((long long)length == bl &&
										       ((long long)sh < bs ||
											((long long)sh == bs && idx < bi)))));
							if (better) {
								have_best = 1;
								bd = delta;
								bl = (long long)length;
								bs = (long long)sh;
								bi = idx;
								memcpy(best_w, cand, nh * sizeof(*cand));
							}
						}
					}
					if (!skip && checked >= MAX_SHIFT_CANDIDATES)
						goto searched;
					if (nh == sh + length || nr == sr + length)
						break;
				}
			}
		}
searched:
		if (checked >= MAX_SHIFT_CANDIDATES)
			break;
		if (!have_best || bd <= 0)
			break;
		shifts++;
		memcpy(cur, best_w, nh * sizeof(*cur));
	}
	*edits = shifts + pre_score;
	rc = 0;
done:
	free(cur);
	free(cand);
	free(best_w);
	free(hyp_err);
	free(ref_err);
	free(align);
	free(trace);
	free(t.bc);
	free(t.sc);
	free(t.bo);
	free(t.so);
	return rc;
}

struct idw {
	struct span s;
	size_t at; /* position in the joined word list */
};

static int cmp_idw(const void *x, const void *y)
{
	const struct idw *a = x, *b = y;
	return cmp_spans(&a->s, &b->s, 1);
}

/* metrics/ter.py TER._compute_segment_statistics with one reference:
 * [num_edits, ref_len / 1]. */
int lle_ter_stats(const char *hyp, const char *ref, double *s, struct lle_err *err)
{
	struct lle_buf th = LLE_BUF_INIT, tr = LLE_BUF_INIT;
	struct spans w = { 0 };
	struct idw *ix = NULL;
	int *ids = NULL;
	int rc = -1;
	if (ter_tokenize(&th, hyp) < 0 || ter_tokenize(&tr, ref) < 0 || split_ws(&w, buf_s(&th), th.n) < 0) {
		lle_err_oom(err);
		goto done;
	}
	size_t nh = w.n;
	if (split_ws(&w, buf_s(&tr), tr.n) < 0 || !(ix = malloc((w.n + 1) * sizeof(*ix))) ||
	    !(ids = malloc((w.n + 1) * sizeof(*ids)))) {
		lle_err_oom(err);
		goto done;
	}
	/* words as numbers: equal words, equal numbers */
	for (size_t i = 0; i < w.n; i++)
		ix[i] = (struct idw){ w.v[i], i };
	qsort(ix, w.n, sizeof(*ix), cmp_idw);
	int id = 0;
	for (size_t i = 0; i < w.n; i++) {
		if (i && cmp_idw(&ix[i - 1], &ix[i]) != 0)
			id++;
		ids[ix[i].at] = id;
	}
	int64_t edits = 0;
	if (ter_edits(ids, nh, ids + nh, w.n - nh, &edits, err) < 0)
		goto done;
	s[0] = (double)edits;
	s[1] = (double)(w.n - nh);
	rc = 0;
done:
	lle_buf_free(&th);
	lle_buf_free(&tr);
	free(w.v);
	free(ix);
	free(ids);
	return rc;
}

/* metrics/ter.py TER._compute_score_from_stats */
double lle_ter_score(const double *s)
{
	double total_edits = s[0], sum_ref_lengths = s[1], score;
	if (sum_ref_lengths > 0)
		score = total_edits / sum_ref_lengths;
	else if (total_edits > 0)
		score = 1.0;
	else
		score = 0.0;
	return 100 * score;
}
