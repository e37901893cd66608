#!/bin/sh
# One suggestion routine (src/util/suggest.c) for every name a user types
# (issue 18, item 2): commands, global and command options, list kinds, show
# types, actions, formats, tasks, groups, tags, models, categories, backends,
# metrics and filters each get "(did you mean '...'?)" where the word is a
# typo of a known one, and the old message where it is not.
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
DEMO="--include-path $TOP/examples/demo"
DD="--data-dir $TOP/examples/demo/data"

# commands and options
expect "command" 2 llm-eval lsit models && err_has "error: unknown command 'lsit' (did you mean 'list'?)"
expect "command, through help" 2 llm-eval help rnu && err_has "error: unknown command 'rnu' (did you mean 'run'?)"
expect "no command is close" 2 llm-eval zzzzzz && err_has "error: unknown command 'zzzzzz'" && ! grep -q "did you mean" "$ERR" || fail "suggested a command for zzzzzz"
expect "global option" 2 llm-eval --verbos list && err_has "error: unknown option '--verbos' (did you mean '--verbose'?)"
expect "list option" 2 llm-eval list --jsn models && err_has "error: unknown option '--jsn' (did you mean '--json'?)"
expect "list backends option" 2 llm-eval list backends --jsno && err_has "error: unknown option '--jsno' for 'list backends' (did you mean '--json'?)"
expect "run option" 2 llm-eval run --num-fewshots 3 && err_has "error: unknown option '--num-fewshots' (did you mean '--num-fewshot'?)"
expect "run option with =value" 2 llm-eval run --batchsize=4 && err_has "error: unknown option '--batchsize=4' (did you mean '--batch-size'?)"
expect "report option" 2 llm-eval report --fromat csv && err_has "error: unknown option '--fromat' (did you mean '--format'?)"
expect "sandbox option" 2 llm-eval sandbox --chek && err_has "error: unknown option '--chek' (did you mean '--check'?)"
# kinds, types, actions, formats
expect "list kind" 2 llm-eval list modles && err_has "error: unknown list 'modles' (did you mean 'models'?)"
expect "list --kind" 2 llm-eval list tasks --kind gruop && err_has "error: unknown kind 'gruop' (did you mean 'group'?)"
expect "list --format" 2 llm-eval list tasks --format jsno && err_has "error: unknown format 'jsno' (did you mean 'json'?)"
expect "show type" 2 llm-eval show tsk gsm8k && err_has "error: unknown type 'tsk' (did you mean 'task'?)"
expect "cache action" 2 llm-eval cache stat && err_has "error: unknown action 'stat' (did you mean 'stats'?)"
expect "results action" 2 llm-eval results lst && err_has "error: unknown action 'lst' (did you mean 'list'?)"
expect "report format" 2 llm-eval report --format markdwn && err_has "error: unknown format 'markdwn' (did you mean 'markdown'?)"
expect "compare format" 2 llm-eval compare 1 2 --format cvs && err_has "error: unknown format 'cvs' (did you mean 'csv'?)"
# registry names, in show, list and run alike
expect "show task" 2 llm-eval show task gsm8kk && err_has "error: unknown task 'gsm8kk' (did you mean 'gsm8k'?)"
expect "run task" 3 llm-eval run --model-path "$MODEL" --tasks gsm8kk && err_has "error: unknown task 'gsm8kk' (did you mean 'gsm8k'?)"
expect "run group" 3 llm-eval $DEMO run --model-path "$MODEL" --tasks dem $DD && err_has "error: unknown task 'dem' (did you mean 'demo'?)"
expect "run model" 3 llm-eval run --model qwen25_mth_7b --tasks gsm8k && err_has "error: unknown model 'qwen25_mth_7b' (did you mean 'qwen25_math_7b'?)"
expect "run model, nothing close" 3 llm-eval run --model zzzzzz --tasks gsm8k && err_has "error: unknown model 'zzzzzz' (see 'llm-eval list models')"
expect "list category" 2 llm-eval list models --category mathematic && err_has "error: unknown category 'mathematic' (did you mean 'mathematics'?)"
expect "run category" 3 llm-eval run --category mathematic && err_has "error: unknown category 'mathematic' (did you mean 'mathematics'?)"
! grep -q "has no models" "$ERR" || fail "a mistyped category still says 'has no models'"
expect "run backend" 5 llm-eval $DEMO run $DD --model-path "$MODEL" --tasks demo_arith_mc --backend lamacpp &&
	err_has "backend 'lamacpp' is not installed: no 'lamacpp.so' in " && err_has "; did you mean 'llamacpp'?"

# a tag, a metric and a filter, in a registry of their own
mkdir -p "$T/reg/tasks"
sed 's/^task: demo_arith_gen/task: typo_metric\ntag: [arith_tag]/; s/metric: exact_match/metric: exact_mach/' \
	"$TOP/examples/demo/tasks/demo_arith_gen.yaml" >"$T/reg/tasks/typo_metric.yaml"
sed 's/^task: demo_arith_gen/task: typo_filter/; s/function: take_first/function: take_frist/' \
	"$TOP/examples/demo/tasks/demo_arith_gen.yaml" >"$T/reg/tasks/typo_filter.yaml"
R="--include-path $T/reg"
expect "run tag" 3 llm-eval $R run --model-path "$MODEL" --tasks arith_tg $DD && err_has "error: unknown task 'arith_tg' (did you mean 'arith_tag'?)"
expect "metric" 3 llm-eval $R run --model-path "$MODEL" --tasks typo_metric $DD &&
	err_has "typo_metric.yaml:" && err_has "unknown metric 'exact_mach' (did you mean 'exact_match'?)"
expect "filter" 3 llm-eval $R run --model-path "$MODEL" --tasks typo_filter $DD &&
	err_has "typo_filter.yaml:" && err_has "unknown filter 'take_frist' (did you mean 'take_first'?)"
done_testing
