/* Python hooks of lm-evaluation-harness tasks: `!function module.name`
 * references and the worker process that runs them.
 *
 * A reference is resolved as the harness's task loader does
 * (lm_eval/tasks/_yaml_loader.py, _import_func_in_yml): `utils.process_docs`
 * written in DIR/x.yaml names function `process_docs` of DIR/utils.py (the
 * YAML file that writes it, after includes, not the file that includes it);
 * `a.b.f` names DIR/a/b.py, or when there is no such file, module `a.b` as
 * Python imports it (the tree's lm_eval package is on the path).
 *
 * The worker is one `python3` process for the whole run, running the driver
 * the engine carries (src/hooks/driver.py, embedded at build time), started
 * on the first request, never before: a run, `list` or `--help` without hooks
 * starts no Python. Requests and replies are JSON lines over a socket pair.
 * Calls are serialised (one request in flight); the functions are thread-safe.
 * The worker runs in the project's sandbox (src/sandbox/, lle_sandbox_spawn):
 * no network unless allowed (lle_hooks_allow_network, or the environment's
 * LLM_EVAL_HOOK_NETWORK=1), a read-only file system that shows only the
 * interpreter's files and the task trees of the hooks (each reference's
 * tree, lle_hooks_allow_dir), a /tmp of its own, resource limits
 * (LLM_EVAL_HOOK_MEMORY_MB, ..._CPU_S, ..._NPROC, ..._NOFILE, ..._TMP_MB;
 * docs/hooks.md). A request for a hook whose tree the running worker does
 * not show starts a new worker that shows it.
 *
 * Not here: what a hook means to a task (src/tasks/task_hooks.c). */
#ifndef LLE_HOOKS_HOOKS_H
#define LLE_HOOKS_HOOKS_H

#include <jansson.h>

#include "util/err.h"

struct lle_hookref {
	char *spec;      /* as written: "utils.process_docs" */
	char *module;    /* the module file: <yaml dir>/utils.py ("a.b.f": <yaml dir>/a/b.py) */
	char *fn;        /* "process_docs" */
	char *name;      /* the module as written ("utils", "a.b"): imported by name when
			    the file does not exist */
	char *base;      /* the YAML file's directory */
};

/* The reference `spec` written in `yaml_file`. NULL with err set when spec
 * has no module part ("process_docs" alone). */
struct lle_hookref *lle_hookref_new(const char *yaml_file, const char *spec, struct lle_err *err);
void lle_hookref_free(struct lle_hookref *h);

/* Worker settings; call before the first request (later calls apply to
 * the next worker started). python: the interpreter (NULL: $LLM_EVAL_PYTHON,
 * else python3). */
void lle_hooks_configure(const char *python);
/* Whether the worker may use the network (--allow-hook-network); applies
 * to the next worker started. */
void lle_hooks_allow_network(int allow);
/* Show dir (a task search directory; the folder above the tree's lm_eval
 * package when it is inside one) to workers started from now on. */
void lle_hooks_allow_dir(const char *dir);

/* One request ({"op": ...}, see driver.py); returns the reply's "ok" value
 * (a new reference). A hook's exception: NULL, err LLE_EXIT_DATA with
 * "'SPEC': Type: message (at file:line in func)"; a module that is not
 * installed: LLE_EXIT_CONFIG, "'SPEC': python module 'sympy' is not
 * installed (apt-get install python3-sympy)". `h` names the hook in errors
 * (may be NULL). */
json_t *lle_hooks_request(const struct lle_hookref *h, json_t *req, struct lle_err *err);

/* fn(*args) (args: a JSON array, borrowed). */
json_t *lle_hooks_call(const struct lle_hookref *h, json_t *args, struct lle_err *err);
/* Each hs[i](*args), in one request: an array of n values. An error names
 * the hook that raised. */
json_t *lle_hooks_multi(const struct lle_hookref *const *hs, size_t n, json_t *args, struct lle_err *err);
/* Import the hook's module and look the function up: the check before any
 * model loads. */
int lle_hooks_load(const struct lle_hookref *h, struct lle_err *err);

/* How to install Python module `mod` ("apt-get install python3-X" where
 * Debian packages it, else "pip install X"), written into hint[len]. */
const char *lle_hooks_install_hint(const char *mod, char *hint, size_t len);

/* How many requests have failed for a hook's sake (an exception, the
 * worker's death) in this process: a caller compares it before and after
 * a step to tell a hook's failure from its own (--on-error continue). */
unsigned long lle_hooks_failures(void);

/* Whether the worker has been started in this process (tests). */
int lle_hooks_started(void);
/* Stop the worker (closing its input ends it); the next request starts a new one. */
void lle_hooks_stop(void);

#endif
