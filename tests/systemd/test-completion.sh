#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bash completion for vmbalancectl: commands, options, every tunable of the commented
# configuration, and (when built) the same commands as `vmbalancectl --help`.
# Usage: test-completion.sh COMPLETION_FILE SRCDIR [VMBALANCECTL]
set -uo pipefail
completion=$1
src=$2
ctl=${3:-}
bc=/usr/share/bash-completion/bash_completion
# shellcheck source=tests/systemd/lib.sh
source "$(dirname "$0")/lib.sh"
[ -r "$bc" ] || skip "$bc not found (Debian package bash-completion)"
# shellcheck disable=SC1090
source "$bc"
# shellcheck disable=SC1090
source "$completion"

complete_line() { # words... (the last one is being completed)
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _vmbalancectl vmbalancectl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
expect() { # "want" words...
    local want=$1 got
    shift
    got=$(complete_line "$@")
    if [ "$got" = "$want" ]; then ok "'$*' -> $want"; else fail "'$*' -> '$got', want '$want'"; fi
}

expect "set status" vmbalancectl s
expect "--help --version" vmbalancectl --
expect "cpu.interval" vmbalancectl set cpu.int
expect "false true" vmbalancectl set memory.enabled ""
expect "cache core cpu node" vmbalancectl set cpu.pin_to ""
expect "cache" vmbalancectl set cpu.pin_to ca
expect "" vmbalancectl set interval ""
expect "cpu memory" vmbalancectl pause ""
expect "cpu memory" vmbalancectl run ""
expect "--help --json" vmbalancectl status --
expect "--help --json" vmbalancectl get --
expect "memory.high_watermark memory.host_reserve_mib memory.host_reserve_percent" vmbalancectl get --json memory.h
expect "" vmbalancectl reset interval ""
expect "--help --json --lines -n" vmbalancectl history -
expect "" vmbalancectl history -n ""
expect "--help --json" vmbalancectl domain --
expect "reset set" vmbalancectl domain web1 ""
expect "max_mib memory min_mib" vmbalancectl domain web1 set m
expect "cpu max_mib memory min_mib weight" vmbalancectl domain --json web1 reset ""
expect "auto off" vmbalancectl domain web1 set cpu ""
expect "" vmbalancectl domain web1 set weight ""
expect "--help --interval --iterations -d -n" vmbalancectl top -
expect "" vmbalancectl top --interval ""
expect "top" vmbalancectl to

# Every key of the commented configuration is offered.
keys=$(complete_line vmbalancectl set "")
section=
missing=
while read -r line; do
    case $line in
    \[*\]) section=${line//[\[\]]/} ;;
    \#[a-z_]*=*)
        key=${line#\#}
        key=${key%%=*}
        key=${key// /}
        [[ " $keys " == *" $section.$key "* ]] || missing="$missing $section.$key"
        ;;
    esac
done <"$src/daemon/vmbalanced.conf"
if [ -z "$missing" ]; then
    ok "every key of daemon/vmbalanced.conf is completed"
else
    fail "keys of daemon/vmbalanced.conf not completed:$missing"
fi

# The commands are the CLI's own.
if [ -n "$ctl" ] && [ -x "$ctl" ]; then
    want=$("$ctl" --help | awk '/^Commands:/ { c = 1; next } c && /^  [a-z]/ { print $1 } c && /^$/ { exit }' |
        sort | tr '\n' ' ' | sed 's/ $//')
    got=$(complete_line vmbalancectl "")
    if [ "$got" = "$want" ]; then
        ok "the commands of vmbalancectl --help: $got"
    else
        fail "commands '$got', vmbalancectl --help has '$want'"
    fi
else
    echo "# vmbalancectl not built: its command list not compared"
fi
echo "1..$n"
[ "$fails" -eq 0 ]
