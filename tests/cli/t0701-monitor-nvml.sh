#!/bin/sh
# `llm-eval monitor` with GPUs, through the NVML stand-in library the tests
# build (tests/nvml-standin/: scripted values, since this machine has no
# NVIDIA driver), and what the executable maps: `--help` and `help` must not
# load the engine or NVML; `monitor` loads NVML only then.
. "$(dirname "$0")/lib.sh"
CHECKER="$BUILD/tests/monitor-json-check"
export LLM_EVAL_NVML_PATH="$BUILD/tests/nvml-standin/libnvidia-ml.so.1"
export LLE_NVML_STANDIN="$T/gpus"
cat >"$T/gpus.base" <<'SCRIPT'
count=2
0.name=NVIDIA H100 80GB HBM3
0.memory.total=85899345920
0.memory.used=65712999628
0.utilization.gpu=87
0.utilization.memory=40
0.power=250000
0.temperature=65
0.clock.graphics=1755
0.clock.sm=1980
0.clock.mem=2619
1.name=NVIDIA H100 80GB HBM3
1.memory.total=85899345920
1.memory.used=1073741824
1.utilization.gpu=3
1.utilization.memory=1
1.power=70000
1.temperature=31
1.clock.graphics=345
1.clock.sm=345
1.clock.mem=2619
SCRIPT
cp "$T/gpus.base" "$T/gpus"

expect "two GPUs, text" 0 llm-eval monitor --once --interval 20 &&
	out_has "GPU0  NVIDIA H100 80GB HBM3  65 C  250 W  SM 1980 MHz  mem 2619 MHz" &&
	out_has "        util  87%  mem 61.2/80.0G (76%)  mem-util 40%" &&
	out_has "GPU1  NVIDIA H100 80GB HBM3  31 C  70 W  SM 345 MHz  mem 2619 MHz" &&
	out_lacks "none: no NVIDIA driver" && err_empty
expect "two GPUs, JSON" 0 llm-eval monitor --once --json --interval 20 && err_empty
check "the sample is valid" "$CHECKER" <"$OUT"
fields_documented() {
	for k in $(grep -o '"[a-z_]*":' "$1" | tr -d '":' | sort -u); do
		grep -qE "\`$k[\`.[]|\.$k\`" "$TOP/docs/monitor.md" || { echo "undocumented: $k"; return 1; }
	done
}
check "every GPU field is documented" fields_documented "$OUT"
check "two GPU objects" sh -c "[ \$(grep -o '\"index\":[01],\"name\":\"NVIDIA H100 80GB HBM3\"' '$OUT' | wc -l) -eq 2 ]"
check "scripted figures of GPU0" grep -q '"util_percent":87,"mem_util_percent":40,"mem_used_bytes":65712999628,"mem_total_bytes":85899345920,"power_w":250.0,"temp_c":65,"clock_graphics_mhz":1755,"clock_sm_mhz":1980,"clock_mem_mhz":2619' "$OUT"

# A failing per-GPU function leaves out only its figure, silently.
{ cat "$T/gpus.base"; echo "1.error.nvmlDeviceGetPowerUsage=3"; } >"$T/gpus"
expect "power not supported on GPU1" 0 llm-eval monitor --once --json --interval 20 && err_empty
check "GPU1 power is null, GPU0's is not" sh -c "grep -q '\"index\":1,[^}]*\"power_w\":null' '$OUT' && grep -q '\"index\":0,[^}]*\"power_w\":250.0' '$OUT'"
check "and the sample is valid" "$CHECKER" <"$OUT"
expect "said once at debug level" 0 llm-eval -v -v monitor --count 3 --interval 20
check "one debug line for it" sh -c "[ \$(grep -c 'GPU 1: nvmlDeviceGetPowerUsage: Not Supported (3)' '$ERR') -eq 1 ]"

# A failing start of NVML: no GPU part, no error, exit 0.
for fn in nvmlInit_v2 nvmlDeviceGetCount_v2 nvmlDeviceGetHandleByIndex_v2 nvmlDeviceGetName; do
	{ cat "$T/gpus.base"; echo "error.$fn=999"; } >"$T/gpus"
	expect "$fn fails: no GPUs, silently" 0 llm-eval monitor --once --json --interval 20 &&
		out_has '"gpus":[]' && err_empty
	expect "$fn fails: said with -v -v" 0 llm-eval -v -v monitor --once --interval 20 &&
		err_has "debug: monitor: no GPU figures: $fn: Unknown Error (999)" && out_has "none: no NVIDIA driver"
done
cp "$T/gpus.base" "$T/gpus"

# What gets mapped (ld.so's own trace, LD_DEBUG=libs, on stderr).
expect "--help" 0 env LD_DEBUG=libs "$LLM_EVAL" --help
check "--help loads neither the engine nor NVML" sh -c "! grep -E 'libllm-eval-engine|libnvidia-ml' '$ERR'"
expect "help monitor" 0 env LD_DEBUG=libs "$LLM_EVAL" help monitor
check "help monitor loads neither the engine nor NVML" sh -c "! grep -E 'libllm-eval-engine|libnvidia-ml' '$ERR'"
expect "monitor --once" 0 env LD_DEBUG=libs "$LLM_EVAL" monitor --once --interval 20
check "monitor loads the engine and NVML" sh -c "grep -q 'calling init: .*libllm-eval-engine.so' '$ERR' && grep -q 'calling init: .*libnvidia-ml.so.1' '$ERR'"
done_testing
