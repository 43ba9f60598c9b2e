#!/bin/bash
# shellcheck disable=SC2016,SC2034,SC2119,SC1091 # check() evals its condition later; lib.sh sets and reads the shared variables
# Scenario 16: a guest whose persistent definition pins its vCPU (`virsh vcpupin --config`:
# <cputune><vcpupin> in the inactive XML, as OpenStack's dedicated CPUs are). p (own guest,
# 100 %) is pinned to pCPU 0 live and in its definition; a (100 %) shares pCPU 0. vmbalanced
# says once that it leaves p's vCPUs alone, never moves p, and counts p's load on pCPU 0: a
# moves away within 3 cycles.
NAME=s16-definition-pin
source "$(dirname "$0")/lib.sh"

lab_begin a b c d m
start_own_guest p --duty 100 || bail "start p"
virsh_ vcpupin "$P"p 0 0 --live --config >/dev/null || bail "virsh vcpupin p 0 0 --live --config"
virsh_ dumpxml --inactive "$P"p | grep -q "<vcpupin vcpu='0' cpuset='0'/>" ||
	bail "p's persistent definition has no vcpupin"
setup_cpu_guests a=100@0
EXCLUDE=${P}b,${P}c,${P}d,${P}m start_cpu_daemon

P_MOVED='' T_A=''
END_US=$(to_us "$T_LAUNCH" $((8 * INTERVAL)))
while [ "${EPOCHREALTIME/./}" -lt "$END_US" ]; do
	sleep 0.5
	CUR=$(pins_now "$P"p "$P"a)
	[ "$(awk -v d="$P"p '$1 == d {print $3; exit}' <<<"$CUR")" = 0 ] || P_MOVED=1
	[ -z "$T_A" ] && [ "$(awk -v d="$P"a '$1 == d {print $3; exit}' <<<"$CUR")" != 0 ] && T_A=$(now)
done
check "p (pinned by its definition) never moved over 8 cycles" '[ -z "$P_MOVED" ]'
[ -n "$T_A" ] && diag "a left pCPU 0 $(elapsed "$T_LAUNCH" "$T_A") s after launch (cycle $(cycle_of "$T_A"))"
check "p's load counted on pCPU 0: a moved away within 3 cycles" \
	'[ -n "$T_A" ] && [ "$(cycle_of "$T_A")" -le 3 ]'
SAID=$(daemon_count "domain ${P}p: vCPUs pinned by the definition \(<vcpupin>\): vmbalanced leaves its vCPUs alone")
check "the hands-off rule said once ($SAID)" '[ "$SAID" = 1 ]'
check_no_warnings
stop_daemon
finish
