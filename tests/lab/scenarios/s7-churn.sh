#!/bin/bash
# shellcheck disable=SC2016,SC2034,SC2119,SC1091 # check() evals its condition later; lib.sh sets and reads the shared variables
# Scenario 7: churn. While vmbalanced runs (both tasks) on the session guests, guests are
# started and destroyed: x1 starts; x2 starts while x1 is destroyed; x3 starts and is
# destroyed about a second after it runs; x2 is destroyed. Each new guest's floating vCPU
# must be pinned (libvirt) at most one cycle after the first cycle that can see it
# (<= 2 intervals + 1.5 s after it runs), the other guests keep their pins, no warning or
# error escapes from the daemon, and it keeps running.
NAME=s7-churn
source "$(dirname "$0")/lib.sh"

lab_begin a b c d m
setup_cpu_guests a=60@all b=30@all c=0@all d=0@all
start_cpu_daemon memory
sleep $((2 * INTERVAL + 1))
SESSION_DOMS=("$P"a "$P"b "$P"c "$P"d "$P"m)
PINS0=$(pins_now "${SESSION_DOMS[@]}")

# bg_start NAME OPTIONS...: lab.sh start in the background (pid in BG_START[NAME]).
declare -A BG_START
bg_start() {
	local g=$1
	shift
	OWN_GUESTS+=("$g")
	"$LAB" start "$g" --transient "$@" >"$TMP/start-$g.log" 2>&1 &
	BG_START[$g]=$!
	BG_PIDS+=($!)
}
# await_pickup NAME: sets PICK_RUN (domain running) and PICK_PIN (its vCPU pinned to one
# pCPU) times, or leaves PICK_PIN empty after 40 s.
await_pickup() {
	local dom=$P$1 end_us a
	PICK_RUN='' PICK_PIN=''
	end_us=$(to_us "$(now)" 40)
	while [ "${EPOCHREALTIME/./}" -lt "$end_us" ]; do
		if [ -z "$PICK_RUN" ]; then
			dom_running "$dom" && PICK_RUN=$(now)
		else
			a=$(pins_now "$dom" | awk '{print $3; exit}')
			[[ $a =~ ^[0-9]+$ ]] && { PICK_PIN=$(now); return 0; }
		fi
		sleep 0.2
	done
	return 1
}
LIMIT=$(awk -v i="$INTERVAL" 'BEGIN {print 2 * i + 1.5}')
PICKUPS=() WORST=0
pickup_report() {   # NAME
	local r
	if [ -n "$PICK_PIN" ]; then
		r=$(elapsed "$PICK_RUN" "$PICK_PIN")
		diag "$1: running -> vCPU pinned to pCPU $(pins_now "$P$1" | awk '{print $3; exit}') in $r s ($(awk -v r="$r" -v i="$INTERVAL" 'BEGIN {printf "%.1f", r / i}') intervals)"
		PICKUPS+=("$1=${r}s")
		cmp "$r" ">" "$WORST" && WORST=$r
		check "$1 picked up within one cycle after the first that sees it ($r s <= $LIMIT s)" "cmp $r '<=' $LIMIT"
	else
		notok "$1 picked up (its vCPU was never pinned within 40 s of running)"
	fi
}

T_CHURN=$(now)
bg_start x1 --duty 40 --mem 256
await_pickup x1
pickup_report x1

bg_start x2 --duty 20 --mem 256
"$LAB" stop x1 >/dev/null 2>&1 && diag "x1 destroyed while x2 starts"
await_pickup x2
pickup_report x2

bg_start x3 --duty 10 --mem 256
for ((i = 0; i < 100; i++)); do dom_running "$P"x3 && break; sleep 0.1; done
sleep 1
"$LAB" stop x3 >/dev/null 2>&1 && diag "x3 destroyed about 1 s after it started running"
wait "${BG_START[x3]}" 2>/dev/null
sleep "$INTERVAL"
"$LAB" stop x2 >/dev/null 2>&1 && diag "x2 destroyed"
wait "${BG_START[x1]}" "${BG_START[x2]}" 2>/dev/null
sleep $((2 * INTERVAL + 1))
diag "churn took $(since "$T_CHURN") s; pick-up times: ${PICKUPS[*]}"

MOVED=$(pin_diff "$PINS0" "$(pins_now "${SESSION_DOMS[@]}")" | awk -v p="$P" '{sub("^" p, "", $1); printf "%s/%s %s->%s ", $1, $2, $3, $4}')
diag "session guests' pins changed during the churn: ${MOVED:-none}"
check "vmbalanced kept running through the churn" 'daemon_alive'
BAD=$(daemon_bad_lines)
check "no warning or error escaped from vmbalanced ($(grep -c . <<<"$BAD" || true) lines)" '[ -z "$BAD" ]'
[ -n "$BAD" ] && sed 's/^/#   /' <<<"$BAD"
check "the daemon saw every start and stop (domain events logged for x1-x3)" \
	'[ "$(grep -cE "domain ${P}x[123] .*(started|stopped)" "$TMP/daemon.log")" -ge 5 ]'
stop_daemon
finish
