#!/bin/bash
# shellcheck disable=SC2016,SC2034,SC2119,SC1091 # check() evals its condition later; lib.sh sets and reads the shared variables
# Scenario 8: libvirtd is killed (SIGKILL) and restarted while vmbalanced runs. The daemon
# must log the loss once (one warning line), reconnect, and keep balancing: four guests at
# 100/100/30/30 % sit balanced ({a,c} {b,d}); while libvirtd is down, b drops to 30 % and c
# rises to 100 % (through the guests' own control channel), which leaves 200 % on one pCPU.
# After the restart the daemon must rebalance (judged by `virsh vcpupin`) within 4 cycles of
# reconnecting. Only a libvirtd that this lab started (pid file in $VMB_LAB_STATE) is killed;
# any other is left alone and the scenario skips.
NAME=s8-libvirtd-restart
source "$(dirname "$0")/lib.sh"

lab_begin a b c d m
LPID=$(cat "$VMB_LAB_STATE/libvirtd.pid" 2>/dev/null || true)
if ! [[ $LPID =~ ^[0-9]+$ ]] || [ "$(cat "/proc/$LPID/comm" 2>/dev/null)" != libvirtd ]; then
	skip "libvirtd (pid $(pgrep -x libvirtd | head -1)) was not started by this lab (no live $VMB_LAB_STATE/libvirtd.pid): not killing it"
fi
setup_cpu_guests a=100@0 b=100@1 c=30@0 d=30@1
EXCLUDE=${P}m start_cpu_daemon memory
sleep $((2 * INTERVAL + 1))

# log_wait REGEX SECONDS: time (EPOCHREALTIME) the daemon log first matched, or "".
log_wait() {
	local end_us
	end_us=$(to_us "$(now)" "$2")
	while [ "${EPOCHREALTIME/./}" -lt "$end_us" ]; do
		grep -qE "$1" "$TMP/daemon.log" && { now; return 0; }
		sleep 0.1
	done
	return 1
}

PINS_BEFORE=$(pins_now "$P"a "$P"b "$P"c "$P"d)
T_KILL=$(now)
kill -KILL "$LPID" || bail "kill libvirtd $LPID"
diag "libvirtd (pid $LPID) killed with SIGKILL"
T_LOST=$(log_wait 'lost connection' 15) || T_LOST=
[ -n "$T_LOST" ] && diag "loss logged $(elapsed "$T_KILL" "$T_LOST") s after the kill"
set_duty b 30 && set_duty c 100 || bail "change the duties"
diag "while libvirtd is down: b 100 -> 30 %, c 30 -> 100 % ({a,c} now 200 % on one pCPU)"
SPEC="${P}a:0=100 ${P}b:0=30 ${P}c:0=100 ${P}d:0=30"
sleep $((2 * INTERVAL))
T_UP=$(now)
"$LAB" up >"$TMP/up.log" 2>&1 || { sed 's/^/# /' "$TMP/up.log"; bail "restart libvirtd (lab.sh up)"; }
diag "libvirtd restarted (pid $(cat "$VMB_LAB_STATE/libvirtd.pid")) $(elapsed "$T_KILL" "$T_UP") s after the kill"
T_BACK=$(log_wait 'reconnected to' 70) || T_BACK=
RECONNECT=${T_BACK:+$(elapsed "$T_UP" "$T_BACK")}
diag "reconnected ${RECONNECT:-never (70 s)}${RECONNECT:+ s after libvirtd was back}"
GONE=
for g in a b c d m; do dom_running "$P$g" || GONE+="$g "; done
check "the guests survived the libvirtd restart (${GONE:-all running})" '[ -z "$GONE" ]'
check "vmbalanced kept running" 'daemon_alive'
check "vmbalanced logged the loss" '[ -n "$T_LOST" ]'
check "vmbalanced reconnected within 20 s of libvirtd's return (${RECONNECT:-never} s)" '[ -n "$T_BACK" ] && cmp "$RECONNECT" "<=" 20'

# Keeps balancing: the placement left from before the outage is now unbalanced. Pin
# changes are counted from the pins before the kill.
T_REF=${T_BACK:-$(now)}
W_BASE=$PINS_BEFORE watch_placement "$SPEC" 8 4 "$P"a "$P"b "$P"c "$P"d
if [ -n "$W_T_OPT" ]; then
	diag "rebalanced $(elapsed "$T_REF" "$W_T_OPT") s = $W_REACT cycles after reconnecting ($(elapsed "$T_UP" "$W_T_OPT") s after libvirtd's return), $W_CHANGES pin changes, then $W_AFTER over 4 cycles: $W_PLACEMENT"
fi
check "balanced again within 4 cycles of reconnecting ($W_REACT)" '[ -n "$W_T_OPT" ] && [ "$W_REACT" -le 4 ]'
check "the daemon made the pin changes that rebalanced ($W_CHANGES)" '[ "$W_CHANGES" -ge 1 ]'
LOST=$(grep -cE '^[0-9:]+ warning: lost connection' "$TMP/daemon.log" || true)
check "the loss is logged once ($LOST warning lines)" '[ "$LOST" = 1 ]'
BAD=$(daemon_bad_lines 'lost connection to ')
check "no other warning or error from vmbalanced" '[ -z "$BAD" ]'
[ -n "$BAD" ] && sed 's/^/#   /' <<<"$BAD"
stop_daemon
finish
