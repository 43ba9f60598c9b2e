#!/bin/bash
# shellcheck disable=SC2016,SC2034,SC2119,SC1091 # check() evals its condition later; lib.sh sets and reads the shared variables
# Scenario 10: someone else pins a vCPU. a and b (100 % each) are balanced on pCPUs 0 and 1
# and vmbalanced leaves them alone; then an operator runs `virsh vcpupin` to put b on a's
# pCPU. libvirt announces it (tunable event), so the daemon must see it at its next cycle
# and separate them again within 3 cycles (without the event it would notice only at its
# periodic pin re-read, up to 10 cycles later), then stay put, and say once what happened and
# how to make such a pin stick (cpu.foreign_pins = override, the default; s13 respects it).
NAME=s10-foreign-pin
source "$(dirname "$0")/lib.sh"

lab_begin a b c d m
setup_cpu_guests a=100@0 b=100@1
EXCLUDE=${P}c,${P}d,${P}m start_cpu_daemon
sleep $((3 * INTERVAL))
BEFORE=$(pins_now "$P"a "$P"b)
diag "before: $(echo "$BEFORE" | awk '{printf "%s/%s->%s ", $1, $2, $3}')"
pcpu_of() { awk -v d="$P$1" '$1 == d {print $3; exit}' <<<"$2"; }
[ "$(pcpu_of a "$BEFORE")" != "$(pcpu_of b "$BEFORE")" ] || bail "a and b not apart before the foreign pin"

FROM=$(pcpu_of a "$BEFORE")
T_PIN=$(now)
virsh_ vcpupin "$P"b 0 "$FROM" >/dev/null || bail "virsh vcpupin b 0 $FROM"
diag "operator: virsh vcpupin ${P}b 0 $FROM (onto a's pCPU)"
T_APART='' CHANGES=0 LAST=$(pins_now "$P"a "$P"b)
END_US=$(to_us "$T_PIN" $((10 * INTERVAL)))
while [ "${EPOCHREALTIME/./}" -lt "$END_US" ]; do
	sleep 0.5
	CUR=$(pins_now "$P"a "$P"b)
	if [ "$CUR" != "$LAST" ]; then
		CHANGES=$((CHANGES + $(pin_diff "$LAST" "$CUR" | wc -l)))
		diag "  +$(since "$T_PIN") s: $(echo "$CUR" | awk '{printf "%s/%s->%s ", $1, $2, $3}')"
		LAST=$CUR
	fi
	if [ -z "$T_APART" ] && [ "$(pcpu_of a "$CUR")" != "$(pcpu_of b "$CUR")" ]; then
		T_APART=$(now)
		END_US=$(to_us "$T_APART" $((4 * INTERVAL)))
		AFTER0=$CHANGES
	fi
done
if [ -n "$T_APART" ]; then
	DT=$(elapsed "$T_PIN" "$T_APART")
	diag "apart again $DT s after the foreign pin ($CHANGES pin changes, $((CHANGES - AFTER0)) in the 4 cycles after)"
fi
LIMIT=$(awk -v i="$INTERVAL" 'BEGIN {print 3 * i + 1.5}')
check "a and b apart again within 3 cycles of the foreign pin (${DT:-never} s <= $LIMIT s)" \
	'[ -n "$T_APART" ] && cmp "$DT" "<=" "$LIMIT"'
check "no pin change in the 4 cycles after ($((CHANGES - ${AFTER0:-0})))" \
	'[ -n "$T_APART" ] && [ "$CHANGES" = "$AFTER0" ]'
# Said once, naming the domain, the vCPU, where it went and how to make it stick.
NOTICES=$(daemon_count "domain ${P}b: vCPU 0 was pinned to pCPU $FROM by someone else .*cpu.foreign_pins = override.*cpu=\"off\"")
check "the foreign pin is noticed once, with how to make it stick ($NOTICES)" '[ "$NOTICES" = 1 ]'
check_no_warnings
stop_daemon
finish
