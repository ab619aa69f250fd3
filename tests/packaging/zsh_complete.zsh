#!/usr/bin/env zsh
# Runs the real zsh completion system on each LINE and prints, per line, "LINE<TAB>" followed by
# the candidates it offers (space-separated). An interactive `zsh -f` runs in a
# pseudo-terminal (zpty), with the completion directory first in fpath and TAB bound to a
# completion widget that records every candidate compadd accepts, then shows a numbered marker
# that this script waits for (no sleeping).
# Usage: zsh_complete.zsh COMPLETION_DIR LINE...
emulate -L zsh
zmodload zsh/zpty || exit 1
compdir=$1
shift
local line got
out=$(mktemp) || exit 1
trap 'rm -f $out; zpty -d shell 2>/dev/null' EXIT

TERM=xterm zpty shell zsh -f -i
# compinit reads every completion file in fpath (seconds on a slow disk): let it see only ours and
# the base system; the rest of fpath (_files, _hosts ...) is added after it and autoloaded by name.
zpty -w shell "PS1='' RPS1=''; __all=(\$fpath)
  fpath=(${(q)compdir} \${(M)__all:#*/Completion(|/Base)}); autoload -Uz compinit; compinit -u -D
  __rest=(\${__all:#*/Completion(|/Base)}); fpath+=(\$__rest); autoload -Uz \${^__rest}/_*(N:t)"
# compadd -O only computes the matches (those starting with what is typed), adding nothing.
zpty -w shell 'compadd() {
  if (( ${argv[(I)-[OAD]]} )); then builtin compadd "$@"; return; fi
  local -a __m; builtin compadd -O __m "$@"
  (( $#__m )) && print -rl -- "${__m[@]}" >>'${(q)out}'
  builtin compadd "$@"
}'
# The marker is built at run time so that the echo of this command line never matches it.
zpty -w shell '__n=0; __record() { _main_complete 2>>'${(q)out}'; (( ++__n ));
  zle -M "<<DO""NE-$__n>>"; }; zle -C record-complete complete-word __record
  bindkey "^I" record-complete'

# Read the start-up output line by line up to a marker: zpty -r with a pattern matches it against
# everything read so far after every byte, too slow for the long start-up output.
zpty -w shell 'print "<<READY-$((6 * 7))>>"'
while zpty -r shell got; do
  [[ $got == *"<<READY-42>>"* ]] && break
done

integer n=0
for line in "$@"; do
  : >$out
  (( ++n ))
  # ^U clears what the previous completion left on the line.
  zpty -w -n shell $'\C-u'"$line"$'\t'
  zpty -r shell got "*<<DONE-$n>>*" || exit 1
  print -r -- "$line"$'\t'"${(j: :)${(f)$(<$out)}}"
done
