/* TEST PLUGIN: a plugin linked against libllemissing.so, a library that is
 * built elsewhere and not on the loader's path at run time, for the loader
 * test that expects "a library it needs, 'libllemissing.so', is missing". */
#include <stddef.h>

#include "llm-eval/backend.h"

int lle_missing_dep_function(void);

const struct lle_backend *lle_backend_entry(const struct lle_host *h, char *err, size_t len);
const struct lle_backend *lle_backend_entry(const struct lle_host *h, char *err, size_t len)
{
	(void)h, (void)err, (void)len;
	return lle_missing_dep_function() ? NULL : NULL;
}
