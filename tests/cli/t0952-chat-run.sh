# Chat templates in a run (src/run/chat.c): a GGUF whose tokenizer.chat_template
# is Jinja (made with mkgguf --chat-template FILE) is rendered by llm-eval's
# engine, and the sample log's arguments hold the rendered prompt. Each is
# compared with python3's jinja2 rendering, in transformers' environment
# (tests/template/chat_check.py), the messages lm-evaluation-harness builds
# (lm_eval/api/task.py fewshot_context, build_qa_turn, multiturn_to_singleturn):
# the system instruction as the system turn, the examples and the question
# as one user turn (or, with --fewshot-as-multiturn, user/assistant pairs),
# gen_prefix as the assistant turn the template continues
# (continue_final_message), otherwise the generation prompt.
. "$(dirname "$0")/lib.sh"
GP="--include-path $TOP/tests/compat/gen_prefix"
DD="--data-dir $TOP/tests/compat/multiple_input/data"
SYS="Answer briefly."
cat >"$T/chat.jinja" <<'J'
{%- for m in messages %}
{%- if loop.first %}{{ bos_token }}{% endif %}
<|{{ m.role }}|>
{{ m.content | trim }}<|end|>
{% endfor %}
{%- if add_generation_prompt %}<|assistant|>
{% endif %}
J
printf '%s' '[{% for m in messages %}{{ m.role }}:{{ m.content }};{% endfor %}]{% if add_generation_prompt %}GO{% endif %}' \
	>"$T/other.jinja"
expect "mkgguf --chat-template FILE" 0 "$BUILD/tools/mkgguf" -q --layers 2 --embd 64 --heads 4 --kv-heads 2 \
	--ff 192 --ctx 512 --seed 42 --vocab "$TOP/deps/llama/vocab/ggml-vocab-llama-spm.gguf" \
	--chat-template "$T/chat.jinja" -o "$T/jchat.gguf"
RUN="run $DD $GP --model-path $T/jchat.gguf --tasks compat_gp_gen,compat_gp_field --log-samples --no-progress"
expect "plain prompts" 0 llm-eval $RUN --output "$T/plain"
expect "--apply-chat-template with the GGUF's Jinja template and gen_prefix" 0 llm-eval $RUN \
	--apply-chat-template --system-instruction "$SYS" --output "$T/chat"
expect "--fewshot-as-multiturn" 0 llm-eval $RUN --apply-chat-template --fewshot-as-multiturn --output "$T/multi"
expect "--apply-chat-template=FILE overrides the GGUF's" 0 llm-eval $RUN --apply-chat-template="$T/other.jinja" \
	--output "$T/cli"
check "the rendered prompts are jinja2's renderings of the harness's messages" \
	python3 - "$T" "$TOP/tests/template" "$SYS" <<'PY'
import glob, json, sys
d, tdir, SYS = sys.argv[1:4]
sys.path.insert(0, tdir)
import chat_check
env = chat_check.environment()
tpl = env.from_string(open(d + "/chat.jinja").read())
other = env.from_string(open(d + "/other.jinja").read())
def samples(run, task):
    f = glob.glob("%s/%s/*/samples_%s_*.jsonl" % (d, run, task))[0]
    return sorted((json.loads(l) for l in open(f)), key=lambda s: s["doc_id"])
def render(t, msgs):
    # tokenizer.apply_chat_template(add_generation_prompt=not gen_prefix,
    # continue_final_message=bool(gen_prefix)), bos/eos from the vocabulary
    cont = msgs[-1]["role"] == "assistant"
    s = t.render(messages=msgs, add_generation_prompt=not cont, bos_token="<s>", eos_token="</s>")
    if cont:
        fin = msgs[-1]["content"].strip()
        s = s[: s.rindex(fin) + len(fin)]
    return s
n = 0
for task in ("compat_gp_gen", "compat_gp_field"):
    plain, chat, multi, cli = (samples(r, task) for r in ("plain", "chat", "multi", "cli"))
    for p, c, m, o in zip(plain, chat, multi, cli):
        text = p["arguments"][0][0]
        gp = p["doc"]["lead"] if task == "compat_gp_field" else "The answer is"
        # the plain prompt ends with target_delimiter + gen_prefix; the chat's
        # user turn is the rest (multiturn_to_singleturn drops the delimiter)
        assert text.endswith(" " + gp), (task, text[-40:], gp)
        user = text[: -len(" " + gp)]
        msgs = [{"role": "system", "content": SYS}, {"role": "user", "content": user},
                {"role": "assistant", "content": gp}]
        want = render(tpl, msgs)
        assert c["arguments"][0][0] == want, (task, c["arguments"][0][0], want)
        assert o["arguments"][0][0] == render(other, msgs[1:]), (o["arguments"][0][0], render(other, msgs[1:]))
        # multiturn: an example with an answer is a user and an assistant
        # turn ("gen_prefix answer"); one without is a user turn alone
        got = m["arguments"][0][0]
        k = 2 if task == "compat_gp_gen" else 1  # examples, the second of gp_gen has no answer
        assert got.count("<|user|>") == k + 1 and got.count("<|assistant|>") == 2, got
        assert got.endswith("<|assistant|>\n" + gp), got[-60:]
        n += 1
assert n >= 4, n
PY
done_testing
