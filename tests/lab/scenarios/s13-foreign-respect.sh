#!/bin/bash
# shellcheck disable=SC2016,SC2034,SC2119,SC1091 # check() evals its condition later; lib.sh sets and reads the shared variables
# Scenario 13: s10 with cpu.foreign_pins = respect. a (excluded, so it never moves) and b
# (100 % each) are apart; an operator's `virsh vcpupin` puts b on a's pCPU. vmbalanced says so
# once and keeps the operator's pin for 5 cycles although a and b then share one pCPU, until
# `vmbalancectl domain b reset cpu` hands b back: then b leaves a's pCPU within 3 cycles.
NAME=s13-foreign-respect
source "$(dirname "$0")/lib.sh"

lab_begin a b c d m
setup_cpu_guests a=100@0 b=100@1
start_private_bus
EXCLUDE=${P}a,${P}c,${P}d,${P}m start_daemon <<EOF2
[daemon]
interval = $INTERVAL
exclude = @EXCLUDE@
[cpu]
foreign_pins = respect
[memory]
enabled = false
EOF2
sleep $((3 * INTERVAL))
pcpu_of() { awk -v d="$P$1" '$1 == d {print $3; exit}' <<<"$2"; }
BEFORE=$(pins_now "$P"a "$P"b)
[ "$(pcpu_of a "$BEFORE")" != "$(pcpu_of b "$BEFORE")" ] || bail "a and b not apart before the foreign pin"
FROM=$(pcpu_of a "$BEFORE")
virsh_ vcpupin "$P"b 0 "$FROM" >/dev/null || bail "virsh vcpupin b 0 $FROM"
T_PIN=$(now)
diag "operator: virsh vcpupin ${P}b 0 $FROM (onto a's pCPU), cpu.foreign_pins = respect"

# Kept for 5 cycles: b stays where the operator put it.
MOVED_B=0
END_US=$(to_us "$T_PIN" $((5 * INTERVAL)))
while [ "${EPOCHREALTIME/./}" -lt "$END_US" ]; do
	sleep 0.5
	[ "$(pcpu_of b "$(pins_now "$P"b)")" = "$FROM" ] || MOVED_B=1
done
check "b kept on a's pCPU $FROM for 5 cycles after the operator's pin" '[ "$MOVED_B" = 0 ]'
NOTICES=$(daemon_count "domain ${P}b: vCPU 0 was pinned to pCPU $FROM by someone else .*kept.*cpu.foreign_pins = respect")
check "the kept pin is said once ($NOTICES)" '[ "$NOTICES" = 1 ]'
vmbctl domain "$P"b >"$TMP/domain.out" 2>&1 || diag "$(cat "$TMP/domain.out")"
check "vmbalancectl domain b shows the operator's pin as the source" \
	'grep -Eq "^  cpu +off +from operator$" "$TMP/domain.out"'

# Handed back: balanced again.
vmbctl domain "$P"b reset cpu >"$TMP/reset.out" 2>&1 || bail "vmbalancectl domain b reset cpu: $(cat "$TMP/reset.out")"
T_RESET=$(now)
T_APART=''
END_US=$(to_us "$T_RESET" $((4 * INTERVAL)))
while [ "${EPOCHREALTIME/./}" -lt "$END_US" ] && [ -z "$T_APART" ]; do
	sleep 0.5
	CUR=$(pins_now "$P"a "$P"b)
	[ "$(pcpu_of a "$CUR")" != "$(pcpu_of b "$CUR")" ] && T_APART=$(now)
done
[ -n "$T_APART" ] && diag "apart again $(elapsed "$T_RESET" "$T_APART") s after the reset"
check "b handed back: a and b apart within 3 cycles of the reset" \
	'[ -n "$T_APART" ] && cmp "$(elapsed "$T_RESET" "$T_APART")" "<=" "$((3 * INTERVAL)).5"'
check_no_warnings
stop_daemon
finish
