/* llm-eval's entry point and dispatcher.
 *
 * It parses the global options, finds the command in the table (exact name,
 * alias or unique prefix), answers `--help` for it, and sets up only what the
 * command's row asks for: the registry search path, or the engine library.
 * Nothing else is initialised, which is why `llm-eval --help` costs about as
 * much as /bin/true (bench/startup.sh measures it).
 *
 * Global options may appear before or after the command name (before `--`):
 *   --include-path DIR   -v/--verbose  -q/--quiet  --color WHEN  --no-color
 * The flags of the Python tool this replaces still work:
 *   --help, --list-models, --list-categories, --list-tasks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "util/buf.h"
#include "util/diag.h"
#include "util/err.h"
#include "util/path.h"
#include "util/suggest.h"

#define MAX_PATHS 64

static void print_main_help(FILE *f)
{
	fprintf(f,
		"usage: llm-eval [--include-path DIR] [-v|-q] [--color WHEN] COMMAND [ARGS]\n"
		"\n"
		"Evaluate large language models on benchmark tasks, grouped by category.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < lle_ncommands; i++)
		fprintf(f, "  %-12s %s\n", lle_commands[i].name, lle_commands[i].summary);
	fprintf(f, "\nGlobal options:\n%s", lle_global_options_help);
	fprintf(f,
		"\n"
		"Commands may be abbreviated to a unique prefix. See README.md for the exit\n"
		"codes, the environment variables and the files llm-eval reads.\n");
}

/* The global options, and the old tool's flags, for suggestions. */
static const char *const global_options[] = {
	"--include-path", "--verbose", "--quiet", "--color", "--no-color", "--help", "--version",
	"--list-models", "--list-categories", "--list-tasks", NULL,
};

/* Remove argv[i .. i+n) in place. */
static void drop_args(int *argc, char **argv, int i, int n)
{
	memmove(&argv[i], &argv[i + n], sizeof(char *) * (size_t)(*argc - i - n + 1));
	*argc -= n;
}

struct globals {
	const char *include[MAX_PATHS];
	size_t ninclude;
	int help;
};

/* Take the global options out of argv, wherever they are before "--". */
static int take_globals(int *argc, char **argv, struct globals *g)
{
	for (int i = 1; i < *argc;) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			break;
		/* --include_path: lm-evaluation-harness's spelling */
		if (strncmp(a, "--include", 9) == 0 && (a[9] == '-' || a[9] == '_') &&
		    (strcmp(a + 10, "path") == 0 || strncmp(a + 10, "path=", 5) == 0)) {
			const char *v = a[14] == '=' ? a + 15 : (i + 1 < *argc ? argv[i + 1] : NULL);
			if (!v) {
				lle_errorf("option '--include-path' needs a directory");
				return -1;
			}
			if (g->ninclude == MAX_PATHS) {
				lle_errorf("too many --include-path options (at most %d)", MAX_PATHS);
				return -1;
			}
			g->include[g->ninclude++] = v;
			drop_args(argc, argv, i, a[14] == '=' ? 1 : 2);
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			lle_diag_set_verbosity(lle_diag_verbosity() < LLE_VERBOSE ? LLE_VERBOSE : LLE_DEBUG);
			drop_args(argc, argv, i, 1);
		} else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			lle_diag_set_verbosity(LLE_QUIET);
			drop_args(argc, argv, i, 1);
		} else if (strcmp(a, "--no-color") == 0) {
			lle_diag_set_color(0);
			drop_args(argc, argv, i, 1);
		} else if (strcmp(a, "--color") == 0 || strncmp(a, "--color=", 8) == 0) {
			const char *v = a[7] == '=' ? a + 8 : (i + 1 < *argc ? argv[i + 1] : NULL);
			if (!v || (strcmp(v, "auto") && strcmp(v, "always") && strcmp(v, "never"))) {
				lle_errorf("option '--color' takes auto, always or never");
				return -1;
			}
			lle_diag_set_color(strcmp(v, "auto") == 0 ? -1 : strcmp(v, "always") == 0);
			drop_args(argc, argv, i, a[7] == '=' ? 1 : 2);
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			g->help = 1;
			drop_args(argc, argv, i, 1);
		} else {
			i++;
		}
	}
	return 0;
}

