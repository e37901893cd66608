/* YAML documents as trees, over libyaml's event parser: see yaml.h.
 * Built by `show`, `validate` and runs only; never by `list`. */
#include "data/yaml.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "util/buf.h"
#include "util/diag.h"
#include "util/utf8.h"

struct anchor {
	char *name;
	struct lle_node *node;
};

struct loader {
	yaml_parser_t parser;
	const char *file;
	struct anchor *anchors;
	size_t nanchors, capanchors;
	struct lle_err *err;
	int depth;
	struct lle_node **replaced; /* values of repeated keys (keep_replaced) */
	size_t nreplaced;
};

#define MAX_DEPTH 256

static struct lle_node *new_node(struct loader *L, enum lle_node_kind kind, const yaml_mark_t *m)
{
	struct lle_node *n = calloc(1, sizeof(*n));
	if (!n) {
		lle_err_oom(L->err);
		return NULL;
	}
	n->kind = kind;
	n->file = L->file;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	return n;
}

static int add_item(struct lle_node *p, char *key, struct lle_node *item)
{
	/* Capacity is 4, then the next power of two: grow at 0, 4, 8, 16, ... */
	if (p->n == 0 || (p->n >= 4 && (p->n & (p->n - 1)) == 0)) {
		size_t cap = p->n ? p->n * 2 : 4;
		struct lle_node **it = realloc(p->items, cap * sizeof(*it));
		if (!it)
			return -1;
		p->items = it;
		if (p->kind == LLE_NODE_MAP) {
			char **k = realloc(p->keys, cap * sizeof(*k));
			if (!k)
				return -1;
			p->keys = k;
		}
	}
	p->items[p->n] = item;
	if (p->kind == LLE_NODE_MAP)
		p->keys[p->n] = key;
	p->n++;
	return 0;
}

static int parse_error(struct loader *L)
{
	yaml_parser_t *P = &L->parser;
	const yaml_mark_t *m = P->problem ? &P->problem_mark : &P->context_mark;
	if (P->error == YAML_MEMORY_ERROR)
		return lle_err_oom(L->err);
	return lle_err_set(L->err, LLE_EXIT_CONFIG, "%s:%zu:%zu: %s%s%s", L->file, m->line + 1,
			   m->column + 1, P->problem ? P->problem : "syntax error",
			   P->context ? " " : "", P->context ? P->context : "");
}

static int next_event(struct loader *L, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&L->parser, ev))
		return parse_error(L);
	return 0;
}

static int remember_anchor(struct loader *L, const unsigned char *name, struct lle_node *node)
{
	if (!name)
		return 0;
	if (L->nanchors == L->capanchors) {
		size_t cap = L->capanchors ? L->capanchors * 2 : 8;
		struct anchor *a = realloc(L->anchors, cap * sizeof(*a));
		if (!a)
			return lle_err_oom(L->err);
		L->anchors = a;
		L->capanchors = cap;
	}
	char *copy = lle_strdup((const char *)name);
	if (!copy)
		return lle_err_oom(L->err);
	L->anchors[L->nanchors].name = copy;
	L->anchors[L->nanchors].node = node;
	L->nanchors++;
	return 0;
}

static struct lle_node *parse_node(struct loader *L, yaml_event_t *ev);

/* A value a repeated key replaced, freed when the document is done. */
static int keep_replaced(struct loader *L, struct lle_node *old)
{
	struct lle_node **v = realloc(L->replaced, (L->nreplaced + 1) * sizeof(*v));
	if (!v)
		return -1;
	L->replaced = v;
	L->replaced[L->nreplaced++] = old;
	return 0;
}

/* One warning per place in a file, however often the file is loaded (a
 * harness tree includes one file from dozens of tasks): the places warned
 * about, as hashes of interned name, line and column. */
static void warn_duplicate(const char *file, size_t line, size_t col, const char *key)
{
	static uint64_t seen[512];
	uint64_t h = ((uint64_t)(uintptr_t)file * 1099511628211ull) ^ ((uint64_t)line << 20) ^ col;
	h = h ? h : 1;
	size_t i = h % 512, probes = 0;
	while (seen[i] && seen[i] != h && ++probes < 512)
		i = (i + 1) % 512;
	if (probes < 512 && seen[i] == h)
		return;
	if (probes < 512)
		seen[i] = h;
	lle_warnf("%s:%zu:%zu: duplicate key '%s': the last value is used, as PyYAML does", file, line,
		  col, key);
}

