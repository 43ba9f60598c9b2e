#!/bin/bash
# shellcheck disable=SC2016,SC2034,SC2119,SC1091 # check() evals its condition later; lib.sh sets and reads the shared variables
# Scenario 11: a guest that takes memory back by itself. z (<memballoon autodeflate='on'>,
# 384/512 MiB, idle) is shrunk by vmbalanced (memory interval 20 s, max_shrink_mib 1024 so it
# goes to its band in one step); then its demand jumps 32 -> 300 MiB at 50 MiB/s, well
# before the daemon's next cycle, and the guest deflates its balloon on its own (deflate on
# OOM) instead of OOM-killing. vmbalanced must accept that: libvirt's balloon.current of z
# never goes back down by more than 16 MiB over the next 3 cycles, no OOM kill on z's
# console, no warning.
NAME=s11-autodeflate
source "$(dirname "$0")/lib.sh"

need_memory_coordinator
MEMI=20
lab_begin
start_own_guest z --transient --autodeflate --mem 384 --maxmem 512 || bail "start z (autodeflate)"
KILL0=$(console_count z 'memory child killed')
A0=$(balloon_current z)
diag "z before: balloon.current $((A0 / 1024)) MiB"

INTERVAL=$MEMI EXCLUDE=$(virsh_ list --name | grep "^$P" | grep -v "^${P}z$" | paste -sd, -) \
	start_mem_daemon "max_shrink_mib = 1024"
# The first cycle shrinks z; follow-ups (stats_period + 1 s) measure its rate; then 20 s.
A1=$A0
for ((i = 0; i < 40; i++)); do
	sleep 0.25
	A1=$(balloon_current z)
	[ "$A1" -lt $((A0 - 64 * 1024)) ] && break
done
sleep 5
A1=$(balloon_current z)
diag "z shrunk by vmbalanced: $((A0 / 1024)) -> $((A1 / 1024)) MiB"
[ "$A1" -lt $((A0 - 64 * 1024)) ] || bail "vmbalanced did not shrink z first (nothing to deflate from)"

T_RAMP=$(now)
N0=$(grep -c "set ${P}z memory" "$TMP/daemon.log")
ctl z 'mem 300 50' || bail "start z's ramp"
# Watch until 3 daemon intervals after the ramp.
PEAK=$A1 PEAK_AT='' LOW_AFTER=999999999 DONE='' SELF=$A1
END_US=$(to_us "$T_RAMP" $((3 * MEMI + 2)))
while [ "${EPOCHREALTIME/./}" -lt "$END_US" ]; do
	c=$(balloon_current z)
	if [ -n "$c" ]; then
		# before vmbalanced's next change to z, any rise is the guest's own
		[ "$(grep -c "set ${P}z memory" "$TMP/daemon.log")" = "$N0" ] && [ "$c" -gt "$SELF" ] && SELF=$c
		if [ "$c" -gt "$PEAK" ]; then
			PEAK=$c PEAK_AT=$(since "$T_RAMP") LOW_AFTER=$c
		elif [ "$c" -lt "$LOW_AFTER" ]; then
			LOW_AFTER=$c
		fi
	fi
	[ -z "$DONE" ] && "$LAB" ctl z status 2>/dev/null | grep -q 'held_mib=300 ' && DONE=$(since "$T_RAMP")
	daemon_alive || break
	sleep 0.5
done
A2=$(balloon_current z)
KILLS=$(($(console_count z 'memory child killed') - KILL0))
KERNEL=$(console_count z 'Out of memory')
diag "ramp to 300 MiB held after ${DONE:-never} s; balloon.current peak $((PEAK / 1024)) MiB at +${PEAK_AT:-?} s, lowest after the peak $((LOW_AFTER / 1024)) MiB, end $((A2 / 1024)) MiB"
grep -E "${P}z memory|${P}z took" "$TMP/daemon.log" | grep -v debug | sed 's/^/#   /'
check "z deflated its balloon by itself before vmbalanced's next change ($((A1 / 1024)) -> $((SELF / 1024)) MiB)" \
	'[ "$SELF" -gt $((A1 + 32 * 1024)) ]'
check "vmbalanced did not take it back (lowest after the peak $((LOW_AFTER / 1024)) MiB >= peak - 16)" \
	'[ "$LOW_AFTER" -ge $((PEAK - 16 * 1024)) ]'
check "no OOM kill on z's console ($KILLS workload, $KERNEL kernel)" '[ "$KILLS" = 0 ] && [ "$KERNEL" = 0 ]'
check_no_warnings
stop_daemon
finish
