# shellcheck shell=bash
# lib.sh - shared code of the real-guest lab scenarios (sourced by tests/lab/scenarios/*.sh).
#
# Every scenario is judged by what libvirt reports (virsh vcpupin / domstats) and by the
# guests' consoles, never by the daemon's own view; the daemon's log is only read for
# warnings and the connection-loss/reconnect lines of the libvirtd scenario.
#
# Output is TAP-like ("ok N - ...", "not ok N - ...", "# measured numbers"); the exit code
# is what meson reads: 0 pass, 1 fail, 77 skip (with "1..0 # SKIP reason").
#
# Guests are shared: the `lab-setup` test starts the session set (a b c d: 1 vCPU,
# 384/512 MiB; m: 1 vCPU, 256/512 MiB; all idle) and writes $SESSION; scenarios reuse those
# guests, reset what they need and stop only the extra guests they start themselves;
# `lab-teardown` runs `lab.sh down`. A scenario run on its own (no session) brings the lab
# up itself, starts the guests it needs and runs `lab.sh down` when it ends.
#
# Environment:
#   VMB_SRCDIR, VMB_BUILDDIR   source and build trees (meson sets them)
#   VMB_DAEMON                 vmbalanced binary (default $VMB_BUILDDIR/daemon/vmbalanced)
#   VMB_LAB_STATE              lab state dir (default /run/vmbalance-lab-suite: the suite's
#                              own, so it never stops a libvirtd another lab session started)
#   VMB_LAB_PREFIX             guest name prefix (default vmbt-)
#   VMB_LAB_INTERVAL           daemon cycle interval in s for the scenarios (default 2)
#   VMB_LAB_DAEMON_ARGS        extra vmbalanced arguments, e.g. --dry-run (to see a scenario
#                              fail against a daemon that does nothing)
#   VMB_LAB_SKIP=REASON        skip every lab test with this reason
#   VMB_LAB_HOG=N              run N niced (19), floating busy loops on the host during every
#                              scenario: other work the balancer must live with (default 0)
#   VMB_LAB_HOG_NICE=N         the hog's nice level (default 19). Note: on a cgroup v1 host
#                              (this lab's) each host process competes with all the guests
#                              together (libvirt's machine group, cpu.shares 1024), so a
#                              nice 0 hog takes as much CPU as every guest at once

