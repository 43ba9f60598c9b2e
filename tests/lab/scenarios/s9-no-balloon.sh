#!/bin/bash
# shellcheck disable=SC2016,SC2034,SC2119,SC1091 # check() evals its condition later; lib.sh sets and reads the shared variables
# Scenario 9: guests the memory coordinator cannot manage. x has no balloon device
# (<memballoon model='none'/>), y has the device but its guest never loads virtio_balloon (no
# statistics, a balloon that never moves). Next to them m (320 MiB, idle) is managed as usual.
# vmbalanced must say so once per guest (a notice, not a warning every cycle), leave x and y
# alone (libvirt balloon.current unchanged), keep managing m (it shrinks), log no warning and
# keep running.
NAME=s9-no-balloon
source "$(dirname "$0")/lib.sh"

need_memory_coordinator
lab_begin m
reset_guests m
set_memory 320 m || bail "set m to 320 MiB"
start_own_guest x --transient --no-balloon || bail "start x (no balloon device)"
start_own_guest y --transient --no-balloon-driver || bail "start y (no balloon driver)"
ST0=$(stats_now)
declare -A A0
for g in m x y; do A0[$g]=$(stat_of "$ST0" "$P$g" balloon.current); done
diag "before: m ${A0[m]} KiB, x ${A0[x]} KiB, y ${A0[y]} KiB (balloon.current)"

start_mem_daemon
# Statistics are declared missing after stale_periods (5) x stats_period (1) s: 8 cycles
# leave room for that and for the notice to be repeated, were it not logged once.
sleep $((8 * INTERVAL))
daemon_alive && ALIVE=1 || ALIVE=0
ST1=$(stats_now)
declare -A A1
for g in m x y; do A1[$g]=$(stat_of "$ST1" "$P$g" balloon.current); done
diag "after $((8 * INTERVAL)) s: m ${A1[m]} KiB, x ${A1[x]} KiB, y ${A1[y]} KiB"
NX=$(grep -cE "^[0-9:]+ (notice|warning|info|message): $P"'x has no usable memory balloon' "$TMP/daemon.log")
NY=$(grep -cE "^[0-9:]+ (notice|warning|info|message): $P"'y reports no balloon statistics' "$TMP/daemon.log")
grep -E "$P(x|y) " "$TMP/daemon.log" | grep -v debug | sed 's/^/#   /'

check "x (no balloon device) reported once ($NX lines)" '[ "$NX" = 1 ]'
check "y (no balloon driver) reported once ($NY lines)" '[ "$NY" = 1 ]'
check "x and y left alone (balloon.current unchanged)" \
	'[ "${A1[x]}" = "${A0[x]}" ] && [ "${A1[y]}" = "${A0[y]}" ]'
check "m still managed: idle, it shrank ($((A0[m] / 1024)) -> $((A1[m] / 1024)) MiB)" \
	'[ "${A1[m]}" -lt $((A0[m] - 16 * 1024)) ]'
check "vmbalanced kept running" '[ "$ALIVE" = 1 ]'
check_no_warnings
stop_daemon
finish
