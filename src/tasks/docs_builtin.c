/* Built-in process_docs transforms that reproduce a harness task's Python
 * process_docs, for the built-in registry (the simple column transforms,
 * choices_from_columns and parse_ints, are in task.c):
 *
 *   gpqa_shuffle   lm_eval/tasks/gpqa/zeroshot/utils.py (and the n_shot,
 *                  cot variants' identical process_docs): the four answers
 *                  preprocessed (None -> " ", strip, " [title]" -> ". ",
 *                  "  " -> " "), put in the order [Incorrect Answer 1, 2, 3,
 *                  Correct Answer], shuffled with Python's global `random`,
 *                  and written to choice1..choice4 with answer "(A)".."(D)"
 *                  (the first choice equal to the preprocessed correct one).
 *
 * The harness seeds the global generator with random.seed(0) in
 * simple_evaluate (lm_eval/evaluator.py, random_seed=0) before it builds the
 * tasks, and dataset.map runs the function over the split in order, one
 * shuffle per document. The draws do not depend on a document's text, so
 * document i gets the (i+1)-th shuffle of that sequence whatever else is
 * evaluated; it is recomputed from the seed per document (quadratic in the
 * split's length: a few hundred thousand draws for GPQA's 546 documents).
 * The harness calls process_docs again for its few-shot and evaluation
 * documents; Hugging Face datasets' map cache hands the second call the
 * first call's output, which is this sequence. Run beside other tasks whose
 * process_docs draw from the global generator, the harness's sequence
 * depends on the order it builds them; here each task starts from the seed.
 *
 * Not here: the transforms' dispatch (task.c, lle_task_process_doc). */
#include <stdlib.h>
#include <string.h>

#include "tasks/pyrand.h"
#include "tasks/pystr.h"
#include "tasks/task.h"
#include "tasks/task_int.h"
#include "util/buf.h"

/* gpqa/zeroshot/utils.py preprocess: a new string, or NULL (out of memory) */
static char *gpqa_preprocess(const json_t *v)
{
	if (json_is_null(v))
		return lle_strdup(" ");
	const char *s = json_string_value(v);
	struct lle_buf a = LLE_BUF_INIT, b = LLE_BUF_INIT;
	int rc = lle_py_strip(&a, s, json_string_length(v), NULL, LLE_STRIP_BOTH);
	char *sa = rc < 0 ? NULL : lle_buf_detach(&a);
	if (!sa)
		return NULL;
	rc = lle_py_replace(&b, sa, strlen(sa), " [title]", ". ");
	free(sa);
	char *sb = rc < 0 ? NULL : lle_buf_detach(&b);
	if (!sb)
		return NULL;
	a = (struct lle_buf)LLE_BUF_INIT;
	rc = lle_py_replace(&a, sb, strlen(sb), "  ", " ");
	free(sb);
	return rc < 0 ? NULL : lle_buf_detach(&a);
}

int lle_task_gpqa_doc(const struct lle_task *t, json_t *doc, size_t doc_id, struct lle_err *err)
{
	static const char *const cols[4] = { "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3",
					     "Correct Answer" };
	char who[300];
	char *ch[4] = { NULL, NULL, NULL, NULL };
	int rc = -1;
	for (int i = 0; i < 4; i++) {
		const json_t *v = json_object_get(doc, cols[i]);
		if (!v || (!json_is_string(v) && !json_is_null(v))) {
			lle_err_set(err, LLE_EXIT_DATA, "%s: %s field '%s'",
				    lle_task_who_doc(who, sizeof(who), t, doc_id, "process_docs"),
				    v ? "not a string:" : "missing", cols[i]);
			goto out;
		}
		if (!(ch[i] = gpqa_preprocess(v))) {
			lle_err_oom(err);
			goto out;
		}
	}
	/* the document's shuffle: the (doc_id+1)-th after random.seed(0) */
	struct lle_pyrand r;
	size_t x[4];
	lle_pyrand_seed(&r, 0);
	for (size_t d = 0; d <= doc_id; d++) {
		for (size_t i = 0; i < 4; i++)
			x[i] = i;
		lle_pyrand_shuffle(&r, x, 4);
	}
	int gold = -1;
	for (int i = 0; i < 4 && gold < 0; i++)
		if (!strcmp(ch[x[i]], ch[3]))
			gold = i;
	char key[8], ans[4] = { '(', (char)('A' + gold), ')', '\0' };
	for (int i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "choice%d", i + 1);
		if (json_object_set_new(doc, key, json_string(ch[x[i]])) < 0) {
			lle_err_oom(err);
			goto out;
		}
	}
	if (json_object_set_new(doc, "answer", json_string(ans)) < 0) {
		lle_err_oom(err);
		goto out;
	}
	rc = 0;
out:
	for (int i = 0; i < 4; i++)
		free(ch[i]);
	return rc;
}
