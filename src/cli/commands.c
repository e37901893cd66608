/* The command table: every command of llm-eval, one row each. See cmd.h for
 * the checklist to add one. Rows are kept in alphabetical order; prefix
 * matching and `help` depend on no order, but people reading this do. */
#include "cli/cmd.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "run/run.h"          /* run defaults, named in `run --help` (macros only) */
#include "tasks/metrics.h"
#include "tasks/task.h"
#include "util/diag.h"
#include "util/err.h"
#include "util/suggest.h"

#define STR_(x) #x
#define STR(x) STR_(x)

const struct lle_cmd lle_commands[] = {
	{ "cache", NULL, "show or clear the response cache",
	  "llm-eval cache stats|clear|path [--cache PATH] [--json]",
	  "Every response a backend gives is kept in the cache (by default\n"
	  "$XDG_CACHE_HOME/llm-eval/cache.sqlite), keyed by the model and every argument\n"
	  "of the request, so a run that is stopped and started again only sends what is\n"
	  "missing. See docs/store.md.\n"
	  "\n"
	  "Actions:\n"
	  "  stats         number of responses by kind, size, and the progress of each run\n"
	  "  clear         remove every cached response and run journal\n"
	  "  path          print where the cache is\n"
	  "\n"
	  "Options:\n"
	  "  --cache PATH  the cache file (default: $XDG_CACHE_HOME/llm-eval/cache.sqlite)\n"
	  "  --json        print stats as a JSON object\n",
	  LLE_NEED_ENGINE, NULL, "lle_cmd_cache" },
	{ "compare", NULL, "compare two runs task by task, against their standard errors",
	  "llm-eval compare RUN_A RUN_B [--format table|markdown|csv|json] [--store PATH]",
	  "For every task and metric both runs have: A, B, the difference B - A, its\n"
	  "standard error, z = (B - A) / se, and whether the difference is larger than\n"
	  "that standard error. When both runs were imported with their samples files,\n"
	  "the difference and its standard error are paired over the documents both\n"
	  "scored; otherwise the standard error is sqrt(se_A^2 + se_B^2). A RUN is a run\n"
	  "id from `llm-eval results list`, a prefix of its uid, or `last`.\n"
	  "\n"
	  "Options:\n"
	  "  --format F    table (default), markdown, csv or json\n"
	  "  --json        the same as --format json\n"
	  "  --store PATH  the run store (default: $XDG_DATA_HOME/llm-eval/runs.sqlite)\n",
	  LLE_NEED_ENGINE, NULL, "lle_cmd_compare" },
	{ "completion", NULL, "print a shell completion script for bash or zsh",
	  "llm-eval completion bash|zsh",
	  "Prints a completion script generated from the command table: commands,\n"
	  "options, the words commands take (list models|tasks|..., cache stats|...),\n"
	  "option values (--format, --color, --kind, ...), and the names of models, tasks,\n"
	  "groups, tags and categories, read at completion time from the registry index\n"
	  "as `list` reads them (LLM_EVAL_INCLUDE_PATH is honoured).\n"
	  "\n"
	  "Examples:\n"
	  "  source <(llm-eval completion bash)       # in ~/.bashrc\n"
	  "  llm-eval completion zsh > ~/.zfunc/_llm-eval\n",
	  LLE_NEED_REGISTRY, lle_cmd_completion, NULL },
	{ "data", NULL, "fetch, list, check or remove datasets of the Hugging Face Hub cache",
	  "llm-eval data pull|list|verify|rm [NAME...] [--data-dir DIR] [--offline] [--json]",
	  "A task whose data is not under --data-dir / LLM_EVAL_DATA_DIR reads its\n"
	  "dataset from the Hugging Face Hub cache ($HF_HUB_CACHE, else $HF_HOME/hub,\n"
	  "else ~/.cache/huggingface/hub: the cache Python's huggingface_hub uses), and\n"
	  "`run` fetches what is missing from $HF_ENDPOINT (default https://huggingface.co),\n"
	  "with $HF_TOKEN or the token file for gated datasets; HF_HUB_OFFLINE=1 reads the\n"
	  "cache only. See docs/tasks.md.\n"
	  "\n"
	  "Actions:\n"
	  "  pull NAME...  fetch every split the tasks, groups or tags NAME read (the\n"
	  "                evaluated split and the few-shot split), for a machine that\n"
	  "                runs offline later; prints each split's documents and commit\n"
	  "  list          the datasets in the cache: size and refs (revision=commit)\n"
	  "  verify [DATASET...]\n"
	  "                check every blob against its sha256 and every snapshot link\n"
	  "                against its blob (exit 4 when something is damaged)\n"
	  "  rm DATASET... remove datasets (ORG/NAME) from the cache\n"
	  "\n"
	  "Options:\n"
	  "  --data-dir DIR  pull: tasks whose files are under DIR are read from there\n"
	  "  --offline       pull: fetch nothing, only check that the cache has every\n"
	  "                  split a run of NAME reads (as HF_HUB_OFFLINE=1)\n"
	  "  --json          list: one JSON object\n",
	  LLE_NEED_REGISTRY | LLE_NEED_ENGINE, NULL, "lle_cmd_data" },
	{ "help", NULL, "show help for llm-eval or one command",
	  "llm-eval help [COMMAND | --man]",
	  "With no COMMAND, lists the commands. `llm-eval COMMAND --help` is the same as\n"
	  "`llm-eval help COMMAND`.\n"
	  "\n"
	  "Options:\n"
	  "  --man         print the manual page llm-eval(1), written from the same text\n"
	  "                (`make install` installs it)\n",
	  0, lle_cmd_help, NULL },
	{ "list", "ls", "list models, tasks, categories, datasets or backends",
	  "llm-eval list [--json | --format table|tsv|json] [--category NAME] [--kind KIND]\n"
	  "                models|tasks|categories|datasets|backends [PATTERN]",
	  "Lists what the registries on the search path hold: the built-in registry,\n"
	  "$XDG_CONFIG_HOME/llm-eval, LLM_EVAL_INCLUDE_PATH and --include-path (a later\n"
	  "directory wins over an earlier one, with a warning). Only the keys shown are\n"
	  "read, through an index cached under $XDG_CACHE_HOME/llm-eval/.\n"
	  "\n"
	  "Options:\n"
	  "  --json             a JSON array (the same as --format json)\n"
	  "  --format FORMAT    table (the default), tsv (a header line, then one line\n"
	  "                     per entry) or json\n"
	  "  --category NAME    only models and tasks of this category\n"
	  "  --kind KIND        tasks only: task, group, tag or python-task\n"
	  "  --data-dir DIR     datasets only: where their files are looked for (else\n"
	  "                     LLM_EVAL_DATA_DIR)\n"
	  "  PATTERN            a glob (with * ? [) or a substring of the name, any case\n"
	  "                     (datasets: of the dataset, its name or one of its tasks)\n"
	  "\n"
	  "`list datasets` shows each dataset the tasks read, the tasks that read it,\n"
	  "where a run reads it from (SOURCE: local files, or the Hugging Face Hub when\n"
	  "no data directory is set) and whether it is there (STATUS: present, partial,\n"
	  "missing or no data dir; for the Hub, cached, partial or remote in the Hub\n"
	  "cache at the task's revision), without opening a file or asking the Hub.\n"
	  "\n"
	  "Examples:\n"
	  "  llm-eval list models --category mathematics\n"
	  "  llm-eval list tasks --include-path lm-evaluation-harness/lm_eval/tasks 'mmlu_*'\n"
	  "  llm-eval list tasks --kind group --format tsv\n"
	  "  llm-eval list datasets --data-dir ../shared/datasets mmlu\n",
	  LLE_NEED_REGISTRY, lle_cmd_list, NULL },
	{ "merge", NULL, "combine the shards of a run (run --shard i/N) into one results file",
	  "llm-eval merge DIR... [--output DIR] [--store PATH | --no-store]",
	  "Reads the shard results (results_<date>.json with \"shard\": \"i/N\") and their\n"
	  "items_<task>_<date>.jsonl files in each DIR and one level below (DIR/<model>/),\n"
	  "checks that shards 0..N-1 of each model are all there and were run with the\n"
	  "same configuration (it names the first difference otherwise), re-aggregates\n"
	  "every task from the per-document items in doc_id order (the same\n"
	  "aggregations, bootstrap and groups as an unsharded run) and writes one\n"
	  "results file per model under OUTPUT/<model>/, with values identical to an\n"
	  "unsharded run's. The merged run is added to the run store.\n"
	  "\n"
	  "Options:\n"
	  "  --output DIR  where to write (default: merged)\n"
	  "  --store PATH  the run store (default: $XDG_DATA_HOME/llm-eval/runs.sqlite)\n"
	  "  --no-store    do not add the merged run to the run store\n"
	  "  --json        print the merged results JSON instead of the table\n",
	  LLE_NEED_ENGINE, NULL, "lle_cmd_merge" },
	{ "monitor", NULL, "watch GPUs, CPU, memory and llm-eval runs, live",
	  "llm-eval monitor [--once] [--json] [--interval MS] [--count N]",
	  "Shows this machine's GPUs (through NVML, when an NVIDIA driver is installed),\n"
	  "CPU and memory, and the llm-eval runs in progress. On a terminal the view is\n"
	  "refreshed in place until you press q or Ctrl-C; otherwise one block of text\n"
	  "is printed per sample. Fields and variables: docs/monitor.md.\n"
	  "\n"
	  "Options:\n"
	  "  --once          print one sample and exit (taken one interval after start)\n"
	  "  --json          one JSON object per sample and line, for scripts\n"
	  "  --interval MS   milliseconds between samples, 10 to 3600000 (default 1000)\n"
	  "  --count N       exit after N samples\n"
	  "\n"
	  "Environment:\n"
	  "  LLM_EVAL_NVML_PATH   the NVML library to load (default libnvidia-ml.so.1)\n",
	  LLE_NEED_ENGINE, NULL, "lle_cmd_monitor" },
	{ "report", NULL, "report models x tasks with standard errors, as text, CSV, JSON or HTML",
	  "llm-eval report [RUN...] [--category C] [--format F | --json] [--output FILE] [--store PATH]",
	  "One row per model, one column per task (its metric with the standard error),\n"
	  "and the average of each category. With no RUN, every stored run; a model and\n"
	  "task found in several runs shows the latest. The HTML report is one file with\n"
	  "bar charts (error bars: one standard error) and no external resources.\n"
	  "\n"
	  "Options:\n"
	  "  --category C   only the tasks of category C\n"
	  "  --format F     table (default), markdown, csv, json or html\n"
	  "  --json         the same as --format json\n"
	  "  --output FILE  write to FILE instead of standard output (without --format,\n"
	  "                 the format follows its extension: .html, .md, .csv, .json)\n"
	  "  --metric M     show metric M where a task has it (acc, exact_match,flexible-extract)\n"
	  "  --subtasks     also show the members of groups (the MMLU subjects)\n"
	  "  --store PATH   the run store (default: $XDG_DATA_HOME/llm-eval/runs.sqlite)\n",
	  LLE_NEED_ENGINE, NULL, "lle_cmd_report" },
	{ "results", NULL, "list, show and import stored runs",
	  "llm-eval results list|show RUN|import FILE|DIR...|delete RUN [--store PATH] [--json]",
	  "The run store (by default $XDG_DATA_HOME/llm-eval/runs.sqlite) keeps each run's\n"
	  "configuration, versions, timings, hardware and every metric with its standard\n"
	  "error. `import` reads results JSON written by llm-eval or lm-evaluation-harness\n"
	  "(a DIR: every results_*.json in it and in its sub-directories);\n"
	  "importing the same file twice stores it once. Beside DIR/results_DATE.json,\n"
	  "the files DIR/samples_TASK_DATE.jsonl are read too: their per-document scores\n"
	  "let `compare` pair two runs. A RUN is a run id, a prefix of its uid, or `last`.\n"
	  "\n"
	  "Options:\n"
	  "  --store PATH   the run store\n"
	  "  --json         list and show as JSON\n"
	  "  --category C   import: the category of tasks whose file names none\n"
	  "  --no-samples   import: leave the samples files out\n",
	  LLE_NEED_ENGINE, NULL, "lle_cmd_results" },
	{ "run", NULL, "evaluate models on tasks and write the results",
	  "llm-eval run (--model NAME | --model-path FILE.gguf | --category NAME)\n"
	  "                (--tasks NAME[,NAME...] | --category NAME) [options]",
	  "Evaluates each model on each task (a group runs its members and aggregates\n"
	  "them) with lm-evaluation-harness's semantics, shows progress, prints a table\n"
	  "of every metric with its standard error and, with --output, writes\n"
	  "results_<date>.json (and samples_<task>_<date>.jsonl) under DIR/<model>/.\n"
	  "Everything the run needs is checked before any model loads.\n"
	  "\n"
	  "What to run:\n"
	  "  --model NAME          a registry model (repeatable, or NAME,NAME)\n"
	  "  --model-path FILE     a GGUF file, run with the " LLE_DEFAULT_BACKEND " backend\n"
	  "  --backend NAME        the backend plugin to use instead of the model's default\n"
	  "  --model-args K=V,...  backend options after the registry's (repeatable); each\n"
	  "                        backend's are listed by 'llm-eval -v list backends'\n"
	  "  --model-dir DIR       where registry models' GGUF files are (LLM_EVAL_MODEL_DIR;\n"
	  "                        default $XDG_DATA_HOME/llm-eval/models)\n"
	  "  --tasks NAMES         tasks, groups or tags, comma-separated (repeatable)\n"
	  "  --category NAME       the category's models (unless --model) x its tasks\n"
	  "                        (unless --tasks)\n"
	  "  --data-dir DIR        where dataset files are (LLM_EVAL_DATA_DIR)\n"
	  "  --offline             Hub datasets from the Hugging Face cache only, never the\n"
	  "                        network (as HF_HUB_OFFLINE=1)\n"
	  "\n"
	  "How:\n"
	  "  --limit N|F           the first N documents of each task, or a fraction 0<F<1\n"
	  "  --num-fewshot K       few-shot examples per prompt instead of each task's own\n"
	  "  --fewshot-seed S      seed of the few-shot sampler (default " STR(LLE_FEWSHOT_SEED) ", as the harness)\n"
	  "  --seed S              seed of sampled generations (default 0)\n"
	  "  --apply-chat-template[=NAME|FILE]  render prompts with the model's chat template\n"
	  "                        (its GGUF's or registry's Jinja), or FILE, or llama.cpp's NAME\n"
	  "  --fewshot-as-multiturn  with a chat template: examples as user/assistant turns\n"
	  "  --system-instruction TEXT  a system message (prepended when no chat template)\n"
	  "  --gen-kwargs K=V,...  temperature, top_p, max_gen_toks, do_sample, until=A|B\n"
	  "  --batch-size N|auto   documents per backend submission (default " STR(LLE_RUN_BATCH_SIZE) "; auto: the default)\n"
	  "  --threads N           CPU threads for the backend (default: physical cores)\n"
	  "  --max-length N        context length to use\n"
	  "  --bootstrap-iters N   resamples for bootstrap standard errors (default " STR(LLE_BOOTSTRAP_ITERS) ")\n"
	  "  --allow-weak-sandbox  run code tasks even where the sandbox lacks a protection\n"
	  "  --allow-hook-network  let the tasks' Python hooks use the network (their sandbox\n"
	  "                        has none by default)\n"
	  "  --samples TASK:IDS    only these documents of TASK (ids and ranges: 0,5,10-19;\n"
	  "                        repeatable), or the harness's JSON {\"TASK\": [ID, ...]}\n"
	  "  --metadata JSON       an object merged into every task's metadata (results' configs)\n"
	  "  --config FILE         run options from a YAML file (keys in either spelling,\n"
	  "                        lists and maps joined); the command line's win\n"
	  "\n"
	  "Output:\n"
	  "  --output DIR          write results (and samples) under DIR/<model>/ (or --output-path)\n"
	  "  --log-samples         write every document's prompt, responses and scores\n"
	  "  --predict-only, -x    generate and log samples, compute no metric (the\n"
	  "                        harness's bypass; implies --log-samples, needs --output)\n"
	  "  --json                print the results JSON instead of the table\n"
	  "  --no-progress         no progress lines (-q also silences warnings)\n"
	  "  --show-prompts N      print the requests of each task's first N documents as\n"
	  "                        they would be sent, then exit (no model needed)\n"
	  "  --write-out, -w       the same for each task's first document, on stderr, then run\n"
	  "  --on-error continue|stop  go on past a failed document (default), or end the run\n"
	  "  --monitor-interval MS sampling interval of GPU/CPU/memory (LLM_EVAL_MONITOR=0: off)\n"
	  "\n"
	  "Resume, store, shards:\n"
	  "  --cache PATH          the response cache (default $XDG_CACHE_HOME/llm-eval/cache.sqlite);\n"
	  "                        the same command after any interruption sends only what it lacks\n"
	  "  --no-cache            neither read nor write a cache\n"
	  "  --store PATH          the run store each model's results go to\n"
	  "                        (default $XDG_DATA_HOME/llm-eval/runs.sqlite)\n"
	  "  --no-store            do not add the results to the run store\n"
	  "  --shard i/N           only the documents with doc_id % N == i (needs --output);\n"
	  "                        combine the N shards with `llm-eval merge`\n"
	  "  --shard auto[/N]      i/N from a Slurm job array (SLURM_ARRAY_TASK_ID of\n"
	  "                        SLURM_ARRAY_TASK_COUNT) or, with N, a Kubernetes Indexed\n"
	  "                        Job (JOB_COMPLETION_INDEX)\n"
	  "\n"
	  "lm-evaluation-harness's spellings work too: each option with '_' for '-'\n"
	  "(--num_fewshot, --model_args, --output_path, --log_samples, --batch_size) and\n"
	  "its short options -m, -t, -a, -f, -b, -o, -L, -s, -w, -x (see docs/run.md).\n"
	  "\n"
	  "Exit codes: 0 all scored, 1 some documents failed, 2 usage, 3 config, 4 data,\n"
	  "5 backend, 6 I/O, 130 interrupted (what finished is written).\n"
	  "\n"
	  "Examples:\n"
	  "  llm-eval run --model-path model.gguf --tasks gsm8k --data-dir datasets --limit 50\n"
	  "  llm-eval run --category mathematics --data-dir datasets --output results\n",
	  LLE_NEED_REGISTRY | LLE_NEED_ENGINE, NULL, "lle_cmd_run" },
	{ "sandbox", NULL, "run a program in the sandbox that code tasks use, or check it",
	  "llm-eval sandbox [--check] [--allow-weak-sandbox] [--timeout S] [--memory MB]\n"
	  "                        [--file PATH]... [--stdin] -- PROGRAM [ARGS...]",
	  "Runs PROGRAM the way model-written code runs: in new user, PID, network,\n"
	  "mount, IPC and UTS namespaces, read-only file system with a private /tmp as\n"
	  "working directory, no network, resource limits, a seccomp filter and an empty\n"
	  "environment. See docs/sandbox.md.\n"
	  "\n"
	  "Options:\n"
	  "  --check               say which protections this system allows, then run a\n"
	  "                        trial program; exit 3 when one is missing\n"
	  "  --allow-weak-sandbox  run even when a protection is missing (says which)\n"
	  "  --timeout S           wall-clock limit in seconds (default 10)\n"
	  "  --memory MB           memory limit: address space per process, and the whole\n"
	  "                        sandbox's memory where a cgroup is available (default 1024)\n"
	  "  --file PATH           copy PATH into the working directory (repeatable)\n"
	  "  --stdin               pass this command's standard input to PROGRAM\n"
	  "\n"
	  "Exit status: PROGRAM's own; 128+N when signal N killed it; 124 when it timed\n"
	  "out; 3 when the sandbox is incomplete and --allow-weak-sandbox is not given.\n"
	  "\n"
	  "Example:\n"
	  "  llm-eval sandbox --timeout 5 -- python3 -c 'print(1 + 1)'\n",
	  LLE_NEED_ENGINE, NULL, "lle_cmd_sandbox" },
	{ "show", NULL, "show the full config of a model, task or category and where it came from",
	  "llm-eval show [--json] model|task|category NAME",
	  "Prints the entry's config with its include: files merged, as YAML, each\n"
	  "top-level key followed by the file:line it was set in. A category also lists\n"
	  "its models and tasks; a tag lists its tasks. A task or group is compiled as\n"
	  "`run` plans it: a problem run would refuse it for is printed after the config,\n"
	  "and the exit code is run's (3).\n"
	  "\n"
	  "Options:\n"
	  "  --json        one JSON object: config, origin of each key, includes\n"
	  "\n"
	  "Examples:\n"
	  "  llm-eval show model qwen25_math_7b\n"
	  "  llm-eval show task gsm8k --json\n",
	  LLE_NEED_REGISTRY, lle_cmd_show, NULL },
	{ "validate", NULL, "check every registry file and report each problem",
	  "llm-eval validate [--strict] [--report]",
	  "Parses every model, task and category file on the search path in full and\n"
	  "checks required keys, types, allowed values, unknown keys (a warning naming\n"
	  "the closest known key), includes, names, categories and duplicate names.\n"
	  "Then compiles every task and group as `run` plans it (without a model or\n"
	  "data), so what validate accepts, run accepts. Each problem is one line naming\n"
	  "path:line:column. Prints nothing when all is well. Exits 3 when there is an error.\n"
	  "\n"
	  "Options:\n"
	  "  --strict      warnings are errors too (exit 3)\n"
	  "  --report      print one line per task, group and python task: name, kind,\n"
	  "                python or - (a !function or class: in its config), and ok\n"
	  "                or its problem, tab-separated (bench/compat.sh reads it)\n",
	  LLE_NEED_REGISTRY, lle_cmd_validate, NULL },
	{ "version", NULL, "print the version of llm-eval and of what it was built with",
	  "llm-eval version [--json]",
	  "Options:\n"
	  "  --json        print a JSON object\n",
	  0, lle_cmd_version, NULL },
	{ "view", NULL, "browse runs, results and every sample in a local web page, live",
	  "llm-eval view [--port N] [--host ADDR] [--open] [--store PATH] [--cache PATH]",
	  "Serves a read-only web page over the run store, the samples files of its runs\n"
	  "and the response cache's run journals, and prints its URL: every run with its\n"
	  "metrics and standard errors, configs and versions; each document's prompt,\n"
	  "answers, filtered answer, target and scores (filter by correct, incorrect,\n"
	  "filter chain, text); two runs compared; runs in progress. The page is built\n"
	  "into llm-eval and loads nothing from elsewhere; its JSON API is under /api/\n"
	  "(docs/view.md). Ctrl-C stops it.\n"
	  "\n"
	  "Options:\n"
	  "  --port N      the port (default 8470; 0: any free one)\n"
	  "  --host ADDR   the address to listen on (default 127.0.0.1); any address that\n"
	  "                is not loopback is warned about: there is no authentication\n"
	  "  --open        open the page with xdg-open\n"
	  "  --store PATH  the run store (default: $XDG_DATA_HOME/llm-eval/runs.sqlite)\n"
	  "  --cache PATH  the response cache, for runs in progress\n"
	  "                (default: $XDG_CACHE_HOME/llm-eval/cache.sqlite)\n",
	  LLE_NEED_ENGINE, NULL, "lle_cmd_view" },
};
const size_t lle_ncommands = sizeof(lle_commands) / sizeof(lle_commands[0]);

