#!/usr/bin/env bash
# shellcheck disable=SC2015 # "check && pass || fail": pass only prints, it cannot fail.
# `cmake --install` installs exactly the program, its man page (gzipped) and the bash and zsh
# completions in the usual places -- never the mock or a test program.
# Usage: install_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
source "$src/tests/packaging/lib.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; fail "cmake --install"; finish; }

expected="bin/pvebridge
share/bash-completion/completions/pvebridge
share/man/man1/pvebridge.1.gz
share/zsh/vendor-completions/_pvebridge"
actual=$(cd "$tmp/prefix" && find . -type f -o -type l | sed 's|^\./||' | LC_ALL=C sort)
[ "$actual" = "$expected" ] && pass "installs exactly: ${expected//$'\n'/, }" ||
  fail "installed files differ; got:
$actual"

[ -x "$tmp/prefix/bin/pvebridge" ] && pass "bin/pvebridge is executable" ||
  fail "bin/pvebridge is not executable"
gzip -dc "$tmp/prefix/share/man/man1/pvebridge.1.gz" 2>/dev/null | cmp -s - "$src/docs/pvebridge.1" &&
  pass "the man page is docs/pvebridge.1, gzipped" || fail "the installed man page differs"
cmp -s "$tmp/prefix/share/bash-completion/completions/pvebridge" \
  "$src/completions/pvebridge.bash" && pass "bash completion installed as 'pvebridge'" ||
  fail "the installed bash completion differs"
cmp -s "$tmp/prefix/share/zsh/vendor-completions/_pvebridge" "$src/completions/_pvebridge" &&
  pass "zsh completion installed" || fail "the installed zsh completion differs"
for f in share/man/man1/pvebridge.1.gz share/bash-completion/completions/pvebridge \
  share/zsh/vendor-completions/_pvebridge; do
  [ "$(stat -c %a "$tmp/prefix/$f")" = 644 ] && pass "$f is mode 644" || fail "$f is not mode 644"
done
finish
