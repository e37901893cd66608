# A chat template rendered by llm-eval (--apply-chat-template=FILE) gives the
# same prompts in process (llamacpp) and through lle-testserver (the openai
# backend, completions endpoint, which then gets the rendered text): the
# sample logs' arguments are equal, and hold the rendered conversation. (A served
# model's bos_token and eos_token come from tokenizer_config= or bos_token=,
# t0957; this template prints neither.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-openai.sh"
cat >"$T/chat.jinja" <<'J'
{% for m in messages %}<|{{ m.role }}|>{{ m.content }}<|end|>{% endfor %}
{%- if add_generation_prompt %}<|assistant|>{% endif %}
J
start_server a --model "$TINY" --plugin "$LLAMAPLUG"
model served "$(url "$PORT_a")"
RUN="run $DD $INC --model served --tasks demo_arith_gen --limit 4 --log-samples --no-progress
	--apply-chat-template=$T/chat.jinja --system-instruction Be_brief."
expect "through the openai backend" 0 llm-eval $RUN --output "$T/oa"
expect "in process" 0 llm-eval $RUN --backend llamacpp --model-dir "$BUILD/models" --output "$T/lc"
check "the same rendered prompts" python3 - "$T" <<'PY'
import glob, json, sys
d = sys.argv[1]
def args(run):
    f = glob.glob("%s/%s/*/samples_demo_arith_gen_*.jsonl" % (d, run))[0]
    return [s["arguments"] for s in sorted((json.loads(l) for l in open(f)), key=lambda s: s["doc_id"])]
a, b = args("oa"), args("lc")
assert a == b, (a[0], b[0])
for x in a:
    p = x[0][0]
    assert p.startswith("<|system|>Be_brief.<|end|><|user|>Question:"), p
    assert p.endswith("<|end|><|assistant|>"), p
PY
done_testing
