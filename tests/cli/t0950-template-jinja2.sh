# Jinja2 as the oracle of the template engine: every case of
# tests/template/template.test renders in python3's jinja2 (configured as
# lm-evaluation-harness configures it) to the output the file expects, or
# fails where the file expects an error, except the cases marked as
# deviations, which must still differ from jinja2 exactly as recorded.
# tests/unit/test_template.c checks llm-eval against the same file.
. "$(dirname "$0")/lib.sh"

if ! python3 -c 'import jinja2' 2>/dev/null; then
	echo "not ok - python3 with jinja2 (tools/install-deps.sh installs python3-jinja2)"
	exit 1
fi
python3 "$TOP/tests/template/jinja2_check.py" "$TOP/tests/template/template.test"
