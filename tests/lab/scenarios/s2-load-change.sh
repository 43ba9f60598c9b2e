#!/bin/bash
# shellcheck disable=SC2016,SC2034,SC2119,SC1091 # check() evals its condition later; lib.sh sets and reads the shared variables
# Scenario 2: a load change while vmbalanced runs. Four 1-vCPU guests at 70/70/20/20 %
# start balanced ({a,c} {b,d}, 90 % each); the daemon must leave that alone. Then b drops to
# 20 % and c rises to 70 %, which puts 140 % on one pCPU: the daemon must rebalance within 5 cycles,
# with at most 4 pin changes, no vCPU pinned back where it came from (ping-pong), and no
# pin change over the 8 cycles after that. Judged by `virsh vcpupin`.
NAME=s2-load-change
source "$(dirname "$0")/lib.sh"

lab_begin a b c d m
setup_cpu_guests a=70@0 b=70@1 c=20@0 d=20@1
sleep 1
EXCLUDE=${P}m start_cpu_daemon

diag "phase 1: balanced from the start, 4 cycles"
watch_placement "$SPEC" 1 4 "$P"a "$P"b "$P"c "$P"d
diag "placement: $W_PLACEMENT (max $W_MAX%, optimum $W_OPT%)"
check "a balanced placement is left alone ($((W_CHANGES + W_AFTER)) pin changes in 4 cycles)" \
	'[ -n "$W_T_OPT" ] && [ $((W_CHANGES + W_AFTER)) = 0 ]'

diag "phase 2: b 70 -> 20 %, c 20 -> 70 %"
set_duty b 20 && set_duty c 70 || bail "change the duties"
T_REF=$(now)
SPEC="${P}a:0=70 ${P}b:0=20 ${P}c:0=70 ${P}d:0=20"
watch_placement "$SPEC" 10 8 "$P"a "$P"b "$P"c "$P"d
diag_placements "after the change:"
if [ -n "$W_T_OPT" ]; then
	diag "rebalanced: $(elapsed "$T_REF" "$W_T_OPT") s = $W_REACT cycles after the load change, $W_CHANGES pin changes; then $W_AFTER pin changes over 8 cycles; ping-pong moves: $W_PINGPONG"
else
	diag "not rebalanced within 10 cycles ($W_CHANGES pin changes)"
fi
check "rebalanced within 5 cycles of the load change ($W_REACT)" '[ -n "$W_T_OPT" ] && [ "$W_REACT" -le 5 ]'
check "at most 4 pin changes to rebalance ($W_CHANGES)" '[ "$W_CHANGES" -le 4 ]'
check "no ping-pong: no vCPU pinned back to a pCPU it left ($W_PINGPONG)" '[ "$W_PINGPONG" = 0 ]'
check "zero pin changes over the 8 cycles after rebalancing ($W_AFTER), stays balanced ($W_UNBALANCED)" \
	'[ -n "$W_T_OPT" ] && [ "$W_AFTER" = 0 ] && [ "$W_UNBALANCED" = 0 ]'
check_no_warnings
stop_daemon
finish
