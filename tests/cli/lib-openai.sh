# Helpers for the openai backend's tests (t09*-openai-*.sh), sourced after
# lib.sh: start lle-testserver instances on ephemeral ports (all stopped at
# exit), and write registry model files that point at them.
SRV="$BUILD/tools/lle-testserver"
TINY="$BUILD/models/tiny.gguf"
LLAMAPLUG="$BUILD/lib/llamacpp.so"
INC="--include-path $TOP/examples/demo --include-path $T/reg"
DD="--data-dir $TOP/examples/demo/data"
SRV_PIDS=""
trap 'for p in $SRV_PIDS; do kill "$p" 2>/dev/null; done; for p in $SRV_PIDS; do wait "$p" 2>/dev/null; done; rm -rf "$T"' EXIT
mkdir -p "$T/reg/models"

# start_server NAME ARGS...: sets PORT_NAME and PID_NAME. The server prints
# "port N" once it listens; a server that exits first fails the test.
start_server() {
	name=$1
	shift
	rm -f "$T/$name.port"
	"$SRV" "$@" >"$T/$name.port" 2>"$T/$name.err" &
	pid=$!
	SRV_PIDS="$SRV_PIDS $pid"
	while [ ! -s "$T/$name.port" ]; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "not ok - server $name did not start"
			sed 's/^/#   /' "$T/$name.err"
			exit 1
		fi
		sleep 0.05
	done
	eval "PORT_$name=$(awk '{ print $2 }' "$T/$name.port")"
	eval "PID_$name=$pid"
}

# stop_server NAME
stop_server() {
	eval "p=\$PID_$1"
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}

# model NAME BASE_URLS [OPTION_LINE...]: a registry model on the openai
# backend (served name "tiny"), with the llamacpp section for comparisons.
model() {
	name=$1 urls=$2
	shift 2
	{
		echo "name: $name"
		echo "description: the tiny test model behind lle-testserver"
		echo "hf_repo: none/tiny"
		echo "categories: [demo]"
		echo "chat_template: chatml"
		echo "backend: openai"
		echo "backends:"
		echo "  llamacpp:"
		echo "    gguf: tiny.gguf"
		echo "  openai:"
		echo "    model: tiny"
		echo "    base_url: [$urls]"
		for l in "$@"; do echo "    $l"; done
	} >"$T/reg/models/$name.yaml"
}
url() { echo "http://127.0.0.1:$1/v1"; }
