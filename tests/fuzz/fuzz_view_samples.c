/* Fuzz driver: the viewer's index and pages of samples files
 * (src/store/view_samples.c: the top-level key scanner with its fast tail
 * path, paging, correct/incorrect, filter chains, text search, whole lines).
 *
 * Input: one byte of options (bit 0: result correct, bit 1: incorrect, bit 2:
 * the first filter chain found, bit 3: search for the text after the first
 * newline's next 4 bytes; the high nibble: the page offset), then the samples
 * file's text (JSON lines), written under the scratch directory. Errors are
 * normal outcomes; crashes, sanitizer reports and leaks are findings. */
#include "fuzz.h"
#include "store/view_samples.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned opt = data[0];
	char path[4200];
	fuzz_path(path, sizeof(path), "samples_fuzz_2024-01-01T00-00-00.jsonl");
	fuzz_write(path, data + 1, size - 1);
	struct lle_view_files *vf = lle_view_files_new(); /* a fresh index: the file is new */
	if (!vf)
		return 0;
	struct lle_err err = { 0 };
	struct lle_view_query q = { NULL, NULL, -1, NULL, -1, opt >> 4, 7 };
	q.result = opt & 1 ? 1 : opt & 2 ? 0 : -1;
	char text[5] = { 0 };
	const uint8_t *nl = memchr(data + 1, '\n', size - 1);
	if ((opt & 8) && nl && (size_t)(data + size - nl) > 5) {
		memcpy(text, nl + 1, 4);
		q.text = text; /* may hold a NUL: then shorter */
	}
	json_t *page = NULL;
	if (lle_view_samples_page(vf, path, &q, &page, &err) == 0) {
		json_t *filters = json_object_get(page, "filters");
		if ((opt & 4) && json_array_size(filters)) {
			q.filter = json_string_value(json_array_get(filters, 0));
			json_t *again = NULL;
			if (lle_view_samples_page(vf, path, &q, &again, &err) == 0)
				json_decref(again);
		}
		size_t total = (size_t)json_integer_value(json_object_get(page, "total"));
		for (size_t i = 0; i < total && i < 8; i++) {
			json_t *line = NULL;
			if (lle_view_samples_line(vf, path, i, &line, &err) == 0)
				json_decref(line);
		}
		free(json_dumps(page, JSON_COMPACT));
	}
	json_decref(page);
	lle_view_files_free(vf);
	return 0;
}
