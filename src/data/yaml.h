/* A YAML document as a small tree, for the code that needs a file's full
 * config (`show`, `validate`, a run). Listing does not build trees: the
 * registry index reads only the keys it prints with libyaml's event API.
 *
 * Every node remembers its file, line and column (1-based) so errors can say
 * `path:line:column: ...`. Custom tags such as `!function utils.process_docs`
 * are kept in `tag` with the scalar as written; nothing is ever executed.
 * Anchors and aliases are resolved by copying the aliased node. */
#ifndef LLE_DATA_YAML_H
#define LLE_DATA_YAML_H

#include <stddef.h>

#include "util/err.h"

enum lle_node_kind { LLE_NODE_SCALAR, LLE_NODE_SEQ, LLE_NODE_MAP };

struct lle_node {
	enum lle_node_kind kind;
	char *tag;          /* explicit tag ("!function", "!!str", ...) or NULL */
	char *str;          /* SCALAR: the text as parsed (never NULL) */
	int plain;          /* SCALAR: written without quotes (so `5`, `true`, `null` are not strings) */
	size_t n;           /* SEQ: items; MAP: pairs */
	struct lle_node **items; /* SEQ: the items; MAP: the values, in file order */
	char **keys;        /* MAP: the keys (scalar keys only; others are an error) */
	const char *file;   /* interned: valid until exit, shared by all nodes of a file */
	int line, col;
};

/* Parse the single document in a file. Empty file -> an empty MAP. A key
 * repeated in one map keeps its first place and its last value, as PyYAML
 * builds a dict, with a warning (once per file position). Errors
 * (unreadable, not UTF-8, syntax, several documents, non-scalar keys,
 * larger than max_bytes when max_bytes > 0) name path:line:col
 * and have code LLE_EXIT_CONFIG (LLE_EXIT_IO when the file cannot be read).
 * `file` fields point to an interned copy of path that lives until exit. */
struct lle_node *lle_yaml_load_file(const char *path, size_t max_bytes, struct lle_err *err);
/* The same for text in memory; `name` stands for the path in messages. */
struct lle_node *lle_yaml_load_mem(const char *text, size_t n, const char *name,
				   struct lle_err *err);
void lle_node_free(struct lle_node *node);
/* A deep copy; NULL when out of memory. */
struct lle_node *lle_node_copy(const struct lle_node *node);

/* MAP lookup; NULL if node is not a map or has no such key. */
const struct lle_node *lle_node_get(const struct lle_node *map, const char *key);
/* The scalar text at key, or NULL if absent or not a scalar. */
const char *lle_node_str(const struct lle_node *map, const char *key);
/* Whether a plain scalar is YAML null (`~`, `null`, `Null`, `NULL`, empty). */
int lle_node_is_null(const struct lle_node *node);
/* Plain scalar as boolean (true/false, yes/no, on/off): 0/1, or -1 if not one. */
int lle_node_bool(const struct lle_node *node);
/* Plain scalar as number; 0 on success, -1 if it is not a number. */
int lle_node_double(const struct lle_node *node, double *out);
int lle_node_long(const struct lle_node *node, long *out);
/* "a map", "a list", "a string", "a number", "a boolean", "null": for messages. */
const char *lle_node_kind_name(const struct lle_node *node);

#endif
