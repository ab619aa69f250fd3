# Shared by the packaging tests (sourced): pass/fail bookkeeping and word-set helpers. Which
# options exist is the option table's business (frontends/cli/option_table.cc); that the man page
# and the completions list each of them is checked by tests/frontends/cli/option_table_test.cc.
# Needs $src (the repository root).

: "${src:?lib.sh needs \$src, the repository root}"

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
pass() { echo "ok: $*"; }
finish() {
  if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed" >&2
    exit 1
  fi
  echo "all checks passed"
}

# True if the words of $1 and $2 are the same sets (order and repeats aside).
same_words() {
  local -A a=() b=()
  local w
  for w in $1; do a[$w]=1; done
  for w in $2; do b[$w]=1; done
  [ ${#a[@]} -eq ${#b[@]} ] || return 1
  for w in "${!a[@]}"; do [ -n "${b[$w]-}" ] || return 1; done
  return 0
}
