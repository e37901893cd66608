/* The command table.
 *
 * Every command is one row of one table (commands.c), as in git's git.c and
 * tmux's cmd.c. A row says what the command needs; the dispatcher (main.c)
 * sets up only that, so `--help` and `list` never touch the engine, a plugin,
 * SQLite or NVML.
 *
 * To add a command:
 *   1. write src/cli/cmd_NAME.c (or src/cli/engine/cmd_NAME.c if it needs the
 *      engine: jansson, PCRE2, SQLite, datasets, backends) with
 *      `int lle_cmd_NAME(struct lle_ctx *ctx, int argc, char **argv)`;
 *   2. add its row to commands.c, with its usage and help text;
 *   3. document it in README.md (tests/cli/t0002-help.sh checks that every
 *      command of the table is in the README, answers --help, has its section
 *      in the man page and completes with every option its help lists: the
 *      man page and the completion are generated from this table);
 *   4. add tests/cli/tNNNN-NAME.sh.
 */
#ifndef LLE_CLI_CMD_H
#define LLE_CLI_CMD_H

#include <stddef.h>

/* The interface between the executable and libllm-eval-engine.so: struct
 * lle_ctx, the command signature, and every util/registry/backend function
 * the engine calls, listed in src/cli/engine/imports.txt (a test compares it
 * with the build). Bump it when any of them changes incompatibly or the list
 * grows; the dispatcher refuses an engine of another version or interface.
 * 2: the backend descriptions and secret scrubbing (src/backend/describe.h).
 * 6: the view command (lle_cmd_view).
 * 7: run --config reads YAML (lle_yaml_load_file).
 * 8: the data command and the Hub client (lle_yaml_load_mem). */
#define LLE_ENGINE_ABI "9"

/* What a command needs set up before it runs. */
enum lle_cmd_need {
	LLE_NEED_REGISTRY = 1 << 0, /* the registry search path (built-in, XDG, --include-path) */
	LLE_NEED_ENGINE = 1 << 1,   /* libllm-eval-engine.so: the command's code lives there */
};

struct lle_ctx {
	/* Registry directories, lowest precedence first: the built-in registry,
	 * $XDG_CONFIG_HOME/llm-eval, LLM_EVAL_INCLUDE_PATH, then --include-path. */
	const char **search_path;
	size_t n_search_path;
	size_t n_fixed_path;    /* the first n_fixed_path entries are the built-in and XDG
	                         * registries: registry layouts, skipped when absent */
	int fast_mode;          /* LLM_EVAL_FAST_MODE=1 */
	int lazy_loading;       /* LLM_EVAL_LAZY_LOADING, 1 unless set to 0 */
	void *engine;           /* dlopen() handle of the engine, when loaded */
	const struct lle_cmd *cmd;
};

typedef int (*lle_cmd_fn)(struct lle_ctx *ctx, int argc, char **argv);

struct lle_cmd {
	const char *name;
	const char *alias;      /* or NULL */
	const char *summary;    /* one line for `llm-eval help` */
	const char *usage;      /* "llm-eval list [options] models|tasks|..." */
	const char *help;       /* the rest of `llm-eval help NAME`: options, examples */
	unsigned need;          /* enum lle_cmd_need */
	lle_cmd_fn fn;          /* for commands built into the executable */
	const char *engine_sym; /* for LLE_NEED_ENGINE commands: the symbol in the engine */
};

/* The commands built into the executable (engine commands are found by name). */
int lle_cmd_help(struct lle_ctx *ctx, int argc, char **argv);
int lle_cmd_version(struct lle_ctx *ctx, int argc, char **argv);
int lle_cmd_list(struct lle_ctx *ctx, int argc, char **argv);
int lle_cmd_show(struct lle_ctx *ctx, int argc, char **argv);
int lle_cmd_validate(struct lle_ctx *ctx, int argc, char **argv);
int lle_cmd_completion(struct lle_ctx *ctx, int argc, char **argv);

/* Registry helpers shared by list, show and validate (cmd_list.c). Open the
 * registry over ctx->search_path for the types in `types` (bits of 1 << enum
 * lle_reg_type); on failure print the error and set *rc. */
struct lle_registry;
struct lle_registry *lle_cli_registry(struct lle_ctx *ctx, unsigned types, int *rc);
/* Print the registry's warnings (duplicates, overrides) to stderr. */
void lle_cli_registry_warnings(const struct lle_registry *r);
/* Validate the whole registry and print its problems; the exit code. */
int lle_cli_validate_all(struct lle_ctx *ctx, int strict);
/* Load the engine into ctx->engine (once; the version checked as for an
 * engine command) and return its symbol `sym`; NULL after printing why. */
void *lle_cli_engine_sym(struct lle_ctx *ctx, const char *sym);
struct lle_buf;

