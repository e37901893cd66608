/* TEST PLUGIN: a plugin whose entry refuses to start, with a reason, for the
 * loader test that expects "refused to start: <reason>". */
#include <stdio.h>

#include "llm-eval/backend.h"

const struct lle_backend *lle_backend_entry(const struct lle_host *h, char *err, size_t len);
const struct lle_backend *lle_backend_entry(const struct lle_host *h, char *err, size_t len)
{
	(void)h;
	snprintf(err, len, "no device found");
	return NULL;
}
