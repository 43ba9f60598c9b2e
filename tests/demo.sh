#!/usr/bin/env bash
# The demo: one command from a fresh clone (as root on Debian 12).
#   - installs what it needs (.ci/packages.txt) when something is missing, builds;
#   - starts four small real guests (tests/lab: libvirt + QEMU, TCG where KVM is unusable),
#     all pinned to pCPU 0, whose CPU duty cycles and memory demand change every 20 s;
#   - runs vmbalanced against them and redraws a live view every 2 s: `vmbalancectl status`
#     (served on a private D-Bus bus) or, without the CLI, pins/loads/memory from virsh,
#     plus the daemon's latest decisions;
#   - Ctrl-C (or --duration) stops it and cleans up everything it started: the daemon, the
#     bus, the workload changer, the guests, and libvirtd/virtlogd only if it started them.
# Where libvirt/QEMU cannot run (not root, packages missing, too little memory) it says so
# and runs the daemon on the simulated host instead (data/demo.ini).
#
# Usage: tests/demo.sh [--fake] [--duration SECONDS] [--help] [-- VMBALANCED-ARGS...]
#   --fake              use the simulated host even where real guests could run
#   --duration SECONDS  stop by itself after this long (for smoke tests); default: Ctrl-C
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${VMB_BUILD_DIR:-$src/build}
lab=$src/tests/lab/lab.sh
fake=0 duration=0 extra=()

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
    --fake) fake=1 ;;
    --duration)
        [[ ${2:-} =~ ^[0-9]+$ ]] || { echo "demo: --duration needs a number of seconds" >&2; exit 64; }
        duration=$2
        shift
        ;;
    --duration=*) duration=${1#--duration=} ;;
    -h | --help) usage; exit 0 ;;
    --) shift; extra+=("$@"); break ;;
    *) extra+=("$1") ;;
    esac
    shift
done
say() { echo "demo: $*"; }

# ---- dependencies and build --------------------------------------------------------------
need_install=0
if ! pkg-config --exists libvirt-glib-1.0 libsystemd 2>/dev/null || ! command -v meson >/dev/null; then
    need_install=1
fi
if [ $fake = 0 ] && [ "$(id -u)" -eq 0 ]; then
    for t in virsh libvirtd virtlogd qemu-system-x86_64 nc gcc dbus-daemon; do
        command -v "$t" >/dev/null || need_install=1
    done
    [ -x /bin/busybox ] || need_install=1
