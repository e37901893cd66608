/* Loading libllm-eval-engine.so into the executable: once per process, with
 * its version checked against the executable's (the engine resolves util and
 * registry symbols from it, so a mismatch would be undefined behaviour). Used
 * by the dispatcher for engine commands and by `validate` and `show task` for
 * the task check. Not here: which commands need it (the command table). */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "util/diag.h"
#include "util/path.h"

void *lle_cli_engine_sym(struct lle_ctx *ctx, const char *sym_name)
{
	void *h = ctx->engine;
	if (!h) {
		char *path = lle_path_join(lle_lib_dir(), "libllm-eval-engine.so");
		if (!path) {
			lle_errorf("out of memory");
			return NULL;
		}
		/* The engine resolves util and registry symbols from the executable
		 * (--export-dynamic); plugins never link against either. */
		h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			lle_errorf("cannot load the evaluation engine '%s': %s", path, dlerror());
			free(path);
			return NULL;
		}
		free(path);
		const char *ver = dlsym(h, "lle_engine_version");
		if (!ver || strcmp(ver, LLE_VERSION "/" LLE_ENGINE_ABI) != 0) {
			lle_errorf("the evaluation engine '%s/libllm-eval-engine.so' is version %s, "
				   "this llm-eval is %s; reinstall both together",
				   lle_lib_dir(), ver ? ver : "(unknown)", LLE_VERSION "/" LLE_ENGINE_ABI);
			dlclose(h);
			return NULL;
		}
		ctx->engine = h;
	}
	void *sym = dlsym(h, sym_name);
	if (!sym)
		lle_errorf("the evaluation engine has no '%s': %s", sym_name, dlerror());
	return sym;
}
