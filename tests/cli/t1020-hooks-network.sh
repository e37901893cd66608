#!/bin/sh
# The hook worker has no network (issue 15): a hook connecting to a
# listener this test opens on 127.0.0.1 reaches nothing by default (the
# sandbox's seccomp filter refuses the socket, and its network namespace has
# no interface up), and the listener gets no connection; --allow-hook-network
# (allow_hook_network in a --config file, the older LLM_EVAL_HOOK_NETWORK=1)
# gives the host's network back, and the listener gets the hook's hello.
. "$(dirname "$0")/lib.sh"
MODEL="$BUILD/models/tiny.gguf"
cat >"$T/listen.py" <<'PY'
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.settimeout(300)  # never outlive a broken test for long
while True:
    try:
        c, _ = s.accept()
    except socket.timeout:
        break
    with open(sys.argv[2], "ab") as f:
        f.write(c.recv(100))
    c.close()
PY
python3 "$T/listen.py" "$T/port" "$T/got" &
LPID=$!
trap 'kill $LPID 2>/dev/null; rm -rf "$T"' EXIT
i=0
while [ ! -s "$T/port" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p "$T/data/hknet"
echo "{\"port\": $(cat "$T/port")}" >"$T/data/hknet/validation.jsonl"
run_net() {
	out=$1
	shift
	expect "$*" 0 llm-eval --include-path "$TOP/tests/hooks/tasks" run --data-dir "$T/data" \
		--model-path "$MODEL" --tasks hk_net --output "$T/$out" --log-samples --no-progress --no-cache "$@"
}
said() { # what the hook said: the prompt of the one document
	python3 -c 'import glob, json, sys
print(json.loads(open(glob.glob(sys.argv[1] + "/tiny/samples_hk_net_*.jsonl")[0]).readline())["arguments"][0][0])' "$T/$1"
}
run_net o
# the socket refused (seccomp), or no route (a network namespace alone)
check "a hook finds no network by default" sh -c 'case "$1" in "socket EPERM"|"connect ENETUNREACH") ;; *) echo "$1"; exit 1;; esac' sh "$(said o)"
check "and the listener got no connection" test ! -e "$T/got"
run_net n --allow-hook-network
check "--allow-hook-network: the hook connects" test "$(said n)" = connected
check "and the listener got its hello" grep -qx "hello from a hook" "$T/got"
rm -f "$T/got"
echo "allow_hook_network: true" >"$T/run.yaml"
run_net c --config "$T/run.yaml"
check "allow_hook_network in a --config file does the same" test "$(said c)" = connected
export LLM_EVAL_HOOK_NETWORK=1
run_net e
unset LLM_EVAL_HOOK_NETWORK
check "LLM_EVAL_HOOK_NETWORK=1 still does the same" test "$(said e)" = connected
done_testing
