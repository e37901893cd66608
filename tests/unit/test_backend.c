/* Unit tests for the backend plugin loader (src/backend/loader.c), what the
 * host reads of a backend's description and its secret scrubbing
 * (src/backend/describe.c), and `list backends`, with the test plugins of tests/plugins/: one that works
 * (testbackend) and one for each failure the loader must explain. */
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/describe.h"
#include "backend/loader.h"
#include "cli/cmd.h"
#include "util/buf.h"
#include "util/path.h"

static char plugdir[4096];

static char *plugin(const char *name)
{
	static char p[4200];
	snprintf(p, sizeof(p), "%s/%s.so", plugdir, name);
	return p;
}

/* Load a broken plugin and return the loader's message (static). */
static const char *load_error(const char *name)
{
	static struct lle_err err;
	lle_err_clear(&err);
	struct lle_plugin *p = lle_plugin_open(plugin(name), NULL, &err);
	if (p) {
		lle_plugin_close(p);
		return "(loaded)";
	}
	return err.code == LLE_EXIT_BACKEND ? err.msg : "(wrong exit code)";
}

/* A table as a plugin declares it: a secret list, a URL, a plain option. */
static const struct lle_option t_opts[] = {
	{ "headers", LLE_OPT_LIST, LLE_OPT_SECRET, "h" },
	{ "base_url", LLE_OPT_URL, 0, "u" },
	{ "n", LLE_OPT_INT, LLE_OPT_NO_IDENTITY, "n" },
	{ NULL, 0, 0, NULL },
};

TEST(description_fields_of_an_older_plugin_read_as_absent)
{
	struct lle_backend be = { 0 };
	be.size = sizeof(be);
	be.caps = LLE_CAP_MODEL_FILE;
	be.options = t_opts;
	CHECK(lle_backend_caps(&be) == LLE_CAP_MODEL_FILE);
	CHECK(lle_backend_option(&be, "base_url", 8) == &t_opts[1]);
	CHECK(lle_backend_option(&be, "base", 4) == NULL);
	/* a plugin built against ABI 1.0 ends at close: caps and options unread */
	be.size = (uint32_t)(offsetof(struct lle_backend, close) + sizeof(be.close));
	CHECK(lle_backend_caps(&be) == 0);
	CHECK(lle_backend_options(&be) == NULL);
	CHECK(lle_backend_identity_fn(&be) == NULL);
}

/* ABI 1.3 appends the conversation to lle_request: a request of a 1.2
 * writer (ending at seed) has none, and the 1.2 fields keep their offsets. */
TEST(request_messages_are_appended_after_the_abi_1_2_fields)
{
	struct lle_request q = { 0 };
	q.size = sizeof(q);
	CHECK(LLE_HAS_FIELD(&q, struct lle_request, n_messages));
	q.size = (uint32_t)(offsetof(struct lle_request, seed) + sizeof(q.seed));
	CHECK(!LLE_HAS_FIELD(&q, struct lle_request, messages));
	CHECK(!LLE_HAS_FIELD(&q, struct lle_request, n_messages));
	CHECK(LLE_HAS_FIELD(&q, struct lle_request, seed));
	CHECK(offsetof(struct lle_request, messages) >= offsetof(struct lle_request, seed) + sizeof(q.seed));
	CHECK(LLE_CAP_CHAT_MESSAGES == 16u);
}

