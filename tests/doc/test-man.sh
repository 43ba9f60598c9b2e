#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The man pages against the code they describe, so that they cannot drift (TAP):
#   test-man.sh keys PAGE.scd PRINT-CONFIG-KEYS   vmbalanced.conf(5): every key of the key
#       table (print-config-keys), each with "Default: D. Allowed: A." exactly as the table
#       gives them, and no key the table does not have
#   test-man.sh verbs PAGE.scd VMBALANCECTL        vmbalancectl(1): every command of
#       `vmbalancectl help` and every option of `vmbalancectl COMMAND --help` in its entry,
#       the top-level options of its usage line
#   test-man.sh options PAGE.scd VMBALANCED        vmbalanced(8): every option of
#       `vmbalanced --help`, and the sections an operator looks for
#   test-man.sh render PAGE...                     `man --warnings -l` prints no warning
# PAGE.scd is the configured scdoc source (doc/*.scd.in with the paths filled in): an entry
# is a line "*NAME*..." at the start of a line followed by tab-indented lines.
set -uo pipefail
export LC_ALL=C.UTF-8
# shellcheck source=tests/systemd/lib.sh
source "$(dirname "$0")/../systemd/lib.sh"

mode=${1:?usage: test-man.sh keys|verbs|options|render ...}
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The entry of term $2 in scdoc source $1: its term line ("*term*" then anything) and the
# indented or blank lines after it.
entry() {
    awk -v term="*$2*" '
        index($0, term) == 1 { inside = 1; print; next }
        inside && ($0 ~ /^\t/ || $0 == "") { print; next }
        { inside = 0 }' "$1"
}
# The lines of section "# $2" of scdoc source $1.
section() {
    awk -v head="# $2" '$0 == head { inside = 1; next } /^# / { inside = 0 } inside' "$1"
}

check_keys() { # page printer
    local page=$1 printer=$2 name def allowed help got
    "$printer" >"$tmp/keys" || { echo "Bail out! $printer failed"; exit 1; }
    [ -s "$tmp/keys" ] || { echo "Bail out! $printer printed no key"; exit 1; }
    while IFS=$'\t' read -r name def allowed help; do
        entry "$page" "$name" >"$tmp/entry"
        if [ ! -s "$tmp/entry" ]; then
            fail "$name ($help) is documented: no entry *$name* in $(basename "$page")"
            continue
        fi
        got=$(sed -n 's/^\tDefault: \(.*\)\. Allowed: \(.*\)\.$/\1|\2/p' "$tmp/entry")
        if [ "$got" = "$def|$allowed" ]; then
            ok "$name: default $def, $allowed"
        else
            printf 'page:  %s\ntable: %s\n' "${got:-no line 'Default: D. Allowed: A.'}" \
                "$def|$allowed" >"$tmp/diff"
            fail "$name: the page's default and allowed values are the table's" "$tmp/diff"
        fi
    done <"$tmp/keys"
    # A key the code no longer has.
    grep -o '^\*[a-z]*\.[a-z_]*\*' "$page" | tr -d '*' | sort -u >"$tmp/documented"
    cut -f1 "$tmp/keys" | sort -u >"$tmp/known"
    comm -23 "$tmp/documented" "$tmp/known" >"$tmp/stale"
    if [ -s "$tmp/stale" ]; then
        fail "the page documents only keys of the table (stale: $(tr '\n' ' ' <"$tmp/stale"))"
    else
        ok "the page documents only keys of the table ($(wc -l <"$tmp/documented") keys)"
    fi
}

# The options GOption lists in a --help text: "  -n, --lines=N  ..." or "  --json  ...".
options_of() {
    sed -n -E 's/^  (-[A-Za-z], )?(--[a-z][a-z-]*).*/\1\2/p' | tr ',' ' '
}

