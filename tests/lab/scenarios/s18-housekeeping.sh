#!/bin/bash
# shellcheck disable=SC2016,SC2034,SC2119,SC1091 # check() evals its condition later; lib.sh sets and reads the shared variables
# Scenario 18: [cpu] housekeeping_cpus = 1 on the 2-pCPU host. Own guests x and y (50 % each,
# floating; x gets a live IOThread first) are managed; the shared guests are excluded. The
# daemon pins x's and y's emulator threads (and x's IOThread) to pCPU 1 by cycle 2, keeps
# their vCPUs off pCPU 1 (both on pCPU 0 by cycle 3, never on 1 for 6 cycles), leaves the
# excluded a alone; an operator's `virsh emulatorpin x 0` (the QEMU driver's tunable event)
# is said once and pinned back within 2 cycles (cpu.foreign_pins = override).
NAME=s18-housekeeping
source "$(dirname "$0")/lib.sh"

# virsh -q prints the affinity alone ("0-1"), without the "*: " of the table.
emulator_pin() { virsh_ emulatorpin "$1" 2>/dev/null | awk -F: 'NF {v = $NF; gsub(/ /, "", v); print v; exit}'; }
iothread_pin() { virsh_ iothreadinfo "$1" 2>/dev/null | awk -v id="$2" '$1 == id {print $2; exit}'; }
qemu_main_cpus() { awk '/^Cpus_allowed_list:/ {print $2}' "/proc/$(qemu_pid "$1")/status" 2>/dev/null; }

lab_begin a b c d m
[ "$(npcpus)" -ge 2 ] || skip "needs 2 host CPUs"
start_own_guest x --duty 50 || bail "start x"
start_own_guest y --duty 50 || bail "start y"
pin_all x all || bail "unpin x"
pin_all y all || bail "unpin y"
IOT=''
if virsh_ iothreadadd "$P"x 7 --live >/dev/null 2>&1; then
	IOT=7
	diag "x has IOThread 7 (affinity $(iothread_pin "$P"x 7))"
else
	diag "virsh iothreadadd failed here: the IOThread check is skipped"
fi
diag "before: emulator pins x $(emulator_pin "$P"x), y $(emulator_pin "$P"y), a $(emulator_pin "$P"a)"
EXCLUDE=${P}a,${P}b,${P}c,${P}d,${P}m start_daemon <<EOF2
[daemon]
interval = $INTERVAL
exclude = @EXCLUDE@
[cpu]
housekeeping_cpus = 1
[memory]
enabled = false
EOF2

# Until cycle 2 (+1.5 s): the emulator pins.
T_PIN=''
END_US=$(to_us "$T_LAUNCH" $((2 * INTERVAL)).5)
while [ "${EPOCHREALTIME/./}" -lt "$((END_US + 1000000))" ]; do
	sleep 0.5
	[ "$(emulator_pin "$P"x)" = 1 ] && [ "$(emulator_pin "$P"y)" = 1 ] && { T_PIN=$(now); break; }
done
[ -n "$T_PIN" ] && diag "x and y emulator threads on pCPU 1 $(elapsed "$T_LAUNCH" "$T_PIN") s after launch"
check "x and y emulator threads pinned to pCPU 1 by cycle 2" '[ -n "$T_PIN" ]'
diag "x's QEMU main thread Cpus_allowed_list: $(qemu_main_cpus x)"
check "x's QEMU main thread runs on pCPU 1 only" '[ "$(qemu_main_cpus x)" = 1 ]'
if [ -n "$IOT" ]; then
	check "x's IOThread pinned to pCPU 1" '[ "$(iothread_pin "$P"x "$IOT")" = 1 ]'
fi
check "excluded a's emulator threads not touched ($(emulator_pin "$P"a))" \
	'[ "$(emulator_pin "$P"a)" = 0-1 ]'

# vCPUs: off pCPU 1 for 6 cycles, both on pCPU 0 by cycle 3.
ON1='' T_BOTH=''
END_US=$(to_us "$T_LAUNCH" $((6 * INTERVAL)))
while [ "${EPOCHREALTIME/./}" -lt "$END_US" ]; do
	sleep 0.5
	CUR=$(pins_now "$P"x "$P"y)
	awk '$3 == 1' <<<"$CUR" | grep -q . && ON1=1
	[ -z "$T_BOTH" ] && [ "$(awk '$3 == 0' <<<"$CUR" | wc -l)" = 2 ] && T_BOTH=$(now)
done
[ -n "$T_BOTH" ] && diag "x and y vCPUs on pCPU 0 $(elapsed "$T_LAUNCH" "$T_BOTH") s after launch (cycle $(cycle_of "$T_BOTH"))"
check "no vCPU of x or y pinned to the housekeeping pCPU 1 over 6 cycles" '[ -z "$ON1" ]'
check "x and y vCPUs pinned to pCPU 0 by cycle 3" \
	'[ -n "$T_BOTH" ] && [ "$(cycle_of "$T_BOTH")" -le 3 ]'

# An operator moves x's emulator threads: pinned back (override), said once.
T_F=$(now)
virsh_ emulatorpin "$P"x 0 --live >/dev/null || bail "virsh emulatorpin x 0 --live"
T_BACK=''
END_US=$(to_us "$T_F" $((2 * INTERVAL + 1)))
while [ "${EPOCHREALTIME/./}" -lt "$END_US" ]; do
	sleep 0.5
	[ "$(emulator_pin "$P"x)" = 1 ] && { T_BACK=$(now); break; }
done
[ -n "$T_BACK" ] && diag "x's emulator threads back on pCPU 1 $(elapsed "$T_F" "$T_BACK") s after virsh emulatorpin"
check "the foreign emulator pin undone within 2 cycles" '[ -n "$T_BACK" ]'
SAID=$(daemon_count "domain ${P}x: its emulator threads were pinned to CPUs 0 by someone else")
check "the foreign emulator pin said once ($SAID)" '[ "$SAID" = 1 ]'
PINS=$(daemon_count "emulator threads and IOThreads pinned to CPUs 1 \(cpu.housekeeping_cpus\)")
diag "housekeeping pins made: $PINS (x, y, x again)"
check "3 housekeeping pins in all, none repeated per cycle ($PINS)" '[ "$PINS" = 3 ]'
check_no_warnings
stop_daemon
finish
