/* The closest known name to a mistyped one: see suggest.h. Pure string
 * work, no allocation. */
#include "util/suggest.h"

#include <string.h>

#define MAXLEN 63
#define FAR 1000 /* the distance of words too long to compare */

/* Optimal string alignment distance; words longer than MAXLEN are never close. */
static size_t distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	if (n > MAXLEN || m > MAXLEN)
		return FAR;
	size_t d[MAXLEN + 1][MAXLEN + 1];
	for (size_t i = 0; i <= n; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= n; i++)
		for (size_t j = 1; j <= m; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[n][m];
}

void lle_suggest_init(struct lle_suggest *s, const char *word)
{
	s->word = word;
	s->len = strlen(word);
	s->best = NULL;
	s->best_d = FAR;
	s->stem = NULL;
}

void lle_suggest_add(struct lle_suggest *s, const char *cand)
{
	if (!cand || !*cand)
		return;
	size_t d = distance(s->word, cand);
	if (d < s->best_d) {
		s->best_d = d;
		s->best = cand;
	}
	if (!s->stem && s->len >= 4) {
		size_t k = strlen(cand), common = 0;
		while (common < s->len && common < k && s->word[common] == cand[common])
			common++;
		if (common * 3 >= (s->len > k ? s->len : k) * 2)
			s->stem = cand;
	}
}

const char *lle_suggest_result(const struct lle_suggest *s)
{
	size_t bd = s->best_d;
	/* Close enough to be a typo: at most 2 edits, or a third of the word,
	 * and not a replacement of the whole word. */
	if (s->best && (bd <= 2 || bd * 3 <= s->len) && bd < s->len)
		return s->best;
	return s->stem;
}

const char *lle_suggest(const char *word, const char *const *known)
{
	struct lle_suggest s;
	lle_suggest_init(&s, word);
	for (size_t i = 0; known[i]; i++)
		lle_suggest_add(&s, known[i]);
	return lle_suggest_result(&s);
}
