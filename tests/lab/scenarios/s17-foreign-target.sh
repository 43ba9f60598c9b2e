#!/bin/bash
# shellcheck disable=SC2016,SC2034,SC2119,SC1091 # check() evals its condition later; lib.sh sets and reads the shared variables
# Scenario 17: someone else sets a balloon target, the memory twin of s10 and s13. a (384 of
# 512 MiB, holding 96 MiB) is sized by vmbalanced until it rests in its band; then an operator
# runs `virsh setmem` to take it down to 40 MiB above what it uses (below the band's bottom).
# libvirt 9.0 reports no target for that (the live <currentMemory> follows actual), so the
# daemon sees the balloon leave where it may be and come to rest elsewhere. The verdict can
# only come at rest (two snapshots at one place), and under TCG the balloon may take many
# cycles to get to the operator's target: the notice is timed from when the balloon came to
# rest, not from virsh setmem. "At rest" is the first of the samples (libvirt's
# balloon.current every 0.25 s) from which the balloon stays within the daemon's tolerance
# (4 MiB + 0.5 %) of the target the notice names; the notice must come within 3 cycles of it
# (it needs two snapshots there: 2 cycles, plus the statistics period). The notice is waited
# for up to 24 cycles after virsh setmem: a move that never rests is said after 20 snapshots
# (VMB_BALLOON_WATCH_AWAY_MAX), plus its first snapshot, the verdict's and a margin. While the
# balloon moves a is judged, not sized: no memory change of a between virsh setmem and the
# notice.
#  1. memory.foreign_targets = override (the default): the change is said once within 3 cycles
#     of the balloon coming to rest, naming a, the new target and how to make it stick
#     (memory="off"), and vmbalanced sizes a again: it grows a by 16 MiB or more within 3
#     cycles of the notice.
#  2. respect (a new daemon, on a private bus for vmbalancectl; libvirt may report a's boot
#     <currentMemory> while the balloon rests where the first daemon left it: seen 384 vs 448
#     MiB): said once, "kept"; a stays at the operator's target for 5 cycles with no memory
#     change of a in the log, `vmbalancectl domain a` shows memory off from operator, and
#     `vmbalancectl domain a reset memory` hands it back: grown by 16 MiB or more within 3
#     cycles.
NAME=s17-foreign-target
source "$(dirname "$0")/lib.sh"

need_memory_coordinator
HELD=96
lab_begin a b c d m
ctl a 'duty 0' "mem $HELD" || bail "a: hold $HELD MiB"
set_memory 384 a || bail "set a to 384 MiB"

# settle: waits (up to 15 cycles) until a's balloon has not moved and vmbalanced has made no
# memory change of a for 3 cycles; sets SETTLED (KiB) and USED (actual - usable, MiB). Both:
# on a guest just booted its workload still allocates, and the daemon sizes it with the balloon
# still for a few cycles; a request of the daemon's in the second after virsh setmem replaces
# the operator's target in QEMU before the balloon moves, and libvirt 9.0 shows no target, so
# nobody could see that setmem (seen: a still at 365 MiB after setmem 209M, the daemon's grow
# 1 s after it; README, "Sharing the host").
settle() {
	local end quiet cur prev='' st changes n
	end=$(to_us "$(now)" $((15 * INTERVAL)))
	quiet=$(to_us "$(now)" $((3 * INTERVAL)))
	changes=$(daemon_count "set ${P}a memory")
	while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
		cur=$(balloon_current a)
		n=$(daemon_count "set ${P}a memory")
		if [ -z "$prev" ] || [ "${cur:-0}" -gt $((prev + 2048)) ] || [ "${cur:-0}" -lt $((prev - 2048)) ] ||
			[ "$n" != "$changes" ]; then
			prev=$cur changes=$n
			quiet=$(to_us "$(now)" $((3 * INTERVAL)))
		fi
		[ "${EPOCHREALTIME/./}" -ge "$quiet" ] && break
		daemon_alive || bail "vmbalanced died"
		sleep 0.5
	done
	[ "${EPOCHREALTIME/./}" -ge "$quiet" ] || bail "a did not settle within 15 cycles (balloon still, no change of it)"
	st=$(stats_now)
	SETTLED=$(stat_of "$st" "$P"a balloon.current)
	USED=$(((SETTLED - $(stat_of "$st" "$P"a balloon.usable)) / 1024))
	diag "a settled at $((SETTLED / 1024)) MiB ($USED MiB in use)"
}

