/* `llm-eval monitor` (cmd_monitor.c): the entry point the dispatcher finds by
 * name in the engine, and the helper that reads another llm-eval's command
 * line (exported for the unit tests). */
#ifndef LLE_CLI_ENGINE_CMD_MONITOR_H
#define LLE_CLI_ENGINE_CMD_MONITOR_H

#include "cli/cmd.h"

int lle_cmd_monitor(struct lle_ctx *ctx, int argc, char **argv);

/* The command word of an llm-eval command line (argv[0] is the program),
 * skipping the global options as main.c takes them; NULL when there is none. */
const char *lle_monitor_command_word(int argc, char **argv);

#endif
