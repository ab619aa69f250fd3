#!/usr/bin/env bash
# Builds the .deb and proves it works:
#   1. builds the release flavour (ci/build.sh release), or uses --build-dir DIR (configured and
#      built already; only `pvebridge` is brought up to date)
#   2. runs `cpack -G DEB`, shows `dpkg-deb --info` and `--contents`
#   3. checks the package: name, section, maintainer, description, Recommends: virt-viewer, a
#      Depends entry for the package of every shared library the binary links (found with
#      `dpkg -S`), and exactly the expected files (no mock, no test programs)
#   4. unpacks it into a clean directory tree with `dpkg-deb -x` and runs
#      <tree>/usr/bin/pvebridge --version
#   5. as root with CI=true: `dpkg -i`, `pvebridge --version`, `dpkg -r` (skipped if a pvebridge
#      package is installed already: it is not ours to remove)
# Usage: ci/package.sh [--build-dir DIR] [--output DIR]   (the .deb goes to DIR/package by default)
# Needs: cmake, dpkg-dev (dpkg-shlibdeps), binutils (readelf); the release flavour's packages.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=""
output=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build=$(cd "$2" && pwd); shift 2 ;;
    --output) output=$2; shift 2 ;;
    *) echo "package.sh: unknown argument '$1' (--build-dir DIR, --output DIR)" >&2; exit 2 ;;
  esac
done

say() { echo "package.sh: $*"; }
fail() { echo "package.sh: FAILED: $*" >&2; exit 1; }

if [ -z "$build" ]; then
  say "building the release flavour (ci/build.sh release)"
  "$root/ci/build.sh" release
  build="$root/build/release"
else
  say "using the build in $build"
  cmake --build "$build" --target pvebridge >/dev/null
fi
[ -f "$build/CPackConfig.cmake" ] || fail "$build has no CPackConfig.cmake (not configured?)"
output=${output:-$build/package}
mkdir -p "$output"
output=$(cd "$output" && pwd)
# Only what an earlier run left there (never the whole directory: --output may be anything).
rm -rf "$output"/pvebridge_*.deb "$output/root" "$output/_CPack_Packages" "$output/cpack.log"

say "cpack -G DEB (into $output)"
(cd "$build" && cpack -G DEB -B "$output" >"$output/cpack.log" 2>&1) ||
  { cat "$output/cpack.log" >&2; fail "cpack"; }
debs=("$output"/pvebridge_*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "expected one pvebridge_*.deb in $output"
deb=${debs[0]}
say "built $deb"

say "dpkg-deb --info"
dpkg-deb --info "$deb"
say "dpkg-deb --contents"
dpkg-deb --contents "$deb"

field() { dpkg-deb --field "$deb" "$1"; }
version=$(field Version)
[ "$(field Package)" = pvebridge ] || fail "Package is '$(field Package)', not pvebridge"
[ "$(field Section)" = net ] || fail "Section is '$(field Section)', not net"
[[ "$(field Maintainer)" == *"<"*"@"*">" ]] || fail "Maintainer '$(field Maintainer)' has no address"
[ -n "$(field Description)" ] || fail "no Description"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || fail "wrong Architecture"
[[ ", $(field Recommends), " == *", virt-viewer"[\ ,]* ]] || fail "Recommends lacks virt-viewer"
say "fields: Package, Version $version, Section net, Maintainer, Description, Recommends ok"

tree="$output/root"
mkdir -p "$tree"
dpkg-deb -x "$deb" "$tree"
binary="$tree/usr/bin/pvebridge"
[ -x "$binary" ] || fail "no usr/bin/pvebridge in the package"

# Every DT_NEEDED library must come from a package that Depends names.
depends=$(field Depends)
say "Depends: $depends"
needed=$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ -n "$needed" ] || fail "readelf found no shared libraries in $binary"
for lib in $needed; do
  # awk reads all of ldconfig's output: stopping at the first match would kill ldconfig with
  # SIGPIPE, which pipefail turns into a failure of this script (seen once in CI: exit 141).
  path=$(ldconfig -p | awk -v lib="$lib" '$1 == lib && !found { print $NF; found = 1 }')
  [ -n "$path" ] || fail "$lib is not installed on this machine"
  pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null || dpkg -S "$path") ||
    fail "no package owns $path"
  pkg=${pkg%%:*}
  [[ ", $depends, " == *", $pkg"[\ ,]* ]] || fail "Depends lacks $pkg (for $lib)"
  say "  $lib -> $pkg: in Depends"
done

# Exactly these files: the program, its man page and completions; never the mock or test programs.
expected="./usr/bin/pvebridge
./usr/share/bash-completion/completions/pvebridge
./usr/share/man/man1/pvebridge.1.gz
./usr/share/zsh/vendor-completions/_pvebridge"
actual=$(cd "$tree" && find . -type f -o -type l | LC_ALL=C sort)
[ "$actual" = "$expected" ] || fail "unexpected package contents:
$actual
expected:
$expected"
gzip -t "$tree/usr/share/man/man1/pvebridge.1.gz" || fail "the man page is not valid gzip"
say "contents: exactly the program, its man page and the bash and zsh completions"

out=$("$binary" --version)
[ "$out" = "pvebridge $version" ] || fail "'$binary --version' printed '$out', not 'pvebridge $version'"
say "unpacked into $tree: '$out'"

if [ "$(id -u)" -eq 0 ] && [ "${CI:-}" = true ]; then
  if dpkg-query -W -f='${Status}' pvebridge 2>/dev/null | grep -q "install ok installed"; then
    say "a pvebridge package is installed already: not touching it (dpkg -i skipped)"
  else
    say "dpkg -i $deb"
    dpkg -i "$deb"
    out=$(/usr/bin/pvebridge --version) || { dpkg -r pvebridge; fail "installed pvebridge failed"; }
    say "installed: '$out'"
    dpkg -r pvebridge
    say "dpkg -r pvebridge: removed"
    [ "$out" = "pvebridge $version" ] || fail "installed pvebridge printed '$out'"
  fi
else
  say "dpkg -i skipped (needs root and CI=true)"
fi
say "ok: $deb"
