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
	{ "cache", NULL, "show or clear the response cache",
	  "llm-eval cache stats|clear|path [--cache PATH] [--json]",
	  "Every response a backend gives is kept in the cache (by default\n"
	  "$XDG_CACHE_HOME/llm-eval/cache.sqlite), keyed by the model and every argument\n"
	  "of the request, so a run that is stopped and started again only sends what is\n"
	  "missing. See docs/store.md.\n"
	  "\n"
	  "Actions:\n"
	  "  stats         number of responses by kind, size, and the progress of each run\n"
	  "  clear         remove every cached response and run journal\n"
	  "  path          print where the cache is\n"
	  "\n"
	  "Options:\n"
	  "  --cache PATH  the cache file (default: $XDG_CACHE_HOME/llm-eval/cache.sqlite)\n"
	  "  --json        print stats as a JSON object\n",
	  LLE_NEED_ENGINE, NULL, "lle_cmd_cache" },
	{ "compare", NULL, "compare two runs task by task, against their standard errors",
	  "llm-eval compare RUN_A RUN_B [--format table|markdown|csv|json] [--store PATH]",
	  "For every task and metric both runs have: A, B, the difference B - A, its\n"
	  "standard error, z = (B - A) / se, and whether the difference is larger than\n"
	  "that standard error. When both runs were imported with their samples files,\n"
	  "the difference and its standard error are paired over the documents both\n"
	  "scored; otherwise the standard error is sqrt(se_A^2 + se_B^2). A RUN is a run\n"
	  "id from `llm-eval results list`, a prefix of its uid, or `last`.\n"
	  "\n"
	  "Options:\n"
	  "  --format F    table (default), markdown, csv or json\n"
	  "  --json        the same as --format json\n"
	  "  --store PATH  the run store (default: $XDG_DATA_HOME/llm-eval/runs.sqlite)\n",
	  LLE_NEED_ENGINE, NULL, "lle_cmd_compare" },
	{ "help", NULL, "show help for llm-eval or one command",
	  "llm-eval help [COMMAND]",
	  "With no COMMAND, lists the commands. `llm-eval COMMAND --help` is the same as\n"
	  "`llm-eval help COMMAND`.\n",
	  0, lle_cmd_help, NULL },
	{ "report", NULL, "report models x tasks with standard errors, as text, CSV, JSON or HTML",
	  "llm-eval report [RUN...] [--category C] [--format F] [--output FILE] [--store PATH]",
	  "One row per model, one column per task (its metric with the standard error),\n"
	  "and the average of each category. With no RUN, every stored run; a model and\n"
	  "task found in several runs shows the latest. The HTML report is one file with\n"
	  "bar charts (error bars: one standard error) and no external resources.\n"
	  "\n"
	  "Options:\n"
	  "  --category C   only the tasks of category C\n"
	  "  --format F     table (default), markdown, csv, json or html\n"
	  "  --output FILE  write to FILE instead of standard output (without --format,\n"
	  "                 the format follows its extension: .html, .md, .csv, .json)\n"
	  "  --metric M     show metric M where a task has it (acc, exact_match,flexible-extract)\n"
	  "  --subtasks     also show the members of groups (the MMLU subjects)\n"
	  "  --store PATH   the run store (default: $XDG_DATA_HOME/llm-eval/runs.sqlite)\n",
	  LLE_NEED_ENGINE, NULL, "lle_cmd_report" },
	{ "results", NULL, "list, show and import stored runs",
	  "llm-eval results list|show RUN|import FILE|DIR...|delete RUN [--store PATH] [--json]",
	  "The run store (by default $XDG_DATA_HOME/llm-eval/runs.sqlite) keeps each run's\n"
	  "configuration, versions, timings, hardware and every metric with its standard\n"
	  "error. `import` reads results JSON written by llm-eval or lm-evaluation-harness\n"
	  "(a DIR: every results_*.json in it and in its sub-directories);\n"
	  "importing the same file twice stores it once. Beside DIR/results_DATE.json,\n"
	  "the files DIR/samples_TASK_DATE.jsonl are read too: their per-document scores\n"
	  "let `compare` pair two runs. A RUN is a run id, a prefix of its uid, or `last`.\n"
	  "\n"
	  "Options:\n"
	  "  --store PATH   the run store\n"
	  "  --json         list and show as JSON\n"
	  "  --category C   import: the category of tasks whose file names none\n"
	  "  --no-samples   import: leave the samples files out\n",
	  LLE_NEED_ENGINE, NULL, "lle_cmd_results" },
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
