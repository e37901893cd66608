/* The command table: every command of llm-eval, one row each. See cmd.h for
 * the checklist to add one. Rows are kept in alphabetical order; prefix
 * matching and `help` depend on no order, but people reading this do. */
#include "cli/cmd.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/diag.h"
#include "util/err.h"

const struct lle_cmd lle_commands[] = {
	{ "help", NULL, "show help for llm-eval or one command",
	  "llm-eval help [COMMAND]",
	  "With no COMMAND, lists the commands. `llm-eval COMMAND --help` is the same as\n"
	  "`llm-eval help COMMAND`.\n",
	  0, lle_cmd_help, NULL },
	{ "sandbox", NULL, "run a program in the sandbox that code tasks use, or check it",
	  "llm-eval sandbox [--check] [--allow-weak-sandbox] [--timeout S] [--memory MB]\n"
	  "                        [--file PATH]... [--stdin] -- PROGRAM [ARGS...]",
	  "Runs PROGRAM the way model-written code runs: in new user, PID, network,\n"
	  "mount, IPC and UTS namespaces, read-only file system with a private /tmp as\n"
	  "working directory, no network, resource limits, a seccomp filter and an empty\n"
	  "environment. See docs/sandbox.md.\n"
	  "\n"
	  "Options:\n"
	  "  --check               say which protections this system allows, then run a\n"
	  "                        trial program; exit 3 when one is missing\n"
	  "  --allow-weak-sandbox  run even when a protection is missing (says which)\n"
	  "  --timeout S           wall-clock limit in seconds (default 10)\n"
	  "  --memory MB           address-space limit per process (default 1024)\n"
	  "  --file PATH           copy PATH into the working directory (repeatable)\n"
	  "  --stdin               pass this command's standard input to PROGRAM\n"
	  "\n"
	  "Exit status: PROGRAM's own; 128+N when signal N killed it; 124 when it timed\n"
	  "out; 3 when the sandbox is incomplete and --allow-weak-sandbox is not given.\n"
	  "\n"
	  "Example:\n"
	  "  llm-eval sandbox --timeout 5 -- python3 -c 'print(1 + 1)'\n",
	  LLE_NEED_ENGINE, NULL, "lle_cmd_sandbox" },
	{ "version", NULL, "print the version of llm-eval and of what it was built with",
	  "llm-eval version [--json]",
	  "Options:\n"
	  "  --json        print a JSON object\n",
	  0, lle_cmd_version, NULL },
};
const size_t lle_ncommands = sizeof(lle_commands) / sizeof(lle_commands[0]);

const struct lle_cmd *lle_cmd_find(const char *name, int *ambiguous)
{
	const struct lle_cmd *hit = NULL;
	size_t n = strlen(name), nhit = 0;
	*ambiguous = 0;
	if (n == 0)
		return NULL;
	for (size_t i = 0; i < lle_ncommands; i++) {
		const struct lle_cmd *c = &lle_commands[i];
		if (strcmp(c->name, name) == 0 || (c->alias && strcmp(c->alias, name) == 0))
			return c;
	}
	for (size_t i = 0; i < lle_ncommands; i++) {
		if (strncmp(lle_commands[i].name, name, n) == 0) {
			hit = &lle_commands[i];
			nhit++;
		}
	}
	if (nhit > 1) {
		*ambiguous = 1;
		return NULL;
	}
	return hit;
}

void lle_cmd_print_help(const struct lle_cmd *c, void *fp)
{
	FILE *f = fp;
	/* Summaries are written lower case for the command list; a sentence here. */
	fprintf(f, "usage: %s\n\n%c%s.\n", c->usage, toupper((unsigned char)c->summary[0]),
		c->summary + 1);
	if (c->alias)
		fprintf(f, "Alias: %s\n", c->alias);
	if (c->help && *c->help)
		fprintf(f, "\n%s", c->help);
}

int lle_cmd_usage_error(const struct lle_cmd *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lle_errorf("%s", msg);
	fprintf(stderr, "usage: %s\nsee 'llm-eval help %s'\n", c->usage, c->name);
	return LLE_EXIT_USAGE;
}
