/* DROP, as lm-evaluation-harness scores it (lm_eval/tasks/drop/utils.py,
 * task version 3.0), written natively for the built-in registry:
 *
 *   process_docs: drop_answers    the `answers` field: the document's
 *       `answer` then each of its `validated_answers`, each parsed as
 *       parse_answer does (the number as a one-item list, else the spans,
 *       else "day month year" stripped), duplicates dropped in order; and
 *       `id` = query_id
 *   process_results: drop         em and f1 of the filtered response
 *       against each gold answer (get_metrics), the maxima over the gold
 *       answers whose first item is not blank
 *
 * get_metrics normalises each span (_normalize: split at each " " and "-";
 * per piece: lower(), ASCII punctuation removed unless it is a number,
 * a number rewritten as str(float(x)), the articles a/an/the removed as
 * re.sub(r"\b(a|an|the)\b", " ") does, whitespace collapsed; blank pieces
 * dropped), makes a bag (set) of words of each, and aligns the predicted
 * bags with the gold ones (scipy's linear_sum_assignment on the F1 of each
 * pair whose numbers agree). The harness passes process_results the list
 * [response], so the prediction is always one span: the alignment picks
 * the gold bag with the highest F1, and f1 = round(mean(max_scores), 2)
 * is that F1 divided by the number of gold spans, rounded as numpy rounds
 * an np.float64 (rint(x * 100) / 100, which differs from Python's round on
 * ties such as 0.065). em is 1 when the gold answer has one span and its
 * normalised text equals the response's.
 *
 * Numbers are what Python's float() accepts: optional whitespace and sign,
 * digits with single underscores between them, an optional fraction and
 * exponent, or inf/infinity/nan in any case; any Unicode decimal digit
 * counts as its ASCII digit (lle_py_decimal: unicodedata.decimal, from the
 * table tools/gen-unicase.py generates into unicase_data.h).
 *
 * Not here: dispatching process_docs / process_results (task.c,
 * results_builtin.c). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "tasks/pystr.h"
#include "tasks/task.h"
#include "tasks/task_int.h"
#include "util/buf.h"

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int ascii_caseeq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if ((*a | 0x20) != (*b | 0x20))
			return 0;
	return *a == *b;
}

/* Python's float(text): 1 and *out when it parses, 0 when it raises
 * ValueError (Objects/floatobject.c PyFloat_FromString: decimal digits and
 * whitespace made ASCII, ASCII whitespace stripped, underscores checked
 * and removed, then the strict decimal / inf / nan grammar). */
static int py_float(const char *s, double *out)
{
	size_t n = strlen(s), l;
	char *a = malloc(n + 1), *b = malloc(n + 1);
	int ok = 0;
	if (!a || !b)
		goto done;
	size_t k = 0;
	for (size_t i = 0; i < n; i += l) {
		uint32_t cp = lle_py_decode(s + i, n - i, &l);
		int d = lle_py_decimal(cp);
		if (d >= 0)
			a[k++] = (char)('0' + d);
		else if (lle_py_isspace(cp))
			a[k++] = ' ';
		else if (cp < 128)
			a[k++] = (char)cp;
		else
			goto done; /* '?' in CPython: never valid */
	}
	a[k] = '\0';
	char *p = a, *e = a + k;
	while (p < e && strchr(" \t\n\r\v\f", *p))
		p++;
	while (e > p && strchr(" \t\n\r\v\f", e[-1]))
		e--;
	/* underscores only between digits (_Py_string_to_number_with_underscores) */
	char prev = '\0';
	size_t m = 0;
	for (char *q = p; q < e; q++) {
		if (*q == '_') {
			if (!is_digit(prev))
				goto done;
		} else {
			if (prev == '_' && !is_digit(*q))
				goto done;
			b[m++] = *q;
		}
		prev = *q;
	}
	if (prev == '_' || m == 0)
		goto done;
	b[m] = '\0';
	const char *q = b;
	if (*q == '+' || *q == '-')
		q++;
	if (ascii_caseeq(q, "inf") || ascii_caseeq(q, "infinity") || ascii_caseeq(q, "nan")) {
		ok = 1;
	} else {
		/* digits [. digits] | . digits, then [e [sign] digits] */
		size_t di = 0, df = 0;
		while (is_digit(*q)) {
			q++;
			di++;
		}
		if (*q == '.') {
			q++;
			while (is_digit(*q)) {
				q++;
				df++;
			}
		}
		ok = di + df > 0;
		if (ok && (*q == 'e' || *q == 'E')) {
			q++;
			if (*q == '+' || *q == '-')
				q++;
			size_t de = 0;
			while (is_digit(*q)) {
				q++;
				de++;
			}
			ok = de > 0;
		}
		ok = ok && *q == '\0';
	}
	if (ok)
		*out = strtod(b, NULL); /* correctly rounded, as Python's */
done:
	free(a);
	free(b);
	return ok;
}

