/* Reading one key of a GGUF file's metadata without llama.cpp, for checks the
 * planner makes before any model loads. Internal to src/run/. */
#ifndef LLE_RUN_GGUF_META_H
#define LLE_RUN_GGUF_META_H

/* Whether the GGUF file at path has the metadata key `key`: 1 yes, 0 no, -1
 * when the file cannot be read or is not a GGUF file (version 2 or 3) that
 * parses up to the end of its metadata. */
int lle_gguf_has_key(const char *path, const char *key);

/* What rendering a chat template needs of a GGUF file: its
 * tokenizer.chat_template (NULL: none) and the texts of its BOS and EOS
 * tokens (NULL: none). 0, or -1 when the file cannot be read as GGUF. */
struct lle_gguf_chat {
	char *chat_template, *bos_token, *eos_token;
};
int lle_gguf_chat_info(const char *path, struct lle_gguf_chat *out);
void lle_gguf_chat_free(struct lle_gguf_chat *c);

#endif
