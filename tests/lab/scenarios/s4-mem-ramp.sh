#!/bin/bash
# shellcheck disable=SC2016,SC2034,SC2119,SC1091 # check() evals its condition later; lib.sh sets and reads the shared variables
# Scenario 4: memory demand growing 8 MiB/s from 32 to 300 MiB in guest m, which starts at
# 256 MiB actual (512 MiB maximum): 300 MiB does not fit in 256 MiB (the guest OOM-kills its
# memory child at about 180 MiB held). vmbalanced must grow m ahead of the demand: the ramp
# completes, no OOM kill on m's console, and m's usable memory (libvirt balloon.usable,
# sampled every second) never falls below 24 MiB. Only m is managed (a-d are excluded).
NAME=s4-mem-ramp
source "$(dirname "$0")/lib.sh"

need_memory_coordinator
lab_begin a b c d m
reset_guests m
sleep 1
set_memory 256 m || bail "set m to 256 MiB"
OOM0=$(console_count m 'Out of memory: Killed process')
KILL0=$(console_count m 'memory child killed')
DONE0=$(console_count m 'mem target reached held_mib=300')
ST=$(stats_now)
diag "m before: actual $(($(stat_of "$ST" "$P"m balloon.current) / 1024)) MiB, usable $(($(stat_of "$ST" "$P"m balloon.usable) / 1024)) MiB, MemTotal $(($(stat_of "$ST" "$P"m balloon.available) / 1024)) MiB"

EXCLUDE=${P}a,${P}b,${P}c,${P}d start_mem_daemon
ctl m 'mem 300 8' || bail "start the ramp"
T_RAMP=$(now)

# Sample m's balloon every second until the ramp is done (34 s nominal) + 3 cycles.
MIN_USABLE=999999 MIN_AT='' GROWS=0 GROWN=0 PREV='' MAXCUR=0 FIRST_GROW='' T_DONE='' END_US=$(to_us "$T_RAMP" 70)
while [ "${EPOCHREALTIME/./}" -lt "$END_US" ]; do
	t=$(now)
	ST=$(stats_now)
	cur=$(stat_of "$ST" "$P"m balloon.current) use=$(stat_of "$ST" "$P"m balloon.usable)
	if [ -n "$cur" ] && [ -n "$use" ]; then
		el=$(awk -v a="$T_RAMP" -v b="$t" 'BEGIN {printf "%.0f", b - a}')
		held=$((32 + 8 * el > 300 ? 300 : 32 + 8 * el))
		[ -n "$PREV" ] && [ "$cur" -gt $((PREV + 1024)) ] && {
			GROWS=$((GROWS + 1)) GROWN=$((GROWN + cur - PREV))
			[ -n "$FIRST_GROW" ] || FIRST_GROW=$el
			diag "  +$el s: actual $((PREV / 1024)) -> $((cur / 1024)) MiB (demand ~$held MiB, usable $((use / 1024)) MiB)"
		}
		[ -n "$PREV" ] && [ "$cur" -lt $((PREV - 1024)) ] &&
			diag "  +$el s: actual $((PREV / 1024)) -> $((cur / 1024)) MiB (shrunk; demand ~$held MiB)"
		PREV=$cur
		[ "$cur" -gt "$MAXCUR" ] && MAXCUR=$cur
		[ "$use" -lt "$MIN_USABLE" ] && MIN_USABLE=$use MIN_AT="+$el s (demand ~$held MiB, actual $((cur / 1024)) MiB)"
	fi
	if [ -z "$T_DONE" ] && [ "$(console_count m 'mem target reached held_mib=300')" -gt "$DONE0" ]; then
		T_DONE=$t
		END_US=$(to_us "$t" $((3 * INTERVAL)))
	fi
	[ "$(console_count m 'memory child killed')" -gt "$KILL0" ] && { diag "  +$el s: OOM kill on m's console"; break; }
	daemon_alive || break
	sleep 1
done
OOM=$(($(console_count m 'Out of memory: Killed process') - OOM0))
KILLS=$(($(console_count m 'memory child killed') - KILL0))
RAMP=${T_DONE:+$(elapsed "$T_RAMP" "$T_DONE")}
diag "ramp 32 -> 300 MiB at 8 MiB/s: $([ -n "$RAMP" ] && echo "done in $RAMP s" || echo "not done"); first grow at +${FIRST_GROW:-?} s; $GROWS grows, +$((GROWN / 1024)) MiB; actual max $((MAXCUR / 1024)) MiB, final $((PREV / 1024)) MiB"
diag "lowest usable memory: $((MIN_USABLE / 1024)) MiB at $MIN_AT; OOM kills: $OOM kernel, $KILLS memory child"
check "the ramp to 300 MiB completes" '[ -n "$T_DONE" ]'
check "no OOM kill on m's console ($OOM kernel lines, $KILLS child kills)" '[ "$OOM" = 0 ] && [ "$KILLS" = 0 ]'
check "grown ahead of demand: usable never below 24 MiB (lowest $((MIN_USABLE / 1024)) MiB)" '[ "$MIN_USABLE" -ge $((24 * 1024)) ]'
check "m grew to hold 300 MiB (final actual $((PREV / 1024)) MiB >= 320 MiB)" '[ "${PREV:-0}" -ge $((320 * 1024)) ]'
check_no_warnings
stop_daemon
finish
