# Shared helpers for the command-line tests (git t/ style). Source it first:
#   . "$(dirname "$0")/lib.sh"
# Then write checks as
#   expect "what it checks" <exit-code> llm-eval ARGS...   # runs, keeps out/err
#   grep -q 'text' "$OUT" || fail "what was missing"
# or wrap a chain of commands:
#   check "what" sh -c '... && ...'
# Each expect/check prints one TAP line. The script's exit status is 1 when
# any check failed. $LLM_EVAL is the binary under test; $T is a scratch
# directory removed at exit; XDG_* point inside it so no test touches $HOME.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
LLM_EVAL=${LLM_EVAL:-$BUILD/llm-eval}
SHARED=${SHARED:-$TOP/../shared}
T=$(mktemp -d "${TMPDIR:-/tmp}/lle-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
export XDG_CONFIG_HOME="$T/config" XDG_CACHE_HOME="$T/cache" XDG_DATA_HOME="$T/data"
export NO_COLOR=1
unset LLM_EVAL_INCLUDE_PATH LLM_EVAL_FAST_MODE LLM_EVAL_LAZY_LOADING LLM_EVAL_DEBUG LLM_EVAL_PLUGIN_PATH LLM_EVAL_DATA_DIR
# The Hugging Face Hub: a scratch cache, offline unless a test starts the mock
# Hub (tools/lle-mockhub.c) and points HF_ENDPOINT at it.
export HF_HOME="$T/hf" HF_HUB_OFFLINE=1
unset HF_HUB_CACHE HUGGINGFACE_HUB_CACHE HF_ENDPOINT HF_TOKEN HUGGING_FACE_HUB_TOKEN HF_TOKEN_PATH
OUT="$T/stdout"
ERR="$T/stderr"
n_failed=0
cur=""
llm_eval() { "$LLM_EVAL" "$@"; }

# expect DESCRIPTION CODE CMD... : run CMD, stdout to $OUT, stderr to $ERR; CODE must match.
expect() {
	desc=$1 want=$2
	shift 2
	cur=$desc
	if [ "$1" = llm-eval ]; then shift; set -- "$LLM_EVAL" "$@"; fi
	"$@" >"$OUT" 2>"$ERR" </dev/null
	got=$?
	if [ "$got" != "$want" ]; then
		echo "not ok - $desc (exit $got, want $want)"
		sed 's/^/#   err: /' "$ERR" | head -n 5
		n_failed=$((n_failed + 1))
		cur=""
		return 1
	fi
	echo "ok - $desc"
}

# fail MESSAGE: turn the last expect's "ok" into a failure (prints a not-ok line).
fail() {
	echo "not ok - ${cur:-check}: $1"
	sed 's/^/#   out: /' "$OUT" | head -n 5
	sed 's/^/#   err: /' "$ERR" | head -n 5
	n_failed=$((n_failed + 1))
}

# check DESCRIPTION CMD...: one TAP line for a command that must succeed.
check() {
	desc=$1
	shift
	if "$@" >"$T/check.out" 2>&1; then
		echo "ok - $desc"
	else
		echo "not ok - $desc"
		sed 's/^/#   /' "$T/check.out" | head -n 10
		n_failed=$((n_failed + 1))
	fi
}

# out_has TEXT / err_has TEXT / out_lacks TEXT: assertions on the last expect.
out_has() { grep -qF -- "$1" "$OUT" || fail "stdout lacks '$1'"; }
err_has() { grep -qF -- "$1" "$ERR" || fail "stderr lacks '$1'"; }
out_lacks() { ! grep -qF -- "$1" "$OUT" || fail "stdout has '$1'"; }
err_empty() { [ ! -s "$ERR" ] || fail "stderr is not empty"; }

done_testing() { [ "$n_failed" -eq 0 ]; }