TEST(secret_options_are_shown_redacted_and_scrubbed_from_text)
{
	struct lle_backend be = { 0 };
	be.size = sizeof(be);
	be.options = t_opts;
	struct lle_buf b = LLE_BUF_INIT;
	CHECK(lle_option_add_shown(&b, &be, "headers=Authorization: Bearer tok123456,X-B: other99") == 0);
	CHECK_STREQ(lle_buf_str(&b), "headers=<redacted>");
	lle_buf_reset(&b);
	CHECK(lle_option_add_shown(&b, &be, "base_url=http://u:pw12@h:1/v1,https://h2/v1,http://k@h3") == 0);
	CHECK_STREQ(lle_buf_str(&b), "base_url=http://<redacted>@h:1/v1,https://h2/v1,http://<redacted>@h3");
	lle_buf_reset(&b);
	/* any option's URL, and options of a backend without a table */
	CHECK(lle_option_add_shown(&b, NULL, "x=ftp://me:pass@host/p") == 0);
	CHECK_STREQ(lle_buf_str(&b), "x=ftp://<redacted>@host/p");
	lle_buf_reset(&b);
	CHECK(lle_option_add_shown(&b, &be, "n=4") == 0);
	CHECK_STREQ(lle_buf_str(&b), "n=4");
	lle_buf_free(&b);

	const char *opts[] = { "headers=Authorization: Bearer tok123456,X-B: other99",
			       "base_url=http://user:pw12345@h:1/v1", "n=4" };
	struct lle_secrets sec = { 0 };
	CHECK(lle_secrets_collect(&sec, &be, opts, 3) == 0);
	char *t = lle_secrets_scrub(&sec, "401 for 'Bearer tok123456' at http://user:pw12345@h:1 (pw12345), X-B: other99, n=4");
	/* the longest secret that matches goes: the whole header, then its token */
	CHECK_STREQ(t, "401 for '<redacted>' at http://<redacted>@h:1 (<redacted>), <redacted>, n=4");
	free(t);
	t = lle_secrets_scrub(&sec, "token tok123456 refused");
	CHECK_STREQ(t, "token <redacted> refused");
	free(t);
	char small[24] = "key tok123456 here";
	lle_secrets_scrub_buf(&sec, small, sizeof(small));
	CHECK_STREQ(small, "key <redacted> here");
	lle_secrets_free(&sec);
}

TEST(catalog_loads_each_backend_once_and_names_the_installed_ones)
{
	struct lle_backend_catalog *c = lle_backend_catalog_new();
	struct lle_err err = { 0 };
	CHECK(c != NULL);
	const struct lle_backend *a = lle_backend_catalog_get(c, "testbackend", &err);
	CHECK(a != NULL && lle_backend_catalog_get(c, "testbackend", &err) == a);
	CHECK(lle_backend_catalog_get(c, "refuse", &err) == NULL);
	CHECK(strstr(err.msg, "refused to start: no device found") != NULL);
	lle_err_clear(&err);
	CHECK(lle_backend_catalog_get(c, "refuse", &err) == NULL); /* remembered */
	CHECK(strstr(err.msg, "refused to start") != NULL);
	CHECK(lle_backend_catalog_has(c, "nosym") && !lle_backend_catalog_has(c, "nope"));
	const char *names = lle_backend_catalog_names(c);
	CHECK(names && strstr(names, "missingdep, newabi, nosym, refuse, testbackend") == names);
	lle_backend_catalog_free(c);
}

TEST(missing_plugin_names_the_search_path)
{
	struct lle_err err = { 0 };
	char *path = lle_backend_find("nope", &err);
	CHECK(path == NULL);
	CHECK(err.code == LLE_EXIT_BACKEND);
	CHECK(strstr(err.msg, "backend 'nope' is not installed: no 'nope.so' in ") != NULL);
	CHECK(strstr(err.msg, plugdir) != NULL);
	CHECK(lle_backend_load("/no/such/dir/x.so", NULL, &err) == NULL);
	CHECK_STREQ(err.msg, "backend plugin '/no/such/dir/x.so' does not exist");
}

TEST(missing_entry_symbol)
{
	const char *m = load_error("nosym");
	CHECK(strstr(m, "backend plugin '") == m);
	CHECK(strstr(m, "/nosym.so' has no entry symbol 'lle_backend_entry', so it is not an "
		       "llm-eval backend plugin (") != NULL);
	CHECK(strstr(m, "undefined symbol: lle_backend_entry") != NULL);
}

TEST(newer_major_abi_is_refused_naming_both_versions)
{
	const char *m = load_error("newabi");
	char want[256];
	snprintf(want, sizeof(want), "/newabi.so' was built for backend ABI %d.3, but this llm-eval "
		 "supports ABI %d.%d; rebuild", LLE_BACKEND_ABI_MAJOR + 1, LLE_BACKEND_ABI_MAJOR,
		 LLE_BACKEND_ABI_MINOR);
	CHECK(strstr(m, want) != NULL);
}

