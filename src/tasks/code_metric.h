/* The code_exec metric of a task config: its options, and the program each
 * completion becomes.
 *
 *   metric_list:
 *     - metric: code_exec
 *       aggregation: mean           # the only one that fits (default)
 *       higher_is_better: true      # default
 *       k: [1, 10]                  # an integer or a list; each at most `repeats`
 *       interpreter: python3        # default python3; looked up in the sandbox's PATH
 *       program: "{{prompt}}{{completion}}\n{{test}}\ncheck({{entry_point}})"
 *       timeout_s: 10               # wall clock per program (default 10)
 *       memory_mb: 1024             # address space per process (default 1024)
 *
 * One entry becomes one metric per k, named `pass@K` (lm-evaluation-harness's
 * names for HumanEval: `pass@1,create_test`), kind LLE_M_PASS_AT_K, all
 * sharing one struct lle_code_cfg. A document's item for pass@k is the
 * unbiased estimate from its n completions (n = repeats) of which c passed
 * (passk.h); the task's value is the mean over documents with its standard
 * error. Only generate_until tasks can have it.
 *
 * `program` is a template like doc_to_text, rendered over the document's
 * fields plus `completion` (the model's text after the filter chain). With
 * an interpreter whose name starts with "python" the program runs under
 * code_exec's runner, which prints a marker with a per-program secret only
 * when the program ran to its end (code_exec.h), so a program that exits
 * early with status 0 does not pass.
 *
 * Not here: running programs (code_exec.h, the run's code glue) or the
 * estimator (passk.h). */
#ifndef LLE_TASKS_CODE_METRIC_H
#define LLE_TASKS_CODE_METRIC_H

#include <jansson.h>
#include <stddef.h>

#include "data/yaml.h"
#include "tasks/metrics.h"
#include "util/err.h"

struct lle_tpl;

struct lle_code_cfg {
	unsigned refs;
	char *interpreter;        /* "python3" unless told */
	struct lle_tpl *program;
	double timeout_s;
	unsigned memory_mb;
	int raw;                  /* not Python: no runner, no marker */
};

void lle_code_cfg_unref(struct lle_code_cfg *c);

/* Whether a metric_list entry is `metric: code_exec`. */
int lle_code_metric_is(const struct lle_node *entry);
/* How many metrics the entry becomes: its number of ks for code_exec (at
 * least 1), 1 for every other entry. */
size_t lle_code_metric_count(const struct lle_node *entry);
/* Parse a code_exec entry into out[0..*nout) (room for
 * lle_code_metric_count(entry)). repeats: the task's, for checking k.
 * Errors name `who` and file:line:col (LLE_EXIT_CONFIG). */
int lle_code_metric_from_node(struct lle_metric *out, size_t *nout, const struct lle_node *entry,
			      enum lle_output_type ot, long repeats, const char *who,
			      struct lle_err *err);

/* The program of one completion: the template over doc's fields plus
 * `completion`. malloc()ed; NULL with err set (who prefixes it). */
char *lle_code_program(const struct lle_code_cfg *c, const json_t *doc, const char *completion,
		       const char *who, struct lle_err *err);

#endif
