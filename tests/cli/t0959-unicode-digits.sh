# Unicode decimal digits (lle_py_decimal in src/tasks/pycase.c, its table
# k_digit_zero from tools/gen-unicase.py, read by DROP's float() in
# src/tasks/drop.c) against python3's unicodedata.decimal for every code
# point: the driver lists each code point it gives a value, python3 lists
# its own, and the two lists must be equal. Skipped when python3's Unicode
# version is not the tables'.
. "$(dirname "$0")/lib.sh"

DRIVER="$BUILD/tests/test_template"
[ -x "$DRIVER" ] || { echo "not ok - $DRIVER is not built (make test builds it)"; exit 1; }
HEADER="$TOP/src/tasks/unicase_data.h"
check "the driver lists the decimal digits" sh -c '"$1" --decimals >"$2"' sh "$DRIVER" "$T/ours.txt"
if python3 -c 'import re, sys, unicodedata
v = re.search(r"LLE_UNICASE_UNICODE_VERSION \"([^\"]+)\"", open(sys.argv[1]).read()).group(1)
sys.exit(v != unicodedata.unidata_version)' "$HEADER"; then
	check "every code point's decimal value is python3's unicodedata.decimal" python3 - "$T/ours.txt" <<'PY'
import sys, unicodedata
ours = open(sys.argv[1]).read().splitlines()
want = ["%X %d" % (c, unicodedata.decimal(chr(c))) for c in range(sys.maxunicode + 1)
        if unicodedata.decimal(chr(c), None) is not None]
assert len(want) > 600, len(want)
missing, extra = sorted(set(want) - set(ours)), sorted(set(ours) - set(want))
assert ours == want, ("missing", missing[:5], "extra", extra[:5])
PY
else
	echo "ok - decimal digits not compared # SKIP python3's Unicode version is not the tables' ($HEADER)"
fi
done_testing
