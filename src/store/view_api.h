/* The viewer's JSON API (docs/view.md): answers GET /api/... from the run
 * store, the response cache's run journals and the samples files the store's
 * runs name. Read-only: the store and the cache are opened read-only and
 * nothing is ever written. A request names runs by id and tasks by name,
 * never a path, so nothing outside those files can be read.
 *
 * Not here: HTTP, the page's files, options (src/cli/engine/cmd_view.c). */
#ifndef LLE_STORE_VIEW_API_H
#define LLE_STORE_VIEW_API_H

#include "util/buf.h"
#include "util/err.h"

struct lle_view;

/* store_path and cache_path: the run store and the response cache (either may
 * not exist yet; each is opened read-only when a request needs it). */
struct lle_view *lle_view_new(const char *store_path, const char *cache_path, struct lle_err *err);
void lle_view_free(struct lle_view *v);

/* The value of query argument name, or NULL. */
typedef const char *(*lle_view_arg_fn)(void *ctx, const char *name);

/* Answer GET path (below /api/, without the query string): *status is the HTTP
 * status and body the JSON (an {"error": "..."} object when status is not 200).
 * Returns -1 only when out of memory. */
int lle_view_api(struct lle_view *v, const char *path, lle_view_arg_fn arg, void *ctx, struct lle_buf *body,
		 int *status);

#endif
