/* Unit tests for src/run/gguf_meta.c: GGUF metadata read key by key, on files
 * written here byte by byte (every value type, string arrays, nested arrays)
 * and on damaged ones. */
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run/gguf_meta.h"
#include "util/buf.h"

static char dir[256];

static void u32(struct lle_buf *b, uint32_t v)
{
	unsigned char x[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
			       (unsigned char)(v >> 24) };
	lle_buf_add(b, (const char *)x, 4);
}

static void u64(struct lle_buf *b, uint64_t v)
{
	u32(b, (uint32_t)v);
	u32(b, (uint32_t)(v >> 32));
}

static void str(struct lle_buf *b, const char *s)
{
	u64(b, strlen(s));
	lle_buf_add(b, s, strlen(s));
}

/* A GGUF header and these keys: a u8, an f64, a string array (a vocabulary),
 * an array of u32 arrays, and then `last` (a string) when given. */
static void gguf(struct lle_buf *b, uint32_t version, const char *last)
{
	lle_buf_reset(b);
	lle_buf_add(b, "GGUF", 4);
	u32(b, version);
	u64(b, 0);           /* tensors */
	u64(b, last ? 5 : 4); /* keys */
	str(b, "general.file_type");
	u32(b, 0);
	lle_buf_add(b, "\x01", 1);
	str(b, "general.scale");
	u32(b, 12);
	u64(b, 0x3ff0000000000000ull);
	str(b, "tokenizer.ggml.tokens");
	u32(b, 9);
	u32(b, 8);
	u64(b, 3);
	str(b, "<s>");
	str(b, "\xe2\x96\x81the");
	str(b, "tokenizer.chat_template"); /* a value that looks like the key */
	str(b, "nested");
	u32(b, 9);
	u32(b, 9);
	u64(b, 2);
	for (int i = 0; i < 2; i++) {
		u32(b, 4);
		u64(b, 3);
		u32(b, 1);
		u32(b, 2);
		u32(b, 3);
	}
	if (last) {
		str(b, "tokenizer.chat_template");
		u32(b, 8);
		str(b, last);
	}
}

static const char *put(const char *name, const char *p, size_t n)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(p, 1, n, f);
		fclose(f);
	}
	return path;
}

TEST(finds_a_key_past_arrays_and_strings)
{
	struct lle_buf b = LLE_BUF_INIT;
	gguf(&b, 3, "{% for m in messages %}{{ m.content }}{% endfor %}");
	CHECK(lle_gguf_has_key(put("with.gguf", b.p, b.n), "tokenizer.chat_template") == 1);
	CHECK(lle_gguf_has_key(put("with.gguf", b.p, b.n), "nested") == 1);
	CHECK(lle_gguf_has_key(put("with.gguf", b.p, b.n), "general.nothing") == 0);
	gguf(&b, 2, NULL);
	/* the key's text inside a string array is not a key */
	CHECK(lle_gguf_has_key(put("without.gguf", b.p, b.n), "tokenizer.chat_template") == 0);
	CHECK(lle_gguf_has_key(put("without.gguf", b.p, b.n), "tokenizer.ggml.tokens") == 1);
	lle_buf_free(&b);
}

TEST(damaged_files_are_unreadable_not_keyless)
{
	struct lle_buf b = LLE_BUF_INIT;
	gguf(&b, 3, "x");
	/* cut anywhere before the last key's name ends */
	int bad = 0;
	for (size_t n = 0; n < b.n - 13; n += 3) /* the key ends 13 bytes before the end */
		bad += lle_gguf_has_key(put("cut.gguf", b.p, n), "tokenizer.chat_template") != -1;
	CHECK(bad == 0);
	gguf(&b, 1, "x");
	CHECK(lle_gguf_has_key(put("v1.gguf", b.p, b.n), "tokenizer.chat_template") == -1);
	gguf(&b, 3, "x");
	b.p[0] = 'X';
	CHECK(lle_gguf_has_key(put("magic.gguf", b.p, b.n), "tokenizer.chat_template") == -1);
	/* a string length far past the end of the file */
	gguf(&b, 3, NULL);
	memset(b.p + 24, 0xff, 8);
	CHECK(lle_gguf_has_key(put("len.gguf", b.p, b.n), "tokenizer.chat_template") == -1);
	/* an unknown value type */
	gguf(&b, 3, NULL);
	b.p[24 + 8 + strlen("general.file_type")] = 42;
	CHECK(lle_gguf_has_key(put("type.gguf", b.p, b.n), "tokenizer.chat_template") == -1);
	CHECK(lle_gguf_has_key("/nonexistent/model.gguf", "tokenizer.chat_template") == -1);
	lle_buf_free(&b);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "%s/lle-gguf.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		printf("not ok - temporary directory\n");
		return 1;
	}
	RUN(finds_a_key_past_arrays_and_strings);
	RUN(damaged_files_are_unreadable_not_keyless);
	const char *names[] = { "with.gguf", "without.gguf", "cut.gguf", "v1.gguf", "magic.gguf",
				"len.gguf", "type.gguf" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char p[512];
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
	return check_done();
}
