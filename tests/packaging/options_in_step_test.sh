#!/usr/bin/env bash
# shellcheck disable=SC2015 # "check && pass || fail": pass only prints, it cannot fail.
# The completions and the help offer exactly the options the parser accepts, per command: adding
# an option to frontends/cli/options.cc without adding it to help.cc, the bash completion and the
# zsh completion fails here (the man page is checked by man_page_test.sh).
# Usage: options_in_step_test.sh SOURCE_DIR
set -euo pipefail
src=$1
source "$src/tests/packaging/lib.sh"
bash_file="$src/completions/pvebridge.bash"
zsh_file="$src/completions/_pvebridge"

[ -n "$(long_options)" ] || fail "no options found in $options_cc (has the parser changed shape?)"
all_help="$(help_text kOverview) $(help_text kConnect) $(help_text kList) $(help_text kTerm)"
for o in $(long_options); do
  mentions "$all_help" "$o" && pass "help mentions $o" || fail "help.cc does not mention $o"
done

# Compares two sets (words), naming what is missing and what is extra.
same_set() {
  local what=$1 expected actual missing extra
  expected=$(sorted <<<"$2")
  actual=$(sorted <<<"$3")
  if [ "$expected" = "$actual" ]; then
    pass "$what"
    return
  fi
  missing=$(LC_ALL=C comm -23 <(echo "$expected") <(echo "$actual") | tr '\n' ' ')
  extra=$(LC_ALL=C comm -13 <(echo "$expected") <(echo "$actual") | tr '\n' ' ')
  fail "$what: missing [${missing% }] extra [${extra% }]"
}

# What the bash completion offers for "pvebridge [COMMAND] --".
bash_offers() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}; _pvebridge; printf "%s\n" "${COMPREPLY[@]}"' _ "$bash_file" "$@"
}
same_set "bash: options of pvebridge" "$(options_for "")" "$(bash_offers pvebridge --)"
same_set "bash: options of connect" "$(options_for connect)" "$(bash_offers pvebridge connect --)"
same_set "bash: options of list" "$(options_for list)" "$(bash_offers pvebridge list --)"
same_set "bash: options of term" "$(options_for term)" "$(bash_offers pvebridge term --)"
same_set "bash: options of shell" "$(options_for term)" "$(bash_offers pvebridge shell --)"
# An option followed by a value must be known as such, or its value is taken for a command.
bash_value_options=$(bash -c 'source "$1"; printf "%s\n" "${_pvebridge_value_opts[@]}"' _ \
  "$bash_file")
same_set "bash: options taking a value" "$(value_options)" "$bash_value_options"

# The zsh completion's option specs: "--name=[...]" takes a value, "--name[...]" does not; each
# array (global_opts, connect_opts, list_opts) holds the options of that scope.
zsh_specs() {
  awk -v name="$1" '$0 ~ "^ *" name "=\\($" { on = 1; next } on && /^ *\)$/ { exit } on' "$zsh_file"
}
# (also the brace form '(-v --verbose)'{-v,--verbose}'[...]')
zsh_options() { grep -oE -- "--[a-z0-9-]+(=?\\[|\\}'\\[)" | sed -E "s/(=?\\[|\\}'\\[)$//"; }
zsh_value_options() { grep -oE -- '--[a-z0-9-]+=\[' | sed 's/=\[$//'; }
same_set "zsh: global options" "$(scope_options global)" "$(zsh_specs global_opts | zsh_options)"
same_set "zsh: connect options" "$(scope_options connect)" "$(zsh_specs connect_opts | zsh_options)"
same_set "zsh: list options" "$(scope_options list)" "$(zsh_specs list_opts | zsh_options)"
same_set "zsh: term and shell options" "$(options_for term | grep -vxF -f <(scope_options global))" \
  "$(zsh_specs term_opts | zsh_options)"
same_set "zsh: options taking a value" "$(value_options)" \
  "$({ zsh_specs global_opts; zsh_specs connect_opts; zsh_specs list_opts; zsh_specs term_opts; } |
    zsh_value_options)"

for o in $refused_options; do
  grep -q -- "$o\b[^-]" "$bash_file" "$zsh_file" && fail "a completion offers the refused $o" ||
    pass "no completion offers $o"
done
finish