/* The task check, in the engine (src/cli/engine/check.c), found with
 * lle_cli_engine_sym(ctx, "lle_engine_check_tasks") by `validate` and
 * `show task`: plan NAME (NULL: every task, group and python task of reg)
 * as `run --tasks NAME` would without a model or data, print each problem
 * as one error line (a problem shared by several names once), and with
 * report, add a line "name<TAB>kind<TAB>python|-<TAB>ok|problem" per name
 * (python: its config, includes merged, has a `!function` or `class`). An exit
 * code: 0, or LLE_EXIT_INTERNAL (out of memory); problems are counted in c. */
struct lle_check_counts {
	size_t nchecked;  /* names planned */
	size_t nfailed;   /* names that do not plan */
	size_t nlines;    /* error lines printed */
	int first_code;   /* the first problem's exit code */
};
typedef int (*lle_check_tasks_fn)(struct lle_registry *reg, const char *name, struct lle_buf *report,
				  struct lle_check_counts *c);
int lle_engine_check_tasks(struct lle_registry *reg, const char *name, struct lle_buf *report,
			   struct lle_check_counts *c);

/* Write the buffer to stdout; LLE_EXIT_IO on a failed or short write. */
struct lle_buf;
int lle_cli_write_out(struct lle_buf *b);

/* The list commands' PATTERN: a glob when it has * ? or [, else a
 * case-insensitive substring; NULL matches every name. */
int lle_cli_name_matches(const char *name, const char *pattern);
/* A listing, as the list commands print it: n candidate rows; row() fills
 * the cells of row i (and a colour for column colour_col, or NULL) and
 * returns 0 when the row is filtered out; json() writes row i as one JSON
 * object. At most 8 columns. */
struct lle_rows {
	const char *const *hdr;
	size_t ncols, n;
	int (*row)(void *ctx, size_t i, const char **cells, const char **colour);
	void (*json)(void *ctx, size_t i, struct lle_buf *out);
	void *ctx;
	size_t colour_col;
};
/* Print rows as format (LLE_FMT_*): a table (columns padded, the last cut
 * to a terminal's width, a bold header when color), TSV (lower-case header,
 * tabs and newlines in cells made spaces) or a JSON array. Two passes over
 * the rows, widths then text, so nothing per row is kept; written out to
 * stdout every 256 KB (lle_cli_write_out writes the rest). */
void lle_cli_print_rows(const struct lle_rows *R, int format, int color, struct lle_buf *out);
/* `list backends` (cmd_list_backends.c); argv[0] is "backends". */
int lle_list_backends(struct lle_ctx *ctx, int argc, char **argv);
/* `list datasets` (cmd_list_datasets.c); argv[0] is "datasets". */
int lle_list_datasets(struct lle_ctx *ctx, int argc, char **argv);

extern const struct lle_cmd lle_commands[];
extern const size_t lle_ncommands;
/* The "Global options:" lines of `llm-eval --help` and the man page. */
extern const char lle_global_options_help[];

/* Find a command by exact name, alias, or unique prefix. On an ambiguous
 * prefix, *ambiguous is set and NULL returned. */
const struct lle_cmd *lle_cmd_find(const char *name, int *ambiguous);
/* Print `usage:` and help of a command to f. */
void lle_cmd_print_help(const struct lle_cmd *c, void *f /* FILE* */);
/* Print the short usage line and "see llm-eval help NAME" to stderr; returns LLE_EXIT_USAGE. */
int lle_cmd_usage_error(const struct lle_cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The value of option `name` at argv[*i], as "--name V" (moving *i on) or
 * "--name=V"; NULL when argv[*i] is another option, or (with *missing set)
 * when "--name" is last. */
const char *lle_cmd_opt_value(int argc, char **argv, int *i, const char *name, int *missing);

/* The options a command documents, from the table: those of its usage line
 * and those that begin an indented line of its help ("  --json  ..."), in
 * order, once each, at most max. Completion, suggestions and the help test
 * all read this, so the table is the one list. */
#define LLE_OPT_MAX 40
size_t lle_cmd_options(const struct lle_cmd *c, char (*out)[LLE_OPT_MAX], size_t max);
/* "unknown option 'ARG' (did you mean '--X'?)" and the usage; LLE_EXIT_USAGE. */
int lle_cmd_unknown_option(const struct lle_cmd *c, const char *arg);
/* The command name or alias closest to a mistyped one, or NULL. */
const char *lle_cmd_suggest(const char *name);
/* "unknown WHAT 'WORD' (did you mean 'K'?)", else "(CHOICES)", with the
 * usage; known is NULL-terminated. LLE_EXIT_USAGE. */
int lle_cmd_unknown_word(const struct lle_cmd *c, const char *what, const char *word,
			 const char *const *known, const char *choices);

/* Output formats of the list commands, and the --format word for each:
 * 0 with *fmt set, -1 for an unknown word. */
enum { LLE_FMT_TABLE, LLE_FMT_TSV, LLE_FMT_JSON };
int lle_cmd_format(const char *word, int *fmt);

#endif
