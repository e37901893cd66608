/* GGUF metadata, key by key (see gguf_meta.h). The layout, versions 2 and 3,
 * little-endian: "GGUF", u32 version, u64 tensor count, u64 key count, then
 * per key a string (u64 length, bytes), a u32 value type and the value;
 * arrays are a u32 element type, a u64 count and the elements. Values are
 * skipped with fseeko, so a 32,000-string vocabulary costs little. */
#define _FILE_OFFSET_BITS 64
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The file's size and the header of a GGUF v2 or v3 file, leaving f at its
 * first key-value pair. */
static int read_header(FILE *f, uint64_t *size, uint64_t *nkv)
{
	char magic[4];
	uint32_t version;
	uint64_t ntensors;
	off_t end;
	if (fseeko(f, 0, SEEK_END) < 0 || (end = ftello(f)) < 0 || fseeko(f, 0, SEEK_SET) < 0)
		return -1;
	*size = (uint64_t)end;
	if (rd(f, magic, 4) < 0 || memcmp(magic, "GGUF", 4) != 0 || rd_u32(f, &version) < 0 ||
	    (version != 2 && version != 3) || rd_u64(f, &ntensors) < 0 || rd_u64(f, nkv) < 0)
		return -1;
	return 0;
}

int lle_gguf_has_key(const char *path, const char *key)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	int rc = -1;
	uint64_t nkv, size;
	size_t klen = strlen(key);
	if (read_header(f, &size, &nkv) < 0)
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

/* A string value at f's position: a new string, or NULL. */
static char *read_str(FILE *f, uint64_t size)
{
	uint64_t n;
	if (rd_u64(f, &n) < 0 || n > size || n > (64u << 20))
		return NULL;
	char *s = malloc((size_t)n + 1);
	if (!s || rd(f, s, (size_t)n) < 0) {
		free(s);
		return NULL;
	}
	s[n] = '\0';
	return s;
}

/* An integer value of type t at f's position; -1 when it is not one. */
static long long read_int(FILE *f, uint32_t t)
{
	unsigned char b[8] = { 0 };
	if (t >= T_N || t == T_STR || t == T_ARR || t == T_F32 || t == T_F64 || rd(f, b, type_size[t]) < 0)
		return -1;
	uint64_t v = 0;
	for (int i = type_size[t]; i-- > 0;)
		v = v << 8 | b[i];
	return v > (uint64_t)1 << 40 ? -1 : (long long)v;
}

/* The id-th string of the token array whose elements start at `at`. */
static char *token_at(FILE *f, off_t at, uint64_t count, long long id, uint64_t size)
{
	if (id < 0 || (uint64_t)id >= count || fseeko(f, at, SEEK_SET) < 0)
		return NULL;
	for (long long i = 0; i < id; i++)
		if (skip_value(f, T_STR, size, 1) < 0)
			return NULL;
	return read_str(f, size);
}

int lle_gguf_chat_info(const char *path, struct lle_gguf_chat *out)
{
	memset(out, 0, sizeof(*out));
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	int rc = -1;
	uint64_t nkv, size, ntokens = 0;
	long long bos = -1, eos = -1;
	off_t tokens_at = -1;
	if (read_header(f, &size, &nkv) < 0)
		goto out;
	for (uint64_t i = 0; i < nkv; i++) {
		uint32_t type;
		char *key = read_str(f, size);
		if (!key || rd_u32(f, &type) < 0) {
			free(key);
			goto out;
		}
		int r = 0;
		if (!strcmp(key, "tokenizer.chat_template") && type == T_STR && !out->chat_template) {
			r = (out->chat_template = read_str(f, size)) ? 0 : -1;
		} else if (!strcmp(key, "tokenizer.ggml.bos_token_id") || !strcmp(key, "tokenizer.ggml.eos_token_id")) {
			long long v = read_int(f, type);
			*(key[15] == 'b' ? &bos : &eos) = v;
			r = v < 0 ? -1 : 0;
		} else if (!strcmp(key, "tokenizer.ggml.tokens") && type == T_ARR) {
			uint32_t et;
			if (rd_u32(f, &et) < 0 || et != T_STR || rd_u64(f, &ntokens) < 0 || (tokens_at = ftello(f)) < 0)
				r = -1;
			for (uint64_t k = 0; r == 0 && k < ntokens; k++)
				r = skip_value(f, T_STR, size, 1);
		} else {
			r = skip_value(f, type, size, 0);
		}
		free(key);
		if (r < 0)
			goto out;
	}
	if (tokens_at >= 0) {
		out->bos_token = token_at(f, tokens_at, ntokens, bos, size);
		out->eos_token = token_at(f, tokens_at, ntokens, eos, size);
	}
	rc = 0;
out:
	fclose(f);
	if (rc < 0)
		lle_gguf_chat_free(out);
	return rc;
}

void lle_gguf_chat_free(struct lle_gguf_chat *c)
{
	free(c->chat_template);
	free(c->bos_token);
	free(c->eos_token);
	memset(c, 0, sizeof(*c));
}
