#!/bin/sh
# The dispatcher: help, version, prefixes, unknown commands, exit codes.
. "$(dirname "$0")/lib.sh"

expect "--help exits 0" 0 llm-eval --help && out_has "Commands:"
expect "-h is --help" 0 llm-eval -h && out_has "usage: llm-eval"
expect "no command is a usage error" 2 llm-eval && err_has "usage: llm-eval"
expect "unknown command" 2 llm-eval frobnicate && err_has "error: unknown command 'frobnicate'"
expect "unknown global option" 2 llm-eval --frob && err_has "unknown option '--frob'"
expect "version" 0 llm-eval version && out_has "llm-eval "
expect "--version" 0 llm-eval --version && out_has "llm-eval "
expect "version --json" 0 llm-eval version --json && out_has '"version":'
expect "unique prefix runs the command" 0 llm-eval vers && out_has "llm-eval "
expect "help COMMAND" 0 llm-eval help version && out_has "usage: llm-eval version"
expect "COMMAND --help" 0 llm-eval version --help && out_has "usage: llm-eval version"
expect "help of unknown command" 2 llm-eval help nope && err_has "unknown command 'nope'"
expect "bad --color value" 2 llm-eval --color purple version && err_has "auto, always or never"

# An engine library from another build is refused with a message naming both
# versions, never loaded into the executable.
mkdir -p "$T/inst/lib"
cp "$LLM_EVAL" "$T/inst/llm-eval"
printf 'const char lle_engine_version[] = "0.0.0/999";\nint lle_cmd_cache(void) { return 0; }\n' >"$T/fake.c"
if ${CC:-cc} -shared -fPIC -o "$T/inst/lib/libllm-eval-engine.so" "$T/fake.c" 2>/dev/null; then
	expect "an engine of another version is refused" 70 "$T/inst/llm-eval" cache stats &&
		err_has "is version 0.0.0/999" && err_has "reinstall both together"
else
	echo "ok - # skip no C compiler to build a stand-in engine"
fi
done_testing
