/* Chat templates the engine renders itself (chat.c), for backends that
 * tokenise what they are given (a model file with LLE_CAP_CHAT_TEMPLATE),
 * and for served models given a Jinja template: the model's template in
 * transformers' environment (lle_tpl_compile_chat), the harness's messages,
 * rendered as tokenizer.apply_chat_template(messages, tokenize=False,
 * add_generation_prompt=not gen_prefix, continue_final_message=gen_prefix)
 * would. Internal to src/run/. */
#ifndef LLE_RUN_CHAT_H
#define LLE_RUN_CHAT_H

#include "llm-eval/backend.h"
#include "tasks/task.h"
#include "util/err.h"

struct lle_chat;

/* Where a model's chat template and its special tokens come from. */
struct lle_chat_src {
	const char *spec;           /* the --apply-chat-template argument, else the registry's
				       chat_template (NULL: none): Jinja text (it has "{{" or
				       "{%"), a file ("*.jinja", or any path that names a file),
				       or a llama.cpp built-in name */
	int spec_from_cli;          /* spec is the command line's */
	const char *gguf;           /* the model file (NULL: none) */
	const char *tokenizer_config; /* a tokenizer_config.json (NULL: none) */
	const char *bos_token, *eos_token; /* given (registry, --model-args); NULL: not given */
};
/* Which template a model's prompts are rendered with: the spec's Jinja,
 * else the tokenizer config's chat_template (or the chat_template.jinja
 * beside it), else the GGUF's tokenizer.chat_template, the last two unless
 * the command line names a built-in: *out is set (1). bos_token and
 * eos_token: the ones given, else the tokenizer config's, else the GGUF
 * vocabulary's, else undefined. A built-in name and no Jinja: *out NULL,
 * the backend renders (0). Neither: 0 with *out NULL too (the caller
 * reports). -1: an error (a file that cannot be read, a template that does
 * not compile). who names the model. */
int lle_chat_open(const struct lle_chat_src *src, const char *who, struct lle_chat **out, struct lle_err *err);
void lle_chat_free(struct lle_chat *c);
/* Where the template came from, for messages ("the GGUF file's tokenizer.chat_template"). */
const char *lle_chat_origin(const struct lle_chat *c);
/* rq->messages rendered into rq->context (replacing it): with a final
 * assistant turn (gen_prefix) the text stops at its content, as
 * transformers' continue_final_message; otherwise the generation prompt is
 * added. Rolling log-likelihoods are left as they are. */
int lle_chat_apply(const struct lle_chat *c, struct lle_requests *rq, const char *who, struct lle_err *err);
/* The end-of-thinking marker a template's family uses ("</think>" when its
 * text has one), or NULL. */
const char *lle_chat_default_think_end(const struct lle_chat *c);
/* lm-evaluation-harness's postprocess_generated_text (lm_eval/models/
 * utils.py): the text after the last think_end (left-stripped; all of it
 * when the marker never comes, as the harness scores an unclosed thought),
 * then cut at the first of the stop strings. A new string; NULL: out of memory. */
char *lle_think_cut(const char *text, const char *think_end, const char *const *until, size_t nuntil);
/* For a backend that renders the chat itself from the conversation
 * (LLE_CAP_CHAT_MESSAGES, generation requests): the system instruction sys
 * (NULL: none) joins the system turn as the harness joins it with the
 * description (delim: the task's fewshot_delimiter), and rq->context
 * becomes Python's json.dumps(messages, ensure_ascii=False), which the
 * harness's API models send and log. Nothing without rq->messages. */
int lle_chat_to_backend(struct lle_requests *rq, const char *sys, const char *delim, struct lle_err *err);
/* The turns of messages as the backend ABI's array (pointers into
 * messages, which must outlive it); *n their count. NULL: out of memory. */
struct lle_message *lle_chat_message_array(const json_t *messages, size_t *n);
/* One rendering, for tests and benches: messages (a JSON array). */
char *lle_chat_render(const struct lle_chat *c, const json_t *messages, int add_generation_prompt,
		      const char *who, struct lle_err *err);

#endif
