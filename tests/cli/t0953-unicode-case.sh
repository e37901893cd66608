# Unicode case mapping (src/tasks/pycase.c, tables from tools/gen-unicase.py)
# against python3's own str methods: lower(), upper(), title() and
# capitalize() of every code point, and of strings where the context decides
# (final sigma, title case, special casing); tests/template/unicase_check.py
# says how. Skipped when python3's Unicode version is not the tables'.
. "$(dirname "$0")/lib.sh"

if ! python3 -c 'import jinja2' 2>/dev/null; then
	echo "not ok - python3 with jinja2 (tools/install-deps.sh installs python3-jinja2)"
	exit 1
fi
DRIVER="$BUILD/tests/test_chat_template"
[ -x "$DRIVER" ] || { echo "not ok - $DRIVER is not built (make test builds it)"; exit 1; }
python3 "$TOP/tests/template/unicase_check.py" "$DRIVER" "$TOP/src/tasks/unicase_data.h"
