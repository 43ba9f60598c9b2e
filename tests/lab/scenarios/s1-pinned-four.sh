#!/bin/bash
# shellcheck disable=SC2016,SC2034,SC2119,SC1091 # check() evals its condition later; lib.sh sets and reads the shared variables
# Scenario 1: four 1-vCPU guests at 100/100/30/30 % duty, all pinned to pCPU 0. vmbalanced
# must reach the optimal placement within 3 cycles (cycle 1 only measures), then make no pin
# change for the next 10 cycles. Judged by `virsh vcpupin`.
NAME=s1-pinned-four
source "$(dirname "$0")/lib.sh"

lab_begin a b c d m
setup_cpu_guests a=100@0 b=100@0 c=30@0 d=30@0
sleep 1
S0=$(stats_now) T0=$(now)

EXCLUDE=${P}m start_cpu_daemon
watch_placement "$SPEC" 8 10 "$P"a "$P"b "$P"c "$P"d
S1=$(stats_now) T1=$(now)

diag_placements start:
if [ -n "$W_T_OPT" ]; then
	diag "converged: cycle $W_CYCLE ($(elapsed "$T_LAUNCH" "$W_T_OPT") s after launch), $W_CHANGES pin changes; then $W_AFTER pin changes over the next 10 cycles ($((10 * INTERVAL)) s)"
else
	diag "not balanced within 8 cycles; $W_CHANGES pin changes"
fi
diag "measured demand (time+delay, %) while running: $(vcpu_demand "$S0" "$T0" "$S1" "$T1" | awk -v p="$P" '{sub("^" p, "", $1); printf "%s=%s ", $1, $3}')"

check "optimal placement reached within 3 cycles (cycle $W_CYCLE)" '[ -n "$W_T_OPT" ] && [ "$W_CYCLE" -le 3 ]'
check "the placement stays optimal afterwards ($W_UNBALANCED unbalanced samples)" '[ "$W_UNBALANCED" = 0 ]'
check "zero pin changes over the 10 cycles after convergence ($W_AFTER)" '[ -n "$W_T_OPT" ] && [ "$W_AFTER" = 0 ]'
check "at most 4 pin changes to converge ($W_CHANGES)" '[ "$W_CHANGES" -le 4 ]'
check_no_warnings
stop_daemon
finish
