/* Fuzz driver: GGUF metadata without llama.cpp (src/run/gguf_meta.c), which
 * the planner runs on every model file before loading it.
 *
 * Input: the file's bytes, written under the scratch directory and searched
 * for a key that is present in real models, one that never is, and an empty
 * one. The answer must be 1, 0 or -1; crashes, sanitizer reports, leaks and
 * hangs are findings. */
#include "fuzz.h"
#include "run/gguf_meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[4200];
	fuzz_path(path, sizeof(path), "model.gguf");
	fuzz_write(path, data, size);
	static const char *const keys[] = { "tokenizer.chat_template", "general.architecture", "no.such.key", "" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		int r = lle_gguf_has_key(path, keys[i]);
		if (r < -1 || r > 1)
			abort();
	}
	return 0;
}