fi
if [ $need_install = 1 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        say "installing the packages in .ci/packages.txt (apt-get)"
        apt-get update -q
        # shellcheck disable=SC2046
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            $(grep -v '^#' "$src/.ci/packages.txt")
    elif ! pkg-config --exists libvirt-glib-1.0 libsystemd 2>/dev/null || ! command -v meson >/dev/null; then
        say "missing build dependencies; as root run: apt-get install $(grep -v '^#' "$src/.ci/packages.txt" | tr '\n' ' ')" >&2
        exit 1
    fi
fi
say "building in $build"
[ -f "$build/build.ninja" ] || meson setup "$build" "$src" >/dev/null
meson compile -C "$build" >/dev/null
daemon=$build/daemon/vmbalanced
ctl=$build/cli/vmbalancectl
[ -x "$ctl" ] || ctl=

# ---- real guests or the simulated host? ----------------------------------------------------
why_fake=
if [ $fake = 1 ]; then
    why_fake="--fake given"
elif [ "$(id -u)" -ne 0 ]; then
    why_fake="real guests need root (libvirtd, QEMU)"
else
    for t in virsh libvirtd virtlogd qemu-system-x86_64 nc gcc; do
        command -v "$t" >/dev/null || { why_fake="'$t' is not installed"; break; }
    done
    [ -n "$why_fake" ] || [ -x /bin/busybox ] || why_fake="busybox-static is not installed"
    [ -n "$why_fake" ] || qemu-system-x86_64 --version >/dev/null 2>&1 || why_fake="qemu-system-x86_64 does not run here"
    avail=$(awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo)
    [ -n "$why_fake" ] || [ "${avail:-0}" -ge 3072 ] || why_fake="only ${avail:-?} MiB of host memory available (4 guests need 3 GiB)"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmb-demo.XXXXXX")
daemon_pid='' bus_pid='' changer_pid='' lab_used=0
export VMB_LAB_STATE=${VMB_DEMO_LAB_STATE:-/run/vmbalance-lab-demo}
export VMB_LAB_PREFIX=vmbdemo-
URI=${VMB_LAB_URI:-qemu:///system}
GUESTS=(w1 w2 w3 w4)

stop_pid() {
    local pid=$1 i
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ -t 1 ] && tput cnorm 2>/dev/null
    echo
    say "stopping"
    stop_pid "$changer_pid"
    stop_pid "$daemon_pid"
    [ -n "$bus_pid" ] && kill -TERM "$bus_pid" 2>/dev/null
    if [ $lab_used = 1 ]; then
        say "removing the demo guests (lab.sh down: stops libvirtd/virtlogd only if the demo started them)"
        "$lab" down 2>&1 | sed 's/^lab: /demo: /' | grep -v '^demo: stopped vmbdemo-' || true
    fi
    if [ -s "$tmp/daemon.log" ]; then
        say "vmbalanced made $(grep -c ' pin ' "$tmp/daemon.log" || true) pin changes and $(grep -c ' set .* memory: ' "$tmp/daemon.log" || true) memory changes"
    fi
    rm -rf "$tmp"
    exit $rc
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# A private bus for the D-Bus interface and vmbalancectl (the host's system bus may have no
# policy for org.vmbalance.Manager1).
start_bus() {
    [ -n "$ctl" ] && command -v dbus-daemon >/dev/null || { ctl=; return 0; }
    if dbus-daemon --config-file="$src/tests/data/system-bus.conf" --address="unix:path=$tmp/bus" \
        --fork --print-address=3 --print-pid=4 3>"$tmp/bus.address" 4>"$tmp/bus.pid" 2>/dev/null; then
        bus_pid=$(cat "$tmp/bus.pid")
        export DBUS_SYSTEM_BUS_ADDRESS
        DBUS_SYSTEM_BUS_ADDRESS=$(head -n1 "$tmp/bus.address")
        unset DBUS_SESSION_BUS_ADDRESS
    else
        ctl=
    fi
}

start_daemon() {   # URI: runs vmbalanced in the background, its log in $tmp/daemon.log
    local bus_args=()
    [ -n "$ctl" ] || bus_args=(--no-bus)
    env -u JOURNAL_STREAM -u NOTIFY_SOCKET "$daemon" --config "$tmp/vmbalanced.conf" \
        --connect "$1" --state-dir "$tmp/state" "${bus_args[@]}" "${extra[@]}" \
        >"$tmp/daemon.log" 2>&1 &
    daemon_pid=$!
    local i
    for ((i = 0; i < 100; i++)); do
        grep -q 'started:' "$tmp/daemon.log" && return 0
        kill -0 "$daemon_pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$tmp/daemon.log" >&2
    say "vmbalanced did not start" >&2
    exit 1
}

# ---- the live view -----------------------------------------------------------------------------
declare -A prev_ns
prev_t=
# Without vmbalancectl: per pCPU, the guests pinned there with their load (vCPU time+delay
# over the last redraw, from virsh domstats), and each guest's balloon.
virsh_view() {
    local t stats pins np
    t=$EPOCHREALTIME
    np=$(virsh -q -c "$URI" nodeinfo | awk -F: '/^CPU\(s\)/ {gsub(/ /, "", $2); print $2}')
    stats=$(virsh -q -c "$URI" domstats --list-running --vcpu --balloon 2>/dev/null)
    pins=""
    local g
    for g in "${GUESTS[@]}"; do
        pins+=$(virsh -q -c "$URI" vcpupin "$VMB_LAB_PREFIX$g" 2>/dev/null | awk -v g="$g" 'NF == 2 {print g, $1, $2}')$'\n'
    done
    local -A now_ns=()
    while read -r dom key val; do now_ns["$dom $key"]=$val; done < <(awk -v p="$VMB_LAB_PREFIX" '
        /^Domain:/ { d = $2; gsub(/\047/, "", d); sub("^" p, "", d); next }
        /vcpu\.[0-9]+\.(time|delay)=/ { sub(/^ */, ""); split($0, kv, "="); split(kv[1], k, "."); s[d " " k[2]] += kv[2] }
        /balloon\.(current|usable)=/ { sub(/^ */, ""); split($0, kv, "="); print d, kv[1], kv[2] }
        END { for (x in s) print x, s[x] }' <<<"$stats")
    local report
    report=$(while read -r g v aff; do
        [ -n "$g" ] || continue
        local load=-1
        if [ -n "$prev_t" ] && [ -n "${prev_ns[$g $v]:-}" ] && [ -n "${now_ns[$g $v]:-}" ]; then
            load=$(awk -v a="${prev_ns[$g $v]}" -v b="${now_ns[$g $v]}" -v t0="$prev_t" -v t1="$t" \
                'BEGIN {l = 100 * (b - a) / ((t1 - t0) * 1e9); if (l > 100) l = 100; printf "%.0f", l}')
        fi
        echo "$g $v $aff $load ${now_ns[$g balloon.current]:-0} ${now_ns[$g balloon.usable]:-0}"
    done <<<"$pins")
    awk -v np="$np" '
        { pc = ($3 ~ /^[0-9]+$/) ? $3 : "float"; ld = ($4 < 0) ? "?" : $4 "%"
          who[pc] = who[pc] sprintf(" %s/%s(%s)", $1, $2, ld); if ($4 > 0) sum[pc] += $4
          if ($2 == 0) mem = mem sprintf("  %-4s actual %4d MiB  usable %4d MiB\n", $1, $5 / 1024, $6 / 1024) }
        END {
            print "PLACEMENT (virsh vcpupin; load = vCPU time+delay since the last redraw)"
            for (c = 0; c < np; c++) printf "  pCPU %d %4d%% :%s\n", c, sum[c], who[c]
            if ("float" in who) printf "  floating   :%s\n", who["float"]
            print "\nMEMORY (virsh domstats --balloon)"; printf "%s", mem
        }' <<<"$report"
    for k in "${!now_ns[@]}"; do prev_ns[$k]=${now_ns[$k]}; done
    prev_t=$t
}

show() {   # MODE-LINE
    local out
    out=$({
        echo "vmbalance demo: $1    $(date +%H:%M:%S)    Ctrl-C stops and cleans up"
        [ -f "$tmp/phase" ] && echo "workloads: $(cat "$tmp/phase")"
        echo
        if [ -n "$ctl" ]; then
            "$ctl" status 2>&1 || true
        elif [ "$1" != "${1#real}" ]; then
            virsh_view || true
        fi
        echo
        echo "LATEST DECISIONS (vmbalanced log)"
        grep -E 'pin |memory: |lost|reconnect|warning' "$tmp/daemon.log" | tail -n 8 | cut -c1-150 | sed 's/^/  /' || true
    }) || true
    if [ -t 1 ]; then
        printf '\033[H\033[2J%s\n' "$out"
    else
        printf '%s\n---\n' "$out"
    fi
}

live() {   # MODE-LINE: redraw every 2 s until Ctrl-C or --duration
    local end=0
    [ "$duration" -gt 0 ] && end=$((SECONDS + duration))
    [ -t 1 ] && tput civis 2>/dev/null
    while :; do
        kill -0 "$daemon_pid" 2>/dev/null || { say "vmbalanced exited:"; tail -n 20 "$tmp/daemon.log"; exit 1; }
        show "$1"
        [ "$end" -gt 0 ] && [ "$SECONDS" -ge "$end" ] && break
        sleep 2
    done
}

# ---- the simulated host ----------------------------------------------------------------------
if [ -n "$why_fake" ]; then
    say "real guests cannot run here ($why_fake): using the simulated host (data/demo.ini)"
    printf '[daemon]\ninterval = 2\n' >"$tmp/vmbalanced.conf"
    start_bus
    start_daemon "fake://$src/data/demo.ini"
    live "simulated 4-pCPU host, six guests (data/demo.ini)"
    exit 0
fi

# ---- real guests -------------------------------------------------------------------------------
lab_used=1
say "bringing up libvirt (tests/lab/lab.sh up) and four guests ${GUESTS[*]} (about 20 s)"
"$lab" up 2>&1 | sed 's/^lab: /demo: /'
for g in "${GUESTS[@]}"; do
    virsh -q -c "$URI" dominfo "$VMB_LAB_PREFIX$g" >/dev/null 2>&1 && "$lab" stop "$g" >/dev/null 2>&1
done
pids=()
for g in "${GUESTS[@]}"; do
    "$lab" start "$g" --duty 0 --mem 384 --maxmem 512 >"$tmp/start-$g.log" 2>&1 &
    pids+=($!)
done
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || { cat "$tmp/start-${GUESTS[$i]}.log" >&2; say "guest ${GUESTS[$i]} did not start" >&2; exit 1; }
done
say "guests ready; pinning every vCPU to pCPU 0 so there is something to balance"
for g in "${GUESTS[@]}"; do virsh -q -c "$URI" vcpupin "$VMB_LAB_PREFIX$g" 0 0 >/dev/null; done

# Never touch guests that are not the demo's.
exclude=$(virsh -q -c "$URI" list --name | grep -v "^$VMB_LAB_PREFIX" | grep . | paste -sd, - || true)
{
    printf '[daemon]\ninterval = 2\n'
    [ -n "$exclude" ] && printf 'exclude = %s\n' "$exclude"
    printf '[cpu]\nhysteresis = 10\n'
} >"$tmp/vmbalanced.conf"

# The workload changer: a new phase every 20 s (CPU duty cycles; w4's memory demand ramps).
changer() {
    local phases=(
        "100 100 30 30 32"
        "30 100 100 30 250"
        "100 30 30 100 250"
        "60 60 60 60 32"
    )
    local n=0 p g i duty sp=
    trap '[ -n "$sp" ] && kill "$sp" 2>/dev/null; exit 0' TERM
    while :; do
        p=${phases[$((n % ${#phases[@]}))]}
        read -r -a duty <<<"$p"
        i=0
        for g in "${GUESTS[@]}"; do
            "$lab" ctl "$g" "duty ${duty[$i]}" >/dev/null 2>&1 || true
            i=$((i + 1))
        done
        "$lab" ctl w4 "mem ${duty[4]} 8" >/dev/null 2>&1 || true
        echo "phase $((n % ${#phases[@]} + 1))/${#phases[@]}: duty w1-w4 ${duty[*]:0:4} %, w4 holds -> ${duty[4]} MiB (next change in 20 s)" >"$tmp/phase"
        n=$((n + 1))
        sleep 20 &
        sp=$!
        wait "$sp"
    done
}
changer &
changer_pid=$!
start_bus
start_daemon "$URI"
say "vmbalanced runs (pid $daemon_pid)"
live "real guests on $(hostname) ($(virsh -q -c "$URI" nodeinfo | awk -F: '/^CPU\(s\)/ {gsub(/ /, "", $2); print $2}') pCPUs, libvirt $URI)"
