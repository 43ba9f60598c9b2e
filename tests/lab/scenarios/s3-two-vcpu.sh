#!/bin/bash
# shellcheck disable=SC2016,SC2034,SC2119,SC1091 # check() evals its condition later; lib.sh sets and reads the shared variables
# Scenario 3: a 2-vCPU guest among 1-vCPU guests. e (2 vCPUs, 2 threads at 50 %) with a and b
# (80 %), every vCPU pinned to pCPU 0 (the idle session guests c, d, m float and are
# excluded). The only optimal placements put a and b apart and e's vCPUs apart
# ({a,e0} {b,e1}): vmbalanced must reach one within 5 cycles and keep it (no pin change over
# the next 5 cycles). Judged by `virsh vcpupin`.
NAME=s3-two-vcpu
source "$(dirname "$0")/lib.sh"

lab_begin a b c d m
start_own_guest e --vcpus 2 --threads 2 --duty 50 --mem 256 || bail "start the 2-vCPU guest e"
SPEC="${P}e:0=50 ${P}e:1=50 "
setup_cpu_guests a=80@0 b=80@0
pin_all e 0 || bail "pin e to pCPU 0"
for g in c d; do pin_all "$g" all || bail "unpin $g"; done
sleep 1
S0=$(stats_now) T0=$(now)
EXCLUDE=${P}c,${P}d,${P}m start_cpu_daemon
watch_placement "$SPEC" 8 5 "$P"a "$P"b "$P"e
S1=$(stats_now) T1=$(now)
diag_placements start:
E=$(pins_now "$P"e | awk '{printf "%s%s", (NR > 1 ? " " : ""), $3}')
if [ -n "$W_T_OPT" ]; then
	diag "balanced: cycle $W_CYCLE ($(elapsed "$T_LAUNCH" "$W_T_OPT") s after launch), $W_CHANGES pin changes; then $W_AFTER over 5 cycles; e's vCPUs on pCPUs $E"
fi
diag "measured demand (time+delay, %): $(vcpu_demand "$S0" "$T0" "$S1" "$T1" | awk -v p="$P" '{sub("^" p, "", $1); printf "%s/%s=%s ", $1, $2, $3}')"
check "balanced within 5 cycles (cycle $W_CYCLE)" '[ -n "$W_T_OPT" ] && [ "$W_CYCLE" -le 5 ]'
check "the 2-vCPU guest's vCPUs are on different pCPUs ($E)" '[ "$(wc -w <<<"$E")" = 2 ] && [ "${E% *}" != "${E#* }" ]'
check "zero pin changes over the 5 cycles after balance ($W_AFTER), stays balanced ($W_UNBALANCED)" \
	'[ -n "$W_T_OPT" ] && [ "$W_AFTER" = 0 ] && [ "$W_UNBALANCED" = 0 ]'
check "no ping-pong ($W_PINGPONG)" '[ "$W_PINGPONG" = 0 ]'
check_no_warnings
stop_daemon
finish
