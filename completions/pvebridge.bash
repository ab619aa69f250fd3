# bash completion for pvebridge(1)                                      -*- shell-script -*-
#
# Commands, options per command, and guest names. Guest names and vmids come from the cache that
# `pvebridge list` writes (one "vmid<TAB>name<TAB>node" line per guest): completing never makes a
# network call while the user types.
#
# Self-contained: works with or without the bash-completion package.
# tests/frontends/cli/option_table_test.cc checks these lists against the option table
# (frontends/cli/option_table.cc).

# Options of every command (the connection options of `pvebridge --help`).
_pvebridge_global_opts=(--host --user --password-file --otp --api-token --fingerprint --ca-file
  --insecure --tls-backend --timeout --json --verbose --help --version --config --profile --proxy)
# Options of `pvebridge connect` only.
_pvebridge_connect_opts=(--start --listen --keepalive --reconnect --viewer --viewer-arg --fullscreen
  --kiosk --title --client-wait --local-auth --exclusive --passthrough --vv-file --vv-stdin
  --no-viewer --protocol --spice-proxy --spice-relay)
# Options of `pvebridge serve` only.
_pvebridge_serve_opts=(--start --keepalive --reconnect --local-auth --exclusive --show-password)
# Options of `pvebridge list` only.
_pvebridge_list_opts=(--node --type --status --tag --pool --format)
# Options of `pvebridge term` and `pvebridge shell`.
_pvebridge_term_opts=(--start --keepalive --escape --idle-exit --serial)
# Options followed by a value (the next word, or after '='): that word is never a command or guest.
_pvebridge_value_opts=(--host --user --password-file --otp --api-token --fingerprint --ca-file
  --tls-backend --timeout --listen --keepalive --reconnect --viewer --viewer-arg --title
  --client-wait --local-auth --vv-file
  --config --profile --node --type --status --tag --pool --format --proxy --escape --idle-exit
  --serial --protocol --spice-proxy)
_pvebridge_commands=(connect serve list term shell help version)

