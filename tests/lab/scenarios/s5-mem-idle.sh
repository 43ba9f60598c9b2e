#!/bin/bash
# shellcheck disable=SC2016,SC2034,SC2119,SC1091 # check() evals its condition later; lib.sh sets and reads the shared variables
# Scenario 5: idle guests give their memory back. a-d (384 MiB actual, 512 max) first fill
# 200 MiB and free it again (the pages stay resident in QEMU), then idle at 32 MiB held.
# vmbalanced must shrink each toward floor + band: afterwards its usable memory is inside
# the band (not above high: 128 MiB for these sizes) or it is at the floor (128 MiB), never
# below the floor, within 8 cycles; and the host RSS of their QEMU processes (libvirt
# balloon.rss) must drop. Only a-d are managed.
NAME=s5-mem-idle
source "$(dirname "$0")/lib.sh"

need_memory_coordinator
GUESTS=(a b c d)
FLOOR=128 MIN_FREE=64
lab_begin a b c d m
reset_guests "${GUESTS[@]}"
set_memory 384 "${GUESTS[@]}" || bail "set a-d to 384 MiB"
t=$(now)
touch_memory 200 "${GUESTS[@]}"
diag "a-d filled 200 MiB and freed it again ($(since "$t") s)"
ST0=$(stats_now)
declare -A A0 R0 LAST
for g in "${GUESTS[@]}"; do
	A0[$g]=$(stat_of "$ST0" "$P$g" balloon.current)
	R0[$g]=$(stat_of "$ST0" "$P$g" balloon.rss)
done
diag "before: $(for g in "${GUESTS[@]}"; do printf '%s actual %d MiB rss %d MiB; ' "$g" $((A0[$g] / 1024)) $((R0[$g] / 1024)); done)"

EXCLUDE=${P}m start_mem_daemon "floor_mib = $FLOOR" "min_free_mib = $MIN_FREE"
declare -A PREV CH
for g in "${GUESTS[@]}"; do PREV[$g]=${A0[$g]} CH[$g]=0; done
END_US=$(to_us "$T_LAUNCH" $((12 * INTERVAL)))
QUIET_US=''
while [ "${EPOCHREALTIME/./}" -lt "$END_US" ]; do
	t=$(now)
	ST=$(stats_now)
	changed=0
	for g in "${GUESTS[@]}"; do
		cur=$(stat_of "$ST" "$P$g" balloon.current)
		[ -n "$cur" ] || continue
		if [ "$cur" -gt $((PREV[$g] + 1024)) ] || [ "$cur" -lt $((PREV[$g] - 1024)) ]; then
			diag "  +$(elapsed "$T_LAUNCH" "$t") s (cycle $(cycle_of "$t")): $g $((PREV[$g] / 1024)) -> $((cur / 1024)) MiB"
			PREV[$g]=$cur LAST[$g]=$t CH[$g]=$((CH[$g] + 1)) changed=1
		fi
	done
	# Done when nothing moved for 4 cycles.
	if [ $changed = 1 ] || [ -z "$QUIET_US" ]; then QUIET_US=$(to_us "$t" $((4 * INTERVAL))); fi
	[ "${EPOCHREALTIME/./}" -ge "$QUIET_US" ] && break
	daemon_alive || break
	sleep 1
done
sleep 1
ST1=$(stats_now)
LASTC=0 DROP_A=0 DROP_R=0 BAD_BAND='' BAD_FLOOR='' UNSHRUNK=''
for g in "${GUESTS[@]}"; do
	a=$(stat_of "$ST1" "$P$g" balloon.current) u=$(stat_of "$ST1" "$P$g" balloon.usable) r=$(stat_of "$ST1" "$P$g" balloon.rss)
	a_m=$((a / 1024)) u_m=$((u / 1024))
	# The band of actual A: low = max(15 % A, min_free), high = max(40 % A, low + min_free).
	read -r low high < <(awk -v a="$a_m" -v f="$MIN_FREE" 'BEGIN {l = 0.15 * a; if (l < f) l = f; h = 0.40 * a; if (h < l + f) h = l + f; printf "%d %d\n", l, h}')
	c=${LAST[$g]:+$(cycle_of "${LAST[$g]}")}
	[ "${c:-0}" -gt "$LASTC" ] && LASTC=$c
	diag "$g: actual $((A0[$g] / 1024)) -> $a_m MiB in ${CH[$g]} steps (last in cycle ${c:-none}), usable $u_m MiB (band $low-$high, used $((a_m - u_m)) MiB), QEMU rss $((R0[$g] / 1024)) -> $((r / 1024)) MiB"
	DROP_A=$((DROP_A + A0[$g] - a)) DROP_R=$((DROP_R + R0[$g] - r))
	[ "$u_m" -le $((high + 8)) ] || [ "$a_m" -le $((FLOOR + 4)) ] || BAD_BAND+="$g "
	[ "$a_m" -ge $((FLOOR - 4)) ] && [ "$u_m" -ge $((low - 16)) ] || BAD_FLOOR+="$g "
	[ "$a" -lt $((A0[$g] - 32 * 1024)) ] || UNSHRUNK+="$g "
done
diag "idle shrink: $((DROP_A / 1024)) MiB given back by a-d in $LASTC cycles; their QEMU rss dropped $((DROP_R / 1024)) MiB"
check "every idle guest shrank (${UNSHRUNK:-all did})" '[ -z "$UNSHRUNK" ]'
check "each ends in its band or at the floor (${BAD_BAND:-all})" '[ -z "$BAD_BAND" ]'
check "none below the floor or the band's bottom (${BAD_FLOOR:-none})" '[ -z "$BAD_FLOOR" ]'
check "converged within 8 cycles (last change in cycle $LASTC)" '[ "$LASTC" -ge 1 ] && [ "$LASTC" -le 8 ]'
check "host RSS of their QEMU processes dropped by at least half the memory given back ($((DROP_R / 1024)) of $((DROP_A / 1024)) MiB)" \
	'[ "$DROP_A" -gt 0 ] && [ $((2 * DROP_R)) -ge "$DROP_A" ]'
check_no_warnings
stop_daemon
finish
