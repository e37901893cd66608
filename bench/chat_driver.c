/* Benchmark driver for chat template rendering (built and run by
 * bench/chat.sh): a 5-shot MMLU conversation (a system turn, five examples
 * and the question in one user turn, as the harness lays it out; or, with
 * multiturn, five user/assistant pairs) rendered with the template in FILE,
 * ITERS times. The baseline, in the same process, joins the same messages'
 * contents into one buffer (the least any rendering must do).
 *   chat_driver FILE ITERS [multiturn]
 * Prints: microseconds (of the thread's CPU time) per rendering,
 * microseconds per baseline join, the rendered length in bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "run/chat.h"
#include "util/buf.h"

/* The thread's CPU time: on a machine shared with other work, time spent
 * waiting for a core is not the rendering's. */
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* An MMLU-sized question: about 400 bytes with its four choices. */
static void question(struct lle_buf *b, int k)
{
	lle_buf_printf(b, "Which of the following statements about the anatomy of the human %s is correct, "
			  "given that the structure in question %d develops from the second pharyngeal arch and "
			  "is innervated by a branch of the facial nerve?\n", k % 2 ? "ear" : "larynx", k);
	for (int c = 0; c < 4; c++)
		lle_buf_printf(b, "%c. The structure described is option %d, which is supplied by artery %d\n",
			       'A' + c, c + 1, k * 4 + c);
	lle_buf_adds(b, "Answer:");
}

static json_t *conversation(int multiturn)
{
	json_t *msgs = json_array();
	json_array_append_new(msgs, json_pack("{ssss}", "role", "system", "content",
					      "The following are multiple choice questions (with answers) about anatomy.\n\n"));
	struct lle_buf user = LLE_BUF_INIT;
	for (int k = 0; k < 5; k++) {
		struct lle_buf q = LLE_BUF_INIT;
		question(&q, k);
		if (multiturn) {
			json_array_append_new(msgs, json_pack("{ssss}", "role", "user", "content", lle_buf_str(&q)));
			json_array_append_new(msgs, json_pack("{ssss}", "role", "assistant", "content", "B"));
		} else {
			lle_buf_printf(&user, "%s B\n\n", lle_buf_str(&q));
		}
		lle_buf_free(&q);
	}
	question(&user, 5);
	json_array_append_new(msgs, json_pack("{ssss}", "role", "user", "content", lle_buf_str(&user)));
	lle_buf_free(&user);
	return msgs;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: chat_driver FILE ITERS [multiturn]\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	struct lle_buf src = LLE_BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		lle_buf_add(&src, chunk, n);
	fclose(f);
	long iters = atol(argv[2]);
	json_t *msgs = conversation(argc > 3 && !strcmp(argv[3], "multiturn"));
	struct lle_err err = { 0 };
	struct lle_chat *c = NULL;
	struct lle_chat_src cs = { .spec = lle_buf_str(&src), .spec_from_cli = 1 };
	if (lle_chat_open(&cs, "bench", &c, &err) != 1) {
		fprintf(stderr, "%s\n", err.msg[0] ? err.msg : "not a Jinja template");
		return 1;
	}
	size_t len = 0;
	double t0 = now();
	for (long i = 0; i < iters; i++) {
		char *s = lle_chat_render(c, msgs, 1, "bench", &err);
		if (!s) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		len = strlen(s);
		free(s);
	}
	double t1 = now();
	size_t blen = 0;
	for (long i = 0; i < iters; i++) {
		struct lle_buf b = LLE_BUF_INIT;
		for (size_t m = 0; m < json_array_size(msgs); m++) {
			json_t *x = json_array_get(msgs, m);
			lle_buf_adds(&b, json_string_value(json_object_get(x, "role")));
			lle_buf_adds(&b, json_string_value(json_object_get(x, "content")));
		}
		blen += b.n;
		lle_buf_free(&b);
	}
	double t2 = now();
	printf("%.3f %.3f %zu %zu\n", (t1 - t0) / iters * 1e6, (t2 - t1) / iters * 1e6, len, blen / (size_t)iters);
	lle_chat_free(c);
	json_decref(msgs);
	lle_buf_free(&src);
	return 0;
}
