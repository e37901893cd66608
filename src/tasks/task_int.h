/* Helpers the task layer's files share (task.c, task_doc.c, task_prompt.c,
 * task_score.c); not for use outside src/tasks/. */
#ifndef LLE_TASKS_TASK_INT_H
#define LLE_TASKS_TASK_INT_H

#include <jansson.h>
#include <stddef.h>

struct lle_task;
struct lle_err;

/* "task 'x': doc N: column" into b (n bytes); returns b. */
const char *lle_task_who_doc(char *b, size_t n, const struct lle_task *t, size_t doc_id, const char *col);
/* Whether s is one or more ASCII digits and nothing else. */
int lle_task_digits_only(const char *s);
/* A few-shot example's text and target as the prompt shows them
 * (fewshot_config's doc_to_* when given). malloc()ed; NULL on error. */
char *lle_task_example_text(const struct lle_task *t, const json_t *doc, size_t doc_id, struct lle_err *err);
char *lle_task_example_target(const struct lle_task *t, const json_t *doc, size_t doc_id, struct lle_err *err);
/* doc_to_text's value (a string, or an integer: an index into the choices). */
json_t *lle_task_doc_text_value(const struct lle_task *t, const json_t *doc, size_t doc_id, struct lle_err *err);
/* gen_prefix rendered for a document (call only when t->has_gen_prefix). */
char *lle_task_doc_prefix(const struct lle_task *t, const json_t *doc, size_t doc_id, struct lle_err *err);

#endif