/* Parse the children of a sequence or mapping until its end event. */
static int parse_children(struct loader *L, struct lle_node *node)
{
	for (;;) {
		yaml_event_t ev;
		if (next_event(L, &ev) < 0)
			return -1;
		if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		char *key = NULL;
		size_t dup = SIZE_MAX;
		if (node->kind == LLE_NODE_MAP) {
			if (ev.type != YAML_SCALAR_EVENT) {
				lle_err_set(L->err, LLE_EXIT_CONFIG, "%s:%zu:%zu: a key must be a string",
					    L->file, ev.start_mark.line + 1, ev.start_mark.column + 1);
				yaml_event_delete(&ev);
				return -1;
			}
			const char *k = (const char *)ev.data.scalar.value;
			/* PyYAML (and so lm-evaluation-harness) keeps the last
			 * value of a repeated key, at the first one's place
			 * (a dict assignment): so does llm-eval, with a warning */
			for (dup = 0; dup < node->n && strcmp(node->keys[dup], k); dup++)
				;
			if (dup < node->n)
				warn_duplicate(L->file, ev.start_mark.line + 1, ev.start_mark.column + 1, k);
			key = lle_strdup(k);
			yaml_event_delete(&ev);
			if (!key)
				return lle_err_oom(L->err);
			if (next_event(L, &ev) < 0) {
				free(key);
				return -1;
			}
		}
		struct lle_node *child = parse_node(L, &ev);
		yaml_event_delete(&ev);
		if (!child) {
			free(key);
			return -1;
		}
		if (node->kind == LLE_NODE_MAP && dup < node->n) {
			/* an anchor may still point into the old value: it is
			 * freed with the loader, after the last alias */
			if (keep_replaced(L, node->items[dup]) < 0) {
				free(key);
				lle_node_free(child);
				return lle_err_oom(L->err);
			}
			node->items[dup] = child;
			free(key);
			continue;
		}
		if (add_item(node, key, child) < 0) {
			free(key);
			lle_node_free(child);
			return lle_err_oom(L->err);
		}
	}
}

static struct lle_node *parse_node(struct loader *L, yaml_event_t *ev)
{
	struct lle_node *node = NULL;
	const unsigned char *anchor = NULL, *tag = NULL;
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		for (size_t i = L->nanchors; i-- > 0;)
			if (strcmp(L->anchors[i].name, (const char *)ev->data.alias.anchor) == 0) {
				node = lle_node_copy(L->anchors[i].node);
				if (!node)
					lle_err_oom(L->err);
				return node;
			}
		lle_err_set(L->err, LLE_EXIT_CONFIG, "%s:%zu:%zu: unknown alias '*%s'", L->file,
			    ev->start_mark.line + 1, ev->start_mark.column + 1,
			    (const char *)ev->data.alias.anchor);
		return NULL;
	case YAML_SCALAR_EVENT:
		node = new_node(L, LLE_NODE_SCALAR, &ev->start_mark);
		if (!node)
			return NULL;
		node->str = lle_strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
		node->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		if (!node->str) {
			lle_node_free(node);
			lle_err_oom(L->err);
			return NULL;
		}
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (++L->depth > MAX_DEPTH) {
			lle_err_set(L->err, LLE_EXIT_CONFIG, "%s:%zu:%zu: nested deeper than %d levels",
				    L->file, ev->start_mark.line + 1, ev->start_mark.column + 1, MAX_DEPTH);
			return NULL;
		}
		node = new_node(L, ev->type == YAML_SEQUENCE_START_EVENT ? LLE_NODE_SEQ : LLE_NODE_MAP,
				&ev->start_mark);
		if (!node)
			return NULL;
		if (ev->type == YAML_SEQUENCE_START_EVENT) {
			anchor = ev->data.sequence_start.anchor;
			tag = ev->data.sequence_start.tag;
		} else {
			anchor = ev->data.mapping_start.anchor;
			tag = ev->data.mapping_start.tag;
		}
		if (parse_children(L, node) < 0) {
			lle_node_free(node);
			return NULL;
		}
		L->depth--;
		break;
	default:
		lle_err_set(L->err, LLE_EXIT_CONFIG, "%s:%zu:%zu: unexpected YAML event", L->file,
			    ev->start_mark.line + 1, ev->start_mark.column + 1);
		return NULL;
	}
	if (tag) {
		node->tag = lle_strdup((const char *)tag);
		if (!node->tag) {
			lle_node_free(node);
			lle_err_oom(L->err);
			return NULL;
		}
	}
	if (remember_anchor(L, anchor, node) < 0) {
		lle_node_free(node);
		return NULL;
	}
	return node;
}

