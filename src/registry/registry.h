/* The registries: models, tasks and categories, read lazily.
 *
 * A registry directory on the search path is either a registry layout (with
 * models/, tasks/ and categories/ sub-directories, as the built-in registry)
 * or an lm-evaluation-harness tasks/ tree (every *.yaml below it is a task,
 * group or python task file). Each (directory, type) pair is a *source*; its
 * index holds only what `list` prints, read with libyaml's event API, and is
 * kept on disk under $XDG_CACHE_HOME/llm-eval/ (cache.c) so a warm `list`
 * parses nothing. A file's full config (includes merged) is built only by
 * `show`, `validate` or a run (config.c), and checked by validate.c.
 *
 * What this module does not do: print anything (diagnostics for list are
 * collected as strings for the command to print), or run any `!function`. */
#ifndef LLE_REGISTRY_REGISTRY_H
#define LLE_REGISTRY_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "data/yaml.h"
#include "util/buf.h"
#include "util/err.h"

enum lle_reg_type { LLE_REG_MODELS = 0, LLE_REG_TASKS = 1, LLE_REG_CATEGORIES = 2, LLE_REG_NTYPES = 3 };

/* What an entry is. Tasks come in four kinds, as in lm-evaluation-harness. */
enum lle_reg_kind {
	LLE_KIND_NONE = 0, /* a file that registers nothing (broken, or none of the keys) */
	LLE_KIND_MODEL,
	LLE_KIND_CATEGORY,
	LLE_KIND_TASK,
	LLE_KIND_GROUP,
	LLE_KIND_TAG,
	LLE_KIND_PYTASK,
};

/* How a search path directory is read. */
enum lle_reg_layout {
	LLE_LAYOUT_REGISTRY = 0, /* models/, tasks/, categories/ sub-directories */
	LLE_LAYOUT_HARNESS = 1,  /* an lm-evaluation-harness tasks/ tree: all *.yaml are tasks */
};

/* Files larger than this are not parsed (listing skips them, validate reports them). */
#define LLE_REG_MAX_FILE (8u << 20)
/* How deep `include:` chains may nest: one limit for the index (index_scan.c)
 * and full configs (config.c), so `list` and `show` agree on a file. */
#define LLE_REG_MAX_INCLUDE_DEPTH 32

/* One entry as `list` prints it. Strings are never NULL ("" when absent) and
 * live as long as the registry that returned them. */
struct lle_reg_entry {
	const char *name;
	const char *category;    /* tasks: category; models: categories joined with ","; */
	const char *description; /* first line only */
	const char *params;      /* models: params_b as written */
	const char *size;        /* models: size_gb as written */
	const char *backend;     /* models: default backend */
	const char *root;        /* the source directory */
	const char *relpath;     /* the file that registers it, relative to root */
	unsigned line, col;      /* of the key that names it */
	int kind;                /* enum lle_reg_kind */
	unsigned nmembers;       /* tags: number of tasks */
	unsigned source;         /* index of the source in the registry (search path order) */
};

/* Index-building and loading options. */
struct lle_reg_opts {
	const char *cache_dir; /* NULL: no persistent cache */
	int trust_cache;       /* LLM_EVAL_FAST_MODE: use a cache without checking files */
};

/* One source: a directory's index for one type. */
struct lle_reg_source;

/* Statistics of the last load, for -v and the tests. */
struct lle_reg_stats {
	int from_cache;    /* the cache was used (1) or there was none / it was unusable (0) */
	int cache_written; /* a new cache was written */
	unsigned parsed;   /* scanned files (re)indexed: read with the event API */
	unsigned reused;   /* records reused from the cache */
	char cache_note[160]; /* why a cache was not used ("" when it was, or there is none) */
};

struct lle_reg_source *lle_reg_source_load(const char *root, int type, int layout,
					   const struct lle_reg_opts *opts,
					   struct lle_reg_stats *stats, struct lle_err *err);
void lle_reg_source_free(struct lle_reg_source *s);
const char *lle_reg_source_root(const struct lle_reg_source *s);
int lle_reg_source_layout(const struct lle_reg_source *s); /* enum lle_reg_layout */

/* Number of entries of a source, and the i-th, sorted by name (bytes). */
size_t lle_reg_source_count(const struct lle_reg_source *s);
void lle_reg_source_entry(const struct lle_reg_source *s, size_t i, struct lle_reg_entry *e);
const char *lle_reg_source_name(const struct lle_reg_source *s, size_t i);
/* Warnings found while indexing (duplicate names), to print on every use. */
size_t lle_reg_source_ndiags(const struct lle_reg_source *s);
const char *lle_reg_source_diag(const struct lle_reg_source *s, size_t i, int *is_error);

/* The files of a source, in path order: each scanned *.yaml with its kind
 * (LLE_KIND_NONE for a file that registers nothing) and the error that made
 * it unreadable for the index, or NULL. */
size_t lle_reg_source_nfiles(const struct lle_reg_source *s);
const char *lle_reg_source_file(const struct lle_reg_source *s, size_t i, int *kind,
				const char **name, const char **error);
/* The names of the tasks that carry tag `tag`, in path order, through fn. */
void lle_reg_source_tag_members(const struct lle_reg_source *s, const char *tag,
				void (*fn)(void *arg, const char *task), void *arg);

