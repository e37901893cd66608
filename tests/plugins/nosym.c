/* TEST PLUGIN: a shared object without the entry symbol (its entry is
 * misspelt), for the loader test that expects "has no entry symbol". */
#include "llm-eval/backend.h"

int lle_backend_entery(void);
int lle_backend_entery(void)
{
	return LLE_BACKEND_ABI_MAJOR;
}