TEST(missing_library_of_the_plugin)
{
	const char *m = load_error("missingdep");
	CHECK(strstr(m, "/missingdep.so' cannot be loaded: a library it needs, 'libllemissing.so', "
		       "is missing (libllemissing.so: cannot open shared object file") != NULL);
}

/* The real case: llamacpp.so copied without its lib/llama/ directory. */
TEST(llamacpp_plugin_without_its_libraries)
{
	char src[4200], dir[] = "/tmp/lle-backend-XXXXXX", cmd[9000];
	snprintf(src, sizeof(src), "%.4000s/../../lib/llama", plugdir);
	if (access(src, F_OK) != 0) { /* LLAMA_PREFIX: the libraries stay where they are */
		printf("#   no '%s': skipped\n", src);
		return;
	}
	snprintf(src, sizeof(src), "%.4000s/../../lib/llamacpp.so", plugdir);
	if (access(src, F_OK) != 0) {
		printf("#   no '%s': skipped\n", src);
		return;
	}
	CHECK(mkdtemp(dir) != NULL);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s/'", src, dir);
	CHECK(system(cmd) == 0);
	char *p = lle_path_join(dir, "llamacpp.so");
	struct lle_err err = { 0 };
	CHECK(lle_plugin_open(p, NULL, &err) == NULL);
	CHECK(strstr(err.msg, "/llamacpp.so' cannot be loaded: a library it needs, 'libllama") != NULL);
	CHECK(strstr(err.msg, "is missing (") != NULL);
	unlink(p);
	rmdir(dir);
	free(p);
}

TEST(plugin_that_refuses)
{
	const char *m = load_error("refuse");
	CHECK(strstr(m, "/refuse.so' refused to start: no device found") != NULL);
}

TEST(file_that_is_not_a_shared_object)
{
	char dir[] = "/tmp/lle-backend-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char *p = lle_path_join(dir, "junk.so");
	FILE *f = fopen(p, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("not an ELF file\n", f);
		fclose(f);
	}
	struct lle_err err = { 0 };
	CHECK(lle_plugin_open(p, NULL, &err) == NULL);
	CHECK(strstr(err.msg, "/junk.so' cannot be loaded: ") != NULL);
	unlink(p);
	rmdir(dir);
	free(p);
}

struct got {
	int n;
	uint64_t ids[16];
	double lp[16];
	int greedy[16];
	char text[16][128];
	int status[16];
};

static void on_done(void *user, const struct lle_request *req, const struct lle_result *res)
{
	struct got *g = user;
	if (g->n >= 16)
		return;
	g->ids[g->n] = res->id;
	g->lp[g->n] = res->logprob;
	g->greedy[g->n] = res->is_greedy;
	g->status[g->n] = (int)res->status;
	snprintf(g->text[g->n], sizeof(g->text[0]), "%s", res->text ? res->text : "");
	CHECK(req->id == res->id);
	g->n++;
}

static int progress_calls;
static void count_progress(void *user, const char *what, double done, double total)
{
	(void)user, (void)what, (void)done, (void)total;
	progress_calls++;
}

