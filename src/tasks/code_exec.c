/* The code_exec metric: see code_exec.h. */
#include "tasks/code_exec.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Does out end with the sentinel line? */
static int has_sentinel(const char *out, size_t n)
{
	static const char line[] = LLE_CODE_SENTINEL "\n";
	size_t k = sizeof(line) - 1;
	return n >= k && memcmp(out + n - k, line, k) == 0 && (n == k || out[n - k - 1] == '\n');
}

void lle_code_classify(const struct lle_sandbox_result *r, double timeout_s, unsigned memory_mb,
		       int sentinel, struct lle_code_outcome *o)
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
		if (sentinel && !has_sentinel(r->out, r->out_len)) {
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

struct run_ctx {
	const struct lle_code_exec_opts *o;
	lle_code_done_fn done;
	void *ud;
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
	lle_code_classify(r, timeout, rc->o->sandbox.memory_mb, !rc->o->raw, &out);
	if (rc->done)
		rc->done(rc->ud, i, &out, NULL);
}

int lle_code_exec_run(const struct lle_code_exec_opts *o, const char *const *programs, size_t n,
		      lle_code_done_fn done, void *ud, struct lle_err *err)
{
	if (n == 0)
		return 0;
	const char *argv[] = { o->interpreter ? o->interpreter : "python3", PROGRAM_FILE, NULL };
	struct lle_sandbox_job *jobs = calloc(n, sizeof(*jobs));
	struct lle_sandbox_file *files = calloc(n, sizeof(*files));
	char **texts = calloc(n, sizeof(*texts));
	if (!jobs || !files || !texts) {
		free(jobs);
		free(files);
		free(texts);
		return lle_err_oom(err);
	}
	int r = -1;
	for (size_t i = 0; i < n; i++) {
		const char *text = programs[i];
		if (!o->raw) {
			/* After everything else: only a program that ran to its
			 * end prints it, on a line of its own even when the
			 * program's last output did not end its line. */
			struct lle_buf b = LLE_BUF_INIT;
			lle_buf_printf(&b, "%s\nprint(%s, flush=True)\n", programs[i],
				       "'\\n" LLE_CODE_SENTINEL "'");
			if (b.oom || !(texts[i] = lle_buf_detach(&b))) {
				lle_buf_free(&b);
				lle_err_oom(err);
				goto out;
			}
			text = texts[i];
		}
		files[i] = (struct lle_sandbox_file){ PROGRAM_FILE, text, strlen(text) };
		jobs[i] = (struct lle_sandbox_job){ .argv = argv, .files = &files[i], .nfiles = 1 };
	}
	struct run_ctx rc = { o, done, ud };
	r = lle_sandbox_run_all(&o->sandbox, jobs, n, o->workers, on_done, &rc, err);
out:
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
	free(jobs);
	free(files);
	return r;
}