const char lle_global_options_help[] =
	"  --include-path DIR  add a registry directory (models, tasks, categories, or an\n"
	"                      lm-evaluation-harness tasks/ tree); may be repeated\n"
	"  -v, --verbose       say more (twice: debug)\n"
	"  -q, --quiet         only errors\n"
	"  --color WHEN        auto, always or never (NO_COLOR is honoured)\n"
	"  --no-color          the same as --color never\n"
	"  -h, --help          this help; `llm-eval COMMAND --help` for a command's\n"
	"  --version           print the version\n";

const struct lle_cmd *lle_cmd_find(const char *name, int *ambiguous)
{
	const struct lle_cmd *hit = NULL;
	size_t n = strlen(name), nhit = 0;
	*ambiguous = 0;
	if (n == 0)
		return NULL;
	for (size_t i = 0; i < lle_ncommands; i++) {
		const struct lle_cmd *c = &lle_commands[i];
		if (strcmp(c->name, name) == 0 || (c->alias && strcmp(c->alias, name) == 0))
			return c;
	}
	for (size_t i = 0; i < lle_ncommands; i++) {
		if (strncmp(lle_commands[i].name, name, n) == 0) {
			hit = &lle_commands[i];
			nhit++;
		}
	}
	if (nhit > 1) {
		*ambiguous = 1;
		return NULL;
	}
	return hit;
}

