/* HTTP for the Hub client (hub.c), on libcurl loaded with dlopen the first
 * time something is fetched, so no command maps libcurl unless it fetches.
 * Two requests: a GET whose JSON body is returned, and a download into a
 * file that resumes (HTTP Range) from what the file already holds, follows
 * redirects (the Hub sends LFS files to a CDN; the token is not sent there),
 * and retries with exponential backoff on connection drops, 429 and 5xx.
 * This file knows nothing of the Hub's URLs or cache layout. */
#ifndef LLE_DATA_HUB_HTTP_H
#define LLE_DATA_HUB_HTTP_H

#include <jansson.h>

#include "util/err.h"

/* Progress of one download: bytes so far (including a resumed part), total
 * (-1 unknown), bytes per second of this transfer. */
typedef void (*lle_hub_progress_fn)(void *ctx, const char *name, long long done, long long total,
				     double rate, int finished);

struct hub_req {
	const char *url;
	const char *token;          /* "Bearer" token for the Hub's host, or NULL */
	const char *name;           /* for messages and progress */
	lle_hub_progress_fn progress;
	void *progress_ctx;
};

/* Outcome classes hub.c turns into its messages. */
enum hub_status {
	HUB_OK = 0,
	HUB_NET = 1,     /* no connection (after retries): err says why */
	HUB_AUTH = 2,    /* 401 or 403: *http_code says which */
	HUB_MISSING = 3, /* 404 */
	HUB_OTHER = 4    /* another HTTP status or a local error: err set */
};

/* GET url; on 200 *out is the parsed JSON. Returns an enum hub_status. */
int lle_hub_http_json(const struct hub_req *r, json_t **out, long *http_code, struct lle_err *err);
/* Download url into path (opened without truncation: bytes already there are
 * resumed with a Range request). expect_size >= 0 is checked. Returns an
 * enum hub_status; the file keeps what arrived either way. */
int lle_hub_http_download(const struct hub_req *r, const char *path, long long expect_size,
			  long *http_code, struct lle_err *err);

#endif
