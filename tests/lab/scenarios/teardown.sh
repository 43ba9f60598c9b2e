#!/bin/bash
# shellcheck disable=SC2016,SC2034,SC2119,SC1091 # check() evals its condition later; lib.sh sets and reads the shared variables
# lab-teardown: ends the session lab-setup started: `lab.sh down` destroys the suite's
# guests and stops only the daemons that its `up` started (pid files in $VMB_LAB_STATE).
NAME=teardown
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "the lab needs root"
[ -f "$SESSION" ] || skip "no lab session to tear down ($SESSION)"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmb-lab-teardown.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
t=$(now)
rm -f "$SESSION"
if "$LAB" down >"$TMP/down.log" 2>&1; then
	sed 's/^lab: /# /' "$TMP/down.log"
	ok "lab down ($(since "$t") s)"
else
	sed 's/^/# /' "$TMP/down.log"
	notok "lab down"
fi
left=$(virsh_ list --all --name 2>/dev/null | grep "^$P" || true)
check "no suite guest left (${left:-none})" '[ -z "$left" ]'
finish