void lle_cmd_print_help(const struct lle_cmd *c, void *fp)
{
	FILE *f = fp;
	/* Summaries are written lower case for the command list; a sentence here. */
	fprintf(f, "usage: %s\n\n%c%s.\n", c->usage, toupper((unsigned char)c->summary[0]),
		c->summary + 1);
	if (c->alias)
		fprintf(f, "Alias: %s\n", c->alias);
	if (c->help && *c->help)
		fprintf(f, "\n%s", c->help);
}

int lle_cmd_usage_error(const struct lle_cmd *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lle_errorf("%s", msg);
	fprintf(stderr, "usage: %s\nsee 'llm-eval help %s'\n", c->usage, c->name);
	return LLE_EXIT_USAGE;
}

const char *lle_cmd_opt_value(int argc, char **argv, int *i, const char *name, int *missing)
{
	size_t n = strlen(name);
	const char *a = argv[*i];
	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = 1;
		return NULL;
	}
	return argv[++*i];
}

int lle_cmd_format(const char *word, int *fmt)
{
	static const char *const names[] = { "table", "tsv", "json" };
	for (int k = 0; k < 3; k++)
		if (strcmp(word, names[k]) == 0) {
			*fmt = k;
			return 0;
		}
	return -1;
}

/* ---------- options and names, from the table ---------- */

