/* llm-eval backend plugin ABI: the only header a backend plugin includes.
 *
 * A backend plugin is a shared object (NAME.so) that exports one symbol,
 * LLE_BACKEND_ENTRY_SYMBOL ("lle_backend_entry"), of type lle_backend_entry_fn.
 * The host (llm-eval) dlopen()s the plugin, calls the entry with its table of
 * host services, and gets back the plugin's table of functions. Plugins never
 * link against the llm-eval executable: everything they need from the host
 * (logging, progress, allocation, interruption) is in struct lle_host.
 *
 * Compatibility rules (SQLite's sqlite3ext.h and Redis modules work the same):
 *  - Every struct that crosses the boundary starts with `uint32_t size`, set to
 *    sizeof() of the struct the writer was compiled with. Fields are only ever
 *    appended; a reader uses a field only when LLE_HAS_FIELD says the writer's
 *    struct holds it, and treats a missing field as zero.
 *  - LLE_BACKEND_ABI_MAJOR changes only when something is removed or changes
 *    meaning. The host refuses a plugin of another major version, naming both.
 *    LLE_BACKEND_ABI_MINOR counts appended fields and functions.
 *  - The first three fields of struct lle_backend and the entry signature are
 *    frozen for all major versions, so the host can always read the version
 *    of a plugin built for another ABI.
 *  - Tables a plugin points to (struct lle_option) end with a row whose key
 *    is NULL; flag and capability bits are only ever added, each with a
 *    meaning that is off when the bit is 0, so an older plugin reads as
 *    "none of the newer features".
 *
 * Requests come in batches (submit) and results go back through a callback,
 * one call per request, as each completes, so the host can journal, score and
 * show progress while the rest are still being computed.
 *
 * This header defines an interface only; docs/backends.md is the guide for
 * plugin writers, plugins/llamacpp/ a full example and tests/plugins/ small ones. */
#ifndef LLM_EVAL_BACKEND_H
#define LLM_EVAL_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LLE_BACKEND_ABI_MAJOR 1
#define LLE_BACKEND_ABI_MINOR 3

#define LLE_BACKEND_ENTRY_SYMBOL "lle_backend_entry"

