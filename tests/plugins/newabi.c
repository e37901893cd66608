/* TEST PLUGIN: a plugin built for the next major ABI version, for the loader
 * test that expects the host to refuse it naming both versions. Only the
 * frozen head of struct lle_backend is filled in. */
#include <stddef.h>

#include "llm-eval/backend.h"

static const struct lle_backend backend = {
	.abi_major = LLE_BACKEND_ABI_MAJOR + 1,
	.abi_minor = 3,
	.size = 16,
};

const struct lle_backend *lle_backend_entry(const struct lle_host *h, char *err, size_t len);
const struct lle_backend *lle_backend_entry(const struct lle_host *h, char *err, size_t len)
{
	(void)h, (void)err, (void)len;
	return &backend;
}
