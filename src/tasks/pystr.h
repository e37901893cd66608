/* Python semantics for strings and values, on jansson values, for the parts
 * templates, filters and metrics need to behave as lm-evaluation-harness's
 * Python does: str() and repr() of values (lists print as "['a', 'b']",
 * floats as the shortest round-trip repr), str.strip/split/lower/upper,
 * truthiness, ==, and ast.literal_eval of a list/number/string literal.
 *
 * Whitespace is Python's str.isspace() set. Case mapping is Python's, from
 * tables generated from python3 itself (pycase.c, unicase_data.h): full
 * special casing (ß -> SS, İ -> i̇, ǅ title case) and str.lower()'s final
 * sigma. Invalid UTF-8 bytes are treated as single characters and passed
 * through. */
#ifndef LLE_TASKS_PYSTR_H
#define LLE_TASKS_PYSTR_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

/* Decode one character at s (n bytes left); sets *len (>= 1). Invalid bytes
 * decode as themselves (0x80..0xFF) with length 1. */
uint32_t lle_py_decode(const char *s, size_t n, size_t *len);
int lle_py_encode(struct lle_buf *b, uint32_t cp);
int lle_py_isspace(uint32_t cp);
/* Number of characters (code points), as Python's len(). */
size_t lle_py_len(const char *s, size_t n);

enum { LLE_STRIP_BOTH = 3, LLE_STRIP_LEFT = 1, LLE_STRIP_RIGHT = 2 };
/* str.strip([chars]) / lstrip / rstrip: appends the result to out. chars
 * NULL means whitespace. */
int lle_py_strip(struct lle_buf *out, const char *s, size_t n, const char *chars, int mode);
int lle_py_lower(struct lle_buf *out, const char *s, size_t n);
int lle_py_upper(struct lle_buf *out, const char *s, size_t n);
/* str.title(): a cased character after an uncased one in title case, the rest lower. */
int lle_py_title(struct lle_buf *out, const char *s, size_t n);
/* str.capitalize() (Python 3.8+): the first character in title case, the rest lower. */
int lle_py_capitalize(struct lle_buf *out, const char *s, size_t n);
/* The Unicode version of the case and digit tables. */
const char *lle_py_unicode_version(void);
/* unicodedata.decimal(chr(cp), -1): the value 0..9 of a decimal digit of any
 * script (what float() and int() accept as a digit), else -1. */
int lle_py_decimal(uint32_t cp);
/* str.split(sep) (sep non-empty) or str.split() (sep NULL: runs of whitespace,
 * no empty strings). A new JSON array of strings, or NULL out of memory. */
json_t *lle_py_split(const char *s, size_t n, const char *sep);
/* str.replace(old, new); old "" inserts new between characters as Python does. */
int lle_py_replace(struct lle_buf *out, const char *s, size_t n, const char *old,
		   const char *new_);

/* str(v) and repr(v) of a JSON value taken as the Python value json.loads
 * gives: str -> as is / quoted, int, float, True/False, None, list, dict. */
int lle_py_str(struct lle_buf *out, const json_t *v);
int lle_py_repr(struct lle_buf *out, const json_t *v);
int lle_py_float_repr(struct lle_buf *out, double d);

int lle_py_truthy(const json_t *v);
/* Python ==: numbers by value (True == 1), strings bytewise, lists and dicts
 * deeply. */
int lle_py_eq(const json_t *a, const json_t *b);
/* ast.literal_eval for literals: strings ('..', "..", with escapes), ints,
 * floats, True/False/None, lists and tuples (as arrays), dicts with string
 * keys. NULL and err set on anything else. */
json_t *lle_py_literal_eval(const char *s, struct lle_err *err);

#endif