/* ---- The whole registry over a search path ---- */

struct lle_registry;

/* Open the registry over dirs[0..n), lowest precedence first. The first
 * n_fixed directories are registry layouts (built-in, XDG config) and are
 * skipped when absent; the others are detected (registry layout when they have
 * a models/, tasks/ or categories/ sub-directory, else a harness tree) and
 * must exist. Only the types whose bit is set in `types` are loaded. */
struct lle_registry *lle_registry_open(const char *const *dirs, size_t n, size_t n_fixed,
				       unsigned types, const struct lle_reg_opts *opts,
				       struct lle_err *err);
void lle_registry_free(struct lle_registry *r);

/* The merged entries of one type, sorted by name: where several sources
 * define a name, the later one wins (and a warning is collected). */
size_t lle_registry_count(struct lle_registry *r, int type);
/* The i-th merged entry into *e; 0, or -1 when out of range. */
int lle_registry_get(struct lle_registry *r, int type, size_t i, struct lle_reg_entry *e);
/* Whether name is an entry of the type; fills *e (when not NULL). */
int lle_registry_find(struct lle_registry *r, int type, const char *name, struct lle_reg_entry *e);
/* The entry name of the type closest to a mistyped `name` (util/suggest.h),
 * or NULL when none is close; it lives as long as the registry. */
const char *lle_registry_suggest(struct lle_registry *r, int type, const char *name);
/* Warnings of all loaded sources and of the merge, in order. */
size_t lle_registry_ndiags(const struct lle_registry *r);
const char *lle_registry_diag(const struct lle_registry *r, size_t i);
/* Sources loaded for a type, in search path order. */
size_t lle_registry_nsources(const struct lle_registry *r, int type);
struct lle_reg_source *lle_registry_source(const struct lle_registry *r, int type, size_t i);
/* Sum of the load statistics of all sources. */
void lle_registry_stats(const struct lle_registry *r, struct lle_reg_stats *st);

/* The cache directory to use ($XDG_CACHE_HOME/llm-eval/index), created if
 * needed; NULL (and no error) when there is none or it cannot be written. */
char *lle_reg_cache_dir(void);

const char *lle_reg_kind_name(int kind);  /* "task", "group", "tag", "python-task", ... */
int lle_reg_kind_parse(const char *s);    /* LLE_KIND_* or -1 */
const char *lle_reg_type_name(int type);  /* "models", "tasks", "categories" */

/* ---- Full configs (config.c) ---- */

/* Load a file with its `include:` chain merged: included files first (a path
 * or a list, relative to the including file, recursive; later includes win
 * over earlier ones), then the file's own keys win. A cycle, a missing
 * include or a bad `include:` value is an error naming path:line:col. The
 * `include` key itself is removed; the files read are appended to *files
 * (one path per string, malloc()ed) when files is not NULL. Nodes keep the
 * file:line:col they came from. */
struct lle_node *lle_reg_load_full(const char *path, char ***files, size_t *nfiles,
				   struct lle_err *err);

/* ---- Validation (validate.c) ---- */

/* What the validator knows of the installed backends, from the command
 * line side (src/cli/cmd_validate.c fills it through src/backend/). */
struct lle_option;
struct lle_reg_backends {
	void *user;
	/* The installed backends' names joined with ", " ("" when none; NULL on
	 * no memory), found without loading any. */
	const char *(*names)(void *user);
	/* Whether name is an installed backend (without loading it). */
	int (*has)(void *user, const char *name);
	/* Its capability bits and option table (NULL: it declares none), loaded
	 * once; -1 with why filled when it does not load. */
	int (*describe)(void *user, const char *name, uint64_t *caps, const struct lle_option **options,
			char *why, size_t why_len);
};

struct lle_reg_problems {
	struct lle_buf text;  /* "error: ...\n" / "warning: ...\n" lines, unique */
	unsigned nerrors, nwarnings, nfiles;
	void *seen;           /* private: set of messages already reported */
	/* Backends that model files may name; NULL: backend names and options
	 * are not checked (only that `backends` is a map). */
	const struct lle_reg_backends *backends;
};

/* Check every file of every loaded source of the registry: parse, includes,
 * required keys, types, unknown keys (with the closest known key), names,
 * categories that exist, duplicate names. Problems are appended to p.
 * Returns -1 only on out-of-memory (err set). */
int lle_registry_validate(struct lle_registry *r, struct lle_reg_problems *p, struct lle_err *err);
void lle_reg_problems_free(struct lle_reg_problems *p);

/* Check one full config of a given type; for `show` and the unit tests. */
/* `strict` (registry layouts) also requires what a runnable built-in task
 * needs; r (may be NULL) is used to check that categories exist. */
void lle_reg_check_config(const struct lle_node *cfg, int type, int kind, int strict,
			  struct lle_registry *r, struct lle_reg_problems *p);
/* Add one problem line ("error: " or "warning: " + msg), unless already reported. */
void lle_reg_problem(struct lle_reg_problems *p, int is_error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Where `key` (whose value is v) is written: trees keep the positions of
 * values only, so this reads v's file for the last `key:` at or before the
 * value's line. Falls back to the value's position. */
void lle_reg_key_pos(const struct lle_node *v, const char *key, unsigned *line, unsigned *col);

#endif
