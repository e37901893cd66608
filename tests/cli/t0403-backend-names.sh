#!/bin/sh
# No host file names a backend: the host knows a plugin only by what the
# plugin declares (include/llm-eval/backend.h: caps, option table), so a new
# backend is a directory under plugins/ and its mk/ rules. The one default
# (a model without `backend:`, --model-path) comes from the Makefile.
. "$(dirname "$0")/lib.sh"

for d in "$TOP"/plugins/*/; do
	name=$(basename "$d")
	check "no file under src/ names backend '$name'" sh -c \
		"! grep -rnw -- '$name' '$TOP/src' || { echo 'name the capability or option instead (backend.h)'; exit 1; }"
done
done_testing
