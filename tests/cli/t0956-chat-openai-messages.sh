#!/bin/sh
# The openai backend's chat endpoint (endpoint: chat, --apply-chat-template)
# sends the conversation lm-evaluation-harness builds, as its API chat models
# send it (lm_eval/models/openai_completions.py LocalChatCompletion: the
# messages as they are): the system turn is --system-instruction +
# fewshot_delimiter + the task's description, the few-shot examples one user
# turn with the question appended (or user/assistant pairs with
# --fewshot-as-multiturn), and gen_prefix a final assistant turn
# (lm_eval/api/task.py v0.4.9.2, fewshot_context, append_target_question;
# samplers.py get_chat_context). lle-testserver --log-requests records each
# body; the expected messages are built here from the data files. The sample
# log's arguments hold json.dumps(messages, ensure_ascii=False), the string
# the harness's JsonChatStr carries. continue_final_message=1 adds vLLM's
# two keys when the last turn is the assistant's. At most 4 stop strings
# go out, as the harness's chat models send stop[:4] (OpenAI's limit). endpoint=completions with
# no Jinja template to render is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-openai.sh"
GPD="$TOP/tests/compat/gen_prefix/data"
mkdir -p "$T/tasks"
cat >"$T/tasks/chatmsg.yaml" <<EOT
task: chatmsg
dataset_path: gp
data_files: {train: $GPD/train.jsonl, test: $GPD/test.jsonl}
training_split: train
test_split: test
output_type: generate_until
description: "Solve {{q}}."
doc_to_text: "Q: {{q}}"
doc_to_target: "{{a}}"
gen_prefix: "The answer is"
num_fewshot: 1
fewshot_config: {sampler: first_n}
generation_kwargs: {until: ["\n", "Q:", "", "###", "END", "STOP"], max_gen_toks: 4}
metric_list: [{metric: exact_match}]
EOT
start_server a --no-inference --log-requests "$T/single.log"
start_server b --no-inference --log-requests "$T/multi.log"
start_server c --no-inference --log-requests "$T/cont.log"
model single "$(url "$PORT_a")" "endpoint: chat"
model multi "$(url "$PORT_b")" "endpoint: chat"
model cont "$(url "$PORT_c")" "endpoint: chat" "continue_final_message: 1"
SYS="Réponds vite."
RUN="run $INC --include-path $T/tasks --tasks chatmsg --log-samples --no-progress --apply-chat-template"
expect "the chat endpoint with gen_prefix and a system instruction" 0 llm-eval $RUN --model single \
	--system-instruction "$SYS" --output "$T/single"
expect "--fewshot-as-multiturn" 0 llm-eval $RUN --model multi --fewshot-as-multiturn --output "$T/multi"
expect "continue_final_message=1" 0 llm-eval $RUN --model cont --system-instruction "$SYS" --output "$T/cont"
# endpoint=completions with a template llm-eval cannot render (a built-in
# name) would send the bare prompt: refused before any request
model compl "$(url "$PORT_a")" "endpoint: completions"
expect "endpoint=completions without a Jinja template" 5 llm-eval $RUN --model compl --output "$T/compl" &&
	err_has "endpoint=completions with a chat template needs the template's jinja text"
check "the messages sent are the harness's, and the sample log holds their json.dumps" \
	python3 - "$T" "$GPD" "$SYS" <<'PY'
import glob, json, sys
d, gpd, SYS = sys.argv[1:4]
train = [json.loads(l) for l in open(gpd + "/train.jsonl")]
test = [json.loads(l) for l in open(gpd + "/test.jsonl")]
GP = "The answer is"
def expected(doc, sys_instr, multiturn):
    # fewshot_context v0.4.9.2: system = instruction + fewshot_delimiter + description
    desc = "Solve %s." % doc["q"]
    msgs = [{"role": "system", "content": sys_instr + "\n\n" + desc if sys_instr else desc}]
    ex = train[0]  # first_n, one shot
    if multiturn:  # get_chat_context: user, assistant = prefix + target
        msgs += [{"role": "user", "content": "Q: " + ex["q"]},
                 {"role": "assistant", "content": GP + " " + ex["a"]},
                 {"role": "user", "content": "Q: " + doc["q"]}]
    else:  # get_context as one user turn, the question appended to it
        msgs += [{"role": "user", "content": "Q: %s %s %s\n\nQ: %s" % (ex["q"], GP, ex["a"], doc["q"])}]
    return msgs + [{"role": "assistant", "content": GP}]  # append_target_question: gen_prefix
def bodies(name):
    # (the probes at open are /tokenize and /v1/completions calls)
    out = [json.loads(l) for l in open("%s/%s.log" % (d, name))]
    return [o["body"] for o in out if o["url"] == "/v1/chat/completions"]
def samples(run):
    f = glob.glob("%s/%s/*/samples_chatmsg_*.jsonl" % (d, run))[0]
    return sorted((json.loads(l) for l in open(f)), key=lambda s: s["doc_id"])
for run, sys_instr, multi in (("single", SYS, False), ("multi", None, True), ("cont", SYS, False)):
    want = [expected(doc, sys_instr, multi) for doc in test]
    got = bodies(run)
    assert len(got) == len(test), (run, len(got))
    got_msgs = sorted((b["messages"] for b in got), key=json.dumps)
    want_s = sorted(want, key=json.dumps)
    assert got_msgs == want_s, (run, got_msgs, want_s)
    for b in got:
        # stop[:4] (LocalChatCompletion._create_payload), "" left out
        assert b["stop"] == ["\n", "Q:", "###", "END"], b["stop"]
        if run == "cont":
            assert b["continue_final_message"] is True and b["add_generation_prompt"] is False, b
        else:
            assert "continue_final_message" not in b and "add_generation_prompt" not in b, b
    for s, w in zip(samples(run), want):
        assert s["arguments"][0][0] == json.dumps(w, ensure_ascii=False), (s["arguments"][0][0], w)
PY
done_testing
