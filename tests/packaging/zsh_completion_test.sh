#!/usr/bin/env bash
# shellcheck disable=SC2015 # "check && pass || fail": pass only prints, it cannot fail.
# The zsh completion: `zsh -n` syntax check, then the real completion system (see
# zsh_complete.zsh) offers commands, the options of each command, and guest names from the cache
# of the last `pvebridge list`. Skipped (exit 77) when zsh is not installed.
# Usage: zsh_completion_test.sh SOURCE_DIR
set -euo pipefail
src=$1
source "$src/tests/packaging/lib.sh"
if ! command -v zsh >/dev/null; then
  echo "zsh is not installed: skipped"
  exit 77
fi
zsh -n "$src/completions/_pvebridge" && pass "zsh -n" || fail "zsh -n _pvebridge"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/cache/pvebridge" "$tmp/bin" "$tmp/files"
touch "$tmp/files/ca.pem"
# 104 has no name: its line holds two tabs in a row.
printf '100\tweb01\tpve1\n101\tdb01\tpve2\n205\tweb02\tpve2\n104\t\tpve3\n' >"$tmp/cache/pvebridge/guests"
printf '#!/bin/sh\ntouch "%s/called"\n' "$tmp" >"$tmp/bin/pvebridge"
chmod +x "$tmp/bin/pvebridge"

# The options valid after each command, on one line, as the bash completion lists them
# (tests/frontends/cli/option_table_test.cc checks both completions against the option table).
options_line() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  bash -c 'source "$1"; opts=("${_pvebridge_global_opts[@]}")
    case $2 in connect) opts+=("${_pvebridge_connect_opts[@]}") ;; list) opts+=("${_pvebridge_list_opts[@]}") ;;
      term | shell) opts+=("${_pvebridge_term_opts[@]}") ;; esac
    echo "${opts[*]}"' _ "$src/completions/pvebridge.bash" "$1"
}
declare -A want=(
  ["pvebridge con"]="connect"
  ["pvebridge "]="connect help list serve shell term version"
  ["pvebridge connect --st"]="--start"
  ["pvebridge connect we"]="web01 web02"
  ["pvebridge connect 10"]="100 101 104"
  ["pvebridge connect pve3"]="pve3/104"
  ["pvebridge connect pve"]="pve1/100 pve2/101 pve2/205 pve3/104"
  ["pvebridge list --node "]="pve1 pve2 pve3"
  ["pvebridge connect pve2/"]="pve2/101 pve2/205"
  ["pvebridge --host pve1 connect w"]="web01 web02"
  ["pvebridge --host=pve1 connect d"]="db01"
  ["pvebridge connect --listen "]="127.0.0.1:0 [::1]:0"
  ["pvebridge connect --ca-file $tmp/files/c"]="ca.pem"
  ["pvebridge connect --title w"]=""
  ["pvebridge help "]="config connect list serve term"
  ["pvebridge connect --vv-stdin --v"]="--verbose --version --viewer --viewer-arg"
  ["pvebridge --"]="$(options_line "")"
  ["pvebridge connect --"]="$(options_line connect)"
  ["pvebridge list --"]="$(options_line list)"
  ["pvebridge term 100 --"]="$(options_line term)"
  ["pvebridge shell --"]="$(options_line shell)"
  ["pvebridge term --serial "]="0 1 2 3"
)
results=$(env -u XDG_CACHE_HOME PATH="$tmp/bin:$PATH" HOME="$tmp" XDG_CACHE_HOME="$tmp/cache" \
  zsh "$src/tests/packaging/zsh_complete.zsh" "$src/completions" "${!want[@]}") ||
  fail "zsh_complete.zsh failed"
declare -A got=()
while IFS=$'\t' read -r line result; do got[$line]=$result; done <<<"$results"
for line in "${!want[@]}"; do
  same_words "${want[$line]}" "${got[$line]-}" && pass "'$line' -> [${want[$line]}]" ||
    fail "'$line': expected [${want[$line]}], got [${got[$line]-}]"
done
[ -e "$tmp/called" ] && fail "completing ran pvebridge" || pass "completing never ran pvebridge"
finish
