/* `llm-eval help [COMMAND]`. */
#include <stdio.h>

#include "cli/cmd.h"
#include "util/diag.h"
#include "util/err.h"

int lle_cmd_help(struct lle_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	if (argc > 2)
		return lle_cmd_usage_error(ctx->cmd, "too many arguments");
	if (argc < 2) {
		printf("usage: llm-eval [--include-path DIR] [-v|-q] [--color WHEN] COMMAND [ARGS]\n\n"
		       "Commands:\n");
		for (size_t i = 0; i < lle_ncommands; i++)
			printf("  %-12s %s\n", lle_commands[i].name, lle_commands[i].summary);
		printf("\nSee 'llm-eval help COMMAND' for one command.\n");
		return LLE_EXIT_OK;
	}
	int ambiguous;
	const struct lle_cmd *c = lle_cmd_find(argv[1], &ambiguous);
	if (!c) {
		const char *near = ambiguous ? NULL : lle_cmd_suggest(argv[1]);
		if (near)
			lle_errorf("unknown command '%s' (did you mean '%s'?)", argv[1], near);
		else
			lle_errorf("%s command '%s'", ambiguous ? "ambiguous" : "unknown", argv[1]);
		return LLE_EXIT_USAGE;
	}
	lle_cmd_print_help(c, stdout);
	return LLE_EXIT_OK;
}
