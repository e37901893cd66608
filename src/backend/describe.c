/* A backend's self-description as the host reads it, a catalog of loaded
 * backends, and the scrubbing of secret option values: see describe.h.
 * It never opens a model; plugins load through loader.c. */
#include "backend/describe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/loader.h"

/* ---- the ABI 1.1 fields ---------------------------------------------------- */

uint64_t lle_backend_caps(const struct lle_backend *be)
{
	return be && LLE_HAS_FIELD(be, struct lle_backend, caps) ? be->caps : 0;
}

const struct lle_option *lle_backend_options(const struct lle_backend *be)
{
	return be && LLE_HAS_FIELD(be, struct lle_backend, options) ? be->options : NULL;
}

const struct lle_option *lle_backend_option(const struct lle_backend *be, const char *key, size_t klen)
{
	for (const struct lle_option *o = lle_backend_options(be); o && o->key; o++)
		if (strlen(o->key) == klen && strncmp(o->key, key, klen) == 0)
			return o;
	return NULL;
}

lle_model_identity_fn lle_backend_identity_fn(const struct lle_backend *be)
{
	return be && LLE_HAS_FIELD(be, struct lle_backend, model_identity) ? be->model_identity : NULL;
}

const char *lle_option_type_name(uint32_t type)
{
	switch (type) {
	case LLE_OPT_STRING: return "string";
	case LLE_OPT_INT: return "int";
	case LLE_OPT_NUMBER: return "number";
	case LLE_OPT_URL: return "url";
	case LLE_OPT_LIST: return "list";
	default: return "?";
	}
}

/* ---- the catalog ------------------------------------------------------------ */

struct cat_entry {
	char *name;
	struct lle_plugin *pl;   /* NULL: it failed, with msg */
	struct lle_err err;
};

struct lle_backend_catalog {
	struct cat_entry *e;
	size_t n;
	char **installed;        /* from the plugin directories, NULL until asked */
	size_t ninstalled;
	int scanned;
	struct lle_buf names;
};

struct lle_backend_catalog *lle_backend_catalog_new(void)
{
	return calloc(1, sizeof(struct lle_backend_catalog));
}

const struct lle_backend *lle_backend_catalog_get(struct lle_backend_catalog *c, const char *name,
						  struct lle_err *err)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->e[i].name, name) == 0) {
			if (c->e[i].pl)
				return c->e[i].pl->be;
			*err = c->e[i].err;
			return NULL;
		}
	struct cat_entry *ne = realloc(c->e, (c->n + 1) * sizeof(*ne));
	if (!ne) {
		lle_err_oom(err);
		return NULL;
	}
	c->e = ne;
	struct cat_entry *e = &c->e[c->n];
	memset(e, 0, sizeof(*e));
	if (!(e->name = lle_strdup(name))) {
		lle_err_oom(err);
		return NULL;
	}
	c->n++;
	e->pl = lle_backend_load(name, NULL, &e->err);
	if (!e->pl) {
		*err = e->err;
		return NULL;
	}
	return e->pl->be;
}

static int scan_one(void *user, const struct lle_plugin_file *f)
{
	struct lle_backend_catalog *c = user;
	if (f->shadowed)
		return 0;
	char **nv = realloc(c->installed, (c->ninstalled + 1) * sizeof(*nv));
	if (!nv)
		return -1;
	c->installed = nv;
	if (!(nv[c->ninstalled] = lle_strdup(f->name)))
		return -1;
	c->ninstalled++;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int scan(struct lle_backend_catalog *c)
{
	if (c->scanned)
		return 0;
	struct lle_err err = { 0 };
	if (lle_backend_scan(scan_one, c, &err) != 0)
		return -1;
	qsort(c->installed, c->ninstalled, sizeof(char *), cmp_str);
	for (size_t i = 0; i < c->ninstalled; i++)
		lle_buf_printf(&c->names, "%s%s", i ? ", " : "", c->installed[i]);
	if (c->names.oom)
		return -1;
	c->scanned = 1;
	return 0;
}

const char *lle_backend_catalog_names(struct lle_backend_catalog *c)
{
	return scan(c) < 0 ? NULL : lle_buf_str(&c->names);
}

int lle_backend_catalog_has(struct lle_backend_catalog *c, const char *name)
{
	if (scan(c) < 0)
		return 0;
	for (size_t i = 0; i < c->ninstalled; i++)
		if (strcmp(c->installed[i], name) == 0)
			return 1;
	return 0;
}

void lle_backend_catalog_free(struct lle_backend_catalog *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].name);
		lle_plugin_close(c->e[i].pl);
	}
	free(c->e);
	for (size_t i = 0; i < c->ninstalled; i++)
		free(c->installed[i]);
	free(c->installed);
	lle_buf_free(&c->names);
	free(c);
}

/* ---- secrets ---------------------------------------------------------------- */

/* The user-info of the first URL in s[0..len) that has one
 * ("scheme://user:pw@host/..."): its offset and length, or 0 when none has. */
static size_t url_userinfo(const char *s, size_t len, size_t *off)
{
	for (size_t i = 0; i + 2 < len; i++) {
		if (s[i] != ':' || s[i + 1] != '/' || s[i + 2] != '/')
			continue;
		size_t start = i + 3, end = start, at = 0;
		while (end < len && s[end] != '/' && s[end] != '?' && s[end] != '#' && s[end] != ',')
			end++;
		for (size_t j = start; j < end; j++)
			if (s[j] == '@')
				at = j;
		if (at) {
			*off = start;
			return at - start;
		}
		i = end ? end - 1 : 0;
	}
	return 0;
}

