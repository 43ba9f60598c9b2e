#!/bin/bash
# shellcheck disable=SC2016,SC2034,SC2119,SC1091 # check() evals its condition later; lib.sh sets and reads the shared variables
# Scenario 15b: s5's idle case with free page reporting (issue 15, item 1). r (<memballoon
# freePageReporting='on'>) and p (balloon only), both 384 of 512 MiB, fill 200 MiB and free
# it. r's freed pages go back to the host by themselves: its QEMU RSS (balloon.rss) drops
# without any balloon change, p's stays up. vmbalanced (only r and p managed) then shrinks p
# as in s5, and leaves r's balloon where it is (a shrink would only take pages the host has
# already), for 8 cycles. Reported: host memory regained per guest, measured from RSS
# (after the fill -> at the end), reporting against the balloon-only case.
NAME=s15b-mem-idle-reporting
source "$(dirname "$0")/lib.sh"

need_memory_coordinator
lab_begin
start_own_guest r --transient --free-page-reporting --mem 384 --maxmem 512 || bail "start r (free page reporting)"
start_own_guest p --transient --mem 384 --maxmem 512 || bail "start p (balloon only)"
for g in r p; do ctl "$g" "mem 200"; done
for g in r p; do
	for ((i = 0; i < 200; i++)); do
		"$LAB" ctl "$g" status 2>/dev/null | grep -q 'held_mib=200 ' && break
		sleep 0.2
	done
done
ST0=$(stats_now)
for g in r p; do ctl "$g" "mem 32"; done
sleep 10 # page reporting works in the background (2 s delay in the guest kernel)
ST1=$(stats_now)
declare -A A0 R0 R1
for g in r p; do
	A0[$g]=$(stat_of "$ST1" "$P$g" balloon.current)
	R0[$g]=$(stat_of "$ST0" "$P$g" balloon.rss) R1[$g]=$(stat_of "$ST1" "$P$g" balloon.rss)
	diag "$g after the fill: rss $((R0[$g] / 1024)) MiB; 10 s after freeing: rss $((R1[$g] / 1024)) MiB, actual $((A0[$g] / 1024)) MiB"
done
check "r's QEMU RSS dropped by itself (free page reporting in the guest): $(((R0[r] - R1[r]) / 1024)) MiB" \
	'[ $((R0[r] - R1[r])) -ge $((100 * 1024)) ]'

EXCLUDE=$(virsh_ list --name | grep "^$P" | grep -Ev "^${P}(r|p)$" | paste -sd, -) start_mem_daemon "floor_mib = 128"
sleep $((8 * INTERVAL))
ST2=$(stats_now)
declare -A A2 R2
for g in r p; do
	A2[$g]=$(stat_of "$ST2" "$P$g" balloon.current) R2[$g]=$(stat_of "$ST2" "$P$g" balloon.rss)
	diag "$g after 8 cycles: actual $((A0[$g] / 1024)) -> $((A2[$g] / 1024)) MiB, host memory regained since the fill (rss) $(((R0[$g] - R2[$g]) / 1024)) MiB"
done
grep -E "${P}(r|p) memory" "$TMP/daemon.log" | grep -v debug | sed 's/^/#   /'
check "p (balloon only) was shrunk ($((A0[p] / 1024)) -> $((A2[p] / 1024)) MiB)" '[ "${A2[p]}" -lt $((A0[p] - 32 * 1024)) ]'
check "r (reporting) was left where it is ($((A0[r] / 1024)) -> $((A2[r] / 1024)) MiB)" \
	'[ "${A2[r]}" -ge $((A0[r] - 16 * 1024)) ]'
check "r regained at least as much host memory as half of p's ($(((R0[r] - R2[r]) / 1024)) vs $(((R0[p] - R2[p]) / 1024)) MiB)" \
	'[ $((2 * (R0[r] - R2[r]))) -ge $((R0[p] - R2[p])) ]'
check_no_warnings
stop_daemon
finish