/* The registry search path, lowest precedence first. The strings live until exit. */
static int build_search_path(struct lle_ctx *ctx, const struct globals *g)
{
	static const char *paths[MAX_PATHS * 2 + 2];
	size_t n = 0;
	paths[n++] = lle_builtin_registry_dir();
	char *xdg = lle_xdg_dir("config");
	if (xdg)
		paths[n++] = xdg; /* kept for the life of the process */
	ctx->n_fixed_path = n; /* built-in and XDG: registry layouts, may be absent */
	const char *env = getenv("LLM_EVAL_INCLUDE_PATH");
	if (env && *env) {
		char *copy = lle_strdup(env);
		if (!copy)
			return -1;
		for (char *save = NULL, *tok = strtok_r(copy, ":", &save); tok && n < MAX_PATHS;
		     tok = strtok_r(NULL, ":", &save))
			paths[n++] = tok;
	}
	for (size_t i = 0; i < g->ninclude; i++)
		paths[n++] = g->include[i];
	ctx->search_path = paths;
	ctx->n_search_path = n;
	return 0;
}

static int dispatch(struct lle_ctx *ctx, const struct lle_cmd *c, int argc, char **argv)
{
	ctx->cmd = c;
	lle_cmd_fn fn = c->fn;
	if (c->need & LLE_NEED_ENGINE) {
		void *sym = lle_cli_engine_sym(ctx, c->engine_sym);
		if (!sym)
			return LLE_EXIT_INTERNAL;
		*(void **)&fn = sym; /* POSIX: a data pointer from dlsym converts to a function pointer */
	}
	return fn(ctx, argc, argv);
}

int main(int argc, char **argv)
{
	struct globals g = { .ninclude = 0 };
	struct lle_ctx ctx = { 0 };

	lle_diag_init();
	const char *fm = getenv("LLM_EVAL_FAST_MODE");
	ctx.fast_mode = fm && strcmp(fm, "1") == 0;
	const char *lazy = getenv("LLM_EVAL_LAZY_LOADING");
	ctx.lazy_loading = !(lazy && strcmp(lazy, "0") == 0);

	if (take_globals(&argc, argv, &g) < 0)
		return LLE_EXIT_USAGE;

	/* The Python tool's flags, kept working. */
	char *compat[4] = { NULL };
	if (argc >= 2 && (strcmp(argv[1], "--list-models") == 0 ||
			  strcmp(argv[1], "--list-categories") == 0 ||
			  strcmp(argv[1], "--list-tasks") == 0)) {
		compat[0] = argv[0];
		compat[1] = "list";
		compat[2] = argv[1] + 7;
		argv = compat;
		argc = 3;
	}

	if (argc < 2) {
		if (g.help) {
			print_main_help(stdout);
			return LLE_EXIT_OK;
		}
		print_main_help(stderr);
		return LLE_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
		argv[1] = "version";
	if (argv[1][0] == '-') {
		char word[64];
		snprintf(word, sizeof(word), "%.*s", (int)strcspn(argv[1], "="), argv[1]);
		const char *near = lle_suggest(word, global_options);
		if (near)
			lle_errorf("unknown option '%s' (did you mean '%s'?)", argv[1], near);
		else
			lle_errorf("unknown option '%s'", argv[1]);
		fprintf(stderr, "see 'llm-eval --help'\n");
		return LLE_EXIT_USAGE;
	}

	int ambiguous;
	const struct lle_cmd *c = lle_cmd_find(argv[1], &ambiguous);
	if (!c) {
		if (ambiguous) {
			struct lle_buf b = LLE_BUF_INIT;
			size_t n = strlen(argv[1]);
			for (size_t i = 0; i < lle_ncommands; i++)
				if (strncmp(lle_commands[i].name, argv[1], n) == 0)
					lle_buf_printf(&b, "%s%s", b.n ? ", " : "", lle_commands[i].name);
			lle_errorf("ambiguous command '%s', could be: %s", argv[1], lle_buf_str(&b));
			lle_buf_free(&b);
		} else {
			const char *near = lle_cmd_suggest(argv[1]);
			if (near)
				lle_errorf("unknown command '%s' (did you mean '%s'?)", argv[1], near);
			else
				lle_errorf("unknown command '%s'", argv[1]);
			fprintf(stderr, "see 'llm-eval help' for the list of commands\n");
		}
		return LLE_EXIT_USAGE;
	}
	if (g.help) {
		lle_cmd_print_help(c, stdout);
		return LLE_EXIT_OK;
	}
	if ((c->need & LLE_NEED_REGISTRY) && build_search_path(&ctx, &g) < 0) {
		lle_errorf("out of memory");
		return LLE_EXIT_INTERNAL;
	}
	/* LLM_EVAL_LAZY_LOADING=0: check the whole registry before any command
	 * that uses it, and stop on an error (for debugging a registry). */
	if ((c->need & LLE_NEED_REGISTRY) && !ctx.lazy_loading && c->fn != lle_cmd_validate) {
		int rc = lle_cli_validate_all(&ctx, 0);
		if (rc)
			return rc;
	}
	/* Commands see argv from their own name on, as getopt expects. */
	return dispatch(&ctx, c, argc - 1, argv + 1);
}
