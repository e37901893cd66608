/* The registry's messages, in one place, so their wording stays consistent
 * and the tests (tests/cli/t01xx-t03xx) have one list to check against.
 *
 * Every message says what is wrong first, lower case, no full stop, subject
 * quoted, and starts with `path:line:col: ` when it is about a place in a file.
 * The printf arguments are given after each. Nothing here prints. */
#ifndef LLE_REGISTRY_MSG_H
#define LLE_REGISTRY_MSG_H

/* path, line, col, kind, name, path, line, col */
#define LLE_MSG_DUPLICATE "%s:%u:%u: %s '%s' is already registered by %s:%u:%u; keeping the first"
/* path, line, col, kind, name, path, line, col */
#define LLE_MSG_OVERRIDE "%s:%u:%u: %s '%s' overrides the one in %s:%u:%u"
/* path, line, col, tag, kind */
#define LLE_MSG_TAG_CLASH "%s:%u:%u: tag '%s' is already registered as a %s; tag ignored"
/* path */
#define LLE_MSG_TOO_BIG "%s:1:1: file is %lld bytes, larger than the %u allowed"
#define LLE_MSG_EMPTY "%s:1:1: empty file"
/* path, line, col */
#define LLE_MSG_NOT_MAP "%s:%u:%u: top level is not a map"
#define LLE_MSG_KEY_NOT_STR "%s:%u:%u: a key must be a string"
/* path, line, col, key */
#define LLE_MSG_DUP_KEY "%s:%u:%u: duplicate key '%s'"
#define LLE_MSG_MULTI_DOC "%s:%u:%u: more than one YAML document"
/* path, strerror */
#define LLE_MSG_CANNOT_OPEN "%s:1:1: cannot open: %s"
#define LLE_MSG_CANNOT_READ "%s:1:1: cannot read: %s"
/* path, line, col, what */
#define LLE_MSG_NOT_REGISTRABLE "%s:%u:%u: not a task, group or python task (no 'task', 'group' or 'class' key); skipped"
#define LLE_MSG_NO_NAME "%s:%u:%u: missing required key '%s'"
/* path, line, col, key, expected, got */
#define LLE_MSG_TYPE "%s:%u:%u: '%s' must be %s, not %s"
/* path, line, col, key */
#define LLE_MSG_UNKNOWN_KEY "%s:%u:%u: unknown key '%s'"
#define LLE_MSG_UNKNOWN_KEY_HINT "%s:%u:%u: unknown key '%s' (did you mean '%s'?)"
/* path, line, col, chain */
#define LLE_MSG_INCLUDE_CYCLE "%s:%u:%u: include cycle: %s"
/* path, line, col, include path, strerror */
#define LLE_MSG_INCLUDE_MISSING "%s:%u:%u: cannot include '%s': %s"
#define LLE_MSG_INCLUDE_TYPE "%s:%u:%u: 'include' must be a path or a list of paths"
#define LLE_MSG_INCLUDE_DEPTH "%s:%u:%u: includes nested deeper than %d files"
/* path, line, col, category */
#define LLE_MSG_NO_CATEGORY "%s:%u:%u: unknown category '%s'"
#define LLE_MSG_NO_CATEGORY_HINT "%s:%u:%u: unknown category '%s' (did you mean '%s'?)"
/* path, line, col, key, value, allowed */
#define LLE_MSG_BAD_VALUE "%s:%u:%u: '%s' is '%s', expected one of: %s"
/* path, line, col, key */
#define LLE_MSG_ONE_LINE "%s:%u:%u: '%s' must be one line"
#define LLE_MSG_EMPTY_VALUE "%s:%u:%u: '%s' must not be empty"
/* path, line, col, name */
#define LLE_MSG_BAD_NAME "%s:%u:%u: name '%s' may only have a-z, 0-9, '_', '.' and '-'"
/* path, line, col, include, the included file's own message */
#define LLE_MSG_IN_INCLUDE "%s:%u:%u: in included '%s': %s"
/* path, line, col, backend */
#define LLE_MSG_NO_BACKEND_ENTRY "%s:%u:%u: default backend '%s' has no entry under 'backends'"
#define LLE_MSG_BACKEND_UNCHECKED "%s:%u:%u: the options of backend '%s' are not checked: %s"
/* number of tasks, plural "s" or "" */
#define LLE_MSG_TAG_DESCRIPTION "tag of %u task%s"
/* dir, strerror */
#define LLE_MSG_NO_DIR "include path '%s': %s"

#endif
