#!/bin/bash
# shellcheck disable=SC2016,SC2034,SC2119,SC1091 # check() evals its condition later; lib.sh sets and reads the shared variables
# Scenario 14: a guest's own policy set with `virsh metadata` while the daemon runs. x and y
# (own guests, 100 % each) both start on pCPU 0; right after the daemon starts (its first
# cycle only measures) both get <vmbalance:policy cpu="off"/>: the metadata-change event
# reaches the daemon before its second cycle, so neither is ever moved (5 cycles). Then x's
# metadata is removed: x is moved by the first cycle after the daemon saw the change (its log
# line; the event took 2-4 s on a loaded CI machine) and within 4 cycles of virsh, y still
# never moves. Invalid
# metadata on y is said once (a warning naming domain, attribute and value) and y falls back
# to the host's settings.
NAME=s14-metadata
source "$(dirname "$0")/lib.sh"

lab_begin c d m
start_own_guest x --duty 100 || bail "start x"
start_own_guest y --duty 100 || bail "start y"
pin_all x 0 || bail "pin x"
pin_all y 0 || bail "pin y"
EXCLUDE=${P}a,${P}b,${P}c,${P}d,${P}m start_cpu_daemon
set_policy x '<policy cpu="off"/>' || bail "virsh metadata x"
set_policy y '<policy cpu="off"/>' || bail "virsh metadata y"
T_SET=$(now)
diag "metadata cpu=off set on x and y $(elapsed "$T_LAUNCH" "$T_SET") s after launch"
check "metadata set within the first cycle" 'cmp "$(elapsed "$T_LAUNCH" "$T_SET")" "<" "$INTERVAL"'

MOVES=0 LAST=$(pins_now "$P"x "$P"y)
END_US=$(to_us "$T_LAUNCH" $((6 * INTERVAL)))
while [ "${EPOCHREALTIME/./}" -lt "$END_US" ]; do
	sleep 0.5
	CUR=$(pins_now "$P"x "$P"y)
	[ "$CUR" != "$LAST" ] && MOVES=$((MOVES + $(pin_diff "$LAST" "$CUR" | wc -l))) && LAST=$CUR
done
check "cpu=off: x and y not moved over 5 cycles ($MOVES pin changes)" '[ "$MOVES" = 0 ]'

remove_policy x || bail "remove x's metadata"
T_REMOVED=$(now)
T_MOVED=''
END_US=$(to_us "$T_REMOVED" $((4 * INTERVAL)))
while [ "${EPOCHREALTIME/./}" -lt "$END_US" ]; do
	sleep 0.5
	CUR=$(pins_now "$P"x "$P"y)
	pcpu() { awk -v d="$P$1" '$1 == d {print $3; exit}' <<<"$CUR"; }
	[ -z "$T_MOVED" ] && [ "$(pcpu x)" != 0 ] && T_MOVED=$(now)
	[ "$(pcpu y)" = 0 ] || Y_MOVED=1
done
[ -n "$T_MOVED" ] && diag "x moved $(elapsed "$T_REMOVED" "$T_MOVED") s after its metadata went"
# The daemon learns of the change from libvirt's metadata-change event; judged from there (the
# failed CI run re-read it 2-4 s after virsh returned, on a loaded 2-core machine): the re-read
# is logged, and the move is made by the first cycle after it.
SEEN=$(grep -m1 "domain ${P}x: its vmbalance:policy metadata is gone" "$TMP/daemon.log" | cut -d' ' -f1)
PINNED=$(grep -m1 "pin ${P}x vCPU 0" "$TMP/daemon.log" | cut -d' ' -f1)
secs() { local h m s; IFS=: read -r h m s <<<"$1"; echo $((10#$h * 3600 + 10#$m * 60 + 10#$s)); }
[ -n "$SEEN" ] && diag "the daemon saw the change at $SEEN, moved x at ${PINNED:-never}"
check "x balanced within a cycle of the daemon seeing its metadata go (seen ${SEEN:-never}, moved ${PINNED:-never}; $(elapsed "$T_REMOVED" "${T_MOVED:-$T_REMOVED}") s after virsh)" \
	'[ -n "$SEEN" ] && [ -n "$PINNED" ] && [ $(($(secs "$PINNED") - $(secs "$SEEN"))) -le "$INTERVAL" ] && [ -n "$T_MOVED" ]'
check "y (still cpu=off) never moved" '[ -z "${Y_MOVED:-}" ]'

set_policy y '<policy cpu="maybe"/>' || bail "virsh metadata y (invalid)"
sleep $((2 * INTERVAL))
BAD=$(daemon_count "warning: domain ${P}y: metadata vmbalance:policy .* refused: attribute 'cpu' = 'maybe': allowed auto or off")
check "invalid metadata said once, naming domain, attribute and value ($BAD)" '[ "$BAD" = 1 ]'
check "no other warnings from vmbalanced" '[ -z "$(daemon_bad_lines "domain ${P}y: metadata vmbalance:policy")" ]'
daemon_bad_lines "domain ${P}y: metadata vmbalance:policy" | sed 's/^/#   /'
stop_daemon
finish