# shellcheck disable=SC2034 # the variables here are used by the scenario scripts
SRC=${VMB_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
BUILD=${VMB_BUILDDIR:-$SRC/build}
DAEMON=${VMB_DAEMON:-$BUILD/daemon/vmbalanced}
LAB=$SRC/tests/lab/lab.sh
export VMB_LAB_STATE=${VMB_LAB_STATE:-/run/vmbalance-lab-suite}
export VMB_LAB_PREFIX=${VMB_LAB_PREFIX:-vmbt-}
URI=${VMB_LAB_URI:-qemu:///system}
export VMB_LAB_URI=$URI
P=$VMB_LAB_PREFIX
INTERVAL=${VMB_LAB_INTERVAL:-2}
SESSION=$VMB_LAB_STATE/suite.session
NAME=${NAME:-$(basename "$0" .sh)}
# read -a: extra daemon arguments (word-split on purpose)
read -r -a DAEMON_EXTRA <<<"${VMB_LAB_DAEMON_ARGS:-}"

# The session guest set: name and `lab.sh start` options.
declare -A SESSION_SPEC=(
	[a]="--duty 0 --mem 384 --maxmem 512"
	[b]="--duty 0 --mem 384 --maxmem 512"
	[c]="--duty 0 --mem 384 --maxmem 512"
	[d]="--duty 0 --mem 384 --maxmem 512"
	[m]="--duty 0 --mem 256 --maxmem 512"
)
SESSION_GUESTS=(a b c d m)

TESTNUM=0
FAILS=0
TMP=
DAEMON_PID=
MODE=            # session | standalone
OWN_GUESTS=()    # extra guests this scenario started (stopped on exit)
USED_GUESTS=()   # session guests it uses (made idle again on exit)
BG_PIDS=()       # background helpers (stopped on exit)
SPEC=            # "dom:vcpu=load ..." for watch_placement (setup_cpu_guests appends)

# ---- output -----------------------------------------------------------------------------

now() { echo "$EPOCHREALTIME"; }
# elapsed T0 T1: seconds from T0 to T1 (EPOCHREALTIME stamps), one decimal.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", b - a}'; }
since() { elapsed "$1" "$EPOCHREALTIME"; }   # seconds from T0 to now
diag() { echo "# $*"; }
ok() { TESTNUM=$((TESTNUM + 1)); echo "ok $TESTNUM - $*"; }
notok() {
	TESTNUM=$((TESTNUM + 1))
	FAILS=$((FAILS + 1))
	echo "not ok $TESTNUM - $*"
}
# check DESCRIPTION 'SHELL CONDITION': one TAP line from the condition (eval'ed, so quote it
# in single quotes to expand variables when it runs).
check() {
	local desc=$1
	shift
	if eval "$*"; then ok "$desc"; else notok "$desc"; fi
}
# A number comparison for check: cmp A OP B (awk, floats).
cmp() { awk -v a="$1" -v b="$3" "BEGIN { exit !(a $2 b) }"; }

skip() {
	echo "1..0 # SKIP $*"
	echo "SKIP: $*" >&2
	exit 77
}
bail() {   # a setup step failed: the scenario cannot be judged
	notok "$*"
	exit 1
}

# ---- environment checks -----------------------------------------------------------------

# Skips (exit 77) with the reason when real guests cannot run here.
lab_preflight() {
	[ -z "${VMB_LAB_SKIP:-}" ] || skip "VMB_LAB_SKIP: $VMB_LAB_SKIP"
	[ "$(id -u)" = 0 ] || skip "the lab needs root (libvirtd, QEMU guests); run the suite as root"
	local t missing=()
	for t in virsh libvirtd virtlogd qemu-system-x86_64 nc gcc dpkg-deb apt-get flock; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	[ -x /bin/busybox ] || missing+=(busybox-static)
	[ ${#missing[@]} = 0 ] ||
		skip "libvirt/QEMU lab tools missing: ${missing[*]} (Debian: libvirt-daemon-system libvirt-clients qemu-system-x86 busybox-static gcc libc6-dev netcat-openbsd)"
	qemu-system-x86_64 --version >/dev/null 2>&1 || skip "qemu-system-x86_64 does not run here"
	[ -x "$DAEMON" ] || skip "vmbalanced is not built ($DAEMON)"
	local avail
	avail=$(awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo)
	[ "${avail:-0}" -ge 3072 ] || skip "host has only ${avail:-?} MiB available; the lab needs 3 GiB"
	[ "$(nproc)" -ge 2 ] || skip "the lab scenarios need at least 2 host CPUs (have $(nproc))"
}

# The memory scenarios need the memory coordinator in the daemon.
need_memory_coordinator() {
	grep -q 'vmb_mem_task_run' "$SRC/daemon/daemon.c" 2>/dev/null ||
		skip "memory coordinator not built (daemon/mem-task.c is not wired into daemon/daemon.c)"
}

virsh_() { virsh -q -c "$URI" "$@"; }
libvirt_ok() { timeout 15 virsh -c "$URI" version >/dev/null 2>&1; }
npcpus() { virsh_ nodeinfo | awk -F: '/^CPU\(s\)/ {gsub(/ /, "", $2); print $2}'; }
dom_running() { [ "$(virsh_ domstate "$1" 2>/dev/null)" = running ]; }

# ---- lab session --------------------------------------------------------------------------

# Starts guests NAME... of the session set that are not running, in parallel.
ensure_guests() {
	local g pids=() names=() rc=0 i
	for g in "$@"; do
		dom_running "$P$g" && continue
		# A defined but stopped (or crashed) leftover: remove it first.
		virsh_ dominfo "$P$g" >/dev/null 2>&1 && "$LAB" stop "$g" >/dev/null 2>&1
		# shellcheck disable=SC2086  # the spec is a list of options
		"$LAB" start "$g" ${SESSION_SPEC[$g]} >"$TMP/start-$g.log" 2>&1 &
		pids+=($!)
		names+=("$g")
	done
	for i in "${!pids[@]}"; do
		if wait "${pids[$i]}"; then
			diag "$(grep -o "$P${names[$i]} ready in .*" "$TMP/start-${names[$i]}.log" | head -1)"
		else
			rc=1
			sed 's/^/# /' "$TMP/start-${names[$i]}.log"
		fi
	done
	return $rc
}

# Starts an extra guest of this scenario (stopped at exit). NAME OPTIONS...
start_own_guest() {
	local g=$1
	shift
	OWN_GUESTS+=("$g")
	if "$LAB" start "$g" "$@" >"$TMP/start-$g.log" 2>&1; then
		diag "$(grep -o "$P$g ready in .*" "$TMP/start-$g.log" | head -1)"
	else
		sed 's/^/# /' "$TMP/start-$g.log"
		return 1
	fi
}

# lab_begin GUEST...: checks, then a session or a standalone lab with these session guests.
lab_begin() {
	lab_preflight
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmb-lab-$NAME.XXXXXX")
	trap lab_cleanup EXIT
	trap 'exit 130' INT TERM
	if [ -f "$SESSION" ] && libvirt_ok; then
		MODE=session
	else
		MODE=standalone
		diag "no lab session ($SESSION): bringing the lab up for this test alone"
		"$LAB" up >"$TMP/up.log" 2>&1 || { sed 's/^/# /' "$TMP/up.log"; bail "lab.sh up"; }
	fi
	local t0
	t0=$(now)
	USED_GUESTS=("$@")
	ensure_guests "$@" || bail "start the guests $*"
	start_host_hog "${VMB_LAB_HOG:-0}"
	diag "lab: $MODE, guests $* ready ($(since "$t0") s), host pCPUs $(npcpus), interval $INTERVAL s"
}

# start_host_hog N: N busy loops at nice VMB_LAB_HOG_NICE (19) with the default (all-CPU)
# affinity, like a build or a backup the kernel moves freely; stopped on exit.
start_host_hog() {
	local i nice=${VMB_LAB_HOG_NICE:-19}
	for ((i = 0; i < $1; i++)); do
		nice -n "$nice" bash -c 'while :; do :; done' &
		BG_PIDS+=($!)
	done
	[ "$1" -gt 0 ] && diag "host hog: $1 floating busy loop(s) at nice $nice running"
	return 0
}

lab_cleanup() {
	local rc=$? g p
	trap - EXIT
	stop_daemon quiet
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for g in "${OWN_GUESTS[@]}"; do
		virsh_ dominfo "$P$g" >/dev/null 2>&1 && "$LAB" stop "$g" >/dev/null 2>&1
	done
	if [ "$MODE" = session ]; then
		# Leave the shared guests idle (no CPU burnt between scenarios) and floating.
		for g in "${USED_GUESTS[@]}"; do
			dom_running "$P$g" || continue
			"$LAB" ctl "$g" 'duty 0' 'threads 1' 'mem 32' >/dev/null 2>&1
			pin_all "$g" all >/dev/null 2>&1
		done
	elif [ "$MODE" = standalone ]; then
		"$LAB" down >"$TMP/down.log" 2>&1 || sed 's/^/# /' "$TMP/down.log"
	fi
	if [ $rc != 0 ] && [ $rc != 77 ] && [ -n "$TMP" ] && [ -f "$TMP/daemon.log" ] &&
		[ -z "${DAEMON_LOG_SHOWN:-}" ]; then
		echo "# ---- last lines of the vmbalanced log ($NAME)"
		tail -n 40 "$TMP/daemon.log" | sed 's/^/#   /'
	fi
	[ -n "$TMP" ] && [ -z "${VMB_LAB_KEEP_TMP:-}" ] && rm -rf "$TMP"
	exit $rc
}

# Ends the scenario: TAP plan and exit status.
finish() {
	echo "1..$TESTNUM"
	[ "$FAILS" = 0 ] || { echo "# $NAME: $FAILS check(s) failed"; exit 1; }
	exit 0
}

# ---- guests -----------------------------------------------------------------------------

ctl() { "$LAB" ctl "$@" >/dev/null; }
set_duty() { ctl "$1" "duty $2"; }    # NAME DUTY
# reset_guests NAME...: no CPU load, 32 MiB held (bails on failure).
reset_guests() {
	local g
	for g in "$@"; do ctl "$g" 'duty 0' 'mem 32' || bail "reset $g"; done
}

# pin_all NAME PCPU|all: every vCPU of the guest to one pCPU (or floating).
pin_all() {
	local dom=$P$1 to=$2 v n
	[ "$to" = all ] && to="0-$(($(npcpus) - 1))"
	n=$(virsh_ vcpucount "$dom" --live --active 2>/dev/null || echo 1)
	for ((v = 0; v < n; v++)); do
		virsh_ vcpupin "$dom" "$v" "$to" >/dev/null || return 1
	done
}

# setup_cpu_guests NAME=DUTY@PCPU...: sets each 1-vCPU guest's duty cycle (%), pins its vCPU
# to pCPU PCPU ("all": floating) and appends "dom:0=DUTY " to SPEC, the nominal loads
# watch_placement judges by (bails on failure). E.g. setup_cpu_guests a=70@0 b=70@1.
setup_cpu_guests() {
	local item g duty pcpu
	for item in "$@"; do
		g=${item%%=*}
		duty=${item#*=}
		pcpu=${duty#*@}
		duty=${duty%@*}
		set_duty "$g" "$duty" || bail "set duty of $g"
		if [ "$pcpu" = all ]; then
			pin_all "$g" all || bail "unpin $g"
		else
			pin_all "$g" "$pcpu" || bail "pin $g to pCPU $pcpu"
		fi
		SPEC+="$P$g:0=$duty "
	done
}

# "dom vcpu affinity" lines for the domains given (missing domains are left out).
pins_now() {
	local cmds="" d
	for d in "$@"; do cmds+="echo @D=$d; vcpupin $d; "; done
	virsh -q -c "$URI" "$cmds" 2>/dev/null | sed 's/@D=/\n@D=/g' | awk '
		/^@D=/ { dom = substr($1, 4); if (NF >= 3) print dom, $2, $3; next }
		NF == 2 && dom != "" { print dom, $1, $2 }'
}

# "dom key value" for balloon (KiB) and vcpu (ns) statistics of all running lab guests.
stats_now() {
	virsh -q -c "$URI" domstats --list-running --balloon --vcpu 2>/dev/null | awk -v p="$P" '
		/^Domain:/ { dom = $2; gsub(/\047/, "", dom); next }
		index(dom, p) == 1 && /=/ { sub(/^ */, ""); split($0, kv, "="); print dom, kv[1], kv[2] }'
}
# stat_of STATS DOM KEY
stat_of() { awk -v d="$2" -v k="$3" '$1 == d && $2 == k {print $3; exit}' <<<"$1"; }

# vCPU demand (Δtime+Δdelay)/Δwall in % per "dom:vcpu" between two stats_now samples taken
# at T0 and T1 (EPOCHREALTIME): "dom vcpu pct" lines.
vcpu_demand() {   # STATS0 T0 STATS1 T1
	awk -v w="$(awk -v a="$2" -v b="$4" 'BEGIN {print (b - a) * 1e9}')" '
		FNR == 1 { f++ }
		$2 ~ /^vcpu\.[0-9]+\.(time|delay)$/ {
			split($2, k, "."); key = $1 " " k[2]
			if (f == 1) v0[key] += $3; else v1[key] += $3
		}
		END { for (key in v1) if (key in v0) printf "%s %.0f\n", key, 100 * (v1[key] - v0[key]) / w }
	' <(echo "$1") <(echo "$3") | sort
}

# Console lines of a guest matching REGEX (count).
console_count() {
	local f=$VMB_LAB_STATE/guests/$P$1/console.log
	grep -cE "$2" "$f" 2>/dev/null || true
}

# ---- placement ------------------------------------------------------------------------

# placement_eval "dom:vcpu=load ..." NPCPUS < pins_now output
# -> "MAX OPT PLACEMENT" where MAX is the busiest pCPU's nominal load, OPT the best possible
# (brute force; LPT beyond 200000 assignments) and PLACEMENT a readable map. A loaded vCPU
# that is not pinned to one pCPU makes MAX 999.
placement_eval() {
	awk -v spec="$1" -v np="$2" -v p="$P" '
		BEGIN { n = split(spec, s, " "); for (i = 1; i <= n; i++) { split(s[i], kv, "="); load[kv[1]] = kv[2]; order[i] = kv[1] } }
		{ aff[$1 ":" $2] = $3 }
		END {
			m = 0; float = 0
			for (c = 0; c < np; c++) { sum[c] = 0; desc[c] = "" }
			for (i = 1; i <= n; i++) {
				k = order[i]; a = (k in aff) ? aff[k] : "?"
				name = k; sub("^" p, "", name); sub(/:0$/, "", name)
				if (a ~ /^[0-9]+$/ && a < np) { sum[a] += load[k]; desc[a] = desc[a] " " name "(" load[k] ")" }
				else if (load[k] > 0) { float = 1; fl = fl " " name "[" a "]" }
				if (load[k] > 0) items[++m] = load[k]
			}
			mx = 0; for (c = 0; c < np; c++) if (sum[c] > mx) mx = sum[c]
			if (float) mx = 999
			# optimal max load over all assignments of the loaded vCPUs
			total = 1; for (i = 1; i <= m; i++) total *= np
			if (total <= 200000) {
				best = 1e9
				for (x = 0; x < total; x++) {
					for (c = 0; c < np; c++) t[c] = 0
					y = x; worst = 0
					for (i = 1; i <= m; i++) { c = y % np; y = int(y / np); t[c] += items[i]; if (t[c] > worst) worst = t[c] }
					if (worst < best) best = worst
				}
			} else {   # LPT
				for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (items[j] > items[i]) { z = items[i]; items[i] = items[j]; items[j] = z }
				for (c = 0; c < np; c++) t[c] = 0
				for (i = 1; i <= m; i++) { lo = 0; for (c = 1; c < np; c++) if (t[c] < t[lo]) lo = c; t[lo] += items[i] }
				best = 0; for (c = 0; c < np; c++) if (t[c] > best) best = t[c]
			}
			out = ""
			for (c = 0; c < np; c++) out = out (c ? " | " : "") "pCPU" c ":" (desc[c] == "" ? " -" : desc[c])
			if (float) out = out " | floating:" fl
			printf "%d %d %s\n", mx, best, out
		}'
}

# Pin changes between two pins_now outputs: "dom vcpu old new" lines.
pin_diff() {
	awk 'FNR == 1 { f++ } f == 1 { old[$1 " " $2] = $3; next } ($1 " " $2) in old && old[$1 " " $2] != $3 { print $1, $2, old[$1 " " $2], $3 }' \
		<(echo "$1") <(echo "$2")
}

# ---- the daemon -------------------------------------------------------------------------

# Running domains that are not lab guests of this suite: excluded from the daemon so the
# suite never moves someone else's guests (their load still counts).
foreign_domains() {
	virsh_ list --name 2>/dev/null | grep -v "^$P" | grep . | paste -sd, - || true
}

# start_daemon: writes the configuration from stdin (a line with "@EXCLUDE@" gets $EXCLUDE
# and the foreign domains, or is dropped when there are none), starts vmbalanced
# (--no-bus, own state dir, -v), waits for its start line. Sets DAEMON_PID, T_LAUNCH.
start_daemon() {
	local conf=$TMP/vmbalanced.conf foreign excl
	foreign=$(foreign_domains)
	excl=${EXCLUDE:-}
	[ -n "$foreign" ] && excl=${excl:+$excl,}$foreign
	awk -v x="$excl" '/@EXCLUDE@/ { if (x == "") next; sub(/@EXCLUDE@/, x) } { print }' >"$conf"
	[ -n "$foreign" ] && diag "excluding foreign domains: $foreign"
	mkdir -p "$TMP/state"
	# The log of an earlier daemon of this scenario is kept beside it (VMB_LAB_KEEP_TMP).
	[ -s "$TMP/daemon.log" ] && mv "$TMP/daemon.log" "$TMP/daemon.$(date +%s%N).log"
	: >"$TMP/daemon.log"
	T_LAUNCH=$(now)
	local bus=(--no-bus)
	[ -n "${LAB_BUS:-}" ] && bus=() # start_private_bus: serve the interface for vmbctl
	env -u JOURNAL_STREAM -u NOTIFY_SOCKET "$DAEMON" --config "$conf" "${bus[@]}" \
		--state-dir "$TMP/state" -v "${DAEMON_EXTRA[@]}" >>"$TMP/daemon.log" 2>&1 &
	DAEMON_PID=$!
	DAEMON_FAILS0=$FAILS DAEMON_LOG_SHOWN=
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q 'started:' "$TMP/daemon.log" && break
		kill -0 "$DAEMON_PID" 2>/dev/null || { sed 's/^/# /' "$TMP/daemon.log"; bail "vmbalanced exited at start"; }
		sleep 0.1
	done
	grep -q 'started:' "$TMP/daemon.log" || bail "vmbalanced did not log its start line within 10 s"
	diag "vmbalanced pid $DAEMON_PID: $(grep -o 'started: .*' "$TMP/daemon.log" | head -1)"
}

# start_cpu_daemon [memory]: start_daemon with the CPU scenarios' configuration: interval
# $INTERVAL, the exclude line, the balancer on its shipped defaults, and the memory task off
# unless "memory" is given (then both tasks run).
start_cpu_daemon() {
	local conf="[daemon]
interval = $INTERVAL
exclude = @EXCLUDE@"
	[ "${1:-}" = memory ] || conf+=$'\n[memory]\nenabled = false'
	start_daemon <<<"$conf"
}

# start_mem_daemon ["KEY = VALUE"...]: start_daemon with the memory scenarios'
# configuration: interval $INTERVAL (INTERVAL=N start_mem_daemon for another), the exclude
# line, the CPU task off, and a [memory] section of the lines given (none: no section).
start_mem_daemon() {
	local conf="[daemon]
interval = $INTERVAL
exclude = @EXCLUDE@
[cpu]
enabled = false" line
	[ $# = 0 ] || conf+=$'\n[memory]'
	for line in "$@"; do conf+=$'\n'"$line"; done
	start_daemon <<<"$conf"
}

# stop_daemon [quiet]: SIGTERM by PID, SIGKILL after 10 s; checks it exits with 0.
stop_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	local pid=$DAEMON_PID i rc
	DAEMON_PID=
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	# A scenario with several daemons starts each on a fresh log: show this one's now if a
	# check failed while it ran (the exit trap only shows the last daemon's).
	if [ "$FAILS" != "${DAEMON_FAILS0:-0}" ] && [ -f "$TMP/daemon.log" ]; then
		echo "# ---- the vmbalanced log (pid $pid, $NAME), last 80 lines but its routine ones"
		grep -vE 'debug: (snapshot: |memory cycle |memory host view: )' "$TMP/daemon.log" |
			tail -n 80 | sed 's/^/#   /'
		DAEMON_LOG_SHOWN=1
	fi
	[ "${1:-}" = quiet ] && return 0
	check "vmbalanced stops cleanly on SIGTERM (exit $rc)" "[ $rc = 0 ]"
}

daemon_alive() { [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; }

# start_private_bus: a dbus-daemon of the scenario's own (the open test policy of
# tests/data/system-bus.conf) as the system bus, so the next start_daemon serves its
# interface and vmbctl reaches it. Stopped on exit.
start_private_bus() {
	dbus-daemon --config-file="$SRC/tests/data/system-bus.conf" --address="unix:path=$TMP/bus" \
		--fork --print-address=3 --print-pid=4 3>"$TMP/bus.address" 4>"$TMP/bus.pid" ||
		bail "cannot start dbus-daemon"
	BG_PIDS+=("$(cat "$TMP/bus.pid")")
	export DBUS_SYSTEM_BUS_ADDRESS
	DBUS_SYSTEM_BUS_ADDRESS=$(head -n1 "$TMP/bus.address")
	unset DBUS_SESSION_BUS_ADDRESS
	LAB_BUS=1
}
# vmbalancectl of this build, on the private bus.
vmbctl() { "$BUILD/cli/vmbalancectl" "$@"; }

# The vmbalance:policy metadata of a running domain (live only: gone when it restarts).
POLICY_URI=https://vmbalance.org/xmlns/policy/1
set_policy() {   # NAME XML
	virsh_ metadata "$P$1" --uri "$POLICY_URI" --key vmbalance --set "$2" --live >/dev/null
}
remove_policy() {   # NAME
	virsh_ metadata "$P$1" --uri "$POLICY_URI" --remove --live >/dev/null
}
# Daemon log lines matching REGEX (count).
daemon_count() { grep -cE "$1" "$TMP/daemon.log" || true; }

# Warning/critical/error lines of the daemon log not matching the allowed regex $1 (or none).
# shellcheck disable=SC2120 # the scenarios that allow some lines pass the regex
daemon_bad_lines() {
	grep -E '^[0-9:]+ (warning|critical|error): ' "$TMP/daemon.log" |
		{ if [ -n "${1:-}" ]; then grep -vE "$1"; else cat; fi; } || true
}
# The usual last check: no warning/critical/error line in the daemon log (listed if any).
# shellcheck disable=SC2016,SC2119 # check() evals its condition later; no line is allowed
check_no_warnings() {
	check "no warnings from vmbalanced" '[ -z "$(daemon_bad_lines)" ]'
	daemon_bad_lines | sed 's/^/#   /'
}

# The daemon cycle that made a change first seen at T. Cycle 1 runs at launch; cycle k about
# (k-1) intervals later, up to 1 s early (GLib fires whole-second timers on a per-process
# phase), and a change is seen up to ~0.6 s after it was made (0.5 s polls).
cycle_of() { awk -v t="$1" -v t0="$T_LAUNCH" -v i="$INTERVAL" 'BEGIN {printf "%d", 1 + int((t - t0 + 1) / i)}'; }

# ---- memory -------------------------------------------------------------------------

mem_available_kib() { awk '/^MemAvailable:/ {print $2}' /proc/meminfo; }
qemu_pid() { cat "/run/libvirt/qemu/$P$1.pid" 2>/dev/null; }

# Fills the guests' memory to MiB and gives it back (the pages stay resident in QEMU until
# ballooned), then waits until the guests report the memory free again.
touch_memory() {   # MIB NAME...
	local mib=$1 g i
	shift
	for g in "$@"; do ctl "$g" "mem $mib" & done
	wait
	for g in "$@"; do
		for ((i = 0; i < 200; i++)); do
			"$LAB" ctl "$g" status 2>/dev/null | grep -q "held_mib=$mib " && break
			sleep 0.2
		done
	done
	for g in "$@"; do ctl "$g" "mem 32"; done
	sleep 2
}

# libvirt's balloon.current of guest NAME in KiB (empty when it is not running).
balloon_current() { virsh_ domstats --balloon "$P$1" 2>/dev/null | sed -n 's/^ *balloon.current=//p'; }

# Sets each guest's balloon to MiB and waits until libvirt reports it there.
set_memory() {   # MIB NAME...
	local mib=$1 g i cur
	shift
	for g in "$@"; do virsh_ setmem "$P$g" "${mib}M" --live >/dev/null || return 1; done
	for g in "$@"; do
		for ((i = 0; i < 50; i++)); do
			cur=$(balloon_current "$g")
			[ -n "$cur" ] && [ $((cur / 1024)) -ge $((mib - 4)) ] && [ $((cur / 1024)) -le $((mib + 4)) ] && break
			sleep 0.2
		done
	done
}

# watch_placement SPEC WAIT_CYCLES STABLE_CYCLES DOM...
# Polls the pins of DOM... (libvirt) every 0.5 s from T_REF (default T_LAUNCH) on, logging
# each pin change with its time and daemon cycle, until the placement has been balanced
# (busiest pCPU within PLACEMENT_TOL points of the optimum for the nominal loads in SPEC, and
# every loaded vCPU pinned) for STABLE_CYCLES intervals, or WAIT_CYCLES intervals passed
# without balance. W_BASE (pins_now output) is the placement to count changes from (default:
# the pins when the watch starts). Sets:
#   W_T_OPT        time the placement was first balanced ("" if never)
#   W_CHANGES      pin changes before W_T_OPT, W_AFTER pin changes after it
#   W_PINGPONG     vCPUs pinned back to a pCPU they had left (within the watch)
#   W_UNBALANCED   samples after W_T_OPT that were not balanced
#   W_MAX W_OPT W_PLACEMENT   the last evaluation; W_FIRST_PLACEMENT the first one
#   W_CYCLE        the daemon cycle of W_T_OPT (cycle_of), W_REACT the intervals from T_REF
#                  to it (cycles_since); both "never" if the placement was never balanced
PLACEMENT_TOL=${PLACEMENT_TOL:-10}
watch_placement() {
	local spec=$1 wait_c=$2 stable_c=$3
	shift 3
	local np ref=${T_REF:-$T_LAUNCH} prev cur t t_us end_us ev max opt desc key
	local -A hist=()
	np=$(npcpus)
	W_T_OPT='' W_CHANGES=0 W_AFTER=0 W_PINGPONG=0 W_UNBALANCED=0 W_FIRST_PLACEMENT=''
	end_us=$(to_us "$ref" $((wait_c * INTERVAL)))
	prev=${W_BASE:-$(pins_now "$@")}
	while read -r d v a; do hist["$d $v"]=" $a "; done <<<"$prev"
	while :; do
		t=$EPOCHREALTIME
		cur=$(pins_now "$@")
		while read -r d v a b; do
			[ -n "$d" ] || continue
			key="$d $v"
			diag "  +$(elapsed "$ref" "$t") s (cycle $(cycle_of "$t")): pin ${d#"$P"} vCPU $v: $a -> $b"
			if [ -n "$W_T_OPT" ]; then W_AFTER=$((W_AFTER + 1)); else W_CHANGES=$((W_CHANGES + 1)); fi
			[[ ${hist[$key]:-} == *" $b "* ]] && W_PINGPONG=$((W_PINGPONG + 1))
			hist[$key]+="$b "
		done < <(pin_diff "$prev" "$cur")
		prev=$cur
		ev=$(placement_eval "$spec" "$np" <<<"$cur")
		read -r max opt desc <<<"$ev"
		[ -n "$W_FIRST_PLACEMENT" ] || W_FIRST_PLACEMENT="$desc (max $max%, optimum $opt%)"
		W_MAX=$max W_OPT=$opt W_PLACEMENT=$desc
		if [ "$max" -le $((opt + PLACEMENT_TOL)) ]; then
			if [ -z "$W_T_OPT" ]; then
				W_T_OPT=$t
				end_us=$(to_us "$t" $((stable_c * INTERVAL)))
			fi
		elif [ -n "$W_T_OPT" ]; then
			W_UNBALANCED=$((W_UNBALANCED + 1))
		fi
		t_us=${EPOCHREALTIME/./}
		[ "$t_us" -ge "$end_us" ] && break
		daemon_alive || { diag "vmbalanced died"; break; }
		sleep 0.5
	done
	W_CYCLE=never W_REACT=never
	if [ -n "$W_T_OPT" ]; then
		W_CYCLE=$(cycle_of "$W_T_OPT")
		W_REACT=$(cycles_since "$W_T_OPT")
	fi
}

# diag_placements LABEL: the watch's first placement after LABEL, then its last one with the
# busiest pCPU's load and the optimum, aligned under it ("start: ..." / "end:   ...").
diag_placements() {
	diag "$1 $W_FIRST_PLACEMENT"
	diag "$(printf '%-*s' "${#1}" end:) $W_PLACEMENT (max $W_MAX%, optimum $W_OPT%)"
}

# to_us T SECONDS: T (EPOCHREALTIME) + SECONDS as integer microseconds.
to_us() { awk -v t="$1" -v s="$2" 'BEGIN {printf "%.0f", (t + s) * 1e6}'; }

# Whole intervals from T_REF to T (rounded up): "cycles to react".
cycles_since() { awk -v t="$1" -v r="${T_REF:-$T_LAUNCH}" -v i="$INTERVAL" 'BEGIN {c = (t - r) / i; printf "%d", (c == int(c)) ? c : int(c) + 1}'; }

# load_change_story "G=DUTY ..." DESCRIPTION: the load-change story of scenarios 2 and 12, with
# the daemon running on guests already set up (SPEC): 4 cycles in which the balanced start
# must be left alone, then the duties change as given and the daemon must rebalance within
# 5 cycles with at most 4 pin changes, no ping-pong and no pin change over 8 cycles after.
load_change_story() {
	local change=$1 g d
	diag "phase 1: balanced from the start, 4 cycles"
	watch_placement "$SPEC" 1 4 "$P"a "$P"b "$P"c "$P"d
	diag "placement: $W_PLACEMENT (max $W_MAX%, optimum $W_OPT%)"
	check "a balanced placement is left alone ($((W_CHANGES + W_AFTER)) pin changes in 4 cycles)" \
		'[ -n "$W_T_OPT" ] && [ $((W_CHANGES + W_AFTER)) = 0 ]'

	diag "phase 2: $2"
	for g in $change; do
		d=${g#*=}
		g=${g%%=*}
		set_duty "$g" "$d" || bail "change the duty of $g"
		SPEC=$(sed -E "s/(^| )($P$g:0)=[0-9]+/\1\2=$d/" <<<"$SPEC")
	done
	T_REF=$(now)
	watch_placement "$SPEC" 10 8 "$P"a "$P"b "$P"c "$P"d
	diag_placements "after the change:"
	if [ -n "$W_T_OPT" ]; then
		diag "rebalanced: $(elapsed "$T_REF" "$W_T_OPT") s = $W_REACT cycles after the load change, $W_CHANGES pin changes; then $W_AFTER pin changes over 8 cycles; ping-pong moves: $W_PINGPONG"
	else
		diag "not rebalanced within 10 cycles ($W_CHANGES pin changes)"
	fi
	check "rebalanced within 5 cycles of the load change ($W_REACT)" '[ -n "$W_T_OPT" ] && [ "$W_REACT" -le 5 ]'
	check "at most 4 pin changes to rebalance ($W_CHANGES)" '[ "$W_CHANGES" -le 4 ]'
	check "no ping-pong: no vCPU pinned back to a pCPU it left ($W_PINGPONG)" '[ "$W_PINGPONG" = 0 ]'
	check "zero pin changes over the 8 cycles after rebalancing ($W_AFTER), stays balanced ($W_UNBALANCED)" \
		'[ -n "$W_T_OPT" ] && [ "$W_AFTER" = 0 ] && [ "$W_UNBALANCED" = 0 ]'
	check_no_warnings
}
