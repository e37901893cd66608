/* `llm-eval sandbox`: run one program in the sandbox that code tasks use, or
 * (--check) say which protections this system allows.
 *
 * For people trying the sandbox and for tests; the run engine calls the
 * library (src/sandbox/sandbox.h) directly. The program's stdout and stderr
 * are passed through; the exit status is the program's, 128 + N when signal
 * N killed it, 124 on the wall-clock timeout (as timeout(1)). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "sandbox/sandbox.h"
#include "util/buf.h"
#include "util/diag.h"
#include "util/err.h"

int lle_cmd_sandbox(struct lle_ctx *ctx, int argc, char **argv);

#define MAX_FILES 64

static int parse_num(const struct lle_cmd *c, const char *opt, const char *v, double max, double *out)
{
	char *end;
	errno = 0;
	double d = v ? strtod(v, &end) : 0;
	if (!v || errno || end == v || *end || !(d > 0) || d > max)
		return lle_cmd_usage_error(c, "option '%s' needs a number above 0, at most %g", opt, max);
	*out = d;
	return 0;
}

static int read_all(FILE *f, struct lle_buf *b)
{
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (lle_buf_add(b, chunk, n) < 0)
			return -1;
	return ferror(f) ? -1 : 0;
}

static int write_out(FILE *f, const char *p, size_t n)
{
	return n && fwrite(p, 1, n, f) != n ? -1 : 0;
}

static int check(int allow_weak)
{
	const struct lle_sandbox_probe *p = lle_sandbox_probe();
	for (unsigned bit = 1; bit & LLE_PROT_ALL; bit <<= 1) {
		const char *state = (p->have & bit) ? "yes" : "no";
		if (bit == LLE_PROT_USER && p->root && !p->userns)
			state = "no (running as root: programs run as uid 65534 instead)";
		printf("%-20s %s\n", lle_sandbox_prot_name(bit), state);
	}
	/* Not a protection the sandbox refuses to run without: without it,
	 * --memory bounds each process's address space, not the sandbox. */
	const char *cg;
	if (lle_sandbox_cgroup(&cg))
		printf("%-20s yes: %s\n", "cgroup limits", cg);
	else
		printf("%-20s no: %s; --memory bounds each process, not the sandbox's total\n",
		       "cgroup limits", cg);
	/* The probe covers what clone allows; a trial run covers the mounts. */
	const char *argv[] = { "true", NULL };
	struct lle_sandbox_opts o = { .timeout_s = 10, .allow_weak = allow_weak };
	struct lle_sandbox_job job = { .argv = argv };
	struct lle_sandbox_result r;
	struct lle_err err = { 0 };
	if (lle_sandbox_run(&o, &job, &r, &err) < 0) {
		printf("%-20s failed: %s\n", "trial run", err.msg);
		return err.code;
	}
	int ok = r.end == LLE_SANDBOX_EXITED && r.exit_code == 0;
	printf("%-20s %s\n", "trial run", ok ? "ok" : "failed ('true' did not exit 0)");
	lle_sandbox_result_free(&r);
	if (!ok)
		return LLE_EXIT_INTERNAL;
	if (p->missing[0]) {
		printf("missing: %s\n", p->missing);
		return LLE_EXIT_CONFIG;
	}
	printf("complete: every protection is available\n");
	return LLE_EXIT_OK;
}