static int opt_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
	       ch == '_';
}

/* Add the option that starts at p ("--name" or "-x") to the set. */
static void add_opt(const char *p, char (*out)[LLE_OPT_MAX], size_t max, size_t *n)
{
	size_t len = 0;
	while (opt_char(p[len]))
		len++;
	/* "--" alone (the end of options) and "-" are not options; "-xy" is prose. */
	if (len < 2 || len >= LLE_OPT_MAX || (p[1] == '-' && len < 3) || (p[1] != '-' && len != 2))
		return;
	for (size_t i = 0; i < *n; i++)
		if (strncmp(out[i], p, len) == 0 && out[i][len] == '\0')
			return;
	if (*n < max) {
		memcpy(out[*n], p, len);
		out[*n][len] = '\0';
		(*n)++;
	}
}

size_t lle_cmd_options(const struct lle_cmd *c, char (*out)[LLE_OPT_MAX], size_t max)
{
	size_t n = 0;
	/* The usage line: every option in it, wherever it stands. */
	for (const char *p = c->usage; *p; p++)
		if (*p == '-' && (p == c->usage || strchr(" [(|", p[-1])))
			add_opt(p, out, max, &n), p += strspn(p, "-");
	/* The help: the options that begin an indented line, with their
	 * comma-separated spellings ("  -h, --help"). Prose is not read. */
	for (const char *line = c->help; line && *line;) {
		const char *p = line + strspn(line, " ");
		while (p > line && *p == '-') {
			add_opt(p, out, max, &n);
			p += strspn(p, "-");
			while (opt_char(*p))
				p++;
			if (p[0] != ',' || p[1] != ' ' || p[2] != '-')
				break;
			p += 2;
		}
		const char *nl = strchr(line, '\n');
		line = nl ? nl + 1 : line + strlen(line);
	}
	return n;
}

