/* Fuzz driver: templates (src/tasks/template.c), compile and render.
 *
 * Input: the template source, then optionally a NUL byte and a JSON object
 * to render it with (the document); without one, or when it is not a JSON
 * object, a fixed document with a string, a number, a list and a nested
 * object is used. The template is compiled and rendered twice: as a task
 * template and as a chat template (lle_tpl_compile_chat, with messages in
 * the document). A compile or render error is a normal outcome; only a
 * crash, a sanitizer report or a leak is a finding. */
#include <jansson.h>

#include "fuzz.h"
#include "tasks/template.h"

static const char default_doc[] =
	"{\"question\": \"What is 2+2?\", \"answer\": \"4\", \"n\": 3, \"x\": -1.5, \"ok\": true,"
	" \"choices\": [\"a\", \"b\", \"c\"], \"nested\": {\"k\": [1, 2, {\"z\": null}]}, \"empty\": \"\","
	" \"messages\": [{\"role\": \"system\", \"content\": \"S\"}, {\"role\": \"user\", \"content\": \"Q\"}],"
	" \"add_generation_prompt\": true, \"bos_token\": \"<s>\"}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *src;
	const uint8_t *rest;
	size_t nrest;
	fuzz_split(data, size, &src, &rest, &nrest);
	json_t *doc = nrest ? json_loadb((const char *)rest, nrest, 0, NULL) : NULL;
	if (!json_is_object(doc)) {
		json_decref(doc);
		doc = json_loads(default_doc, 0, NULL);
	}
	for (int chat = 0; chat < 2; chat++) {
		struct lle_err err = { 0 };
		struct lle_tpl *t = chat ? lle_tpl_compile_chat(src, "fuzz", &err) : lle_tpl_compile(src, "fuzz", &err);
		if (t) {
			size_t len = 0;
			char *out = lle_tpl_render(t, doc, "fuzz", &len, &err);
			if (out && strlen(out) > len)
				abort(); /* the length it reports covers the whole string */
			free(out);
			lle_tpl_free(t);
		}
	}
	json_decref(doc);
	free(src);
	return 0;
}