check_verbs() { # page vmbalancectl
    local page=$1 ctl=$2 verb opt missing usage
    "$ctl" help >"$tmp/help" 2>&1 || { echo "Bail out! $ctl help failed"; exit 1; }
    awk '/^Commands:/ { inside = 1; next } inside && /^$/ { exit } inside { print $1 }' \
        "$tmp/help" >"$tmp/verbs"
    [ -s "$tmp/verbs" ] || { echo "Bail out! no command in \`vmbalancectl help\`"; exit 1; }
    section "$page" COMMANDS >"$tmp/commands"
    while read -r verb; do
        entry "$tmp/commands" "$verb" >"$tmp/entry"
        if [ ! -s "$tmp/entry" ]; then
            fail "vmbalancectl $verb is documented: no entry *$verb* under COMMANDS"
            continue
        fi
        "$ctl" "$verb" --help >"$tmp/verb-help" 2>&1
        missing=
        for opt in $(options_of <"$tmp/verb-help"); do
            case $opt in -h | --help) continue ;; esac
            grep -qF -- "*$opt*" "$tmp/entry" || missing="$missing $opt"
        done
        if [ -z "$missing" ]; then
            ok "vmbalancectl $verb and its options are documented"
        else
            fail "vmbalancectl $verb: options missing from its entry:$missing"
        fi
    done <"$tmp/verbs"
    usage=$(grep -m1 '^Usage: vmbalancectl' "$tmp/help")
    section "$page" OPTIONS >"$tmp/options"
    missing=
    for opt in $(grep -o '\[--[a-z-]*\]' <<<"$usage" | tr -d '[]'); do
        grep -qF -- "*$opt*" "$tmp/options" || missing="$missing $opt"
    done
    if [ -n "$usage" ] && [ -z "$missing" ]; then
        ok "the options of '$usage' are documented"
    else
        fail "vmbalancectl's own options are documented (missing:${missing:- the usage line})"
    fi
}

check_options() { # page vmbalanced
    local page=$1 daemon=$2 opt missing="" head
    "$daemon" --help >"$tmp/help" 2>&1 || { echo "Bail out! $daemon --help failed"; exit 1; }
    options_of <"$tmp/help" >"$tmp/opts"
    [ -s "$tmp/opts" ] || { echo "Bail out! no option in \`vmbalanced --help\`"; exit 1; }
    section "$page" OPTIONS >"$tmp/options"
    for opt in $(cat "$tmp/opts"); do
        grep -qF -- "*$opt*" "$tmp/options" || missing="$missing $opt"
    done
    if [ -z "$missing" ]; then
        ok "every option of vmbalanced --help is documented ($(wc -w <"$tmp/opts") names)"
    else
        fail "options of vmbalanced --help missing from OPTIONS:$missing"
    fi
    for head in SIGNALS ENVIRONMENT FILES JOURNAL "EXIT STATUS"; do
        if section "$page" "$head" | grep -q .; then
            ok "section $head"
        else
            fail "section $head"
        fi
    done
}

check_render() { # pages...
    command -v man >/dev/null || skip "man not found (Debian package man-db)"
    local page
    for page in "$@"; do
        MANWIDTH=80 man --warnings -l "$page" >"$tmp/out" 2>"$tmp/err"
        if [ -s "$tmp/err" ] || [ ! -s "$tmp/out" ]; then
            [ -s "$tmp/out" ] || echo "(no output)" >>"$tmp/err"
            fail "man --warnings -l $(basename "$page"): no warning" "$tmp/err"
        else
            ok "man --warnings -l $(basename "$page"): no warning ($(wc -l <"$tmp/out") lines)"
        fi
    done
}

case $mode in
keys) check_keys "$@" ;;
verbs) check_verbs "$@" ;;
options) check_options "$@" ;;
render) check_render "$@" ;;
*)
    echo "Bail out! unknown mode $mode"
    exit 1
    ;;
esac
echo "1..$n"
[ "$fails" -eq 0 ]
