#!/bin/sh
# How a run ends (issue 18, items 5 and 6): it says on stderr where each
# model's results were written and its run id in the run store (which
# `compare` and `results show` take), without -v, and not with -q; stdout
# keeps only the table or the JSON. Ctrl-C before any task finished prints
# no empty table, writes no results file and says so, with exit code 130.
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
RUN="run --include-path $TOP/examples/demo --data-dir $TOP/examples/demo/data --model-path $MODEL
     --tasks demo_arith_mc --limit 4 --threads 1 --no-progress"

expect "a run says where its results went" 0 llm-eval $RUN --output "$T/o" &&
	err_has "model 'tiny': results written to $T/o/tiny/results_" &&
	err_has "model 'tiny': results stored in the run store as run 1 (llm-eval results show 1)"
check "the file named is the one written" sh -c "test -f \"\$(sed -n 's/^model .tiny.: results written to //p' '$ERR')\""
check "stdout is the table only" sh -c "head -n 2 '$OUT' | grep -q '^tiny (llamacpp)' && ! grep -q 'results written' '$OUT'"
expect "the run id is the one results list shows" 0 llm-eval results show 1 --json && out_has "demo_arith_mc"
expect "--json: stdout stays one JSON object" 0 llm-eval $RUN --json --no-store &&
	python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$OUT" || fail "stdout is not JSON"
! grep -q "run store" "$ERR" || fail "--no-store still names a run id"
expect "-q: no closing lines" 0 llm-eval -q $RUN --output "$T/q" && err_empty

# ---------- Ctrl-C before any task finished ----------
mkdir -p "$T/data"
cp -R "$TOP/tests/fixtures/runx/data/." "$T/data/"
seq 3000 | awk '{printf "{\"q\": \"%d plus %d\", \"a\": \"%d\"}\n", $1, $1, 2 * $1}' >"$T/data/runx/slow.jsonl"
"$LLM_EVAL" --include-path "$TOP/tests/fixtures/runx" run --data-dir "$T/data" --model-path "$MODEL" \
	--tasks rx_slow,rx_quick --output "$T/int" --log-samples --no-progress --batch-size 1 \
	>"$T/int.out" 2>"$T/int.err" </dev/null &
pid=$!
# Wait (at most 120 s) until rx_slow has scored a document.
i=0
while [ $i -lt 1200 ]; do
	part=$(ls "$T"/int/tiny/samples_rx_slow_*.jsonl.part 2>/dev/null)
	[ -n "$part" ] && [ -s "$part" ] && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
	i=$((i + 1))
done
kill -INT $pid 2>/dev/null
wait $pid
rc=$?
OUT="$T/int.out" ERR="$T/int.err" cur="Ctrl-C before any task finished"
if [ "$rc" = 130 ]; then echo "ok - $cur: exit 130"; else fail "exit $rc, want 130"; fi
[ ! -s "$OUT" ] || fail "stdout is not empty (an empty table?)"
err_has "warning: interrupted before any task finished: no results were written"
! grep -q "finished tasks are written\|results written to" "$ERR" || fail "says something was written"
check "$cur: no results file, the stopped task's log left as .part" sh -c \
	"! ls '$T'/int/tiny/results_*.json 2>/dev/null && ls '$T'/int/tiny/samples_rx_slow_*.jsonl.part"
done_testing
