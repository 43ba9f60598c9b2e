#!/bin/bash
# shellcheck disable=SC2016,SC2034,SC2119,SC1091 # check() evals its condition later; lib.sh sets and reads the shared variables
# Scenario 15d: the host's own processes grow while a guest grows (issue 15, item 5). The
# idle guests a-d (384 MiB) first fill 200 MiB and free it (resident in QEMU: reclaiming them
# frees host memory). host_reserve_mib = MemAvailable - 300 MiB. Then a host-side hog takes
# 200 MiB at 20 MiB/s while m (256 MiB) ramps 32 -> 300 MiB at 10 MiB/s: together more than
# the headroom. vmbalanced must hold the reserve (MemAvailable sampled every 0.5 s, judged
# strictly, the hog counted: it is the host's own growth the daemon must make room for) by
# squeezing in the documented order: the idle guests are reclaimed before m is held back (no
# "guard" for m before the first reclaim of an idle guest), each of a-d gives at least 64 MiB,
# no OOM kill in a-d.
NAME=s15d-host-mem-hog
source "$(dirname "$0")/lib.sh"

need_memory_coordinator
IDLE=(a b c d)
ALL=(a b c d m)
HEADROOM=300 HOG_MIB=200
lab_begin a b c d m
reset_guests "${ALL[@]}"
set_memory 384 "${IDLE[@]}" || bail "set a-d to 384 MiB"
set_memory 256 m || bail "set m to 256 MiB"
touch_memory 200 "${IDLE[@]}"
declare -A KILL0 A0
for g in "${ALL[@]}"; do KILL0[$g]=$(console_count "$g" 'memory child killed') A0[$g]=$(balloon_current "$g"); done
AV0=$(mem_available_kib)
RESERVE=$((AV0 / 1024 - HEADROOM))
diag "host MemAvailable $((AV0 / 1024)) MiB: host_reserve_mib = $RESERVE (headroom $HEADROOM MiB); the hog takes $HOG_MIB MiB, m wants about 270 MiB more"
start_mem_daemon "host_reserve_mib = $RESERVE" "host_reserve_percent = 0"
sleep "$INTERVAL"

# The hog: $HOG_MIB MiB in 10 MiB steps every 0.5 s, touched and held until killed.
/usr/bin/python3 -c '
import sys, time
held = []
for _ in range(int(sys.argv[1]) // 10):
    b = bytearray(10 << 20)
    for i in range(0, len(b), 4096):
        b[i] = 1
    held.append(b)
    time.sleep(0.5)
time.sleep(3600)
' "$HOG_MIB" &
BG_PIDS+=($!)
ctl m 'mem 300 10' || bail "start m's ramp"
T0=$(now)
MIN=999999999 MIN_AT='' END_US=$(to_us "$T0" 50)
while [ "${EPOCHREALTIME/./}" -lt "$END_US" ]; do
	av=$(mem_available_kib)
	m=$((av - RESERVE * 1024))
	[ "$m" -lt "$MIN" ] && MIN=$m MIN_AT="+$(since "$T0") s"
	daemon_alive || break
	sleep 0.5
done
grep -E "set ${P}[a-dm] memory" "$TMP/daemon.log" | grep -v debug | sed 's/^/#   /'
FIRST_RECLAIM=$(grep -nE "set ${P}[a-d] memory: .*\((reclaim|squeeze|shrink)" "$TMP/daemon.log" | head -1 | cut -d: -f1)
FIRST_GUARD=$(grep -nE "set ${P}m memory: .*\(guard" "$TMP/daemon.log" | head -1 | cut -d: -f1)
GAVE='' KILLED=''
for g in "${IDLE[@]}"; do
	a=$(balloon_current "$g")
	[ "${a:-0}" -le $((A0[$g] - 64 * 1024)) ] || GAVE+="$g "
	[ "$(console_count "$g" 'memory child killed')" = "${KILL0[$g]}" ] || KILLED+="$g "
done
diag "lowest MemAvailable above the reserve: $((MIN / 1024)) MiB at ${MIN_AT:-?}"
check "the reserve held, strictly (lowest margin $((MIN / 1024)) MiB)" '[ "$MIN" -ge 0 ]'
check "idle guests were reclaimed before m was held back (first reclaim line ${FIRST_RECLAIM:-none}, first guard of m ${FIRST_GUARD:-none})" \
	'[ -n "$FIRST_RECLAIM" ] && { [ -z "$FIRST_GUARD" ] || [ "$FIRST_RECLAIM" -lt "$FIRST_GUARD" ]; }'
check "each idle guest gave at least 64 MiB (${GAVE:-all did})" '[ -z "$GAVE" ]'
check "no OOM kill in the idle guests (${KILLED:-none})" '[ -z "$KILLED" ]'
stop_daemon
finish
