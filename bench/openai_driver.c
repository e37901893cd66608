/* Driver of bench/openai.sh: loads the openai plugin with the project's
 * loader, opens a model on a running lle-testserver and submits N requests at
 * once with num_concurrent C, as the run engine does. Prints one line:
 *   requests wall_seconds client_cpu_seconds failed
 * client CPU is this process's user + system time during submit (getrusage).
 * usage: openai_driver PLUGIN.so BASE_URL CONCURRENCY N gen|ll */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "backend/loader.h"

static long failed;

static void cb(void *user, const struct lle_request *req, const struct lle_result *res)
{
	(void)user;
	(void)req;
	if (res->status != LLE_STATUS_OK) {
		if (failed++ == 0)
			fprintf(stderr, "openai_driver: %s\n", res->error);
	}
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static double wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: openai_driver PLUGIN.so BASE_URL CONCURRENCY N gen|ll\n");
		return 2;
	}
	struct lle_err err = { 0 };
	struct lle_plugin *pl = lle_plugin_open(argv[1], NULL, &err);
	if (!pl) {
		fprintf(stderr, "openai_driver: %s\n", err.msg);
		return 1;
	}
	char o1[512], o2[64];
	snprintf(o1, sizeof(o1), "base_url=%s", argv[2]);
	snprintf(o2, sizeof(o2), "num_concurrent=%s", argv[3]);
	const char *opts[] = { o1, o2 };
	struct lle_open_params p = { .size = sizeof(p), .model = "tiny", .options = opts, .n_options = 2 };
	struct lle_model *m = NULL;
	char e[1024];
	if (pl->be->open(&p, &m, e, sizeof(e)) < 0 || pl->be->wait_ready(m, e, sizeof(e)) < 0) {
		fprintf(stderr, "openai_driver: %s\n", e);
		return 1;
	}
	long n = atol(argv[4]);
	int ll = strcmp(argv[5], "ll") == 0;
	struct lle_request *reqs = calloc((size_t)n, sizeof(*reqs));
	char (*ctx)[96] = calloc((size_t)n, sizeof(*ctx));
	static const char *until[] = { "\n", "Question:" };
	for (long i = 0; i < n; i++) {
		snprintf(ctx[i], sizeof(ctx[i]), "Question: what is %ld plus %ld?\nAnswer:", i % 97, i % 89);
		reqs[i] = (struct lle_request){ .size = sizeof(reqs[i]), .id = (uint64_t)i, .context = ctx[i] };
		if (ll) {
			reqs[i].kind = LLE_REQ_LOGLIKELIHOOD;
			reqs[i].continuation = " 42";
		} else {
			reqs[i].kind = LLE_REQ_GENERATE_UNTIL;
			reqs[i].until = until;
			reqs[i].n_until = 2;
			reqs[i].max_tokens = 8;
		}
	}
	double c0 = cpu_s(), w0 = wall_s();
	if (pl->be->submit(m, reqs, (size_t)n, cb, NULL, e, sizeof(e)) < 0) {
		fprintf(stderr, "openai_driver: %s\n", e);
		return 1;
	}
	double w = wall_s() - w0, c = cpu_s() - c0;
	printf("%ld %.6f %.6f %ld\n", n, w, c, failed);
	pl->be->close(m);
	lle_plugin_close(pl);
	free(reqs);
	free(ctx);
	return failed ? 1 : 0;
}
