/* bench/hooks.sh's driver: N documents through three doc_to_* hooks of
 * bench/hooks_utils.py by the hook worker, as a task's per-document values
 * are asked for: one request per document (the three hooks together), or
 * one request per chunk of B documents (as a run prefetches a chunk's
 * values, lle_task_hooks_prefetch); or the worker's start (one request
 * answered). Prints seconds.
 *   hooks_driver docs N [B]      hooks_driver start
 * Not a test: timings only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hooks/hooks.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct lle_err err = { 0 };
	if (argc < 2)
		return 2;
	struct lle_hookref *h[3] = {
		lle_hookref_new("bench/x.yaml", "hooks_utils.doc_to_text", &err),
		lle_hookref_new("bench/x.yaml", "hooks_utils.doc_to_target", &err),
		lle_hookref_new("bench/x.yaml", "hooks_utils.doc_to_choice", &err),
	};
	if (!h[0] || !h[1] || !h[2])
		return 1;
	if (!strcmp(argv[1], "start")) {
		double t0 = now();
		if (lle_hooks_load(h[0], &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		printf("%.6f\n", now() - t0);
		lle_hooks_stop();
		return 0;
	}
	long n = argc > 2 ? atol(argv[2]) : 10000;
	if (lle_hooks_load(h[0], &err) < 0) { /* started and imported: not timed */
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	json_t **docs = calloc((size_t)n, sizeof(*docs));
	for (long i = 0; i < n; i++) {
		char q[100], c1[40], c4[40];
		snprintf(q, sizeof(q), "  What is item %ld of the list?  ", i);
		snprintf(c1, sizeof(c1), " alpha %ld", i);
		snprintf(c4, sizeof(c4), "delta %ld ", i * 7);
		char lab[8];
		snprintf(lab, sizeof(lab), "%ld", i % 4);
		docs[i] = json_pack("{s:s,s:s,s:[ssss],s:i}", "question", q, "label", lab, "choices", c1, "beta ",
				    " gamma", c4, "id", (json_int_t)i);
	}
	long b = argc > 3 ? atol(argv[3]) : 0;
	double t0 = now();
	for (long i = 0; b > 0 && i < n; i += b) {
		json_t *calls = json_array(), *dl = json_array();
		for (int k = 0; k < 3; k++)
			json_array_append_new(calls, json_pack("{s:s,s:s,s:s,s:s}", "module", h[k]->module, "name",
							       h[k]->name, "base", h[k]->base, "fn", h[k]->fn));
		for (long j = i; j < i + b && j < n; j++)
			json_array_append(dl, docs[j]);
		json_t *req = json_pack("{s:s,s:o,s:o}", "op", "each", "calls", calls, "docs", dl);
		json_t *v = lle_hooks_request(h[0], req, &err);
		json_decref(req);
		if (!v) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		json_decref(v);
	}
	for (long i = 0; b <= 0 && i < n; i++) {
		json_t *args = json_pack("[O]", docs[i]);
		json_t *v = lle_hooks_multi((const struct lle_hookref *const *)h, 3, args, &err);
		json_decref(args);
		if (!v) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		json_decref(v);
	}
	printf("%.6f\n", now() - t0);
	for (long i = 0; i < n; i++)
		json_decref(docs[i]);
	free(docs);
	lle_hooks_stop();
	for (int i = 0; i < 3; i++)
		lle_hookref_free(h[i]);
	return 0;
}