static struct lle_node *load(const char *text, size_t n, const char *name, struct lle_err *err)
{
	size_t bad = lle_utf8_check((const unsigned char *)text, n);
	if (bad < n) {
		int line = 1, col = 1;
		for (size_t i = 0; i < bad; i++) {
			if (text[i] == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)text[i] & 0xC0) != 0x80) {
				col++;
			}
		}
		lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: not valid UTF-8 (byte 0x%02x)", name, line,
			    col, (unsigned char)text[bad]);
		return NULL;
	}
	struct loader L = { .err = err };
	L.file = name;
	if (!yaml_parser_initialize(&L.parser)) {
		lle_err_oom(err);
		return NULL;
	}
	yaml_parser_set_input_string(&L.parser, (const unsigned char *)text, n);
	struct lle_node *root = NULL;
	yaml_event_t ev;
	int ndocs = 0, failed = 0;
	for (;;) {
		if (next_event(&L, &ev) < 0) {
			failed = 1;
			break;
		}
		yaml_event_type_t t = ev.type;
		if (t == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (t == YAML_DOCUMENT_START_EVENT && ++ndocs > 1) {
			lle_err_set(err, LLE_EXIT_CONFIG, "%s:%zu:%zu: more than one YAML document",
				    name, ev.start_mark.line + 1, ev.start_mark.column + 1);
			yaml_event_delete(&ev);
			failed = 1;
			break;
		}
		if (t == YAML_SCALAR_EVENT || t == YAML_SEQUENCE_START_EVENT ||
		    t == YAML_MAPPING_START_EVENT || t == YAML_ALIAS_EVENT) {
			root = parse_node(&L, &ev);
			if (!root) {
				yaml_event_delete(&ev);
				failed = 1;
				break;
			}
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&L.parser);
	for (size_t i = 0; i < L.nanchors; i++)
		free(L.anchors[i].name);
	free(L.anchors);
	for (size_t i = 0; i < L.nreplaced; i++)
		lle_node_free(L.replaced[i]);
	free(L.replaced);
	if (failed) {
		lle_node_free(root);
		return NULL;
	}
	if (!root || (root->kind == LLE_NODE_SCALAR && root->plain && lle_node_is_null(root))) {
		/* An empty file (or a lone `~`) is an empty map. */
		yaml_mark_t m = { 0, 0, 0 };
		lle_node_free(root);
		root = new_node(&L, LLE_NODE_MAP, &m);
	}
	return root;
}

/* Files given names by a loader are interned for the life of the process, so
 * copies and includes share `file` pointers without reference counts. A hash
 * table, since `validate` over a 14,000-file tree interns every path. */
#define INTERN_BUCKETS 4096

static const char *intern_name(const char *name)
{
	static struct name_list {
		struct name_list *next;
		char name[];
	} *buckets[INTERN_BUCKETS];
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (const unsigned char *q = (const unsigned char *)name; *q; q++)
		h = (h ^ *q) * 1099511628211ull;
	struct name_list **b = &buckets[h % INTERN_BUCKETS];
	for (struct name_list *p = *b; p; p = p->next)
		if (strcmp(p->name, name) == 0)
			return p->name;
	size_t n = strlen(name);
	struct name_list *p = malloc(sizeof(*p) + n + 1);
	if (!p)
		return NULL;
	memcpy(p->name, name, n + 1);
	p->next = *b;
	*b = p;
	return p->name;
}

struct lle_node *lle_yaml_load_mem(const char *text, size_t n, const char *name,
				   struct lle_err *err)
{
	const char *iname = intern_name(name);
	if (!iname) {
		lle_err_oom(err);
		return NULL;
	}
	return load(text, n, iname, err);
}

struct lle_node *lle_yaml_load_file(const char *path, size_t max_bytes, struct lle_err *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		lle_err_set(err, LLE_EXIT_IO, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		lle_err_set(err, LLE_EXIT_IO, "%s: is a directory", path);
		return NULL;
	}
	if (max_bytes && st.st_size > 0 && (size_t)st.st_size > max_bytes) {
		fclose(f);
		lle_err_set(err, LLE_EXIT_CONFIG, "%s: file is %lld bytes, larger than the %zu allowed",
			    path, (long long)st.st_size, max_bytes);
		return NULL;
	}
	struct lle_buf b = LLE_BUF_INIT;
	char chunk[65536];
	size_t got;
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (lle_buf_add(&b, chunk, got) < 0) {
			fclose(f);
			lle_buf_free(&b);
			lle_err_oom(err);
			return NULL;
		}
		if (max_bytes && b.n > max_bytes) {
			fclose(f);
			lle_buf_free(&b);
			lle_err_set(err, LLE_EXIT_CONFIG, "%s: file is larger than the %zu bytes allowed",
				    path, max_bytes);
			return NULL;
		}
	}
	int rerr = ferror(f);
	fclose(f);
	if (rerr) {
		lle_buf_free(&b);
		lle_err_set(err, LLE_EXIT_IO, "%s: read error", path);
		return NULL;
	}
	struct lle_node *root = lle_yaml_load_mem(lle_buf_str(&b), b.n, path, err);
	lle_buf_free(&b);
	return root;
}