TEST(working_plugin_round_trip)
{
	struct lle_host host = *lle_backend_default_host();
	host.progress = count_progress;
	struct lle_err err = { 0 };
	struct lle_plugin *p = lle_backend_load("testbackend", &host, &err);
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_STREQ(p->be->name, "testbackend");
	CHECK(p->be->abi_major == LLE_BACKEND_ABI_MAJOR);
	char note[128];
	CHECK(p->be->probe(note, sizeof(note)) == 0);

	const char *opts[] = { "reply=one two. three", "fail_id=7" };
	struct lle_open_params op = { .size = sizeof(op), .model = "m", .options = opts, .n_options = 2 };
	struct lle_model *m = NULL;
	char msg[256];
	CHECK(p->be->open(&op, &m, msg, sizeof(msg)) == 0);
	const char *until[] = { "." };
	struct lle_request rq[4] = {
		{ .size = sizeof(rq[0]), .kind = LLE_REQ_LOGLIKELIHOOD, .id = 1, .context = "a", .continuation = " b" },
		{ .size = sizeof(rq[0]), .kind = LLE_REQ_LOGLIKELIHOOD_ROLLING, .id = 2, .context = "abcd" },
		{ .size = sizeof(rq[0]), .kind = LLE_REQ_GENERATE_UNTIL, .id = 3, .context = "q",
		  .until = until, .n_until = 1, .max_tokens = 100 },
		{ .size = sizeof(rq[0]), .kind = LLE_REQ_LOGLIKELIHOOD, .id = 7, .context = "a", .continuation = "c" },
	};
	struct got g = { 0 };
	CHECK(p->be->submit(m, rq, 4, on_done, &g, msg, sizeof(msg)) == 0);
	CHECK(g.n == 4);
	CHECK(g.ids[0] == 1 && g.lp[0] <= 0 && g.lp[0] > -10.0);
	CHECK(g.ids[1] == 2);
	CHECK_NEAR(g.lp[1], -2.0, 1e-12);
	CHECK_STREQ(g.text[2], "one two");
	CHECK(g.status[3] == LLE_STATUS_ERROR);
	CHECK(progress_calls > 0);
	p->be->close(m);

	/* a load failure comes back from wait_ready and submit */
	const char *bad[] = { "fail_load=cannot read 'x.gguf'" };
	op.options = bad;
	op.n_options = 1;
	CHECK(p->be->open(&op, &m, msg, sizeof(msg)) == 0);
	CHECK(p->be->wait_ready(m, msg, sizeof(msg)) == -1);
	CHECK_STREQ(msg, "cannot read 'x.gguf'");
	p->be->close(m);
	const char *unknown[] = { "colour=blue" };
	op.options = unknown;
	CHECK(p->be->open(&op, &m, msg, sizeof(msg)) == -1);
	CHECK_STREQ(msg, "test backend: unknown option 'colour=blue'");
	lle_plugin_close(p);
}

struct scan_seen {
	struct lle_buf names;
};

static int scan_cb(void *user, const struct lle_plugin_file *f)
{
	struct scan_seen *s = user;
	lle_buf_printf(&s->names, "%s%s ", f->name, f->shadowed ? "(shadowed)" : "");
	return 0;
}

TEST(scan_lists_plugins_in_path_order_with_shadowing)
{
	char dir[] = "/tmp/lle-backend-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char *copy = lle_path_join(dir, "testbackend.so");
	char *lib = lle_path_join(dir, "libnotaplugin.so");
	char cmd[9000];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && cp '%s' '%s'", plugin("testbackend"), copy,
		 plugin("testbackend"), lib);
	CHECK(system(cmd) == 0);
	char path[9000];
	snprintf(path, sizeof(path), "%s:%s", plugdir, dir);
	setenv("LLM_EVAL_PLUGIN_PATH", path, 1);
	struct scan_seen s = { LLE_BUF_INIT };
	struct lle_err err = { 0 };
	CHECK(lle_backend_scan(scan_cb, &s, &err) == 0);
	CHECK_STREQ(lle_buf_str(&s.names),
		    "missingdep newabi nosym refuse testbackend testbackend(shadowed) ");
	/* the first directory wins */
	char *found = lle_backend_find("testbackend", &err);
	CHECK(found && strncmp(found, plugdir, strlen(plugdir)) == 0);
	free(found);
	setenv("LLM_EVAL_PLUGIN_PATH", plugdir, 1);
	unlink(copy);
	unlink(lib);
	rmdir(dir);
	free(copy);
	free(lib);
	lle_buf_free(&s.names);
}

