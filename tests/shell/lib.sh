# lib.sh -- sourced (not run) by the tests/shell/test_*.sh scripts: the
# lines every one of them prints, in the form tests/run.sh counts
# ("PASS what" / "FAIL what", one per check).
#
# check WHAT CMD...: runs CMD and prints PASS or FAIL for WHAT by its status.

pass() { printf 'PASS %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*"; }
check() { local what="$1"; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