# The guest cache, where pvebridge writes it: $XDG_CACHE_HOME (only if absolute) or ~/.cache.
_pvebridge_guest_cache() {
  if [[ ${XDG_CACHE_HOME-} == /* ]]; then
    printf '%s\n' "$XDG_CACHE_HOME/pvebridge/guests"
  elif [[ ${HOME-} == /* ]]; then
    printf '%s\n' "$HOME/.cache/pvebridge/guests"
  fi
}

# The config file, where pvebridge reads it: --config on the line, else $PVEBRIDGE_CONFIG, else
# $XDG_CONFIG_HOME (only if absolute) or ~/.config.
_pvebridge_config_file() {
  local i word
  for ((i = 1; i < ${#_pvebridge_words[@]}; i++)); do
    word=${_pvebridge_words[i]}
    if [[ $word == --config=* ]]; then
      printf '%s\n' "${word#--config=}"
      return 0
    elif [[ $word == --config ]] && ((i + 1 < _pvebridge_cword)); then
      printf '%s\n' "${_pvebridge_words[i + 1]}"
      return 0
    fi
  done
  if [[ -n ${PVEBRIDGE_CONFIG-} ]]; then
    printf '%s\n' "$PVEBRIDGE_CONFIG"
  elif [[ ${XDG_CONFIG_HOME-} == /* ]]; then
    printf '%s\n' "$XDG_CONFIG_HOME/pvebridge/config"
  elif [[ ${HOME-} == /* ]]; then
    printf '%s\n' "$HOME/.config/pvebridge/config"
  fi
}

# Adds the profiles of the config file ("[profile NAME]" lines) that start with $1 to COMPREPLY.
_pvebridge_add_profiles() {
  local cur=$1 config line re='^[[:blank:]]*\[[[:blank:]]*profile[[:blank:]]+([A-Za-z0-9._-]+)[[:blank:]]*\]'
  config=$(_pvebridge_config_file)
  [[ -n $config && -r $config ]] || return 0
  while IFS= read -r line; do
    [[ $line =~ $re && ${BASH_REMATCH[1]} == "$cur"* ]] && COMPREPLY+=("${BASH_REMATCH[1]}")
  done <"$config"
  return 0
}

# Splits a guest cache line ("vmid<TAB>name<TAB>node") into vmid, name and node; false for a line
# that is not one. Not `IFS=$'\t' read`: a tab is IFS white space, so the two tabs around an
# empty name would count as one and the node would be read as the name.
_pvebridge_split_guest() {
  local line=$1
  [[ $line == *$'\t'*$'\t'* ]] || return 1
  vmid=${line%%$'\t'*}
  line=${line#*$'\t'}
  name=${line%%$'\t'*}
  node=${line#*$'\t'}
  return 0
}

# Adds the nodes of the guest cache that start with $1 to COMPREPLY, each once.
_pvebridge_add_nodes() {
  local cur=$1 cache line vmid name node
  local -A seen=()
  cache=$(_pvebridge_guest_cache)
  [[ -n $cache && -r $cache ]] || return 0
  while IFS= read -r line; do
    _pvebridge_split_guest "$line" || continue
    [[ -n $node && -z ${seen[$node]-} && $node == "$cur"* ]] || continue
    seen[$node]=1
    COMPREPLY+=("$node")
  done <"$cache"
  return 0
}

# Adds the guests whose vmid, name or "node/vmid" starts with $1 to COMPREPLY ("node/vmid" only
# once something is typed: an empty word offers vmids and names).
_pvebridge_add_guests() {
  local cur=$1 cache line vmid name node
  cache=$(_pvebridge_guest_cache)
  [[ -n $cache && -r $cache ]] || return 0
  while IFS= read -r line; do
    _pvebridge_split_guest "$line" && [[ -n $vmid ]] || continue
    [[ $vmid == "$cur"* ]] && COMPREPLY+=("$vmid")
    [[ -n $name && $name == "$cur"* ]] && COMPREPLY+=("$name")
    [[ -n $cur && -n $node && "$node/$vmid" == "$cur"* ]] && COMPREPLY+=("$node/$vmid")
  done <"$cache"
  return 0
}

# Adds the words after $1 that start with $1 to COMPREPLY (no globbing, no expansion).
_pvebridge_add_matching() {
  local cur=$1 word
  shift
  for word in "$@"; do
    [[ $word == "$cur"* ]] && COMPREPLY+=("$word")
  done
  return 0
}

# True if the word $1 is one of the words after it.
_pvebridge_is_one_of() {
  local word=$1
  shift
  local w
  for w in "$@"; do [[ $w == "$word" ]] && return 0; done
  return 1
}

# True if every character of $1 is one of COMP_WORDBREAKS (as "=" or ":" are).
_pvebridge_is_wordbreak() {
  local text=$1 i
  [[ -n $text ]] || return 1
  for ((i = 0; i < ${#text}; i++)); do
    [[ ${COMP_WORDBREAKS-} == *"${text:i:1}"* ]] || return 1
  done
  return 0
}

# Sets _pvebridge_words/_pvebridge_cword from COMP_WORDS with the pieces bash split at
# COMP_WORDBREAKS glued back ("--host" "=" "pve1" -> "--host=pve1", "AA" ":" "BB" -> "AA:BB"),
# using COMP_LINE to tell "a=b" from "a = b".
_pvebridge_reassemble() {
  local line=${COMP_LINE-} pos=0 i token previous="" blank
  [[ -n $line ]] || line="${COMP_WORDS[*]}"
  _pvebridge_words=()
  _pvebridge_cword=0
  for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
    token=${COMP_WORDS[i]}
    blank=""
    while [[ ${line:pos:1} == [[:blank:]] ]]; do
      pos=$((pos + 1))
      blank=1
    done
    if ((i > 0)) && [[ -z $blank ]] &&
      { _pvebridge_is_wordbreak "$token" || _pvebridge_is_wordbreak "$previous"; }; then
      _pvebridge_words[-1]+=$token
    else
      _pvebridge_words+=("$token")
    fi
    pos=$((pos + ${#token}))
    previous=$token
    ((i == COMP_CWORD)) && _pvebridge_cword=$((${#_pvebridge_words[@]} - 1))
  done
  # The cursor after a blank at the end of the line: bash gives an empty last word.
  ((COMP_CWORD < ${#COMP_WORDS[@]})) || _pvebridge_words+=("")
  ((COMP_CWORD < ${#COMP_WORDS[@]})) || _pvebridge_cword=$((${#_pvebridge_words[@]} - 1))
  return 0
}

# Completes the value of option $1, the value so far being $2.
_pvebridge_complete_value() {
  local opt=$1 cur=$2
  case $opt in
    --password-file | --ca-file | --vv-file | --config)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      ;;
    --viewer)
      mapfile -t COMPREPLY < <(compgen -c -- "$cur")
      ;;
    --listen)
      _pvebridge_add_matching "$cur" "127.0.0.1:0" "[::1]:0"
      ;;
    --tls-backend)
      _pvebridge_add_matching "$cur" openssl mbedtls
      ;;
    --local-auth)
      _pvebridge_add_matching "$cur" vnc none
      ;;
    --protocol)
      _pvebridge_add_matching "$cur" vnc spice auto
      ;;
    --proxy)
      compopt -o nospace 2>/dev/null
      _pvebridge_add_matching "$cur" "http://"
      ;;
    --profile)
      _pvebridge_add_profiles "$cur"
      ;;
    --node)
      _pvebridge_add_nodes "$cur"
      ;;
    --type)
      _pvebridge_add_matching "$cur" qemu lxc
      ;;
    --escape)
      _pvebridge_add_matching "$cur" '~' none
      ;;
    --serial)
      _pvebridge_add_matching "$cur" 0 1 2 3
      ;;
    --status)
      _pvebridge_add_matching "$cur" running stopped paused suspended template
      ;;
    --format)
      # A comma list: complete the field after the last comma.
      local typed="" i
      [[ $cur == *,* ]] && typed=${cur%,*},
      _pvebridge_add_matching "${cur##*,}" vmid name node type status tags pool lock template
      for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]=$typed${COMPREPLY[i]}; done
      ;;
    *)
      # Hosts, users, secrets, numbers, titles: nothing sensible to offer.
      ;;
  esac
  return 0
}

# Sets _pvebridge_command to the command among words 1.._pvebridge_cword-1, skipping options and
# their values as the parser does; _pvebridge_after_dashdash when "--" ended the options.
_pvebridge_find_command() {
  local i word
  _pvebridge_command=""
  _pvebridge_after_dashdash=""
  for ((i = 1; i < _pvebridge_cword; i++)); do
    word=${_pvebridge_words[i]}
    if [[ -n $_pvebridge_after_dashdash || $word != -* || $word == "-" ]]; then
      [[ -n $_pvebridge_command ]] || _pvebridge_command=$word
    elif [[ $word == "--" ]]; then
      _pvebridge_after_dashdash=1
    elif _pvebridge_is_one_of "$word" "${_pvebridge_value_opts[@]}"; then
      i=$((i + 1)) # its value is the next word
    fi
  done
  return 0
}

# Fills COMPREPLY for the reassembled current word $1 (the previous word being $2).
_pvebridge_complete_word() {
  local cur=$1 prev=$2
  if [[ -z $_pvebridge_after_dashdash ]]; then
    if [[ $cur == --*=* ]]; then
      local opt=${cur%%=*} i
      _pvebridge_complete_value "$opt" "${cur#*=}"
      for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]="$opt=${COMPREPLY[i]}"; done
      return 0
    fi
    if _pvebridge_is_one_of "$prev" "${_pvebridge_value_opts[@]}"; then
      _pvebridge_complete_value "$prev" "$cur"
      return 0
    fi
    if [[ $cur == -* ]]; then
      local -a opts=("${_pvebridge_global_opts[@]}")
      case $_pvebridge_command in
        connect) opts+=("${_pvebridge_connect_opts[@]}") ;;
        serve) opts+=("${_pvebridge_serve_opts[@]}") ;;
        list) opts+=("${_pvebridge_list_opts[@]}") ;;
        term | shell) opts+=("${_pvebridge_term_opts[@]}") ;;
      esac
      _pvebridge_add_matching "$cur" "${opts[@]}"
      return 0
    fi
  fi
  case $_pvebridge_command in
    "") _pvebridge_add_matching "$cur" "${_pvebridge_commands[@]}" ;;
    connect | serve | term) _pvebridge_add_guests "$cur" ;;
    shell) _pvebridge_add_nodes "$cur" ;;
    help) _pvebridge_add_matching "$cur" connect serve list term config ;;
  esac
  return 0
}

_pvebridge() {
  COMPREPLY=()
  # Locals here are visible to the helpers (dynamic scope) and leave no globals behind.
  local -a _pvebridge_words
  local _pvebridge_cword _pvebridge_command _pvebridge_after_dashdash
  _pvebridge_reassemble
  _pvebridge_find_command
  local cur=${_pvebridge_words[_pvebridge_cword]-} prev=""
  ((_pvebridge_cword > 0)) && prev=${_pvebridge_words[_pvebridge_cword - 1]}
  _pvebridge_complete_word "$cur" "$prev"

  # Bash replaces only the text after the last COMP_WORDBREAKS character of the word ("pve1" in
  # "--host=pve1"): strip what comes before it from every completion.
  local keep=${#cur} i
  while ((keep > 0)) && [[ ${COMP_WORDBREAKS-} != *"${cur:keep-1:1}"* ]]; do
    keep=$((keep - 1))
  done
  if ((keep > 0)); then
    local prefix=${cur:0:keep}
    for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]=${COMPREPLY[i]#"$prefix"}; done
  fi
  return 0
}

complete -F _pvebridge pvebridge
