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
done_testing