/* Whether the struct at p (whose first field is its size) holds `field`. */
#define LLE_HAS_FIELD(p, type, field) \
	((p)->size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* Log levels of lle_host.log. */
enum lle_log_level {
	LLE_LOG_ERROR = 0,
	LLE_LOG_WARN = 1,
	LLE_LOG_INFO = 2,  /* shown with llm-eval -v */
	LLE_LOG_DEBUG = 3, /* shown with llm-eval -v -v */
};

/* Services the host gives a plugin. Every function may be called from any
 * thread of the plugin; the host makes them thread-safe. */
struct lle_host {
	uint32_t size;       /* sizeof(struct lle_host) of the host */
	uint32_t abi_major;  /* LLE_BACKEND_ABI_MAJOR of the host */
	uint32_t abi_minor;  /* LLE_BACKEND_ABI_MINOR of the host */
	uint32_t reserved;
	void *user;          /* first argument of every function below */
	/* One line of text, no trailing newline. */
	void (*log)(void *user, int level, const char *msg);
	/* Progress of a long operation (model loading): `what` names it, done and
	 * total in any unit; done == total means finished. */
	void (*progress)(void *user, const char *what, double done, double total);
	/* Memory a plugin wants the host to account for (may be plain malloc).
	 * alloc returns NULL on failure; free(NULL) does nothing. */
	void *(*alloc)(void *user, size_t n);
	void *(*realloc)(void *user, void *p, size_t n);
	void (*free)(void *user, void *p);
	/* Nonzero once the host wants work to stop (Ctrl-C): a plugin checks it
	 * between decode steps, completes what it can with LLE_STATUS_CANCELLED
	 * and returns from submit. */
	int (*interrupted)(void *user);
	/* ABI 1.2 (call only when LLE_HAS_FIELD(host, struct lle_host,
	 * generated) says the host has it): n_tokens more tokens were generated
	 * for request id, which is still running. Only for showing progress
	 * (tokens counted as they come); the result's n_tokens still gives the
	 * whole count. Any thread, while submit runs; cheap enough to call for
	 * every token. */
	void (*generated)(void *user, uint64_t id, uint32_t n_tokens);
};

/* Whether a plugin built against this header can use host h: the same major
 * ABI and every service above. An entry function that gets 0 refuses to load,
 * naming both versions. */
static inline int lle_host_compatible(const struct lle_host *h)
{
	return h->abi_major == LLE_BACKEND_ABI_MAJOR &&
	       h->size >= offsetof(struct lle_host, interrupted) + sizeof(h->interrupted);
}

/* Options of a model, given to open. Keys and values of `options` are
 * backend-specific settings ("n_ctx=2048", "base_url=http://...").
 * Strings belong to the host and live only during the open call. */
struct lle_open_params {
	uint32_t size;
	uint32_t reserved;
	const char *model;         /* a file (llamacpp) or a served model name (openai) */
	int32_t max_length;        /* tokens of context a request may use; 0: the backend's default */
	int32_t n_threads;         /* 0: the backend's default */
	int32_t n_parallel;        /* sequences evaluated at once; 0: the backend's default */
	int32_t apply_chat_template; /* nonzero: wrap each context in the chat template */
	const char *chat_template; /* template name (e.g. "chatml"); NULL: the model's own */
	const char *system_message; /* with apply_chat_template; NULL for none */
	const char *const *options; /* "key=value" strings */
	size_t n_options;
};

enum lle_request_kind {
	LLE_REQ_LOGLIKELIHOOD = 1,          /* context, continuation -> logprob, is_greedy */
	LLE_REQ_LOGLIKELIHOOD_ROLLING = 2,  /* context (the whole text) -> logprob */
	LLE_REQ_GENERATE_UNTIL = 3,         /* context, until[], max_tokens, sampling -> text */
};

/* ABI 1.3: one turn of a conversation (lle_request.messages). Its layout is
 * fixed for every 1.x ABI (an array's stride must not change): a later
 * need is a new array field of lle_request, never a field appended here. */
struct lle_message {
	const char *role;          /* "system", "user" or "assistant" */
	const char *content;       /* UTF-8, NUL-terminated; may hold NUL bytes */
	size_t content_len;        /* bytes of content */
};

/* One request. Strings are NUL-terminated UTF-8 and belong to the host; they
 * stay valid until submit returns. */
struct lle_request {
	uint32_t size;
	uint32_t kind;             /* enum lle_request_kind */
	uint64_t id;               /* the host's, returned with the result */
	const char *context;       /* never NULL; may be "" */
	const char *continuation;  /* LLE_REQ_LOGLIKELIHOOD; NULL otherwise */
	/* LLE_REQ_GENERATE_UNTIL: */
	const char *const *until;  /* stop strings, none returned in the text */
	size_t n_until;
	int32_t max_tokens;        /* <= 0: the backend's default (256) */
	int32_t reserved;
	double temperature;        /* 0: greedy */
	double top_p;              /* 0 or 1: off */
	uint64_t seed;             /* sampling seed of this request */
	/* ABI 1.3 (read only when LLE_HAS_FIELD(req, struct lle_request,
	 * n_messages) says the host's struct holds it): for a backend with
	 * LLE_CAP_CHAT_MESSAGES opened with apply_chat_template, the
	 * conversation as lm-evaluation-harness builds it: a system turn
	 * (the system instruction and the task's description), the few-shot
	 * examples (one user turn, or user/assistant pairs), the question in a
	 * user turn, and a final assistant turn holding a gen_prefix, which the
	 * answer continues. context then holds the same conversation as
	 * Python's json.dumps(messages, ensure_ascii=False) (what the harness
	 * logs and the response cache keys on); a backend that renders the
	 * chat itself sends or renders these turns, and ignores
	 * lle_open_params.system_message. NULL / 0 otherwise. */
	const struct lle_message *messages;
	size_t n_messages;
};

enum lle_status {
	LLE_STATUS_OK = 0,
	LLE_STATUS_ERROR = 1,      /* this request failed; message in error */
	LLE_STATUS_CANCELLED = 2,  /* host->interrupted() said stop */
};

/* One result, given to the completion callback. Pointers belong to the
 * plugin and are valid only during the callback. */
struct lle_result {
	uint32_t size;
	uint32_t status;           /* enum lle_status */
	uint64_t id;               /* the request's id */
	const char *error;         /* status != OK: one line, lower case */
	double logprob;            /* loglikelihood(_rolling): natural log, summed */
	int32_t is_greedy;         /* loglikelihood: every continuation token was the argmax */
	int32_t n_tokens;          /* tokens scored (loglikelihood*) or generated */
	const char *text;          /* generate_until: the text, without the stop string */
	size_t text_len;
	/* ABI 1.2 (the host reads it only when LLE_HAS_FIELD says the plugin's
	 * struct holds it): tokens of the request's input the model read (the
	 * prompt of a generation; context and continuation of a log-likelihood,
	 * every window of a rolling one); 0: not known. Results files add them
	 * up as prompt_tokens. */
	int64_t n_prompt_tokens;
};

/* Called once per request, on the thread that called submit, in the order the
 * requests complete (not necessarily the order given). */
typedef void (*lle_complete_fn)(void *user, const struct lle_request *req,
				const struct lle_result *res);

/* ---- how a backend describes itself (ABI 1.1) ------------------------------
 *
 * The host knows a backend only by what it declares here: the options it
 * takes (the host checks registry files and --model-args against them, lists
 * them in `llm-eval list backends -v`, and hides secret values wherever it
 * writes or shows options) and what it can do (capability bits). No host file
 * names a backend. */

/* Types of an option's value (as text in "key=value"; registry files may give
 * a list, which the host joins with ','). */
enum lle_option_type {
	LLE_OPT_STRING = 1,  /* any text */
	LLE_OPT_INT = 2,     /* a whole number, 0 or more */
	LLE_OPT_NUMBER = 3,  /* a number, 0 or more */
	LLE_OPT_URL = 4,     /* one URL or a comma-separated list (a list in YAML); a
			      * user:password@ in a URL is never written or shown */
	LLE_OPT_LIST = 5,    /* comma-separated items (a list in YAML) */
};

/* Flags of an option. */
enum lle_option_flag {
	/* The value can carry a credential (an Authorization header): the host
	 * writes and shows "key=<redacted>" and removes the value from every
	 * message of the plugin it passes on. It still reaches the plugin. */
	LLE_OPT_SECRET = 1u << 0,
	/* Does not change answers (thread counts, the name of a variable):
	 * left out of the model's identity in the response cache. */
	LLE_OPT_NO_IDENTITY = 1u << 1,
	/* Set by the host, not by users (see the option's doc): registry files
	 * and --help do not offer it. */
	LLE_OPT_HOST = 1u << 2,
};

/* One option a backend takes. A table ends with a row whose key is NULL. */
struct lle_option {
	const char *key;     /* [a-z0-9_]+ */
	uint32_t type;       /* enum lle_option_type */
	uint32_t flags;      /* enum lle_option_flag bits */
	const char *doc;     /* one line, lower case: what it does, its default */
};

/* The one option the host fills in itself, for a backend whose table has it
 * (with LLE_OPT_HOST): the names of the run's tasks that need log-likelihoods
 * ('a', 'b' quoted and joined with "', '"), so a backend that cannot score
 * prompts on the model given refuses at wait_ready, naming them. */
#define LLE_OPTION_LOGLIKELIHOOD_TASKS "loglikelihood_tasks"

/* Capability bits of struct lle_backend.caps. */
enum lle_backend_cap {
	/* The model is a GGUF file: lle_open_params.model is its path, which the
	 * host finds from the registry entry's backends.<name>.gguf under the
	 * model directory (gguf_repo: where it is published) and checks before a
	 * run; the file's size, time and header are the model's cache identity;
	 * results say model_path=. Without it the model is a name (registry key
	 * backends.<name>.model, default the entry's name) and its identity is
	 * that name with the option values of type LLE_OPT_URL. */
	LLE_CAP_MODEL_FILE = 1u << 0,
	/* Always gives prompt log-probabilities (loglikelihood requests). */
	LLE_CAP_PROMPT_LOGPROBS = 1u << 1,
	/* Renders chat templates itself (from the model file's
	 * tokenizer.chat_template, or a built-in name): with LLE_CAP_MODEL_FILE
	 * the host checks before a run that the file has one. */
	LLE_CAP_CHAT_TEMPLATE = 1u << 2,
	/* Has an exact mode (option exact=1): results that do not depend on
	 * batching or threads to the last bit. */
	LLE_CAP_EXACT = 1u << 3,
	/* ABI 1.3: when opened with apply_chat_template it takes the
	 * conversation from lle_request.messages (an assistant turn that
	 * starts the answer included), so the host sends gen_prefix tasks and
	 * puts the system instruction in the messages. */
	LLE_CAP_CHAT_MESSAGES = 1u << 4,
};

/* A model opened by a backend; opaque to the host. */
struct lle_model;

/* Error text buffers: a plugin writes one line, lower case, no full stop,
 * naming the subject (the model file, the server), NUL-terminated. */
struct lle_backend {
	/* Frozen for every ABI version: */
	uint32_t abi_major;        /* LLE_BACKEND_ABI_MAJOR the plugin was built with */
	uint32_t abi_minor;
	uint32_t size;             /* sizeof(struct lle_backend) of the plugin */
	uint32_t reserved;
	/* ABI 1.0: */
	const char *name;          /* "llamacpp": what --backend and registry files say */
	const char *version;       /* the plugin's version, and its engine's if any */
	const char *description;   /* one line */
	/* Check that the backend can work here without opening a model (libraries,
	 * devices). 0 when it can, with a short note in msg (e.g. "cpu: avx2");
	 * -1 with the reason in msg otherwise. May be NULL. */
	int (*probe)(char *msg, size_t msg_len);
	/* Start opening a model and return at once: heavy loading may go on in
	 * the background. -1 with err filled when the parameters are wrong. */
	int (*open)(const struct lle_open_params *params, struct lle_model **out,
		    char *err, size_t err_len);
	/* Wait until the model is loaded. 0, or -1 with the loading error. */
	int (*wait_ready)(struct lle_model *m, char *err, size_t err_len);
	/* Evaluate n requests, calling cb once for each as it completes; returns
	 * when all have been called back. Waits for the model first. Returns -1
	 * with err filled only when the whole batch failed before any callback
	 * (e.g. the model did not load); per-request errors go to the callback.
	 * Results never depend on how requests are split into batches, on their
	 * order, or on the thread count (within float rounding, see the docs). */
	int (*submit)(struct lle_model *m, const struct lle_request *reqs, size_t n,
		      lle_complete_fn cb, void *cb_user, char *err, size_t err_len);
	/* Count the tokens of text as the model's tokenizer does (no BOS).
	 * -1 with err filled when not possible. May be NULL. */
	int64_t (*count_tokens)(struct lle_model *m, const char *text, char *err, size_t err_len);
	/* Free everything of the model; waits for a background load to end. */
	void (*close)(struct lle_model *m);
	/* ABI 1.1 (read only when LLE_HAS_FIELD says so; absent reads as 0): */
	uint64_t caps;             /* enum lle_backend_cap bits */
	/* The options open accepts; NULL: the host checks none and lists none. */
	const struct lle_option *options;
	/* The model's identity for the response cache, when the default above
	 * (LLE_CAP_MODEL_FILE) is not enough: write text that changes whenever
	 * the model's answers can (a checksum of its files, a server's model
	 * version) into out (NUL-terminated) and return 0; -1 with err filled
	 * when it cannot be known (the run then stops before any request). The
	 * host hashes it with the backend's name, the model and the options that
	 * change answers. Cheap: called once per model after wait_ready. May be
	 * NULL. */
	int (*model_identity)(struct lle_model *m, char *out, size_t out_len, char *err, size_t err_len);
};

/* The one symbol a plugin exports. It receives the host's services (valid
 * until the plugin is unloaded) and returns the plugin's static table, or NULL
 * with a message in err when it cannot work with this host. It must not do
 * heavy work: `llm-eval list backends` calls it for every installed plugin. */
typedef const struct lle_backend *(*lle_backend_entry_fn)(const struct lle_host *host,
							  char *err, size_t err_len);

#ifdef __cplusplus
}
#endif

#endif
