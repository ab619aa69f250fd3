#!/usr/bin/env bash
# shellcheck disable=SC2015 # "check && pass || fail": pass only prints, it cannot fail.
# The bash completion, sourced in a `bash -c` with COMP_WORDS/COMP_CWORD/COMP_LINE set the way
# bash sets them (split at COMP_WORDBREAKS such as '=' and ':'): commands, options per command,
# option values, and guest names from the cache of the last `pvebridge list` -- never from a
# network call (a fake pvebridge on PATH records any call). Run once as is and once with the
# bash-completion package loaded first, as in an interactive shell.
# Usage: bash_completion_test.sh SOURCE_DIR
set -euo pipefail
src=$1
source "$src/tests/packaging/lib.sh"
completion="$src/completions/pvebridge.bash"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/cache/pvebridge" "$tmp/home" "$tmp/home2/.cache" "$tmp/bin" "$tmp/files"
# 104 has no name: its line holds two tabs in a row.
printf '100\tweb01\tpve1\n101\tdb01\tpve2\n205\tweb02\tpve2\n104\t\tpve3\n' >"$tmp/cache/pvebridge/guests"
cp -r "$tmp/cache/pvebridge" "$tmp/home2/.cache/"
touch "$tmp/files/ca.pem"
# Completing must never run pvebridge (it would ask the server): this one records being run.
printf '#!/bin/sh\ntouch "%s/called"\n' "$tmp" >"$tmp/bin/pvebridge"
chmod +x "$tmp/bin/pvebridge"

# Each case: XDG_CACHE_HOME ("-" for unset), HOME, the expected replies, the line, then the words
# bash makes of it (the cursor at the end of the last one), then ";;".
cases=()
case_() { cases+=("$@" ";;"); }
c=$tmp/cache
h=$tmp/home
case_ "$c" "$h" "connect" "pvebridge con" pvebridge con
case_ "$c" "$h" "connect help list serve shell term version" "pvebridge " pvebridge ""
case_ "$c" "$h" "web01 web02" "pvebridge term we" pvebridge term we
case_ "$c" "$h" "--escape" "pvebridge term --esc" pvebridge term --esc
case_ "$c" "$h" "--idle-exit" "pvebridge shell --idle" pvebridge shell --idle
case_ "$c" "$h" "pve1 pve2 pve3" "pvebridge shell pve" pvebridge shell pve
case_ "$c" "$h" "0 1 2 3" "pvebridge term 100 --serial " pvebridge term 100 --serial ""
case_ "$c" "$h" "--start" "pvebridge connect --st" pvebridge connect --st
case_ "$c" "$h" "web01 web02" "pvebridge connect we" pvebridge connect we
case_ "$c" "$h" "100 101 104 205 db01 web01 web02" "pvebridge connect web01 " \
  pvebridge connect web01 ""
case_ "$c" "$h" "100 101 104" "pvebridge connect 10" pvebridge connect 10
# A guest without a name: its node is no guest name, and node/vmid is offered.
case_ "$c" "$h" "pve3/104" "pvebridge connect pve3" pvebridge connect pve3
case_ "$c" "$h" "pve1/100 pve2/101 pve2/205 pve3/104" "pvebridge connect pve" pvebridge connect pve
case_ "$c" "$h" "pve1 pve2 pve3" "pvebridge list --node pve" pvebridge list --node pve
case_ "$c" "$h" "pve2/101 pve2/205" "pvebridge connect pve2/" pvebridge connect pve2/
case_ "$c" "$h" "db01" "pvebridge connect --start d" pvebridge connect --start d
# Option values are neither commands nor guests.
case_ "$c" "$h" "web01 web02" "pvebridge --host pve1 connect w" pvebridge --host pve1 connect w
case_ "$c" "$h" "web01 web02" "pvebridge --host=pve1 connect w" \
  pvebridge --host = pve1 connect w
case_ "$c" "$h" "web01 web02" "pvebridge --fingerprint AA:BB connect w" \
  pvebridge --fingerprint AA : BB connect w
case_ "$c" "$h" "" "pvebridge connect --title w" pvebridge connect --title w
case_ "$c" "$h" "" "pvebridge connect --timeout " pvebridge connect --timeout ""
# Values: bash replaces only what follows the last '=' or ':' of the word.
case_ "$c" "$h" "127.0.0.1:0" "pvebridge connect --listen 127" pvebridge connect --listen 127
case_ "$c" "$h" "0" "pvebridge connect --listen 127.0.0.1:" \
  pvebridge connect --listen 127.0.0.1 :