# foreign_setmem: the operator's `virsh setmem`, 40 MiB above what a uses; sets TARGET (MiB),
# T_SET.
foreign_setmem() {
	TARGET=$((USED + 40))
	[ "$TARGET" -lt $((SETTLED / 1024 - 16)) ] || bail "a rests too low ($((SETTLED / 1024)) MiB) to take it down"
	T_SET=$(now)
	virsh_ setmem "$P"a "${TARGET}M" --live >/dev/null || bail "virsh setmem a ${TARGET}M"
	diag "operator: virsh setmem ${P}a ${TARGET}M (from $((SETTLED / 1024)) MiB)"
}

# wait_notice REGEX: waits up to NOTICE_CYCLES cycles after T_SET for the notice, sampling a's
# balloon every 0.25 s; sets T_NOTICE (or ''), NOTICE_MIB (the new target it names), T_REST
# (when the balloon came to rest at that target, see the header; '' if it never did) and
# JUDGED_CHANGES (memory changes of a logged from virsh setmem to the notice).
wait_notice() {
	local end n0 cur last rest
	local -a ts=() kib=()
	T_NOTICE=''
	n0=$(daemon_count "set ${P}a memory")
	end=$(to_us "$T_SET" $((NOTICE_CYCLES * INTERVAL)))
	while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
		cur=$(balloon_current a)
		[ -n "$cur" ] && { ts+=("$(now)"); kib+=("$cur"); }
		if [ "$(daemon_count "$1")" -gt 0 ]; then
			T_NOTICE=$(now)
			break
		fi
		daemon_alive || bail "vmbalanced died"
		sleep 0.25
	done
	JUDGED_CHANGES=$(($(daemon_count "set ${P}a memory") - n0))
	NOTICE_MIB=$(grep -oE "domain ${P}a: its balloon target was set to [0-9]+ MiB" "$TMP/daemon.log" |
		head -1 | grep -oE '[0-9]+ MiB$' | grep -oE '[0-9]+')
	rest_at "${NOTICE_MIB:-0}" ts kib
	last=${kib[*]: -1} rest=never
	[ -n "$T_REST" ] && rest="$(elapsed "$T_SET" "$T_REST") s after virsh setmem"
	diag "a's balloon: ${#kib[@]} samples, $((${kib[0]:-0} / 1024)) -> $((${last:-0} / 1024)) MiB, at rest at the named target $rest"
	[ -n "$T_NOTICE" ] && diag "notice $(elapsed "$T_SET" "$T_NOTICE") s after virsh setmem: $(grep -oE "domain ${P}a: its balloon target .*" "$TMP/daemon.log" | head -1)"
}

