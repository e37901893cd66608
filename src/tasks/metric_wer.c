/* Word error rate as jiwer's defaults compute it: see metric_wer.h. */
#include "tasks/metric_wer.h"

#include <stdlib.h>
#include <string.h>

#include "tasks/pystr.h"
#include "util/buf.h"

/* The words of s after jiwer's wer_default transform: a malloc()ed copy
 * of the text, cut in place, and the word starts in *words (malloc()ed);
 * the count, or -1 when out of memory. */
static long words_of(const char *s, char **text, char ***words)
{
	size_t n = strlen(s), i = 0, l;
	struct lle_buf b = LLE_BUF_INIT;
	*text = NULL;
	*words = NULL;
	/* re.sub(r"\s\s+", " ", s): a run of two or more whitespace
	 * characters becomes one space, a lone one stays as it is */
	while (i < n) {
		uint32_t cp = lle_py_decode(s + i, n - i, &l);
		if (!lle_py_isspace(cp)) {
			lle_buf_add(&b, s + i, l);
			i += l;
			continue;
		}
		size_t j = i + l, runs = 1;
		while (j < n) {
			size_t l2;
			uint32_t c2 = lle_py_decode(s + j, n - j, &l2);
			if (!lle_py_isspace(c2))
				break;
			j += l2;
			runs++;
		}
		if (runs >= 2)
			lle_buf_addc(&b, ' ');
		else
			lle_buf_add(&b, s + i, l);
		i = j;
	}
	if (b.oom) {
		lle_buf_free(&b);
		return -1;
	}
	char *t = lle_buf_detach(&b);
	if (!t)
		t = calloc(1, 1);
	if (!t)
		return -1;
	/* s.strip(): Python whitespace off both ends */
	size_t len = strlen(t), start = 0, end = len;
	while (start < end) {
		uint32_t cp = lle_py_decode(t + start, end - start, &l);
		if (!lle_py_isspace(cp))
			break;
		start += l;
	}
	while (end > start) {
		size_t k = end - 1;
		while (k > start && ((unsigned char)t[k] & 0xC0) == 0x80)
			k--;
		uint32_t cp = lle_py_decode(t + k, end - k, &l);
		if (!lle_py_isspace(cp))
			break;
		end = k;
	}
	t[end] = '\0';
	/* s.split(" "), empty words dropped */
	char **w = malloc((end - start + 1) * sizeof(*w));
	if (!w) {
		free(t);
		return -1;
	}
	long nw = 0;
	char *p = t + start;
	while (*p) {
		char *sp = strchr(p, ' ');
		if (sp)
			*sp = '\0';
		if (*p)
			w[nw++] = p;
		if (!sp)
			break;
		p = sp + 1;
	}
	*text = t;
	*words = w;
	return nw;
}

int lle_wer(const char *pred, const char *ref, double *out, struct lle_err *err)
{
	char *rt, *ht, **rw, **hw;
	long nr = words_of(ref, &rt, &rw);
	if (nr < 0)
		return lle_err_oom(err);
	long nh = words_of(pred, &ht, &hw);
	if (nh < 0) {
		free(rt);
		free(rw);
		return lle_err_oom(err);
	}
	int rc = 0;
	if (nr == 0) {
		rc = lle_err_set(err, LLE_EXIT_DATA, "metric 'wer': the target has no words (jiwer raises "
				 "\"the ground truth cannot be empty\")");
		goto done;
	}
	/* Levenshtein distance of the word lists, one row at a time */
	size_t *row = malloc((size_t)(nh + 1) * sizeof(*row));
	if (!row) {
		rc = lle_err_oom(err);
		goto done;
	}
	for (long j = 0; j <= nh; j++)
		row[j] = (size_t)j;
	for (long i = 1; i <= nr; i++) {
		size_t diag = row[0];
		row[0] = (size_t)i;
		for (long j = 1; j <= nh; j++) {
			size_t up = row[j];
			size_t best = diag + (strcmp(rw[i - 1], hw[j - 1]) != 0);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	*out = (double)row[nh] / (double)nr;
	free(row);
done:
	free(rt);
	free(rw);
	free(ht);
	free(hw);
	return rc;
}