/* Run lle_list_backends with stdout in a file; returns its exit code. */
static int run_list(int argc, char **argv, struct lle_buf *out)
{
	char tmp[] = "/tmp/lle-list-XXXXXX";
	int fd = mkstemp(tmp);
	fflush(stdout);
	fflush(stderr);
	int saved = dup(1), saved_err = dup(2);
	dup2(fd, 1);
	dup2(fd, 2);
	struct lle_ctx ctx = { 0 };
	int rc = lle_list_backends(&ctx, argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved, 1);
	dup2(saved_err, 2);
	close(saved);
	close(saved_err);
	lseek(fd, 0, SEEK_SET);
	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		lle_buf_add(out, buf, (size_t)n);
	close(fd);
	unlink(tmp);
	return rc;
}

TEST(list_backends_shows_each_plugin_and_why_it_fails)
{
	struct lle_buf out = LLE_BUF_INIT;
	char *argv[] = { "backends", NULL };
	CHECK(run_list(1, argv, &out) == 0);
	const char *s = lle_buf_str(&out);
	CHECK(strstr(s, "testbackend    ok        1.0 deterministic test backend") != NULL);
	CHECK(strstr(s, "nosym          error     backend plugin '") != NULL);
	CHECK(strstr(s, "has no entry symbol 'lle_backend_entry'") != NULL);
	CHECK(strstr(s, "newabi         error") != NULL);
	CHECK(strstr(s, "refuse         error") != NULL);
	CHECK(strstr(s, "'libllemissing.so', is missing") != NULL);
	lle_buf_reset(&out);
	char *argj[] = { "backends", "--json", NULL };
	CHECK(run_list(2, argj, &out) == 0);
	s = lle_buf_str(&out);
	CHECK(s[0] == '[');
	CHECK(strstr(s, "{\"name\": \"testbackend\", \"path\": \"") != NULL);
	CHECK(strstr(s, "\"status\": \"ok\", \"abi\": \"1.3\", \"version\": \"1.0\"") != NULL);
	CHECK(strstr(s, "\"status\": \"error\", \"error\": \"backend plugin '") != NULL);
	lle_buf_reset(&out);
	char *bad[] = { "backends", "--frob", NULL };
	CHECK(run_list(2, bad, &out) == LLE_EXIT_USAGE);
	CHECK(strstr(lle_buf_str(&out), "error: unknown option '--frob' for 'list backends'") != NULL);
	/* an empty plugin path says where it looked */
	setenv("LLM_EVAL_PLUGIN_PATH", "/nonexistent-lle-dir", 1);
	lle_buf_reset(&out);
	CHECK(run_list(1, argv, &out) == 0);
	CHECK(strstr(lle_buf_str(&out), "/nonexistent-lle-dir") != NULL);
	setenv("LLM_EVAL_PLUGIN_PATH", plugdir, 1);
	lle_buf_free(&out);
}

int main(void)
{
	const char *build = getenv("BUILD");
	char cwd[2048];
	if (!getcwd(cwd, sizeof(cwd)))
		return 1;
	if (!build || !*build)
		build = "build";
	if (build[0] == '/')
		snprintf(plugdir, sizeof(plugdir), "%s/tests/plugins", build);
	else
		snprintf(plugdir, sizeof(plugdir), "%s/%s/tests/plugins", cwd, build);
	setenv("LLM_EVAL_PLUGIN_PATH", plugdir, 1);
	RUN(missing_plugin_names_the_search_path);
	RUN(missing_entry_symbol);
	RUN(newer_major_abi_is_refused_naming_both_versions);
	RUN(missing_library_of_the_plugin);
	RUN(llamacpp_plugin_without_its_libraries);
	RUN(plugin_that_refuses);
	RUN(file_that_is_not_a_shared_object);
	RUN(working_plugin_round_trip);
	RUN(scan_lists_plugins_in_path_order_with_shadowing);
	RUN(list_backends_shows_each_plugin_and_why_it_fails);
	RUN(description_fields_of_an_older_plugin_read_as_absent);
	RUN(request_messages_are_appended_after_the_abi_1_2_fields);
	RUN(secret_options_are_shown_redacted_and_scrubbed_from_text);
	RUN(catalog_loads_each_backend_once_and_names_the_installed_ones);
	return check_done();
}
