/* The backend plugin loader: finds NAME.so in the plugin directories, loads
 * it with dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE), checks its ABI version and hands out
 * its function table (include/llm-eval/backend.h).
 *
 * Plugin directories, searched in order: each directory of
 * LLM_EVAL_PLUGIN_PATH (colon-separated), then lle_lib_dir() (beside the
 * binary in a build tree, $PREFIX/lib/llm-eval installed). A plugin is any
 * `*.so` there whose name does not start with "lib" (so the engine library and
 * the plugins' own libraries are never taken for plugins).
 *
 * Every failure closes the library again and says which file and why: not
 * installed, a library it needs is missing, no entry symbol, another ABI
 * version, refused by the plugin. Loading models is not done here: that is the
 * plugin's open(). */
#ifndef LLE_BACKEND_LOADER_H
#define LLE_BACKEND_LOADER_H

#include <stddef.h>

#include "llm-eval/backend.h"
#include "util/err.h"

struct lle_plugin {
	void *handle;                   /* dlopen() handle */
	char *path;                     /* the file loaded */
	const struct lle_backend *be;   /* the plugin's table */
};

/* Host services that print through util/diag.h (log levels map to error,
 * warning, -v and -v -v) and use malloc; progress is shown at -v. Static. */
const struct lle_host *lle_backend_default_host(void);

/* The plugin directories in search order (see above): a NULL-terminated array
 * of malloc()ed strings, freed with lle_backend_dirs_free. NULL on no memory. */
char **lle_backend_dirs(void);
void lle_backend_dirs_free(char **dirs);

/* Path of backend NAME's plugin, malloc()ed. A NAME with a '/' is a path and
 * is returned as it is. NULL with err set (LLE_EXIT_BACKEND) when not found. */
char *lle_backend_find(const char *name, struct lle_err *err);

/* Load the plugin file at path and call its entry with host (NULL: the
 * default host). NULL with err set (LLE_EXIT_BACKEND) on any failure. */
struct lle_plugin *lle_plugin_open(const char *path, const struct lle_host *host,
				   struct lle_err *err);
/* lle_backend_find + lle_plugin_open. */
struct lle_plugin *lle_backend_load(const char *name, const struct lle_host *host,
				    struct lle_err *err);
/* dlclose and free; NULL is fine. Close every model of the plugin first. */
void lle_plugin_close(struct lle_plugin *p);

/* One installed plugin file, as lle_backend_scan finds it. */
struct lle_plugin_file {
	const char *name;   /* file name without ".so" */
	const char *path;
	int shadowed;       /* an earlier directory has a plugin of the same name */
};
/* Call fn for every plugin file of every plugin directory, directories in
 * search order, files by name within each. Stops when fn returns nonzero and
 * returns that value; 0 when all were seen; -1 with err set on no memory. */
int lle_backend_scan(int (*fn)(void *user, const struct lle_plugin_file *f), void *user,
		     struct lle_err *err);

#endif
