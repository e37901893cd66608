#!/bin/sh
# Chat template rendering, which runs once per request: a 5-shot MMLU
# conversation (about 2.6 kB) rendered with a Llama-3-style and a ChatML
# template of our own (tests/template/chat/families.jinja and a ChatML one
# written here), and llama.cpp's Qwen3 template from its bundle when present,
# single-turn and multi-turn. Baseline in the same process: joining the
# messages' contents. Median of $RUNS runs of $ITERS renderings each, in
# the thread's CPU time (on the shared 2-core test machine, wall time was
# mostly time spent waiting for a core: 12-39 µs wall for what takes 4-14 µs
# of CPU); the target is under 20 µs per rendering.
#   bench/chat.sh            BUILD=build RUNS=5 ITERS=20000 by default
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
BUILD=${BUILD:-build}
RUNS=${RUNS:-5}
ITERS=${ITERS:-20000}
OBJS=$(find "$BUILD/src" "$BUILD/gen" -name '*.o' ! -path '*/cli/main.o' ! -path '*/sandbox/init/*' | sort)
[ -n "$OBJS" ] || { echo "bench/chat.sh: build first (make)" >&2; exit 1; }
DRV="$BUILD/bench/chat_driver"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$BUILD/bench"
# shellcheck disable=SC2086
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Isrc -Iinclude -o "$DRV" bench/chat_driver.c $OBJS \
	$(pkg-config --cflags --libs yaml-0.1 jansson libpcre2-8 zlib sqlite3 libseccomp) -lm -ldl -lpthread

cat >"$TMP/chatml.jinja" <<'J'
{%- for message in messages %}
{{- '<|im_start|>' + message['role'] + '\n' + message['content'] | trim + '<|im_end|>\n' }}
{%- endfor %}
{%- if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}
J
set -- "llama3-style (ours)" tests/template/chat/families.jinja "chatml (ours)" "$TMP/chatml.jinja"
BUNDLE=$TOP/third_party/llama/node_modules/node-llama-cpp/llama/gitRelease.bundle
if [ -f "$BUNDLE" ] && git init -q --bare "$TMP/g" && git -C "$TMP/g" fetch -q "$BUNDLE" HEAD &&
	git -C "$TMP/g" show FETCH_HEAD:models/templates/Qwen-Qwen3-0.6B.jinja >"$TMP/qwen3.jinja" 2>/dev/null; then
	set -- "$@" "qwen3 (llama.cpp's copy)" "$TMP/qwen3.jinja"
fi

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "chat template rendering of a 5-shot MMLU conversation, median of $RUNS runs x $ITERS renderings (CPU time)"
printf '  %-28s %-10s %10s %10s %8s %8s\n' template layout "µs/render" "µs/join" ratio bytes
while [ $# -gt 0 ]; do
	name=$1 file=$2
	shift 2
	for layout in single multiturn; do
		out="$TMP/out"
		: >"$out"
		i=0
		while [ "$i" -lt "$RUNS" ]; do
			"$DRV" "$file" "$ITERS" "$layout" >>"$out"
			i=$((i + 1))
		done
		r=$(awk '{ print $1 }' "$out" | median)
		b=$(awk '{ print $2 }' "$out" | median)
		len=$(awk 'NR == 1 { print $3 }' "$out")
		printf '  %-28s %-10s %10.2f %10.3f %8.1f %8d\n' "$name" "$layout" "$r" "$b" "$(echo "$r / $b" | bc -l)" "$len"
	done
done