int lle_cmd_unknown_option(const struct lle_cmd *c, const char *arg)
{
	char word[LLE_OPT_MAX], names[128][LLE_OPT_MAX];
	size_t len = strcspn(arg, "=");
	if (len >= sizeof(word))
		len = sizeof(word) - 1;
	memcpy(word, arg, len);
	word[len] = '\0';
	size_t n = lle_cmd_options(c, names, 128);
	struct lle_suggest sg;
	lle_suggest_init(&sg, word);
	for (size_t i = 0; i < n; i++)
		lle_suggest_add(&sg, names[i]);
	const char *near = lle_suggest_result(&sg);
	if (near)
		return lle_cmd_usage_error(c, "unknown option '%s' (did you mean '%s'?)", arg, near);
	return lle_cmd_usage_error(c, "unknown option '%s'", arg);
}

const char *lle_cmd_suggest(const char *name)
{
	struct lle_suggest sg;
	lle_suggest_init(&sg, name);
	for (size_t i = 0; i < lle_ncommands; i++) {
		lle_suggest_add(&sg, lle_commands[i].name);
		lle_suggest_add(&sg, lle_commands[i].alias);
	}
	return lle_suggest_result(&sg);
}

int lle_cmd_unknown_word(const struct lle_cmd *c, const char *what, const char *word,
			 const char *const *known, const char *choices)
{
	const char *near = lle_suggest(word, known);
	if (near)
		return lle_cmd_usage_error(c, "unknown %s '%s' (did you mean '%s'?)", what, word, near);
	return lle_cmd_usage_error(c, "unknown %s '%s' (%s)", what, word, choices);
}
