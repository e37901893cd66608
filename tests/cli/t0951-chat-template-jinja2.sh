# Chat templates: llm-eval's template engine in transformers' chat
# environment (lle_tpl_compile_chat) renders byte for byte what python3's
# jinja2 renders in that environment (tests/template/chat_check.py says how),
# over our own corpus (tests/template/chat/*.jinja), the chat templates of
# the GGUF vocabularies llama.cpp ships (deps/llama/vocab), and llama.cpp's
# models/templates/*.jinja, read from its git bundle at test time (nothing of
# it is committed). Four conversations each, with add_generation_prompt true
# and false.
. "$(dirname "$0")/lib.sh"

if ! python3 -c 'import jinja2' 2>/dev/null; then
	echo "not ok - python3 with jinja2 (tools/install-deps.sh installs python3-jinja2)"
	exit 1
fi
DRIVER="$BUILD/tests/test_chat_template"
[ -x "$DRIVER" ] || { echo "not ok - $DRIVER is not built (make test builds it)"; exit 1; }
set --
for f in "$TOP"/deps/llama/vocab/*.gguf; do
	[ -f "$f" ] && set -- "$@" --gguf "$f"
done
BUNDLE=$TOP/third_party/llama/node_modules/node-llama-cpp/llama/gitRelease.bundle
if [ -f "$BUNDLE" ]; then
	git init -q --bare "$T/llama.git" &&
		git -C "$T/llama.git" fetch -q "$BUNDLE" HEAD &&
		mkdir -p "$T/templates" &&
		git -C "$T/llama.git" archive FETCH_HEAD models/templates | tar x -C "$T/templates" ||
		echo "not ok - llama.cpp's templates from $BUNDLE"
	set -- "$@" --dir "$T/templates/models/templates"
else
	echo "# no llama.cpp bundle ($BUNDLE): its templates are not checked"
fi
python3 "$TOP/tests/template/chat_check.py" "$DRIVER" "$@"
