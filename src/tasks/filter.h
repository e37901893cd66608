/* Response filters, as lm-evaluation-harness's filter_list: a task has
 * named chains (`strict-match`, `flexible-extract`, ...), each a list of
 * steps applied in order to the responses of one document (one string per
 * repeat). Every filter the harness registers (lm_eval/filters/, every module):
 *   regex               regex_pattern, group_select, fallback (+ llm-eval's
 *                       fallback_regex list)
 *   multi_choice_regex  regex, then the document's "choices", then ": X"
 *   take_first, take_first_k (k), majority_vote
 *   lowercase, uppercase, remove_whitespace (str.strip), map (mapping_dict,
 *   default_value), format_span, regex_pos
 *   strip               llm-eval's own (the same as remove_whitespace now)
 * and refusals naming `custom`, `decontaminate` and `!function` classes.
 * After take_first the harness holds one value, not a list; later steps
 * follow it exactly (a string is iterated by its characters).
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
/* Apply to one document's responses (a JSON array of strings, one per
 * repeat); doc is the document (multi_choice_regex reads its "choices";
 * may be NULL for chains without it). Returns a new array: the chain's
 * list, or after take_first [the one value] (a string, or what map or
 * regex_pos made of it). NULL on error: out of memory, or where the
 * harness itself would stop (take_first_k short of k, a step after
 * take_first on a non-string, ...), with a message saying so. */
json_t *lle_filter_apply(const struct lle_filter_chain *fc, const json_t *resps, const json_t *doc,
			 struct lle_err *err);
/* The string a chain's result gives the metrics: its one element when that
 * is a string; otherwise NULL and err says why (a list of several
 * responses, which the harness would pass to the metric whole, or a
 * number, list or None from map or regex_pos). chain names the filter. */
const char *lle_filter_prediction(const json_t *out, const char *chain, struct lle_err *err);

/* The regex step alone, for tests and callers: Python's re.findall, then
 * group_select and fallback as the harness does. Returns malloc()ed text. */
char *lle_regex_extract(const char *pattern, int group_select, const char *fallback,
			const char *text, struct lle_err *err);

/* Python filter steps (task_hooks.c): the step's hook and other keys
 * (kwargs), custom: `function: custom` with `filter_fn`. Apply: the
 * harness's Filter.apply([resps], [doc])[0] (resps: a list, or the bare
 * value take_first left). */
struct lle_hookref;
int lle_filter_py_step(const struct lle_node *f, struct lle_hookref **hook, json_t **kwargs, int *custom,
		       const char *where, struct lle_err *err);
json_t *lle_filter_py_apply(const struct lle_hookref *hook, const json_t *kwargs, int custom, const json_t *resps,
			    const json_t *doc, const char *where, struct lle_err *err);

#endif
