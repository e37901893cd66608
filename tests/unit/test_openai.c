/* The openai backend plugin (plugins/openai/), loaded as llm-eval loads it,
 * against lle-testserver --no-inference: its answers are fixed (" 42", one
 * token per byte, every prompt token at log-probability -1), so the client's
 * own logic is checked exactly: options and their errors, the
 * context/continuation split (trailing whitespace goes with the
 * continuation), empty contexts, rolling windows of max_length, stop strings,
 * a dead replica in the list, and retries through injected faults. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/loader.h"
#include "check.h"

#ifndef OA_PLUGIN
#define OA_PLUGIN "build/lib/openai.so"
#endif
#ifndef OA_SERVER
#define OA_SERVER "build/tools/lle-testserver"
#endif

static struct lle_plugin *pl;
static pid_t servers[8];
static int nservers;

/* Start the server with extra arguments; its base URL in url. */
static int server(char *url, size_t len, const char *a1, const char *a2, const char *a3, const char *a4)
{
	int fd[2];
	if (pipe(fd) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		execl(OA_SERVER, OA_SERVER, "--no-inference", a1, a2, a3, a4, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	servers[nservers++] = pid;
	char line[64] = "";
	ssize_t n = read(fd[0], line, sizeof(line) - 1);
	close(fd[0]);
	if (n <= 0)
		return -1;
	line[n] = '\0';
	snprintf(url, len, "http://127.0.0.1:%d/v1", atoi(line + 5));
	return 0;
}

static struct lle_model *open_with(const char **opts, size_t n, char *err, size_t len)
{
	struct lle_open_params p = { .size = sizeof(p), .model = "tiny", .options = opts, .n_options = n };
	struct lle_model *m = NULL;
	if (pl->be->open(&p, &m, err, len) < 0)
		return NULL;
	return m;
}

struct got {
	int n, status[16];
	double lp[16];
	int greedy[16], ntok[16];
	char text[16][200];
};

static void cb(void *user, const struct lle_request *req, const struct lle_result *res)
{
	struct got *g = user;
	size_t i = req->id;
	g->n++;
	g->status[i] = (int)res->status;
	g->lp[i] = res->logprob;
	g->greedy[i] = res->is_greedy;
	g->ntok[i] = res->n_tokens;
	snprintf(g->text[i], sizeof(g->text[i]), "%.*s", res->status ? 190 : (int)res->text_len,
		 res->status ? res->error : res->text ? res->text : "");
}

TEST(options)
{
	char err[512];
	const char *o1[] = { "base_url=http://127.0.0.1:1/v1", "num_concurent=4" };
	CHECK(!open_with(o1, 2, err, sizeof(err)));
	CHECK(strstr(err, "unknown option 'num_concurent'"));
	const char *o2[] = { "base_url=http://127.0.0.1:1/v1", "max_retries=sk-secret" };
	CHECK(!open_with(o2, 2, err, sizeof(err)));
	CHECK(strstr(err, "option 'max_retries' has a bad value") && !strstr(err, "sk-secret"));
	const char *o3[] = { "num_concurrent=4" };
	CHECK(!open_with(o3, 1, err, sizeof(err)));
	CHECK(strstr(err, "has no base_url"));
	const char *o4[] = { "base_url=127.0.0.1:8000" };
	CHECK(!open_with(o4, 1, err, sizeof(err)));
	CHECK(strstr(err, "not an http:// or https:// URL"));
	unsetenv("LLE_UNIT_NO_KEY");
	const char *o5[] = { "base_url=http://127.0.0.1:1", "api_key_env=LLE_UNIT_NO_KEY" };
	CHECK(!open_with(o5, 2, err, sizeof(err)));
	CHECK(strstr(err, "'LLE_UNIT_NO_KEY', which is not set"));
	const char *o6[] = { "base_url=http://127.0.0.1:1", "headers=no colon here" };
	CHECK(!open_with(o6, 2, err, sizeof(err)));
	CHECK(strstr(err, "option 'headers' has a bad value"));
	const char *o7[] = { "base_url=http://127.0.0.1:1/v1", "max_retries=0", "backoff=0" };
	struct lle_model *m = open_with(o7, 3, err, sizeof(err));
	CHECK(m != NULL);
	if (m) {
		CHECK(pl->be->wait_ready(m, err, sizeof(err)) < 0);
		CHECK(strstr(err, "server 'http://127.0.0.1:1' does not answer"));
		pl->be->close(m);
	}
}

static char url1[128], url_faulty[128];

TEST(requests)
{
	char err[512], bu[300];
	snprintf(bu, sizeof(bu), "base_url=http://127.0.0.1:1/v1,%s", url1); /* the first is dead */
	const char *o[] = { bu, "max_length=4", "backoff=0.01", "max_retries=2" };
	struct lle_model *m = open_with(o, 4, err, sizeof(err));
	CHECK(m != NULL);
	if (!m)
		return;
	CHECK(pl->be->wait_ready(m, err, sizeof(err)) == 0);
	const char *until[] = { "2" };
	struct lle_request r[6] = {
		{ .size = sizeof(r[0]), .kind = LLE_REQ_LOGLIKELIHOOD, .id = 0, .context = "Answer: ", .continuation = "42" },
		{ .size = sizeof(r[0]), .kind = LLE_REQ_LOGLIKELIHOOD, .id = 1, .context = "Answer:", .continuation = " 42" },
		{ .size = sizeof(r[0]), .kind = LLE_REQ_LOGLIKELIHOOD, .id = 2, .context = "", .continuation = "abc" },
		{ .size = sizeof(r[0]), .kind = LLE_REQ_LOGLIKELIHOOD_ROLLING, .id = 3, .context = "0123456789" },
		{ .size = sizeof(r[0]), .kind = LLE_REQ_GENERATE_UNTIL, .id = 4, .context = "Q", .max_tokens = 4 },
		{ .size = sizeof(r[0]), .kind = LLE_REQ_GENERATE_UNTIL, .id = 5, .context = "Q", .until = until, .n_until = 1 },
	};
	struct got g = { 0 };
	CHECK(pl->be->submit(m, r, 6, cb, &g, err, sizeof(err)) == 0);
	CHECK_INTEQ(g.n, 6);
	for (int i = 0; i < 6; i++)
		CHECK_INTEQ(g.status[i], LLE_STATUS_OK);
	/* "Answer: " + "42": the space goes with the continuation, 3 tokens;
	 * but the whole is cut to max_length + 1 = 5 tokens, so 3 scored */
	CHECK_NEAR(g.lp[0], -3.0, 1e-12);
	CHECK_INTEQ(g.ntok[0], 3);
	CHECK(g.greedy[0]);
	CHECK_NEAR(g.lp[1], -3.0, 1e-12);
	CHECK_NEAR(g.lp[2], -3.0, 1e-12); /* BOS, then a b c */
	CHECK_NEAR(g.lp[3], -10.0, 1e-12); /* windows of 4: 4 + 4 + 2 tokens */
	CHECK_INTEQ(g.ntok[3], 10);
	CHECK_STREQ(g.text[4], " 42");
	CHECK_STREQ(g.text[5], " 4"); /* cut at the stop string */
	CHECK_INTEQ(pl->be->count_tokens(m, "hello", err, sizeof(err)), 5);
	pl->be->close(m);
}

/* Issue 13 item 9: a continuation that tokenises to nothing is refused with
 * a message, not scored as log-probability 0 (lm-evaluation-harness asserts
 * a continuation of at least one token); an empty context with an empty
 * continuation too. Requests beside them still succeed. */
TEST(empty_continuation)
{
	char err[512], bu[300];
	snprintf(bu, sizeof(bu), "base_url=%s", url1);
	const char *o[] = { bu, "backoff=0.01", "max_retries=1" };
	struct lle_model *m = open_with(o, 3, err, sizeof(err));
	CHECK(m != NULL);
	if (!m)
		return;
	struct lle_request r[4] = {
		{ .size = sizeof(r[0]), .kind = LLE_REQ_LOGLIKELIHOOD, .id = 0, .context = "Answer:", .continuation = "" },
		{ .size = sizeof(r[0]), .kind = LLE_REQ_LOGLIKELIHOOD, .id = 1, .context = "", .continuation = "" },
		{ .size = sizeof(r[0]), .kind = LLE_REQ_LOGLIKELIHOOD, .id = 2, .context = "Answer: ", .continuation = "" },
		{ .size = sizeof(r[0]), .kind = LLE_REQ_LOGLIKELIHOOD, .id = 3, .context = "Answer:", .continuation = " 4" },
	};
	struct got g = { 0 };
	CHECK(pl->be->submit(m, r, 4, cb, &g, err, sizeof(err)) == 0);
	CHECK_INTEQ(g.n, 4);
	CHECK_INTEQ(g.status[0], LLE_STATUS_ERROR);
	CHECK(strstr(g.text[0], "the continuation has no tokens") != NULL);
	CHECK_INTEQ(g.status[1], LLE_STATUS_ERROR);
	CHECK(strstr(g.text[1], "the continuation has no tokens") != NULL);
	/* the context's trailing space goes with the continuation: one token */
	CHECK_INTEQ(g.status[2], LLE_STATUS_OK);
	CHECK_NEAR(g.lp[2], -1.0, 1e-12);
	CHECK_INTEQ(g.status[3], LLE_STATUS_OK);
	CHECK_NEAR(g.lp[3], -2.0, 1e-12);
	pl->be->close(m);
}

TEST(faults)
{
	char err[512], bu[300];
	snprintf(bu, sizeof(bu), "base_url=%s", url_faulty);
	const char *o[] = { bu, "backoff=0.005", "max_retries=10", "num_concurrent=16" };
	struct lle_model *m = open_with(o, 4, err, sizeof(err));
	CHECK(m != NULL);
	if (!m)
		return;
	CHECK(pl->be->wait_ready(m, err, sizeof(err)) == 0);
	for (int round = 0; round < 10; round++) {
		struct lle_request r[16];
		char ctx[16][32];
		for (int i = 0; i < 16; i++) {
			snprintf(ctx[i], sizeof(ctx[i]), "doc %d:", round * 16 + i);
			r[i] = (struct lle_request){ .size = sizeof(r[0]), .id = (uint64_t)i, .context = ctx[i] };
			r[i].kind = i % 2 ? LLE_REQ_GENERATE_UNTIL : LLE_REQ_LOGLIKELIHOOD;
			r[i].continuation = " yes";
		}
		struct got g = { 0 };
		CHECK(pl->be->submit(m, r, 16, cb, &g, err, sizeof(err)) == 0);
		CHECK_INTEQ(g.n, 16);
		for (int i = 0; i < 16; i++) {
			CHECK_INTEQ(g.status[i], LLE_STATUS_OK);
			if (i % 2)
				CHECK_STREQ(g.text[i], " 42");
			else
				CHECK_NEAR(g.lp[i], -4.0, 1e-12);
		}
	}
	pl->be->close(m);
}

int main(void)
{
	struct lle_err e = { 0 };
	pl = lle_plugin_open(OA_PLUGIN, NULL, &e);
	if (!pl) {
		printf("not ok - load %s: %s\n", OA_PLUGIN, e.msg);
		return 1;
	}
	if (server(url1, sizeof(url1), NULL, NULL, NULL, NULL) < 0 ||
	    server(url_faulty, sizeof(url_faulty), "--fault", "503:0.15", "--fault", "drop:0.15") < 0) {
		printf("not ok - start %s\n", OA_SERVER);
		return 1;
	}
	RUN(options);
	RUN(requests);
	RUN(empty_continuation);
	RUN(faults);
	for (int i = 0; i < nservers; i++) {
		kill(servers[i], SIGTERM);
		waitpid(servers[i], NULL, 0);
	}
	lle_plugin_close(pl);
	return check_done();
}
