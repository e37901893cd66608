#!/bin/sh
# The interface between the executable and libllm-eval-engine.so, as built:
# the engine exports only what the dispatcher dlsym()s (the lle_cmd_NAME of
# each LLE_NEED_ENGINE row, lle_engine_version and lle_engine_check_tasks: src/cli/engine/engine.map),
# and what it imports from the executable is exactly the checked-in list
# src/cli/engine/imports.txt, so a change of that interface is seen and
# LLE_ENGINE_ABI (src/cli/cmd.h) bumped on purpose rather than by memory.
. "$(dirname "$0")/lib.sh"
ENG="$BUILD/lib/libllm-eval-engine.so"
LIST="$TOP/src/cli/engine/imports.txt"

if ! command -v nm >/dev/null 2>&1; then
	echo "ok - engine interface # SKIP no nm"
	done_testing
	exit
fi
nm -D --defined-only "$ENG" | awk '{ print $3 }' | sort >"$T/exports"
{ sed -n 's/.*NULL, "\(lle_cmd_[a-z_]*\)" },*$/\1/p' "$TOP/src/cli/commands.c"; echo lle_engine_version; echo lle_engine_check_tasks; } |
	sort >"$T/wanted"
check "the engine exports only the commands, its version and the task check" \
	sh -c "diff '$T/wanted' '$T/exports' && test -s '$T/wanted'"

nm -D --undefined-only "$ENG" | awk '{ print $2 }' | sort >"$T/undef"
nm -D --defined-only "$LLM_EVAL" | awk '{ print $3 }' | sort >"$T/exe"
comm -12 "$T/undef" "$T/exe" >"$T/imports"
grep -v '^#' "$LIST" | sort >"$T/listed"
if diff "$T/listed" "$T/imports" >"$T/diff"; then
	echo "ok - the engine imports from the executable what imports.txt lists"
else
	echo "not ok - the engine's imports from the executable changed ('>' new, '<' gone):"
	sed 's/^/#   /' "$T/diff" | grep '^#   [<>]'
	echo "#   update src/cli/engine/imports.txt and bump LLE_ENGINE_ABI in src/cli/cmd.h"
	n_failed=$((n_failed + 1))
fi
# everything listed is there to be found (the executable exports it)
check "the executable defines every listed import" sh -c "comm -23 '$T/listed' '$T/exe' | (! grep .)"
done_testing
