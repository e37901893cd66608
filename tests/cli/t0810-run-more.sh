#!/bin/sh
# llm-eval run, what t0800 does not cover: Ctrl-C (exit 130, finished tasks
# written, the stopped task's log left as .part), --category planning (its
# models x its tasks), a fractional --limit, --num-fewshot changing the
# prompt, --apply-chat-template and --system-instruction on the tiny model
# with a chat template, and the prompts a run sends (the sample log's
# `arguments`) equal byte for byte to the GSM8K and MMLU 5-shot prompts that
# tests/unit/test_tasks.c pins.
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
CHAT="$BUILD/models/tiny-chat.gguf"
RX="--include-path $TOP/tests/fixtures/runx"
DEMO="--include-path $TOP/examples/demo"
DD="--data-dir $TOP/examples/demo/data"
mkdir -p "$T/data"
cp -R "$TOP/tests/fixtures/runx/data/." "$T/data/"
# rx_slow: 3000 generations of up to 64 tokens, far more than the test waits for
seq 3000 | awk '{printf "{\"q\": \"%d plus %d\", \"a\": \"%d\"}\n", $1, $1, 2 * $1}' >"$T/data/runx/slow.jsonl"

# ---------- Ctrl-C ----------
"$LLM_EVAL" $RX run --data-dir "$T/data" --model-path "$MODEL" --tasks rx_quick,rx_slow,rx_after \
	--output "$T/int" --log-samples --no-progress --batch-size 1 >"$T/int.out" 2>"$T/int.err" </dev/null &
pid=$!
# Wait (at most 120 s) until rx_quick is done and rx_slow has scored a document.
i=0
while [ $i -lt 1200 ]; do
	part=$(ls "$T"/int/tiny/samples_rx_slow_*.jsonl.part 2>/dev/null)
	[ -n "$part" ] && [ -s "$part" ] && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
	i=$((i + 1))
done
kill -INT $pid 2>/dev/null
# The run must stop within 60 s of SIGINT.
i=0
while kill -0 $pid 2>/dev/null && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
if kill -0 $pid 2>/dev/null; then
	kill -KILL $pid
	echo "not ok - SIGINT stops the run within 60 s"
	n_failed=$((n_failed + 1))
fi
wait $pid
rc=$?
OUT="$T/int.out" ERR="$T/int.err"
if [ "$rc" = 130 ]; then echo "ok - SIGINT: exit 130"; else cur="SIGINT"; fail "exit $rc, want 130"; fi
err_has "interrupted: finished tasks are written"
check "SIGINT: finished task written, stopped task's log left as .part, later task never run" python3 - "$T/int/tiny" <<'PY'
import glob, json, os, sys
d = sys.argv[1]
res = glob.glob(d + "/results_*.json")
assert len(res) == 1, res
r = json.load(open(res[0]))
assert r["interrupted"] is True
assert list(r["results"]) == ["rx_quick"], list(r["results"])
assert r["n-samples"]["rx_quick"] == {"original": 3, "effective": 3}
assert "rx_slow" not in r["n-samples"] and "rx_after" not in r["configs"]
done = glob.glob(d + "/samples_rx_quick_*.jsonl")
assert len(done) == 1 and len(open(done[0]).readlines()) == 3
assert glob.glob(d + "/samples_rx_slow_*.jsonl") == [], "a stopped task's log must not look complete"
part = glob.glob(d + "/samples_rx_slow_*.jsonl.part")
assert len(part) == 1
lines = [json.loads(l) for l in open(part[0])]
assert 1 <= len(lines) < 3000 and [l["doc_id"] for l in lines] == list(range(len(lines)))
assert not glob.glob(d + "/samples_rx_after_*")
assert not glob.glob(d + "/*.tmp")
PY
grep -q "rx_quick" "$T/int.out" || { cur="SIGINT"; fail "the table of finished tasks is not printed"; }

# ---------- --category: its models x its tasks ----------
expect "--category plans the category's models x its tasks" 0 llm-eval $RX run --category fixture_runx \
	--model-dir "$BUILD/models" --data-dir "$T/data" --output "$T/cat" --no-progress &&
	out_has "rx_tiny (llamacpp)" && out_has "rx_tiny_f16 (llamacpp)" && out_lacks "rx_other" && out_lacks "rx_elsewhere"
check "--category: one results file per model, each with both tasks and nothing else" python3 - "$T/cat" <<'PY'
import glob, json, os, sys
d = sys.argv[1]
assert sorted(os.listdir(d)) == ["rx_tiny", "rx_tiny_f16"], os.listdir(d)
for m in ("rx_tiny", "rx_tiny_f16"):
    f = glob.glob("%s/%s/results_*.json" % (d, m))
    assert len(f) == 1, f
    r = json.load(open(f[0]))
    assert sorted(r["results"]) == ["rx_frac", "rx_quick"], sorted(r["results"])
    assert r["config"]["model_name"] == m
    assert r["config"]["model_args"].endswith({"rx_tiny": "/tiny.gguf", "rx_tiny_f16": "/tiny-f16.gguf"}[m])
