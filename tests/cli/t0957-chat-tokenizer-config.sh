#!/bin/sh
# A chat template rendered by llm-eval for a served model gets real
# bos_token/eos_token: from --model-args / registry keys bos_token= and
# eos_token=, else from a tokenizer_config.json named by tokenizer_config=
# (the file transformers' AutoTokenizer reads, hence the harness and vLLM:
# bos_token as a string or an AddedToken object, chat_template as a string,
# a list of named templates whose "default" is taken, or the
# chat_template.jinja beside the file). The prompt sent to the completions
# endpoint (lle-testserver --log-requests) and the sample log's arguments
# are python3-jinja2's rendering in transformers' environment
# (tests/template/chat_check.py) with those tokens. A GGUF model's own
# tokens give way to the ones given, in process too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-openai.sh"
TPL='{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}'
mkdir -p "$T/a" "$T/b" "$T/c"
python3 - "$T" "$TPL" <<'PY'
import json, sys
d, tpl = sys.argv[1:3]
# a: AddedToken objects, the template inline
json.dump({"bos_token": {"__type": "AddedToken", "content": "<|begin|>", "lstrip": False},
           "eos_token": "<|end|>", "chat_template": tpl}, open(d + "/a/tokenizer_config.json", "w"))
# b: no template in the file: chat_template.jinja beside it; no bos_token
json.dump({"bos_token": None, "eos_token": "</s>"}, open(d + "/b/tokenizer_config.json", "w"))
open(d + "/b/chat_template.jinja", "w").write(tpl)
# c: named templates, "default" taken
json.dump({"bos_token": "<s>", "eos_token": "</s>",
           "chat_template": [{"name": "tool_use", "template": "TOOLS"}, {"name": "default", "template": tpl}]},
          open(d + "/c/tokenizer_config.json", "w"))
PY
start_server s --no-inference --log-requests "$T/req.log"
model served "$(url "$PORT_s")" "endpoint: completions"
RUN="run $DD $INC --model served --tasks demo_arith_gen --limit 2 --log-samples --no-progress --apply-chat-template"
expect "tokenizer_config with AddedToken special tokens" 0 llm-eval $RUN --model-args tokenizer_config="$T/a/tokenizer_config.json" --output "$T/oa"
expect "chat_template.jinja beside a config without one" 0 llm-eval $RUN --model-args tokenizer_config="$T/b/tokenizer_config.json" --output "$T/ob"
expect "a list of named templates" 0 llm-eval $RUN --model-args tokenizer_config="$T/c/tokenizer_config.json" --output "$T/oc"
expect "bos_token= and eos_token= override the config's" 0 llm-eval $RUN \
	--model-args "tokenizer_config=$T/a/tokenizer_config.json,bos_token=[BOS],eos_token=" --output "$T/od"
expect "bos_token= with --apply-chat-template=FILE" 0 llm-eval $RUN --apply-chat-template="$T/b/chat_template.jinja" \
	--model-args "bos_token=<B>,eos_token=<E>" --output "$T/oe"
expect "a config that is not JSON" 3 llm-eval $RUN --model-args tokenizer_config="$T/b/chat_template.jinja" --output "$T/of" &&
	err_has "tokenizer_config '$T/b/chat_template.jinja':"
expect "mkgguf --chat-template FILE" 0 "$BUILD/tools/mkgguf" -q --layers 2 --embd 64 --heads 4 --kv-heads 2 \
	--ff 192 --ctx 512 --seed 42 --vocab "$TOP/deps/llama/vocab/ggml-vocab-llama-spm.gguf" \
	--chat-template "$T/b/chat_template.jinja" -o "$T/jchat.gguf"
expect "a GGUF model's tokens, in process" 0 llm-eval run $DD $INC --model-path "$T/jchat.gguf" --tasks demo_arith_gen \
	--limit 2 --log-samples --no-progress --apply-chat-template --output "$T/og"
expect "bos_token= overrides the GGUF's" 0 llm-eval run $DD $INC --model-path "$T/jchat.gguf" --tasks demo_arith_gen \
	--limit 2 --log-samples --no-progress --apply-chat-template --model-args "bos_token=<B>" --output "$T/oh"
check "the prompts are jinja2's renderings with those tokens" python3 - "$T" "$TOP/tests/template" "$TPL" <<'PY'
import glob, json, sys
d, tdir, TPL = sys.argv[1:4]
sys.path.insert(0, tdir)
import chat_check
tpl = chat_check.environment().from_string(TPL)
plain = None
def samples(run):
    f = glob.glob("%s/%s/*/samples_demo_arith_gen_*.jsonl" % (d, run))[0]
    return sorted((json.loads(l) for l in open(f)), key=lambda s: s["doc_id"])
# the user turn: the one message between "[user]" and the first eos of og's
# rendering is not needed: the prompt text is rebuilt from the GGUF run,
# whose tokens are llama-spm's <s> and </s>
sent = [json.loads(l)["body"]["prompt"] for l in open(d + "/req.log")
        if json.loads(l)["url"] == "/v1/completions" and isinstance(json.loads(l)["body"].get("prompt"), str)
        and "[user]" in json.loads(l)["body"]["prompt"]]
og = samples("og")
users = []
for s in og:
    p = s["arguments"][0][0]
    assert p.startswith("<s>[user]") and p.endswith("</s>[assistant]"), p
    users.append(p[len("<s>[user]"):-len("</s>[assistant]")])
def render(user, bos, eos):
    ctx = {"messages": [{"role": "user", "content": user}], "add_generation_prompt": True}
    if bos is not None: ctx["bos_token"] = bos
    if eos is not None: ctx["eos_token"] = eos
    return tpl.render(**ctx)
want = {"oa": ("<|begin|>", "<|end|>"), "ob": (None, "</s>"), "oc": ("<s>", "</s>"), "od": ("[BOS]", ""),
        "oe": ("<B>", "<E>"), "og": ("<s>", "</s>"), "oh": ("<B>", "</s>")}
n = 0
for run, (bos, eos) in want.items():
    for s, u in zip(samples(run), users):
        w = render(u, bos, eos)
        assert s["arguments"][0][0] == w, (run, s["arguments"][0][0], w)
        if run not in ("og", "oh"):
            assert w in sent, (run, w)
        n += 1
assert n == 14, n
PY
done_testing
