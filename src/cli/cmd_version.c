/* `llm-eval version`: the version and the libraries the executable was built
 * with. It reports only what is linked into the executable; the engine's and
 * plugins' libraries are listed by `llm-eval list backends`. */
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "cli/cmd.h"
#include "util/err.h"

int lle_cmd_version(struct lle_ctx *ctx, int argc, char **argv)
{
	int json = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else
			return lle_cmd_usage_error(ctx->cmd, "unknown argument '%s'", argv[i]);
	}
	if (json)
		printf("{\"version\":\"%s\",\"git\":\"%s\",\"libyaml\":\"%s\"}\n", LLE_VERSION,
		       LLE_GIT_REV, yaml_get_version_string());
	else
		printf("llm-eval %s (%s)\nlibyaml %s\n", LLE_VERSION, LLE_GIT_REV,
		       yaml_get_version_string());
	return LLE_EXIT_OK;
}