PY
expect "--category with --tasks: the category's models on the named task" 0 llm-eval $RX run --category fixture_runx \
	--tasks rx_quick --model-dir "$BUILD/models" --data-dir "$T/data" --no-progress &&
	out_has "rx_tiny_f16 (llamacpp)" && out_lacks "rx_frac"
expect "--category with --model: the named model on the category's tasks" 0 llm-eval $RX run --category fixture_runx \
	--model rx_tiny --model-dir "$BUILD/models" --data-dir "$T/data" --no-progress &&
	out_has "rx_frac" && out_lacks "rx_tiny_f16"
expect "--category without the models' files: one error before any work" 3 llm-eval $RX run --category fixture_runx \
	--model-dir "$T/nomodels" --data-dir "$T/data" --no-progress &&
	err_has "expected the GGUF file" && out_lacks "rx_quick"

# ---------- --limit FRACTION ----------
expect "--limit 0.1 of 25 documents" 0 llm-eval $RX run --model-path "$MODEL" --tasks rx_frac --limit 0.1 \
	--data-dir "$T/data" --output "$T/frac" --log-samples --no-progress
check "--limit 0.1: ceil(25 * 0.1) = 3 documents, the first three" python3 - "$T/frac/tiny" <<'PY'
import glob, json, sys
d = sys.argv[1]
r = json.load(open(glob.glob(d + "/results_*.json")[0]))
assert r["n-samples"]["rx_frac"] == {"original": 25, "effective": 3}, r["n-samples"]
assert r["config"]["limit"] == 0.1
lines = [json.loads(l) for l in open(glob.glob(d + "/samples_rx_frac_*.jsonl")[0])]
assert [l["doc_id"] for l in lines] == [0, 1, 2]
assert [l["doc"]["q"] for l in lines] == ["1 + 1", "2 + 2", "3 + 3"]
PY

expect "--limit 0.28 of 25 documents" 0 llm-eval $RX run --model-path "$MODEL" --tasks rx_frac --limit 0.28 \
	--data-dir "$T/data" --output "$T/frac28" --no-progress
check "--limit 0.28: the harness's ceil(25 * 0.28) = ceil(7.000000000000001) = 8 documents" python3 - "$T/frac28/tiny" <<'PY'
import glob, json, sys
r = json.load(open(glob.glob(sys.argv[1] + "/results_*.json")[0]))
assert r["n-samples"]["rx_frac"] == {"original": 25, "effective": 8}, r["n-samples"]
PY

# ---------- --num-fewshot ----------
for k in 0 default 1; do
	opt=""
	[ "$k" = default ] || opt="--num-fewshot $k"
	expect "demo_arith_mc with num_fewshot $k" 0 llm-eval $DEMO run $DD --model-path "$MODEL" --tasks demo_arith_mc \
		--limit 2 $opt --output "$T/fs$k" --log-samples --no-progress
done
check "--num-fewshot 0 and 1 change the prompt; the task's 3 is the default" python3 - "$T" "$TOP/examples/demo/data/arith/test.jsonl" <<'PY'
import glob, json, sys
t, data = sys.argv[1], sys.argv[2]
docs = [json.loads(l) for l in open(data)][:2]
def ctx(k):
    d = "%s/fs%s/tiny" % (t, k)
    lines = [json.loads(l) for l in open(glob.glob(d + "/samples_demo_arith_mc_*.jsonl")[0])]
    r = json.load(open(glob.glob(d + "/results_*.json")[0]))
    return [l["arguments"][0][0] for l in lines], r["n-shot"]["demo_arith_mc"]
c0, n0 = ctx("0"); c1, n1 = ctx("1"); c3, n3 = ctx("default")
assert (n0, n1, n3) == (0, 1, 3), (n0, n1, n3)
for i, doc in enumerate(docs):
    q = "Question: %s\nAnswer:" % doc["question"]
    assert c0[i] == q, (c0[i], q)
    assert c1[i].endswith("\n\n" + q) and c1[i].count("Question: ") == 2, c1[i]
    assert c3[i].endswith("\n\n" + q) and c3[i].count("Question: ") == 4, c3[i]
PY

# ---------- chat template and system instruction ----------
SYS="You are a careful calculator."
expect "chat model without --apply-chat-template" 0 llm-eval $DEMO run $DD --model-path "$CHAT" --tasks demo_arith_mc \
	--limit 3 --output "$T/plain" --log-samples --no-progress
