/* What the host reads of a backend's self-description (ABI 1.1 fields of
 * struct lle_backend: caps, options, model_identity), so that no host file
 * names a backend:
 *  - lle_backend_caps / lle_backend_options / lle_backend_option: the fields,
 *    0 or NULL for a plugin built against ABI 1.0;
 *  - a catalog: backends loaded once by name and kept open, for the
 *    validator (through struct lle_reg_backends) and the run planner;
 *  - secrets: how an option is written or shown (a secret value as
 *    "<redacted>", a URL without its user:password@) and the removal of
 *    secret values from any text a plugin produces.
 *
 * It loads plugins through loader.c and never opens a model. */
#ifndef LLE_BACKEND_DESCRIBE_H
#define LLE_BACKEND_DESCRIBE_H

#include <stddef.h>
#include <stdint.h>

#include "llm-eval/backend.h"
#include "util/buf.h"
#include "util/err.h"

/* What replaces a secret wherever it would be written or shown. */
#define LLE_REDACTED "<redacted>"

uint64_t lle_backend_caps(const struct lle_backend *be);
/* The option table, or NULL (ABI 1.0 plugin, or none declared). */
const struct lle_option *lle_backend_options(const struct lle_backend *be);
/* The row of `key` (the first klen bytes), or NULL. */
const struct lle_option *lle_backend_option(const struct lle_backend *be, const char *key, size_t klen);
/* The model_identity hook, or NULL. */
typedef int (*lle_model_identity_fn)(struct lle_model *m, char *out, size_t out_len, char *err, size_t err_len);
lle_model_identity_fn lle_backend_identity_fn(const struct lle_backend *be);
/* "string", "int", ... for listings. */
const char *lle_option_type_name(uint32_t type);

/* ---- a catalog of loaded backends ---- */

struct lle_backend_catalog;

struct lle_backend_catalog *lle_backend_catalog_new(void);
/* Backend `name`, loaded on first use with the default host and kept open
 * until the catalog is freed; NULL with err set (LLE_EXIT_BACKEND) when it is
 * not installed or does not load (the failure is remembered). */
const struct lle_backend *lle_backend_catalog_get(struct lle_backend_catalog *c, const char *name,
						  struct lle_err *err);
/* The installed backends' names, ", "-joined, from the plugin directories
 * without loading any ("" when none); NULL on no memory. Owned by c. */
const char *lle_backend_catalog_names(struct lle_backend_catalog *c);
/* Whether `name` is an installed backend (a file, not loaded). */
int lle_backend_catalog_has(struct lle_backend_catalog *c, const char *name);
void lle_backend_catalog_free(struct lle_backend_catalog *c);

/* ---- secrets ---- */

/* Append option "key=value" to b as it may be written or shown: a secret
 * option as key=<redacted>, the user:password@ of every URL in the value as
 * <redacted>@ (whatever the option, be may be NULL). -1 on no memory. */
int lle_option_add_shown(struct lle_buf *b, const struct lle_backend *be, const char *kv);

/* Strings to remove from text a plugin gives (errors, log lines). */
struct lle_secrets {
	char **s;
	size_t n;
};

/* Collect the secrets of options (key=value strings) given to be: the values
 * of secret options (whole, each comma-separated item, each header's value
 * and its last word) and the user-info of every URL. -1 on no memory. */
int lle_secrets_collect(struct lle_secrets *sec, const struct lle_backend *be, const char *const *opts,
			size_t n);
/* text with every secret replaced by <redacted>, malloc()ed; NULL on no memory. */
char *lle_secrets_scrub(const struct lle_secrets *sec, const char *text);
/* The same in place, in a buffer of cap bytes (the result is cut to fit). */
void lle_secrets_scrub_buf(const struct lle_secrets *sec, char *buf, size_t cap);
void lle_secrets_free(struct lle_secrets *sec);

#endif
