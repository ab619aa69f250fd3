#!/usr/bin/env bash
# shellcheck disable=SC2015 # "check && pass || fail": pass only prints, it cannot fail.
# The pvebridge(1) man page renders without warnings, has the sections a man page needs, and
# matches the program: its version and every exit code. (Every option, environment variable and
# config key of the option table: tests/frontends/cli/option_table_test.cc.)
# Usage: man_page_test.sh SOURCE_DIR
set -euo pipefail
src=$1
source "$src/tests/packaging/lib.sh"
page="$src/docs/pvebridge.1"
if ! command -v groff >/dev/null; then
  fail "groff is not installed (Debian package groff-base): cannot check the man page"
  finish
fi

warnings=$(groff -man -ww -z "$page" 2>&1) || fail "groff failed: $warnings"
[ -z "$warnings" ] && pass "groff -man -ww: no warnings" || fail "groff warnings: $warnings"
if command -v man >/dev/null; then
  warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) || fail "man -l failed"
  [ -z "$warnings" ] && pass "man --warnings: none" || fail "man warnings: $warnings"
fi

# Plain text, one long line per paragraph, no hyphenation: what a reader can search for.
text=$(groff -man -Tascii -P-cbou -rLL=250n "$page" 2>/dev/null)
narrow=$(groff -man -Tascii -P-cbou -rLL=80n "$page" 2>/dev/null)
# The text of one section (its heading starts at column 0).
section() { awk -v want="$1" '/^[A-Z]/ { on = ($0 == want); next } on' <<<"$text"; }

for s in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS ENVIRONMENT FILES "EXIT STATUS" SECURITY \
  EXAMPLES "SEE ALSO"; do
  [ -n "$(section "$s")" ] && pass "section $s" || fail "no section '$s'"
done
section "SEE ALSO" | grep -q "remote-viewer(1)" && pass "SEE ALSO remote-viewer(1)" ||
  fail "SEE ALSO lacks remote-viewer(1)"
wide=$(awk 'length > 80' <<<"$narrow")
[ -z "$wide" ] && pass "fits 80 columns" || fail "lines wider than 80 columns:
$wide"

version=$(sed -n 's/^project(pvebridge VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
grep -q "^\.TH PVEBRIDGE 1 .*\"pvebridge $version\"" "$page" && pass ".TH says pvebridge $version" ||
  fail ".TH does not name the project version $version (CMakeLists.txt)"

commands_text=$(section COMMANDS)
for cmd in connect list help; do
  grep -Eq "^ +$cmd( |$)" <<<"$commands_text" && pass "command $cmd" || fail "command $cmd missing"
done

# Every exit code of frontends/cli/exit_codes.h.
exit_codes=$(grep -o '= *[0-9][0-9]*,' "$src/frontends/cli/exit_codes.h" | tr -dc '0-9\n')
[ -n "$exit_codes" ] || fail "no exit codes found in exit_codes.h"
exit_text=$(section "EXIT STATUS")
for c in $exit_codes; do
  [[ $exit_text =~ (^|$'\n')\ +([0-9]+,\ )*$c(,|\ |$'\n'|$) ]] && pass "exit status $c" ||
    fail "EXIT STATUS does not document $c"
done
finish