expect "--apply-chat-template with the GGUF's template" 0 llm-eval $DEMO run $DD --model-path "$CHAT" --tasks demo_arith_mc \
	--limit 3 --apply-chat-template --output "$T/chat" --log-samples --no-progress
expect "--apply-chat-template --system-instruction" 0 llm-eval $DEMO run $DD --model-path "$CHAT" --tasks demo_arith_mc \
	--limit 3 --apply-chat-template --system-instruction "$SYS" --output "$T/chatsys" --log-samples --no-progress
expect "--system-instruction without a chat template" 0 llm-eval $DEMO run $DD --model-path "$CHAT" --tasks demo_arith_mc \
	--limit 3 --system-instruction "$SYS" --output "$T/sys" --log-samples --no-progress
expect "a registry model naming chatml for a GGUF without a template" 0 llm-eval $DEMO $RX run $DD --model rx_tiny_chatml \
	--model-dir "$BUILD/models" --tasks demo_arith_mc --limit 3 --apply-chat-template --output "$T/regchat" --log-samples --no-progress
check "the chat template and the system turn change what the model scores; the instruction is written where the harness puts it" python3 - "$T" "$SYS" <<'PY'
import glob, json, sys
t, sys_ = sys.argv[1], sys.argv[2]
def load(name, model):
    d = "%s/%s/%s" % (t, name, model)
    lines = [json.loads(l) for l in open(glob.glob(d + "/samples_demo_arith_mc_*.jsonl")[0])]
    r = json.load(open(glob.glob(d + "/results_*.json")[0]))
    return lines, r["config"]
plain, cp = load("plain", "tiny-chat"); chat, cc = load("chat", "tiny-chat")
chatsys, cs = load("chatsys", "tiny-chat"); nochat, cn = load("sys", "tiny-chat")
reg, cr = load("regchat", "rx_tiny_chatml")
assert cp["apply_chat_template"] is False and cc["apply_chat_template"] is True
assert cs["system_instruction"] == sys_ and cn["system_instruction"] == sys_
for i in range(3):
    p = plain[i]["arguments"][0][0]
    # the template wraps the text in the backend: the text itself is the same
    assert chat[i]["arguments"][0][0] == p
    # with a chat template the instruction is the system turn, not the user text
    assert chatsys[i]["arguments"][0][0] == p, chatsys[i]["arguments"][0][0][:80]
    # without one it is prepended to the prompt, as the harness does
    assert nochat[i]["arguments"][0][0] == sys_ + p, nochat[i]["arguments"][0][0][:80]
    assert plain[i]["resps"] != chat[i]["resps"], "the chat template changed nothing"
    assert chat[i]["resps"] != chatsys[i]["resps"], "the system turn changed nothing"
    assert plain[i]["resps"] != nochat[i]["resps"], "the system instruction changed nothing"
    # same weights, same template (chatml) whether the GGUF or the registry names it
    assert reg[i]["resps"] == chat[i]["resps"], (reg[i]["resps"], chat[i]["resps"])
PY
# found while planning (exit 3, configuration), before the model loads
expect "--apply-chat-template on a model without a template" 3 llm-eval $DEMO run $DD --model-path "$MODEL" \
	--tasks demo_arith_mc --limit 1 --apply-chat-template --no-progress &&
	err_has "has no chat template (tokenizer.chat_template)"

# ---------- backend options: the registry's, then --model-args ----------
expect "llamacpp options from the registry entry" 0 llm-eval $DEMO $RX run $DD --model rx_tiny_ctx \
	--model-dir "$BUILD/models" --tasks demo_arith_mc --limit 3 --output "$T/opts" --no-progress
expect "--model-args after them" 0 llm-eval $DEMO $RX run $DD --model rx_tiny_ctx \
	--model-dir "$BUILD/models" --tasks demo_arith_mc --limit 3 --output "$T/opts2" --no-progress \
	--model-args n_ctx=48,exact=0 --model-args flash_attn=off
check "the options reach the results' model_args in order" python3 - "$T" <<'PY'
import glob, json, sys
t = sys.argv[1]
def args(d):
    return json.load(open(glob.glob("%s/%s/rx_tiny_ctx/results_*.json" % (t, d))[0]))["config"]["model_args"]
a, b = args("opts"), args("opts2")
assert a.endswith("/tiny.gguf,n_ctx=64,n_batch=32"), a
assert b.endswith("/tiny.gguf,n_ctx=64,n_batch=32,n_ctx=48,exact=0,flash_attn=off"), b
PY
expect "--model-args with an option the plugin does not know" 5 llm-eval $DEMO run $DD --model-path "$MODEL" \
	--tasks demo_arith_mc --limit 1 --no-progress --model-args n_ctx=64,colour=blue &&
	err_has "unknown option 'colour'"
