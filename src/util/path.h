/* Paths: joining, XDG base directories, and where this installation keeps
 * its built-in registry and plugins.
 *
 * Installed, the binary is $PREFIX/bin/llm-eval and its files are
 * $PREFIX/share/llm-eval and $PREFIX/lib/llm-eval. Run from a build tree
 * (e.g. $TOP/build/llm-eval), the registry is $TOP/registry and the engine and
 * plugins are beside the binary in lib/, so tests and the demo need no install.
 * LLM_EVAL_DATADIR and LLM_EVAL_PLUGIN_PATH override both. */
#ifndef LLE_UTIL_PATH_H
#define LLE_UTIL_PATH_H

#include <stddef.h>

/* a + "/" + b, malloc()ed; NULL on failure. b absolute -> copy of b. */
char *lle_path_join(const char *a, const char *b);
/* Directory part of a path, malloc()ed ("." when there is none). */
char *lle_path_dirname(const char *path);
/* Directory of the running executable (from /proc/self/exe), cached; NULL if unknown. */
const char *lle_exe_dir(void);
/* The built-in registry directory (see above). Never NULL. */
const char *lle_builtin_registry_dir(void);
/* Directory holding libllm-eval-engine.so and the plugins. Never NULL. */
const char *lle_lib_dir(void);
/* $XDG_CONFIG_HOME/llm-eval, $XDG_CACHE_HOME/llm-eval, $XDG_DATA_HOME/llm-eval,
 * with the XDG defaults under $HOME; malloc()ed, NULL when neither is set. */
char *lle_xdg_dir(const char *kind /* "config", "cache" or "data" */);
/* mkdir -p with mode 0755; 0 or -1 with errno set. */
int lle_mkdir_p(const char *path);

#endif
