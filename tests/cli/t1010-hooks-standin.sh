#!/bin/sh
# The hook driver's stand-in for the datasets library, method by method,
# against the library's documented behaviour (tests/hooks/test_standin.py).
. "$(dirname "$0")/lib.sh"
expect "the datasets stand-in behaves as documented" 0 python3 "$TOP/tests/hooks/test_standin.py" \
	"$TOP/src/hooks/driver.py"
grep '^not ok' "$OUT" | sed 's/^/# /'
check "every case passed" sh -c "! grep -q '^not ok' '$OUT' && grep -q '^1\.\.' '$OUT'"
done_testing
