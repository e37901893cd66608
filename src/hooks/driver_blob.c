/* The hook worker's Python driver (src/hooks/driver.py), embedded in the
 * engine so that nothing has to be installed beside it or found at run time.
 * mk/hooks.mk makes this object depend on the .py file.
 *
 * Not here: starting the worker (worker.c). */
#include "hooks/hooks_int.h"

__asm__(".section .rodata\n"
	".global lle_hooks_driver_src\n"
	".hidden lle_hooks_driver_src\n"
	".type lle_hooks_driver_src, @object\n"
	"lle_hooks_driver_src:\n"
	".incbin \"src/hooks/driver.py\"\n"
	".byte 0\n"
	".size lle_hooks_driver_src, . - lle_hooks_driver_src\n"
	".previous\n");
