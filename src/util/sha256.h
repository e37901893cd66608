/* SHA-256 (FIPS 180-4), streaming and one-shot, plus hex output.
 *
 * Used for response-cache keys and model identities (src/store/cache.c) and
 * for file digests. It is not a MAC and not constant-time; nothing here keeps
 * secrets. */
#ifndef LLE_UTIL_SHA256_H
#define LLE_UTIL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define LLE_SHA256_LEN 32

struct lle_sha256 {
	uint32_t h[8];
	uint64_t nbytes;      /* total bytes hashed so far */
	unsigned char blk[64];
	size_t nblk;          /* bytes waiting in blk */
};

void lle_sha256_init(struct lle_sha256 *s);
void lle_sha256_update(struct lle_sha256 *s, const void *p, size_t n);
void lle_sha256_final(struct lle_sha256 *s, unsigned char out[LLE_SHA256_LEN]);
void lle_sha256(const void *p, size_t n, unsigned char out[LLE_SHA256_LEN]);
/* 64 lower-case hex digits and a NUL into hex (65 bytes). */
void lle_sha256_hex(const unsigned char d[LLE_SHA256_LEN], char hex[2 * LLE_SHA256_LEN + 1]);

#endif