# rest_at MIB TIMES KIBS: sets T_REST to the first of the samples (arrays named TIMES and KIBS)
# from which the balloon stays within the daemon's tolerance of MIB, up to the last sample near
# it (later ones may be vmbalanced growing a after its notice); '' when none is near it.
rest_at() {
	local -n rt=$2 rk=$3
	local ref=$(($1 * 1024)) tol i
	tol=$((4096 + ref / 200))
	T_REST=''
	near_ref() { [ "${rk[$1]}" -ge $((ref - tol)) ] && [ "${rk[$1]}" -le $((ref + tol)) ]; }
	i=$((${#rk[@]} - 1))
	while [ "$i" -ge 0 ] && ! near_ref "$i"; do i=$((i - 1)); done
	[ "$i" -ge 0 ] || return 0
	while [ "$i" -gt 0 ] && near_ref $((i - 1)); do i=$((i - 1)); done
	T_REST=${rt[$i]}
}

# grown_after T: waits up to 3 cycles after T for a to grow 16 MiB above TARGET; sets T_GROWN.
grown_after() {
	local end cur
	T_GROWN=''
	end=$(to_us "$1" $((3 * INTERVAL + 1)))
	while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
		cur=$(balloon_current a)
		if [ "${cur:-0}" -ge $(((TARGET + 16) * 1024)) ]; then
			T_GROWN=$(now)
			diag "a grown to $((cur / 1024)) MiB $(elapsed "$1" "$T_GROWN") s after"
			break
		fi
		sleep 0.25
	done
}

NOTICE_TAIL='by someone else \(vmbalanced had it at [0-9]+ MiB\)'
LIMIT=$(awk -v i="$INTERVAL" 'BEGIN {print 3 * i + 1.5}')
NOTICE_CYCLES=24

# check_notice WHAT: the notice came, within 3 cycles of the balloon coming to rest, and a was
# not sized while its move was judged.
check_notice() {
	DT=${T_NOTICE:+${T_REST:+$(elapsed "$T_REST" "$T_NOTICE")}}
	check "$1: the foreign target is said within 3 cycles of the balloon coming to rest (${DT:-never} s <= $LIMIT s)" \
		'[ -n "$DT" ] && cmp "$DT" "<=" "$LIMIT"'
	check "$1: a is not sized while its move is judged ($JUDGED_CHANGES memory changes of a from virsh setmem to the notice)" \
		'[ -n "$T_NOTICE" ] && [ "$JUDGED_CHANGES" = 0 ]'
}

# ---- 1. override ----
EXCLUDE=${P}b,${P}c,${P}d,${P}m start_mem_daemon "foreign_targets = override"
settle
foreign_setmem
wait_notice "domain ${P}a: its balloon target was set to [0-9]+ MiB $NOTICE_TAIL: the memory coordinator .*memory.foreign_targets = override.*memory=\"off\""
check_notice override
check "override: the notice names the new target ($NOTICE_MIB MiB, virsh setmem $TARGET MiB)" \
	'[ -n "$NOTICE_MIB" ] && [ "$NOTICE_MIB" -ge $((TARGET - 8)) ] && [ "$NOTICE_MIB" -le $((TARGET + 8)) ]'
grown_after "${T_NOTICE:-$T_SET}"
check "override: vmbalanced sizes a again (grown 16 MiB above the operator's target within 3 cycles)" \
	'[ -n "$T_GROWN" ]'
sleep $((2 * INTERVAL))
NOTICES=$(daemon_count "domain ${P}a: its balloon target was set to .*by someone else")
check "override: said once ($NOTICES)" '[ "$NOTICES" = 1 ]'
check_no_warnings
stop_daemon

# ---- 2. respect ----
start_private_bus
EXCLUDE=${P}b,${P}c,${P}d,${P}m start_mem_daemon "foreign_targets = respect"
settle
foreign_setmem
wait_notice "domain ${P}a: its balloon target was set to [0-9]+ MiB $NOTICE_TAIL: kept.*memory.foreign_targets = respect"
check_notice respect
[ -n "$T_NOTICE" ] || bail "no notice: nothing kept to judge"
# Kept for 5 cycles: a's balloon stays at the operator's target, no change of a is made.
N0=$(daemon_count "set ${P}a memory")
LO=999999999 HI=0
END_US=$(to_us "$T_NOTICE" $((5 * INTERVAL)))
while [ "${EPOCHREALTIME/./}" -lt "$END_US" ]; do
	cur=$(balloon_current a)
	[ -n "$cur" ] && { [ "$cur" -lt "$LO" ] && LO=$cur; [ "$cur" -gt "$HI" ] && HI=$cur; }
	sleep 0.5
done
N1=$(daemon_count "set ${P}a memory")
diag "a over the 5 cycles after the notice: $((LO / 1024))-$((HI / 1024)) MiB, $((N1 - N0)) memory changes"
check "respect: a kept at the operator's $TARGET MiB for 5 cycles ($((LO / 1024))-$((HI / 1024)) MiB)" \
	'[ "$LO" -ge $(((TARGET - 8) * 1024)) ] && [ "$HI" -le $(((TARGET + 8) * 1024)) ]'
check "respect: no memory change of a in those 5 cycles ($((N1 - N0)))" '[ "$N1" = "$N0" ]'
vmbctl domain "$P"a >"$TMP/domain.out" 2>&1 || diag "$(cat "$TMP/domain.out")"
check "vmbalancectl domain a shows the operator's target as the source" \
	'grep -Eq "^  memory +off +from operator$" "$TMP/domain.out"'
NOTICES=$(daemon_count "domain ${P}a: its balloon target was set to .*by someone else")
check "respect: said once ($NOTICES)" '[ "$NOTICES" = 1 ]'

# Handed back: sized again.
vmbctl domain "$P"a reset memory >"$TMP/reset.out" 2>&1 || bail "vmbalancectl domain a reset memory: $(cat "$TMP/reset.out")"
T_RESET=$(now)
grown_after "$T_RESET"
check "a handed back: grown 16 MiB above the operator's target within 3 cycles of the reset" \
	'[ -n "$T_GROWN" ]'
check_no_warnings
stop_daemon
finish
