#!/bin/sh
# Multiple-input (winogrande-style) and plain multiple_choice tasks with a
# Jinja chat template llm-eval renders, as lm-evaluation-harness v0.4.9.2
# builds them (lm_eval/api/task.py): fewshot_context renders the system turn
# and the examples (one user turn, or user/assistant pairs) as a chat with
# the generation prompt, "" when there are none; construct_requests makes
# choice i's context that + the chat of one user turn holding the choice
# (generation prompt again), and with apply_chat_template the
# target_delimiter is "" (the shared continuation of multiple inputs, each
# choice of multiple_choice). The sample logs' arguments are compared with
# python3-jinja2's renderings in transformers' environment.
. "$(dirname "$0")/lib.sh"
MI="--include-path $TOP/tests/compat/multiple_input --include-path $TOP/tests/compat/gen_prefix"
DD="--data-dir $TOP/tests/compat/multiple_input/data"
cat >"$T/chat.jinja" <<'J'
{{ bos_token }}{% for m in messages %}<|{{ m.role }}|>
{{ m.content }}<|end|>
{% endfor %}{% if add_generation_prompt %}<|assistant|>
{% endif %}
J
expect "mkgguf --chat-template FILE" 0 "$BUILD/tools/mkgguf" -q --layers 2 --embd 64 --heads 4 --kv-heads 2 \
	--ff 192 --ctx 512 --seed 42 --vocab "$TOP/deps/llama/vocab/ggml-vocab-llama-spm.gguf" \
	--chat-template "$T/chat.jinja" -o "$T/jchat.gguf"
RUN="run $DD $MI --model-path $T/jchat.gguf --log-samples --no-progress --apply-chat-template"
SYS="Pick well."
expect "multiple inputs and choices with the chat template" 0 llm-eval $RUN --tasks compat_idx,compat_wino,compat_gp_field \
	--limit 4 --system-instruction "$SYS" --output "$T/one"
expect "the same with --fewshot-as-multiturn" 0 llm-eval $RUN --tasks compat_idx,compat_wino --limit 4 \
	--fewshot-as-multiturn --output "$T/multi"
expect "no examples, no system turn" 0 llm-eval $RUN --tasks compat_idx --num-fewshot 0 --output "$T/zero"
expect "the plain prompts, for the examples' text" 0 llm-eval run $DD $MI --model-path "$T/jchat.gguf" --log-samples \
	--no-progress --tasks compat_idx,compat_wino,compat_gp_field --limit 4 --output "$T/plain"
check "contexts and continuations are the harness's" python3 - "$T" "$TOP/tests/template" "$SYS" <<'PY'
import glob, json, sys
d, tdir, SYS = sys.argv[1:4]
sys.path.insert(0, tdir)
import chat_check
tpl = chat_check.environment().from_string(open(d + "/chat.jinja").read())
def render(msgs, agp=True):
    return tpl.render(messages=msgs, add_generation_prompt=agp, bos_token="<s>", eos_token="</s>")
def samples(run, task):
    f = glob.glob("%s/%s/*/samples_%s_*.jsonl" % (d, run, task))[0]
    return sorted((json.loads(l) for l in open(f)), key=lambda s: s["doc_id"])
n = 0
for task in ("compat_idx", "compat_wino"):
    for p, one, multi in zip(samples("plain", task), samples("one", task), samples("multi", task)):
        # plain: [(examples + choice, target_delimiter + target)]; the
        # examples' text is what every plain context has before its choice
        choices = [c for c in p["doc"].get("ctxs", [])] or None
        pa = p["arguments"]
        delim = "|" if task == "compat_idx" else " "
        target = pa[0][1][len(delim):]
        if choices is None:  # winogrande: the choice is the sentence up to the blank + option
            sent = p["doc"]["sentence"]
            i = sent.index("_")
            choices = [sent[:i] + p["doc"]["option1"], sent[:i] + p["doc"]["option2"]]
        ex = pa[0][0][: len(pa[0][0]) - len(choices[0])]
        assert all(a[0] == ex + c for a, c in zip(pa, choices)), pa
        ctx = render([{"role": "system", "content": SYS}, {"role": "user", "content": ex}])
        want = [[ctx + render([{"role": "user", "content": c}]), target] for c in choices]
        assert one["arguments"] == want, (task, one["arguments"], want)
        # multiturn: each example a user turn (its right choice) and an
        # assistant turn (its target); they are the plain examples split
        exs = [e for e in ex.split("\n\n") if e]
        turns = []
        for e in exs:
            # each example is choice + delimiter + target; the example's
            # choice is found as the longest prefix ending where the
            # delimiter starts before its target
            c, t = e.rsplit(delim, 1) if delim != " " else (None, None)
            if c is None:
                continue
            turns += [{"role": "user", "content": c}, {"role": "assistant", "content": t}]
        if turns:
            ctxm = render(turns)
            wantm = [[ctxm + render([{"role": "user", "content": c}]), target] for c in choices]
            assert multi["arguments"] == wantm, (task, multi["arguments"], wantm)
        else:
            # winogrande's examples join choice and target with a space:
            # two examples as user/assistant pairs, then the choice's turn
            got = multi["arguments"][0][0]
            assert got.count("<|user|>") == 3 and got.count("<|assistant|>") == 4, got
            assert got.endswith(render([{"role": "user", "content": choices[0]}])[len("<s>"):]), got
        n += 1
for z, p in zip(samples("zero", "compat_idx"), samples("plain", "compat_idx")):
    # no system turn, no examples: fewshot_context gives ""
    want = [[render([{"role": "user", "content": c}]), a[1][1:]] for a, c in zip(p["arguments"], p["doc"]["ctxs"])]
    assert z["arguments"] == want, (z["arguments"], want)
    n += 1
# multiple_choice with a gen_prefix turn: the choices follow it directly
for p, one in zip(samples("plain", "compat_gp_field"), samples("one", "compat_gp_field")):
    assert [a[1] for a in one["arguments"]] == ["yes", "no"], one["arguments"]
    n += 1
assert n >= 8, n
PY
done_testing