static int is_number(const char *s)
{
	double d;
	return py_float(s, &d);
}

/* Appends " ".join(s.split()) (Python's whitespace). 0 or -1. */
static int white_space_fix(struct lle_buf *out, const char *s)
{
	json_t *w = lle_py_split(s, strlen(s), NULL);
	if (!w)
		return -1;
	for (size_t i = 0; i < json_array_size(w); i++) {
		if (i)
			lle_buf_addc(out, ' ');
		lle_buf_adds(out, json_string_value(json_array_get(w, i)));
	}
	json_decref(w);
	return 0;
}

/* One piece of _tokenize through _normalize's steps: a new string, or NULL
 * out of memory. */
static char *normalize_token(const char *tok, pcre2_code *articles, pcre2_match_data *md)
{
	struct lle_buf b = LLE_BUF_INIT;
	if (lle_py_lower(&b, tok, strlen(tok)) < 0)
		return NULL;
	char *t = lle_buf_detach(&b);
	if (!t)
		return NULL;
	/* _remove_punc: string.punctuation, unless a number */
	if (!is_number(t)) {
		size_t k = 0;
		for (size_t i = 0; t[i]; i++)
			if (!((unsigned char)t[i] < 128 && strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", t[i])))
				t[k++] = t[i];
		t[k] = '\0';
	}
	/* _fix_number: str(float(text)) */
	double d;
	if (py_float(t, &d)) {
		b = (struct lle_buf)LLE_BUF_INIT;
		lle_py_float_repr(&b, d);
		free(t);
		if (!(t = lle_buf_detach(&b)))
			return NULL;
	}
	/* _remove_articles: \b(a|an|the)\b -> " " (no empty matches) */
	b = (struct lle_buf)LLE_BUF_INIT;
	size_t len = strlen(t), at = 0;
	while (at <= len && pcre2_match(articles, (PCRE2_SPTR)t, len, at, 0, md, NULL) > 0) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		lle_buf_add(&b, t + at, ov[0] - at);
		lle_buf_addc(&b, ' ');
		at = ov[1];
	}
	lle_buf_add(&b, t + at, len - at);
	free(t);
	if (!(t = lle_buf_detach(&b)))
		return NULL;
	b = (struct lle_buf)LLE_BUF_INIT;
	int rc = white_space_fix(&b, t);
	free(t);
	if (rc < 0) {
		lle_buf_free(&b);
		return NULL;
	}
	return lle_buf_detach(&b);
}

/* _normalize(answer): a new string, or NULL out of memory. */
static char *drop_normalize(const char *ans, pcre2_code *articles, pcre2_match_data *md)
{
	struct lle_buf out = LLE_BUF_INIT;
	size_t n = strlen(ans);
	int first = 1;
	for (size_t i = 0; i <= n;) {
		size_t j = i;
		while (j < n && ans[j] != ' ' && ans[j] != '-') /* re.split(" |-", text) */
			j++;
		char *tok = malloc(j - i + 1);
		if (!tok)
			goto oom;
		memcpy(tok, ans + i, j - i);
		tok[j - i] = '\0';
		char *nt = normalize_token(tok, articles, md);
		free(tok);
		if (!nt)
			goto oom;
		struct lle_buf st = LLE_BUF_INIT;
		if (lle_py_strip(&st, nt, strlen(nt), NULL, LLE_STRIP_BOTH) < 0) {
			free(nt);
			goto oom;
		}
		int blank = st.n == 0;
		lle_buf_free(&st);
		if (!blank) {
			if (!first)
				lle_buf_addc(&out, ' ');
			lle_buf_adds(&out, nt);
			first = 0;
		}
		free(nt);
		i = j + 1;
	}
	char *s = lle_buf_detach(&out);
	if (!s)
		return NULL;
	struct lle_buf st = LLE_BUF_INIT;
	int rc = lle_py_strip(&st, s, strlen(s), NULL, LLE_STRIP_BOTH);
	free(s);
	if (rc < 0) {
		lle_buf_free(&st);
		return NULL;
	}
	return lle_buf_detach(&st);
oom:
	lle_buf_free(&out);
	return NULL;
}

/* set(normalized.split()) as a JSON array of distinct strings, or NULL */
static json_t *bag_of(const char *norm)
{
	json_t *w = lle_py_split(norm, strlen(norm), NULL), *bag = json_array();
	if (!w || !bag)
		goto fail;
	for (size_t i = 0; i < json_array_size(w); i++) {
		json_t *x = json_array_get(w, i);
		int seen = 0;
		for (size_t j = 0; j < json_array_size(bag) && !seen; j++)
			seen = json_equal(x, json_array_get(bag, j));
		if (!seen && json_array_append(bag, x) < 0)
			goto fail;
	}
	json_decref(w);
	return bag;
fail:
	json_decref(w);
	json_decref(bag);
	return NULL;
}

static int bag_has(const json_t *bag, const json_t *x)
{
	for (size_t i = 0; i < json_array_size(bag); i++)
		if (json_equal(json_array_get(bag, i), x))
			return 1;
	return 0;
}

/* _compute_f1(predicted_bag, gold_bag) */
static double bag_f1(const json_t *pred, const json_t *gold)
{
	size_t inter = 0;
	for (size_t i = 0; i < json_array_size(gold); i++)
		inter += (size_t)bag_has(pred, json_array_get(gold, i));
	double precision = json_array_size(pred) ? (double)inter / (double)json_array_size(pred) : 1.0;
	double recall = json_array_size(gold) ? (double)inter / (double)json_array_size(gold) : 1.0;
	return precision == 0.0 && recall == 0.0 ? 0.0 : (2 * precision * recall) / (precision + recall);
}

/* _match_numbers_if_present(gold_bag, predicted_bag) */
static int numbers_match(const json_t *gold, const json_t *pred)
{
	int gold_has = 0;
	for (size_t i = 0; i < json_array_size(gold); i++) {
		const json_t *g = json_array_get(gold, i);
		if (!is_number(json_string_value(g)))
			continue;
		gold_has = 1;
		if (bag_has(pred, g))
			return 1;
	}
	return !gold_has;
}

/* get_metrics([pred], gold spans): em and f1. 0, or -1 out of memory. */
static int get_metrics(const char *pred, const json_t *gold, pcre2_code *articles, pcre2_match_data *md,
		       double *em, double *f1)
{
	char *pn = drop_normalize(pred, articles, md);
	json_t *pbag = pn ? bag_of(pn) : NULL;
	int rc = -1;
	if (!pbag)
		goto out;
	size_t ng = json_array_size(gold);
	double best = 0.0;
	*em = 0.0;
	for (size_t i = 0; i < ng; i++) {
		char *gn = drop_normalize(json_string_value(json_array_get(gold, i)), articles, md);
		json_t *gbag = gn ? bag_of(gn) : NULL;
		if (!gbag) {
			free(gn);
			goto out;
		}
		if (ng == 1 && !strcmp(gn, pn))
			*em = 1.0;
		if (numbers_match(gbag, pbag)) {
			double s = bag_f1(pbag, gbag);
			if (s > best)
				best = s;
		}
		free(gn);
		json_decref(gbag);
	}
	/* round(np.mean(max_scores), 2) on an np.float64: numpy's around */
	double mean = ng ? best / (double)ng : NAN;
	*f1 = rint(mean * 100.0) / 100.0;
	rc = 0;
out:
	free(pn);
	if (pbag)
		json_decref(pbag);
	return rc;
}

int lle_drop_score(const char *pred, const json_t *answers, double *em, double *f1)
{
	int ec;
	PCRE2_SIZE off;
	pcre2_code *articles = pcre2_compile((PCRE2_SPTR) "\\b(a|an|the)\\b", PCRE2_ZERO_TERMINATED,
					     PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &ec, &off, NULL);
	pcre2_match_data *md = articles ? pcre2_match_data_create_from_pattern(articles, NULL) : NULL;
	int rc = -1;
	if (!md)
		goto out;
	*em = 0.0;
	*f1 = 0.0;
	for (size_t i = 0; i < json_array_size(answers); i++) {
		const json_t *g = json_array_get(answers, i);
		double e, f;
		if (get_metrics(pred, g, articles, md, &e, &f) < 0)
			goto out;
		struct lle_buf st = LLE_BUF_INIT;
		const json_t *g0 = json_array_get(g, 0);
		if (lle_py_strip(&st, json_string_value(g0), json_string_length(g0), NULL, LLE_STRIP_BOTH) < 0) {
			lle_buf_free(&st);
			goto out;
		}
		int blank = st.n == 0;
		lle_buf_free(&st);
		if (!blank) {
			*em = e > *em ? e : *em;
			*f1 = f > *f1 ? f : *f1;
		}
	}
	rc = 0;
out:
	pcre2_match_data_free(md);
	pcre2_code_free(articles);
	return rc;
}

/* ---------- process_docs: drop_answers ---------- */

static int str_field(const json_t *o, const char *k, const char **out)
{
	const json_t *v = json_object_get(o, k);
	*out = json_string_value(v);
	return *out ? 0 : -1;
}

/* parse_answer({number, date: {day, month, year}, spans}): a new list */
static json_t *parse_answer(const json_t *number, const json_t *date, const json_t *spans, int *bad)
{
	const char *num = json_string_value(number);
	*bad = 0;
	if (!num || !json_is_array(spans) || !json_is_object(date)) {
		*bad = 1;
		return NULL;
	}
	if (*num)
		return json_pack("[s]", num);
	if (json_array_size(spans) > 0) {
		for (size_t i = 0; i < json_array_size(spans); i++)
			if (!json_is_string(json_array_get(spans, i))) {
				*bad = 1;
				return NULL;
			}
		return json_deep_copy(spans);
	}
	const char *d, *m, *y;
	if (str_field(date, "day", &d) < 0 || str_field(date, "month", &m) < 0 || str_field(date, "year", &y) < 0) {
		*bad = 1;
		return NULL;
	}
	struct lle_buf b = LLE_BUF_INIT, st = LLE_BUF_INIT;
	lle_buf_adds(&b, d);
	lle_buf_addc(&b, ' ');
	lle_buf_adds(&b, m);
	lle_buf_addc(&b, ' ');
	lle_buf_adds(&b, y);
	char *s = lle_buf_detach(&b);
	if (!s || lle_py_strip(&st, s, strlen(s), NULL, LLE_STRIP_BOTH) < 0) {
		free(s);
		lle_buf_free(&st);
		return NULL;
	}
	free(s);
	char *t = lle_buf_detach(&st);
	json_t *r = t ? json_pack("[s]", t) : NULL;
	free(t);
	return r;
}

static int add_answer(json_t *answers, json_t *a)
{
	for (size_t i = 0; i < json_array_size(answers); i++)
		if (json_equal(json_array_get(answers, i), a)) {
			json_decref(a);
			return 0;
		}
	return json_array_append_new(answers, a);
}

int lle_task_drop_doc(const struct lle_task *t, json_t *doc, size_t doc_id, struct lle_err *err)
{
	char who[300];
	lle_task_who_doc(who, sizeof(who), t, doc_id, "process_docs");
	const json_t *ans = json_object_get(doc, "answer"), *va = json_object_get(doc, "validated_answers");
	if (!json_is_object(ans) || !json_is_object(va))
		return lle_err_set(err, LLE_EXIT_DATA, "%s: 'answer' and 'validated_answers' must be objects", who);
	json_t *answers = json_array();
	if (!answers)
		return lle_err_oom(err);
	int bad;
	json_t *a = parse_answer(json_object_get(ans, "number"), json_object_get(ans, "date"),
				 json_object_get(ans, "spans"), &bad);
	if (!a)
		goto fail;
	if (add_answer(answers, a) < 0)
		goto oom;
	/* _flatten_validated_answers: one answer per index of its "number" list */
	const json_t *nums = json_object_get(va, "number"), *dates = json_object_get(va, "date"),
		     *spans = json_object_get(va, "spans");
	if (!json_is_array(nums) || !json_is_array(dates) || !json_is_array(spans)) {
		bad = 1;
		goto fail;
	}
	for (size_t i = 0; i < json_array_size(nums); i++) {
		if (i >= json_array_size(dates) || i >= json_array_size(spans)) {
			bad = 1;
			goto fail;
		}
		if (!(a = parse_answer(json_array_get(nums, i), json_array_get(dates, i), json_array_get(spans, i),
				       &bad)))
			goto fail;
		if (add_answer(answers, a) < 0)
			goto oom;
	}
	const json_t *qid = json_object_get(doc, "query_id");
	if (json_object_set_new(doc, "answers", answers) < 0 ||
	    (qid && json_object_set(doc, "id", (json_t *)qid) < 0))
		return lle_err_oom(err);
	return 0;
fail:
	json_decref(answers);
	if (bad)
		return lle_err_set(err, LLE_EXIT_DATA, "%s: an answer is not {number: str, date: {day, month, "
				   "year}, spans: [str]}", who);
	return lle_err_oom(err);
oom:
	json_decref(answers);
	return lle_err_oom(err);
}
