/* Unit tests for the backend plugin loader (src/backend/loader.c) and
 * `list backends`, with the test plugins of tests/plugins/: one that works
 * (testbackend) and one for each failure the loader must explain. */
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

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
	CHECK(strstr(s, "\"status\": \"ok\", \"abi\": \"1.0\", \"version\": \"1.0\"") != NULL);
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
	return check_done();
}
