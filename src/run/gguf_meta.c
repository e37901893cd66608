/* GGUF metadata, key by key (see gguf_meta.h). The layout, versions 2 and 3,
 * little-endian: "GGUF", u32 version, u64 tensor count, u64 key count, then
 * per key a string (u64 length, bytes), a u32 value type and the value;
 * arrays are a u32 element type, a u64 count and the elements. Values are
 * skipped with fseeko, so a 32,000-string vocabulary costs little. */
#define _FILE_OFFSET_BITS 64
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "run/gguf_meta.h"

enum { T_U8, T_I8, T_U16, T_I16, T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR, T_U64, T_I64, T_F64, T_N };

static const unsigned char type_size[T_N] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };

static int rd(FILE *f, void *p, size_t n)
{
	return fread(p, 1, n, f) == n ? 0 : -1;
}

static int rd_u32(FILE *f, uint32_t *v)
{
	unsigned char b[4];
	if (rd(f, b, 4) < 0)
		return -1;
	*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return 0;
}

static int rd_u64(FILE *f, uint64_t *v)
{
	uint32_t lo, hi;
	if (rd_u32(f, &lo) < 0 || rd_u32(f, &hi) < 0)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

static int skip(FILE *f, uint64_t n, uint64_t size)
{
	off_t at = ftello(f);
	if (at < 0 || n > size || (uint64_t)at > size - n)
		return -1; /* past the end of the file: not a GGUF file we can read */
	return fseeko(f, (off_t)n, SEEK_CUR);
}

static int skip_value(FILE *f, uint32_t type, uint64_t size, int depth)
{
	if (type >= T_N || depth > 3)
		return -1;
	if (type == T_STR) {
		uint64_t n;
		return rd_u64(f, &n) < 0 ? -1 : skip(f, n, size);
	}
	if (type != T_ARR)
		return skip(f, type_size[type], size);
	uint32_t et;
	uint64_t count;
	if (rd_u32(f, &et) < 0 || rd_u64(f, &count) < 0 || et >= T_N)
		return -1;
	if (et != T_STR && et != T_ARR) {
		if (count > size)
			return -1;
		return skip(f, count * type_size[et], size);
	}
	for (uint64_t i = 0; i < count; i++)
		if (skip_value(f, et, size, depth + 1) < 0)
			return -1;
	return 0;
}

int lle_gguf_has_key(const char *path, const char *key)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	int rc = -1;
	char magic[4];
	uint32_t version;
	uint64_t ntensors, nkv, size;
	size_t klen = strlen(key);
	off_t end;
	if (fseeko(f, 0, SEEK_END) < 0 || (end = ftello(f)) < 0 || fseeko(f, 0, SEEK_SET) < 0)
		goto out;
	size = (uint64_t)end;
	if (rd(f, magic, 4) < 0 || memcmp(magic, "GGUF", 4) != 0 || rd_u32(f, &version) < 0 ||
	    (version != 2 && version != 3) || rd_u64(f, &ntensors) < 0 || rd_u64(f, &nkv) < 0)
		goto out;
	for (uint64_t i = 0; i < nkv; i++) {
		uint64_t n;
		uint32_t type;
		char buf[256];
		if (rd_u64(f, &n) < 0)
			goto out;
		if (n == klen && n < sizeof(buf)) {
			if (rd(f, buf, (size_t)n) < 0)
				goto out;
			if (memcmp(buf, key, klen) == 0) {
				rc = 1;
				goto out;
			}
		} else if (skip(f, n, size) < 0) {
			goto out;
		}
		if (rd_u32(f, &type) < 0 || skip_value(f, type, size, 0) < 0)
			goto out;
	}
	rc = 0;
out:
	fclose(f);
	return rc;
}