void lle_node_free(struct lle_node *node)
{
	if (!node)
		return;
	for (size_t i = 0; i < node->n; i++) {
		lle_node_free(node->items[i]);
		if (node->keys)
			free(node->keys[i]);
	}
	free(node->items);
	free(node->keys);
	free(node->str);
	free(node->tag);
	free(node);
}

struct lle_node *lle_node_copy(const struct lle_node *src)
{
	struct lle_node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->kind = src->kind;
	n->plain = src->plain;
	n->file = src->file;
	n->line = src->line;
	n->col = src->col;
	if ((src->str && !(n->str = lle_strdup(src->str))) ||
	    (src->tag && !(n->tag = lle_strdup(src->tag))))
		goto fail;
	for (size_t i = 0; i < src->n; i++) {
		struct lle_node *c = lle_node_copy(src->items[i]);
		char *k = NULL;
		if (!c)
			goto fail;
		if (src->kind == LLE_NODE_MAP && !(k = lle_strdup(src->keys[i]))) {
			lle_node_free(c);
			goto fail;
		}
		if (add_item(n, k, c) < 0) {
			free(k);
			lle_node_free(c);
			goto fail;
		}
	}
	return n;
fail:
	lle_node_free(n);
	return NULL;
}

const struct lle_node *lle_node_get(const struct lle_node *map, const char *key)
{
	if (!map || map->kind != LLE_NODE_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->keys[i], key) == 0)
			return map->items[i];
	return NULL;
}

const char *lle_node_str(const struct lle_node *map, const char *key)
{
	const struct lle_node *n = lle_node_get(map, key);
	return n && n->kind == LLE_NODE_SCALAR ? n->str : NULL;
}

int lle_node_is_null(const struct lle_node *n)
{
	if (!n || n->kind != LLE_NODE_SCALAR || !n->plain)
		return 0;
	const char *s = n->str;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

int lle_node_bool(const struct lle_node *n)
{
	if (!n || n->kind != LLE_NODE_SCALAR || !n->plain)
		return -1;
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(n->str, yes[i]) == 0)
			return 1;
		if (strcmp(n->str, no[i]) == 0)
			return 0;
	}
	return -1;
}

int lle_node_double(const struct lle_node *n, double *out)
{
	if (!n || n->kind != LLE_NODE_SCALAR || !n->plain || !n->str[0])
		return -1;
	char *end;
	errno = 0;
	double v = strtod(n->str, &end);
	if (*end || errno == ERANGE || isnan(v))
		return -1;
	*out = v;
	return 0;
}

int lle_node_long(const struct lle_node *n, long *out)
{
	if (!n || n->kind != LLE_NODE_SCALAR || !n->plain || !n->str[0])
		return -1;
	char *end;
	errno = 0;
	long v = strtol(n->str, &end, 10);
	if (*end || errno == ERANGE)
		return -1;
	*out = v;
	return 0;
}

const char *lle_node_kind_name(const struct lle_node *n)
{
	double d;
	if (!n)
		return "nothing";
	if (n->kind == LLE_NODE_MAP)
		return "a map";
	if (n->kind == LLE_NODE_SEQ)
		return "a list";
	if (lle_node_is_null(n))
		return "null";
	if (lle_node_bool(n) >= 0)
		return "a boolean";
	if (lle_node_double(n, &d) == 0)
		return "a number";
	return "a string";
}
