# Shared by the packaging tests (sourced): the real options of pvebridge, read from the parser
# (frontends/cli/options.cc) and the help (frontends/cli/help.cc), so that a new option which the
# man page or a completion forgets makes a test fail. Needs $src (the repository root).

: "${src:?lib.sh needs \$src, the repository root}"
options_cc="$src/frontends/cli/options.cc"
help_cc="$src/frontends/cli/help.cc"

# Options the parser knows only to refuse them: passwords are never taken on the command line.
# The man page must say so; no completion may offer them.
refused_options="--password"

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

is_refused() { [[ " $refused_options " == *" $1 "* ]]; }

# Long options that take a value: Parser::take_value, called as value("--name").
value_options() {
  grep -o 'value("--[a-z0-9-]*")' "$options_cc" | sed 's/value("\(.*\)")/\1/' | LC_ALL=C sort -u
}

# Long options without a value: compared as a == "--name" (refused ones left out).
flag_options() {
  local o
  for o in $(grep -o 'a == "--[a-z0-9-][a-z0-9-]*"' "$options_cc" | sed 's/a == "\(.*\)"/\1/'); do
    is_refused "$o" || echo "$o"
  done | LC_ALL=C sort -u
}

# Every long option a user may give.
all_long_options=$({ value_options; flag_options; } | LC_ALL=C sort -u)
long_options() { echo "$all_long_options"; }

# Short options: a == "-x".
short_options() {
  grep -o 'a == "-[a-zA-Z]"' "$options_cc" | sed 's/a == "\(.*\)"/\1/' | LC_ALL=C sort -u
}

# The text of one help string of help.cc: kOverview, kConnect, kList or kTerm.
help_text() {
  awk -v name="$1" '
    $0 ~ "static const char\\* " name " =" { on = 1 }
    on { print }
    on && /\)";/ { exit }' "$help_cc"
}

# True if text $1 mentions option $2 as a whole word ("--viewer" is not in "--viewer-arg").
mentions() {
  local re="(^|[^a-zA-Z0-9-])$2([^a-zA-Z0-9-]|\$)"
  [[ $1 =~ $re ]]
}

# Where an option belongs, going by the help: sets $scope to "connect" or "list" when only that
# command's help lists it, else to "global" (the connection options of every command).
# (No subshells or greps in here: starting processes is slow on a busy machine.)
help_overview=$(help_text kOverview)
help_connect=$(help_text kConnect)
help_list=$(help_text kList)
help_term=$(help_text kTerm)
set_scope() {
  local o=$1
  scope=global
  if mentions "$help_overview" "$o"; then
    return 0
  elif mentions "$help_connect" "$o" && ! mentions "$help_list" "$o"; then
    scope=connect
  elif mentions "$help_list" "$o" && ! mentions "$help_connect" "$o"; then
    scope=list
  elif mentions "$help_term" "$o" && ! mentions "$help_connect" "$o" && ! mentions "$help_list" "$o"; then
    scope=term  # term and shell (which also take the connect options their help names)
  fi
  return 0
}

# The long options of scope $1 (global, connect or list).
scope_options() {
  local o scope
  for o in $all_long_options; do
    set_scope "$o"
    [ "$scope" = "$1" ] && echo "$o"
  done
  return 0
}

# The long options valid after command $1 ("" for none): the global ones plus that command's own.
options_for() {
  local o scope
  for o in $all_long_options; do
    set_scope "$o"
    if [ "$scope" = global ] || [ "$scope" = "$1" ] ||
      { [ "$1" = term ] && mentions "$help_term" "$o"; }; then echo "$o"; fi
  done
  return 0
}

# Sorted, one per line, for comparing sets.
sorted() { tr ' ' '\n' | sed '/^$/d' | LC_ALL=C sort -u; }

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