int lle_cmd_sandbox(struct lle_ctx *ctx, int argc, char **argv)
{
	const struct lle_cmd *c = ctx->cmd;
	struct lle_sandbox_opts o = { .timeout_s = 10 };
	int do_check = 0, use_stdin = 0, i;
	const char *file_paths[MAX_FILES];
	size_t nfiles = 0;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		double d;
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		} else if (strcmp(a, "--check") == 0) {
			do_check = 1;
		} else if (strcmp(a, "--allow-weak-sandbox") == 0) {
			o.allow_weak = 1;
		} else if (strcmp(a, "--stdin") == 0) {
			use_stdin = 1;
		} else if (strcmp(a, "--timeout") == 0) {
			if (parse_num(c, a, v, 86400, &d))
				return LLE_EXIT_USAGE;
			o.timeout_s = d;
			i++;
		} else if (strcmp(a, "--memory") == 0) {
			if (parse_num(c, a, v, 1 << 20, &d))
				return LLE_EXIT_USAGE;
			o.memory_mb = (unsigned)d;
			i++;
		} else if (strcmp(a, "--file") == 0) {
			if (!v)
				return lle_cmd_usage_error(c, "option '--file' needs a path");
			if (nfiles == MAX_FILES)
				return lle_cmd_usage_error(c, "too many --file options (at most %d)", MAX_FILES);
			file_paths[nfiles++] = v;
			i++;
		} else if (a[0] == '-' && a[1]) {
			return lle_cmd_unknown_option(c, a);
		} else {
			break;
		}
	}
	if (do_check) {
		if (i < argc)
			return lle_cmd_usage_error(c, "'--check' takes no program");
		return check(o.allow_weak);
	}
	if (i >= argc)
		return lle_cmd_usage_error(c, "no program to run");

	int rc = LLE_EXIT_INTERNAL;
	struct lle_sandbox_file files[MAX_FILES];
	struct lle_buf contents[MAX_FILES];
	struct lle_buf input = LLE_BUF_INIT;
	size_t nread = 0;
	for (; nread < nfiles; nread++) {
		const char *path = file_paths[nread];
		const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
		contents[nread] = (struct lle_buf)LLE_BUF_INIT;
		FILE *f = fopen(path, "rb");
		if (!f || !*base || read_all(f, &contents[nread]) < 0) {
			lle_errorf("cannot read '%s': %s", path, f ? strerror(errno) : strerror(errno));
			if (f)
				fclose(f);
			nread++;
			rc = LLE_EXIT_IO;
			goto out;
		}
		fclose(f);
		files[nread] = (struct lle_sandbox_file){ base, lle_buf_str(&contents[nread]),
							  contents[nread].n };
	}
	if (use_stdin && read_all(stdin, &input) < 0) {
		lle_errorf("cannot read the standard input: %s", strerror(errno));
		rc = LLE_EXIT_IO;
		goto out;
	}

	struct lle_sandbox_job job = {
		.argv = (const char *const *)&argv[i],
		.input = use_stdin ? lle_buf_str(&input) : NULL,
		.input_len = input.n,
		.files = files,
		.nfiles = nfiles,
	};
	struct lle_sandbox_result r;
	struct lle_err err = { 0 };
	if (lle_sandbox_run(&o, &job, &r, &err) < 0) {
		lle_errorf("%s", err.msg);
		rc = err.code;
		goto out;
	}
	fflush(stdout);
	if (write_out(stdout, r.out, r.out_len) < 0 || write_out(stderr, r.err, r.err_len) < 0 ||
	    fflush(stdout) != 0) {
		lle_errorf("cannot write the program's output: %s", strerror(errno));
		rc = LLE_EXIT_IO;
	} else if (r.end == LLE_SANDBOX_TIMEOUT) {
		lle_errorf("sandbox: '%s' timed out after %g s and was killed", argv[i], o.timeout_s);
		rc = 124;
	} else if (r.end == LLE_SANDBOX_SIGNALED) {
		lle_errorf("sandbox: '%s' was killed by signal %d (%s)", argv[i], r.signal,
			   strsignal(r.signal));
		rc = 128 + r.signal;
	} else {
		rc = r.exit_code;
	}
	if (r.out_truncated || r.err_truncated)
		lle_warnf("sandbox: output of '%s' was cut at the size limit", argv[i]);
	lle_sandbox_result_free(&r);
out:
	for (size_t k = 0; k < nread; k++)
		lle_buf_free(&contents[k]);
	lle_buf_free(&input);
	return rc;
}
