/* The code_exec metric: build a program from a task's fields and a model's
 * completion, run it in the sandbox with the task's interpreter, and say how
 * it ended: passed, or which kind of failure, with a short detail line for
 * the sample log.
 *
 * Programs (what lm-evaluation-harness and the benchmarks' authors run):
 *   HumanEval: prompt + completion + "\n" + test + "\n" + "check(entry_point)"
 *   MBPP:      code + "\n" + test_setup_code + "\n" + the test_list asserts, one a line
 * The program is written to program.py in the sandbox's working directory and
 * run as `INTERPRETER program.py`; the outcome is read from the exit status
 * and, for Python, the last line of a traceback on stderr. For Python, the
 * program runs under a small runner (`python3 -c RUNNER program.py`) that
 * reads a per-program secret from descriptor 3 and closes it before the
 * program runs, disables exit(), quit(), os._exit and the exec functions,
 * and prints a marker line, LLE_CODE_SENTINEL and the secret, when the
 * program ran to its end. A program that exits with status 0 without that
 * line last on stdout (it exited early, or printed a marker it had to
 * guess) has not passed. docs/sandbox.md says what this does not stop.
 *
 * What it does not do: pass@k (passk.h), read task configs or datasets (the
 * task layer passes the fields in), or make any sandbox decision (sandbox.h). */
#ifndef LLE_TASKS_CODE_EXEC_H
#define LLE_TASKS_CODE_EXEC_H

#include <stddef.h>

#include "sandbox/sandbox.h"
#include "util/err.h"

enum lle_code_status {
	LLE_CODE_PASSED = 0,   /* exited 0 */
	LLE_CODE_ASSERTION,    /* an assert failed (AssertionError) */
	LLE_CODE_EXCEPTION,    /* another exception, or a non-zero exit (exception = "SystemExit") */
	LLE_CODE_SYNTAX,       /* SyntaxError, IndentationError, TabError */
	LLE_CODE_TIMEOUT,      /* wall-clock timeout or CPU limit */
	LLE_CODE_KILLED,       /* a signal, or out of memory (exception = "MemoryError") */
};

/* "passed", "assertion", "exception", "syntax_error", "timeout", "killed". */
const char *lle_code_status_name(enum lle_code_status s);

struct lle_code_outcome {
	enum lle_code_status status;
	char exception[64];    /* the exception's name ("NameError", "socket.gaierror"), or "" */
	char detail[320];      /* one line for the sample log; "" when passed */
	double wall_s;
};

/* The programs, malloc()ed; NULL with err set on allocation failure. */
char *lle_code_program_humaneval(const char *prompt, const char *completion, const char *test,
				 const char *entry_point, struct lle_err *err);
char *lle_code_program_mbpp(const char *code, const char *test_setup, const char *const *tests,
			    size_t ntests, struct lle_err *err);

/* The start of the marker line the runner prints when the whole program
 * ran; the program's secret follows, after a space. */
#define LLE_CODE_SENTINEL "__llm_eval_code_exec_completed__"

/* Classify a finished run (timeout_s and memory_mb only word the detail).
 * With a marker (the whole line, without its newline), exit status 0 passes
 * only when stdout ends with that line; NULL: exit status 0 is enough. */
void lle_code_classify(const struct lle_sandbox_result *r, double timeout_s, unsigned memory_mb,
		       const char *marker, struct lle_code_outcome *out);

struct lle_code_exec_opts {
	const char *interpreter;         /* NULL: "python3", looked up in the sandbox's PATH */
	struct lle_sandbox_opts sandbox; /* timeouts, limits, allow_weak */
	unsigned workers;                /* 0: lle_sandbox_pool_size() */
	int raw;                         /* run the programs as given, no runner or marker (for
	                                    interpreters other than Python) */
};

/* Called once per program as it completes, never two at once. o is NULL and
 * err set when the program could not be run at all (sandbox refused, no
 * interpreter). */
typedef void (*lle_code_done_fn)(void *ud, size_t i, const struct lle_code_outcome *o,
				 const struct lle_err *err);

/* Run n programs on the sandbox's pool. 0 when all ran, else -1 with err set
 * to the first failure to run (every program still reaches done). */
int lle_code_exec_run(const struct lle_code_exec_opts *o, const char *const *programs, size_t n,
		      lle_code_done_fn done, void *ud, struct lle_err *err);

#endif