case_ "$c" "$h" "$tmp/files/ca.pem" "pvebridge connect --ca-file $tmp/files/c" \
  pvebridge connect --ca-file "$tmp/files/c"
case_ "$c" "$h" "$tmp/files/ca.pem" "pvebridge connect --ca-file=$tmp/files/c" \
  pvebridge connect --ca-file = "$tmp/files/c"
# Options per command; after "--" nothing is an option.
case_ "$c" "$h" "--json" "pvebridge list --j" pvebridge list --j
case_ "$c" "$h" "--status" "pvebridge list --st" pvebridge list --st
case_ "$c" "$h" "config connect list serve term" "pvebridge help " pvebridge help ""
case_ "$c" "$h" "" "pvebridge connect -- -" pvebridge connect -- -
case_ "$c" "$h" "--password-file" "pvebridge list --pass" pvebridge list --pass
case_ "$c" "$h" "--password-file --passthrough" "pvebridge connect --pass" pvebridge connect --pass
# No cache: nothing, quietly. Without XDG_CACHE_HOME, or with a relative one, the cache is under
# $HOME/.cache, as pvebridge writes it.
case_ "$tmp/nowhere" "$h" "" "pvebridge connect w (no cache)" pvebridge connect w
case_ - "$tmp/home2" "db01" "pvebridge connect d (HOME)" pvebridge connect d
case_ relative "$tmp/home2" "db01" "pvebridge connect d (relative XDG_CACHE_HOME)" pvebridge connect d

# Runs every case in one bash (starting processes is slow on a busy machine), each in a subshell
# with its own environment; prints "line<TAB>replies" per case, and LEAKED if the completion
# left its working variables behind.
# shellcheck disable=SC2016 # expanded by the inner bash
runner='
  prelude=$1 completion=$2
  shift 2
  [ -z "$prelude" ] || source "$prelude"
  source "$completion"
  while [ $# -gt 0 ]; do
    cache=$1 home=$2 line=$4
    shift 4
    words=()
    while [ "$1" != ";;" ]; do words+=("$1"); shift; done
    shift
    (
      if [ "$cache" = - ]; then unset XDG_CACHE_HOME; else export XDG_CACHE_HOME=$cache; fi
      export HOME=$home
      COMP_WORDS=("${words[@]}")
      COMP_CWORD=$((${#words[@]} - 1))
      COMP_LINE=${line% (*}
      COMP_POINT=${#COMP_LINE}
      _pvebridge
      printf "%s\t%s\n" "$line" "${COMPREPLY[*]}"
      if declare -p _pvebridge_words >/dev/null 2>&1; then echo LEAKED; fi
    )
  done'

check_cases() {
  local prelude=$1 results i=0 want line result
  local -A got=()
  results=$(env PATH="$tmp/bin:$PATH" bash -c "$runner" _ "$prelude" "$completion" \
    "${cases[@]}" 2>"$tmp/stderr") || fail "the completion failed: $(cat "$tmp/stderr")"
  [ -s "$tmp/stderr" ] && fail "the completion wrote to stderr: $(cat "$tmp/stderr")"
  while IFS=$'\t' read -r line result; do
    [ "$line" = LEAKED ] && fail "the completion leaves global variables behind"
    got[$line]=$result
  done <<<"$results"
  while [ $i -lt ${#cases[@]} ]; do
    want=${cases[i + 2]}
    line=${cases[i + 3]}
    while [ "${cases[i]}" != ";;" ]; do i=$((i + 1)); done
    i=$((i + 1))
    if same_words "$want" "${got[$line]-}"; then
      pass "'$line' -> [$want]"
    else
      fail "'$line': expected [$want], got [${got[$line]-}]"
    fi
  done
}

check_cases ""
framework=/usr/share/bash-completion/bash_completion
if [ -r "$framework" ]; then
  echo "-- with $framework loaded first"
  check_cases "$framework"
else
  echo "(bash-completion is not installed: checked without it only)"
fi
[ -e "$tmp/called" ] && fail "completing ran pvebridge" || pass "completing never ran pvebridge"
finish
