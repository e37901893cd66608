/* monitor-json-check: reads newline-delimited JSON samples on stdin (the
 * output of `llm-eval monitor --json`) and checks each against the schema of
 * sample_schema.h. Prints "N samples" and exits 0 when all are valid, or names
 * the first bad line and why and exits 1. A test helper, not installed. */
#include <stdio.h>
#include <stdlib.h>

#include "sample_schema.h"

int main(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned n = 0;
	while ((len = getline(&line, &cap, stdin)) > 0) {
		n++;
		json_error_t jerr;
		json_t *o = json_loadb(line, (size_t)len, 0, &jerr);
		if (!o) {
			printf("line %u: not JSON: %s (column %d)\n", n, jerr.text, jerr.column);
			free(line);
			return 1;
		}
		char why[512];
		if (schema_check_sample(o, why, sizeof(why)) < 0) {
			printf("line %u: %s\n", n, why);
			json_decref(o);
			free(line);
			return 1;
		}
		json_decref(o);
	}
	free(line);
	printf("%u samples\n", n);
	return n ? 0 : 1;
}