expect "--model-args: a part without '=' continues the value before it" 5 llm-eval $DEMO run $DD --model-path "$MODEL" \
	--tasks demo_arith_mc --limit 1 --no-progress --model-args flash_attn=off,on &&
	err_has "option 'flash_attn=off,on' has a bad value"
expect "--model-args without KEY=" 2 llm-eval $DEMO run $DD --model-path "$MODEL" \
	--tasks demo_arith_mc --limit 1 --no-progress --model-args 64 &&
	err_has "want KEY=VALUE"
expect "--model-args with an empty key" 2 llm-eval $DEMO run $DD --model-path "$MODEL" \
	--tasks demo_arith_mc --limit 1 --no-progress --model-args =64 &&
	err_has "want KEY=VALUE"

# ---------- the prompts sent, byte for byte ----------
if [ -d "$SHARED/datasets" ]; then
	cat >"$T/pinned.py" <<'PY'
# The expected prompts of tests/unit/test_tasks.c, read from its C string literals.
import re
def pinned(path, name):
    src = open(path, encoding="utf-8").read()
    body = re.search(r"static const char \*%s =\s*(.*?);\n" % name, src, re.S).group(1)
    out = bytearray()
    for lit in re.findall(r'"((?:[^"\\]|\\.)*)"', body):
        i = 0
        while i < len(lit):
            c = lit[i]
            if c != "\\":
                out += c.encode("utf-8")
                i += 1
            elif lit[i + 1] == "x":
                j = i + 2
                while j < len(lit) and lit[j] in "0123456789abcdefABCDEF":
                    j += 1
                out.append(int(lit[i + 2:j], 16))
                i = j
            else:
                out += {"n": b"\n", "t": b"\t", '"': b'"', "\\": b"\\", "'": b"'"}[lit[i + 1]]
                i += 2
    return out.decode("utf-8")
PY
	expect "gsm8k 5-shot with --log-samples" 0 llm-eval run --model-path "$MODEL" --tasks gsm8k --data-dir "$SHARED/datasets" \
		--limit 2 --gen-kwargs max_gen_toks=1 --output "$T/g5" --log-samples --no-progress
	expect "gsm8k --num-fewshot 0" 0 llm-eval run --model-path "$MODEL" --tasks gsm8k --data-dir "$SHARED/datasets" \
		--limit 2 --num-fewshot 0 --gen-kwargs max_gen_toks=1 --output "$T/g0" --log-samples --no-progress
	expect "mmlu_abstract_algebra 5-shot with --log-samples" 0 llm-eval run --model-path "$MODEL" --tasks mmlu_abstract_algebra \
		--data-dir "$SHARED/datasets" --limit 1 --output "$T/m5" --log-samples --no-progress
	check "the prompts sent are test_tasks.c's GSM8K and MMLU 5-shot prompts, byte for byte" python3 - "$T" "$TOP/tests/unit/test_tasks.c" "$SHARED/datasets" <<'PY'
import glob, json, sys
sys.path.insert(0, sys.argv[1])
from pinned import pinned
t, src, data = sys.argv[1:4]
def samples(d, task):
    return [json.loads(l) for l in open(glob.glob("%s/tiny/samples_%s_*.jsonl" % (d, task))[0])]
g5 = [l for l in samples(t + "/g5", "gsm8k") if l["filter"] == "strict-match"]
assert [l["doc_id"] for l in g5] == [0, 1]
for i in (0, 1):
    args = g5[i]["arguments"]
    assert len(args) == 1
    assert args[0][0] == pinned(src, "k_gsm8k_doc%d" % i), "gsm8k doc %d prompt differs" % i
    assert args[0][1]["until"] == ["Question:", "</s>", "<|im_end|>"] and args[0][1]["max_gen_toks"] == 1
    assert args[0][1]["do_sample"] is False
g0 = [l for l in samples(t + "/g0", "gsm8k") if l["filter"] == "strict-match"]
docs = [json.loads(l) for l in open(data + "/gsm8k/test.jsonl")][:2]
for i in (0, 1):
    assert g0[i]["arguments"][0][0] == "Question: %s\nAnswer:" % docs[i]["question"]
m5 = samples(t + "/m5", "mmlu_abstract_algebra")
assert len(m5) == 1
want = pinned(src, "k_mmlu_doc0")
assert [a[0] for a in m5[0]["arguments"]] == [want] * 4, "mmlu prompt differs"
assert [a[1] for a in m5[0]["arguments"]] == [" A", " B", " C", " D"]
assert m5[0]["target"] == 1
PY
else
	echo "ok - # skip GSM8K and MMLU prompts: ../shared/datasets is absent"
fi
done_testing
