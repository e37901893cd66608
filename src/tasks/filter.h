/* Response filters, as lm-evaluation-harness's filter_list: a task has
 * named chains (`strict-match`, `flexible-extract`, ...), each a list of
 * steps applied in order to the responses of one document (one string per
 * repeat):
 *   regex              regex_pattern (PCRE2, Python `re` semantics for the
 *                      patterns tasks use), group_select (index into all
 *                      matches, negative from the end), fallback
 *                      ("[invalid]"), fallback_regex (list, tried in order
 *                      when the pattern finds nothing)
 *   take_first         keep only the first response
 *   lowercase, uppercase
 *   remove_whitespace  strip leading whitespace (str.lstrip)
 *   strip              strip both ends (llm-eval; not in the harness)
 * Without a filter_list a task has one chain, `none` = [take_first].
 * Nothing here scores. */
#ifndef LLE_TASKS_FILTER_H
#define LLE_TASKS_FILTER_H

#include <jansson.h>

#include "data/yaml.h"
#include "util/err.h"

struct lle_filter_chain;

/* From one filter_list entry `{name: ..., filter: [{function: ...}, ...]}`.
 * Errors name `who` (the task), the file:line:col of the bad key, the
 * function and, for a bad regex, PCRE2's message and offset. */
struct lle_filter_chain *lle_filter_chain_from_node(const struct lle_node *entry, const char *who,
						    struct lle_err *err);
/* The default chain `none`: take_first. */
struct lle_filter_chain *lle_filter_chain_none(struct lle_err *err);
void lle_filter_chain_free(struct lle_filter_chain *fc);
const char *lle_filter_chain_name(const struct lle_filter_chain *fc);
/* Apply to one document's responses (a JSON array of strings). Returns a new
 * array of strings (one element after take_first), NULL on error. */
json_t *lle_filter_apply(const struct lle_filter_chain *fc, const json_t *resps, struct lle_err *err);

/* The regex step alone, for tests and callers: Python's re.findall, then
 * group_select and fallback as the harness does. Returns malloc()ed text. */
char *lle_regex_extract(const char *pattern, int group_select, const char *fallback,
			const char *text, struct lle_err *err);

#endif
