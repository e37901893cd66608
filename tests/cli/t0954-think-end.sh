# Reasoning models (think_end_token, src/run/chat.c lle_think_cut): the
# response is cut after the last end-of-thinking marker and then at the
# task's stop strings before the filters, as lm-evaluation-harness's
# postprocess_generated_text does (lm_eval/models/utils.py); the stops are
# not sent to the backend (they would end the thinking: the harness's
# vllm_causallms sends only EOS), and the sample log keeps the raw text in
# raw_resps. A response that never closes its thinking is scored whole, as
# the harness scores it. lle-testserver --no-inference --reply gives the
# model's answer.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-openai.sh"
THINK='<think>
Question: what is 2+2?
2 and 2 make 4.

</think>

4
Question: next'
start_server a --no-inference --reply "$THINK"
start_server b --no-inference --reply '<think>
still thinking about 4'
model reasoner "$(url "$PORT_a")" 
printf '%s\n' "think_end_token: </think>" >>"$T/reg/models/reasoner.yaml"
model plain "$(url "$PORT_a")"
model unclosed "$(url "$PORT_b")"
RUN="run $DD $INC --tasks demo_arith_gen --limit 3 --log-samples --no-progress"
expect "think_end_token from the registry" 0 llm-eval $RUN --model reasoner --output "$T/reg-out"
expect "think_end_token from --model-args" 0 llm-eval $RUN --model plain --model-args "think_end_token=</think>" \
	--output "$T/arg-out"
expect "no think_end_token" 0 llm-eval $RUN --model plain --output "$T/none-out"
expect "thinking that never ends" 0 llm-eval $RUN --model unclosed --model-args "think_end_token=</think>" \
	--output "$T/unclosed-out"
check "responses cut as postprocess_generated_text, raw text kept" python3 - "$T" "$THINK" <<'PY'
import glob, json, sys
d, think = sys.argv[1:3]
def samples(run):
    f = glob.glob("%s/%s/*/samples_demo_arith_gen_*.jsonl" % (d, run))[0]
    return [json.loads(l) for l in open(f)]
def post(gen, stop, te):
    # lm_eval/models/utils.py postprocess_generated_text
    if te:
        gen = gen.split(te)[-1].lstrip()
    for term in stop:
        if term:
            gen = gen.split(term)[0]
    return gen
def flat(r):
    while isinstance(r, list):
        r = r[0]
    return r
until = ["\n", "Question:"]
for run in ("reg-out", "arg-out"):
    for s in samples(run):
        assert flat(s["resps"]) == post(think, until, "</think>") == "4", (run, s["resps"])
        assert s["raw_resps"] == [think], (run, s.get("raw_resps"))
        assert s["exact_match"] in (0, 1, 0.0, 1.0)
for s in samples("none-out"):
    assert "raw_resps" not in s
    assert flat(s["resps"]) != "4", s["resps"]  # the thinking was not cut
for s in samples("unclosed-out"):
    # no marker: the whole text stays, cut only at the stops
    assert flat(s["resps"]) == post("<think>\nstill thinking about 4", until, "</think>") == "<think>", s["resps"]
PY
done_testing
