#!/usr/bin/env bash
# The house rule (ARCHITECTURE.md "Layout"): arrows point one way.
#   engine/      includes nothing from transports/ or frontends/
#   engine/core/ includes only engine/core/
#   engine/io/   includes only engine/core/ and engine/io/
#   transports/  includes only engine/core/, engine/io/ and transports/ (never frontends/ or the
#                engine's logic: pump, proxmox, trust, console, rfb)
# Every #include "..." of every source file under those folders is checked; a violation names the
# file, the line and the rule. Usage: include_direction_test.sh SOURCE_DIR
set -uo pipefail
src=${1:?usage: include_direction_test.sh SOURCE_DIR}
cd "$src" || exit 2

allowed() {  # allowed FILE INCLUDE -> 0 when FILE may include INCLUDE
  local file=$1 inc=$2
  case "$inc" in
    engine/* | transports/* | frontends/* | tests/* | bench/* | fuzz/*) ;;
    *) return 0 ;;  # a sibling-relative or system header
  esac
  case "$file" in
    engine/core/*) [[ $inc == engine/core/* ]] ;;
    engine/io/*) [[ $inc == engine/core/* || $inc == engine/io/* ]] ;;
    engine/*) [[ $inc == engine/* ]] ;;
    transports/*) [[ $inc == engine/core/* || $inc == engine/io/* || $inc == transports/* ]] ;;
    *) return 0 ;;
  esac
}

violations=0
checked=0
while IFS= read -r file; do
  while IFS=: read -r line inc; do
    checked=$((checked + 1))
    if ! allowed "$file" "$inc"; then
      echo "FAIL $file:$line includes \"$inc\": arrows point one way (engine <- transports <- frontends)"
      violations=$((violations + 1))
    fi
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"' "$file" |
    sed -E 's/^([0-9]+):[[:space:]]*#[[:space:]]*include[[:space:]]+"([^"]+)".*/\1:\2/')
done < <(find engine transports -type f \( -name '*.h' -o -name '*.cc' \) | sort)

if [ "$checked" -eq 0 ]; then
  echo "FAIL no #include lines found under engine/ and transports/ (run from the source tree?)"
  exit 1
fi
echo "$checked includes checked, $violations pointing the wrong way"
[ "$violations" -eq 0 ]
