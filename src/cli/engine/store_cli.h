/* Helpers shared by the store's commands (cache, results, report, compare):
 * option values in both "--opt VALUE" and "--opt=VALUE" forms, opening the run
 * store at --store or its default place, and writing a file whole or not at
 * all. Defined in cmd_results.c. */
#ifndef LLE_CLI_ENGINE_STORE_CLI_H
#define LLE_CLI_ENGINE_STORE_CLI_H

#include <stddef.h>

#include "cli/cmd.h"
#include "store/runstore.h"

/* If argv[*i] is option name (with "=VALUE" or followed by VALUE), set *val,
 * advance *i past the value and return 1; 0 if it is another argument; -1 (a
 * usage error was printed) when the value is missing. */
int lle_store_cli_opt(const struct lle_cmd *cmd, int argc, char **argv, int *i, const char *name,
		      const char **val);
/* Open the run store at path (or the default when NULL); prints the error. */
struct lle_runstore *lle_store_cli_open_runs(const char *path, int readonly, int *exit_code);

#endif