int lle_option_add_shown(struct lle_buf *b, const struct lle_backend *be, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
	const struct lle_option *o = be ? lle_backend_option(be, kv, klen) : NULL;
	if (o && (o->flags & LLE_OPT_SECRET)) {
		lle_buf_printf(b, "%.*s=%s", (int)klen, kv, LLE_REDACTED);
		return b->oom ? -1 : 0;
	}
	/* any value may hold URLs: copy it with each user-info replaced */
	const char *s = kv;
	size_t len = strlen(kv);
	while (len) {
		size_t off = 0, ui = url_userinfo(s, len, &off);
		if (!ui) {
			lle_buf_add(b, s, len);
			break;
		}
		lle_buf_add(b, s, off);
		lle_buf_adds(b, LLE_REDACTED);
		s += off + ui;
		len -= off + ui;
	}
	return b->oom ? -1 : 0;
}

static int add_secret(struct lle_secrets *sec, const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	/* very short strings would blank out ordinary text: a credential is longer */
	if (n < 4)
		return 0;
	for (size_t i = 0; i < sec->n; i++)
		if (strlen(sec->s[i]) == n && strncmp(sec->s[i], s, n) == 0)
			return 0;
	char **nv = realloc(sec->s, (sec->n + 1) * sizeof(*nv));
	if (!nv)
		return -1;
	sec->s = nv;
	if (!(nv[sec->n] = lle_strndup(s, n)))
		return -1;
	sec->n++;
	return 0;
}

/* One item of a secret value: itself, a header's value ("Name: value") and
 * the value's last word (the token of "Bearer TOKEN"). */
static int add_item(struct lle_secrets *sec, const char *s, size_t n)
{
	if (add_secret(sec, s, n) < 0)
		return -1;
	const char *colon = memchr(s, ':', n);
	if (!colon)
		return 0;
	const char *v = colon + 1;
	size_t vn = n - (size_t)(v - s);
	if (add_secret(sec, v, vn) < 0)
		return -1;
	while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
		vn--;
	size_t w = vn;
	while (w && v[w - 1] != ' ' && v[w - 1] != '\t')
		w--;
	return add_secret(sec, v + w, vn - w);
}

int lle_secrets_collect(struct lle_secrets *sec, const struct lle_backend *be, const char *const *opts,
			size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *kv = opts[i], *eq = strchr(kv, '=');
		if (!eq)
			continue;
		const char *v = eq + 1;
		const struct lle_option *o = lle_backend_option(be, kv, (size_t)(eq - kv));
		if (o && (o->flags & LLE_OPT_SECRET)) {
			if (add_secret(sec, v, strlen(v)) < 0)
				return -1;
			for (const char *s = v; *s;) {
				const char *c = strchr(s, ',');
				size_t len = c ? (size_t)(c - s) : strlen(s);
				if (add_item(sec, s, len) < 0)
					return -1;
				s += len + (c != NULL);
			}
			continue;
		}
		for (const char *s = v; *s;) {
			size_t off = 0, ui = url_userinfo(s, strlen(s), &off);
			if (!ui)
				break;
			const char *u = s + off, *colon = memchr(u, ':', ui);
			if (add_secret(sec, u, ui) < 0 ||
			    (colon && add_secret(sec, colon + 1, ui - (size_t)(colon + 1 - u)) < 0))
				return -1;
			s = u + ui;
		}
	}
	return 0;
}

char *lle_secrets_scrub(const struct lle_secrets *sec, const char *text)
{
	struct lle_buf b = LLE_BUF_INIT;
	const char *s = text;
	while (*s) {
		/* the longest secret that starts here: "user:pw" before "pw" */
		size_t best = 0;
		for (size_t i = 0; sec && i < sec->n; i++) {
			size_t n = strlen(sec->s[i]);
			if (n > best && strncmp(s, sec->s[i], n) == 0)
				best = n;
		}
		if (best) {
			lle_buf_adds(&b, LLE_REDACTED);
			s += best;
		} else {
			lle_buf_addc(&b, *s++);
		}
	}
	if (b.oom) {
		lle_buf_free(&b);
		return NULL;
	}
	char *r = lle_buf_detach(&b);
	return r ? r : lle_strdup("");
}

void lle_secrets_scrub_buf(const struct lle_secrets *sec, char *buf, size_t cap)
{
	if (!sec || !sec->n || !cap)
		return;
	char *r = lle_secrets_scrub(sec, buf);
	if (r) {
		size_t n = strlen(r);
		if (n >= cap)
			n = cap - 1;
		memcpy(buf, r, n);
		buf[n] = '\0';
		free(r);
	} else {
		/* no memory to rewrite it: say nothing rather than the secret */
		snprintf(buf, cap, "%s", LLE_REDACTED);
	}
}

void lle_secrets_free(struct lle_secrets *sec)
{
	for (size_t i = 0; i < sec->n; i++)
		free(sec->s[i]);
	free(sec->s);
	sec->s = NULL;
	sec->n = 0;
}
