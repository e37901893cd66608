/* Shared between the files of src/hooks/ only. */
#ifndef LLE_HOOKS_HOOKS_INT_H
#define LLE_HOOKS_HOOKS_INT_H

/* driver.py's text, NUL-terminated (driver_blob.c) */
extern const char lle_hooks_driver_src[];

#endif
