/* "Did you mean ...?": the one routine that finds the known name closest to
 * a mistyped one, for every name a user types (commands, options, list
 * kinds, tasks, groups, tags, models, categories, backends, metrics,
 * filters, registry keys).
 *
 * Closeness is the optimal string alignment distance (Levenshtein with
 * adjacent transpositions): a candidate is suggested when it is at most 2
 * edits away or a third of the word's length, or when the word shares at
 * least two thirds of the longer one's length as a prefix ("category" for
 * "categories"). Not here: where the names come from, or printing. */
#ifndef LLE_UTIL_SUGGEST_H
#define LLE_UTIL_SUGGEST_H

#include <stddef.h>

/* Feed candidates one by one (no copies are made: each candidate must live
 * as long as the result is used), then ask for the best. */
struct lle_suggest {
	const char *word;
	size_t len;
	const char *best;   /* the first candidate of the smallest distance */
	size_t best_d;
	const char *stem;   /* the first candidate sharing a long enough prefix */
};

void lle_suggest_init(struct lle_suggest *s, const char *word);
void lle_suggest_add(struct lle_suggest *s, const char *candidate);
/* The suggestion, or NULL when no candidate is close enough. */
const char *lle_suggest_result(const struct lle_suggest *s);

/* The same over a NULL-terminated array. */
const char *lle_suggest(const char *word, const char *const *known);

#endif
