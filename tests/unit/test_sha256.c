/* SHA-256: the FIPS 180-2/180-4 example vectors, one million 'a', streaming in
 * every split equal to one-shot, and agreement with coreutils' sha256sum over
 * lengths around the padding boundaries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util/sha256.h"

static void hexof(const void *p, size_t n, char hex[65])
{
	unsigned char d[32];
	lle_sha256(p, n, d);
	lle_sha256_hex(d, hex);
}

TEST(vectors)
{
	char h[65];
	hexof("", 0, h);
	CHECK_STREQ(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	hexof("abc", 3, h);
	CHECK_STREQ(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *m2 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	hexof(m2, strlen(m2), h);
	CHECK_STREQ(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	const char *m3 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
			 "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
	hexof(m3, strlen(m3), h);
	CHECK_STREQ(h, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(million_a)
{
	static char a[1000000];
	memset(a, 'a', sizeof(a));
	char h[65];
	hexof(a, sizeof(a), h);
	CHECK_STREQ(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	/* The same through uneven updates. */
	struct lle_sha256 s;
	unsigned char d[32];
	lle_sha256_init(&s);
	size_t off = 0, step = 1;
	while (off < sizeof(a)) {
		size_t n = step < sizeof(a) - off ? step : sizeof(a) - off;
		lle_sha256_update(&s, a + off, n);
		off += n;
		step = step * 7 % 997 + 1;
	}
	lle_sha256_final(&s, d);
	lle_sha256_hex(d, h);
	CHECK_STREQ(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(every_split)
{
	unsigned char msg[200], one[32], two[32];
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)(i * 31 + 7);
	for (size_t len = 0; len <= sizeof(msg); len += 13) {
		lle_sha256(msg, len, one);
		for (size_t cut = 0; cut <= len; cut++) {
			struct lle_sha256 s;
			lle_sha256_init(&s);
			lle_sha256_update(&s, msg, cut);
			lle_sha256_update(&s, msg + cut, len - cut);
			lle_sha256_final(&s, two);
			if (memcmp(one, two, 32) != 0) {
				CHECK(!"split digest differs");
				return;
			}
		}
	}
}

/* Lengths 0..130 cover 55/56/63/64/119/120, where padding needs one or two blocks. */
TEST(agrees_with_sha256sum)
{
	if (system("command -v sha256sum >/dev/null 2>&1") != 0) {
		printf("# skip: no sha256sum\n");
		return;
	}
	char path[] = "/tmp/lle-sha-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;

	FILE *f = fdopen(fd, "w+");
	CHECK(f != NULL);
	if (!f)
		return;
	unsigned char msg[131];
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)(255 - i * 3);
	for (size_t len = 0; len <= sizeof(msg); len++) {
		CHECK(freopen(path, "wb", f) != NULL);
		CHECK(fwrite(msg, 1, len, f) == len);
		fflush(f);
		char cmd[128], want[80] = "", h[65];
		snprintf(cmd, sizeof(cmd), "sha256sum %s", path);
		FILE *p = popen(cmd, "r");
		CHECK(p != NULL);
		if (!p)
			break;
		CHECK(fscanf(p, "%64s", want) == 1);
		pclose(p);
		hexof(msg, len, h);
		if (strcmp(h, want) != 0) {
			CHECK_STREQ(h, want);
			printf("#   length %zu\n", len);
			break;
		}
	}
	fclose(f);
	remove(path);

}

int main(void)
{
	RUN(vectors);
	RUN(million_a);
	RUN(every_split);
	RUN(agrees_with_sha256sum);
	return check_done();
}
