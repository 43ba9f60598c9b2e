# shellcheck shell=bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What the shell tests of tests/systemd share (sourced): the skip exit and TAP result lines.
#   skip REASON       prints "SKIP: REASON" and exits 77 (meson: skipped)
#   ok WHAT           "ok N - WHAT"
#   fail WHAT [FILE]  "not ok N - WHAT", then FILE (when it exists) as "# " comment lines
# N counts in $n, the failures in $fails; a test ends with `echo "1..$n"` and fails when
# $fails is not 0.

fails=0
n=0

skip() {
    echo "SKIP: $*"
    exit 77
}
ok() {
    n=$((n + 1))
    echo "ok $n - $1"
}
fail() {
    n=$((n + 1))
    fails=$((fails + 1))
    echo "not ok $n - $1"
    [ -n "${2:-}" ] && [ -f "$2" ] && sed 's/^/# /' "$2"
    return 0
}

# ---- A booted Debian container (test-nspawn.sh, test-deb.sh) ----
# A minimal rootfs (debootstrap, cached under $VMB_NSPAWN_CACHE), mounted as a throw-away
# overlay, booted with systemd-nspawn and driven with nsenter. The caller sets
# `trap container_cleanup EXIT` after container_init.
#   container_init            root and the tools, else skip; $tmp, $root
#   container_rootfs          the cached rootfs ($lower), built once under a lock
#   container_mount           $root: an overlay on $lower (else a copy)
#   container_boot [OPTION...] boots $root (extra systemd-nspawn options), waits for the
#                             system to be up; $pid1
#   ct COMMAND...             runs COMMAND inside with a clean environment
#   step TEXT, fatal WHAT [FILE], wait_until SECONDS COMMAND...
#   VMB_NSPAWN_KEEP=1         keep $tmp for a post-mortem

t0=$SECONDS
container_suite=bookworm
# systemd + the bus, the daemon's runtime libraries, procps for ExecReload's kill. The cache
# key includes this list: changing it builds a new rootfs.
container_packages=systemd,systemd-sysv,dbus,procps,libvirt0,libvirt-glib-1.0-0,libiniparser1,libglib2.0-0,libsystemd0,libjson-glib-1.0-0

step() { echo "# [$((SECONDS - t0)) s] $*"; }
fatal() {
    fail "$@"
    echo "1..$n"
    echo "# gave up after $((SECONDS - t0)) s"
    exit 1
}
wait_until() { # seconds command...
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.3
    done
}

container_init() { # extra tools as name:package...
    [ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, mounts, systemd-nspawn)"
    local tool
    for tool in systemd-nspawn:systemd-container debootstrap:debootstrap nsenter:util-linux \
        flock:util-linux "$@"; do
        command -v "${tool%%:*}" >/dev/null ||
            skip "${tool%%:*} not found (Debian package ${tool#*:}; see .ci/packages.txt)"
    done
    [ -d /sys/fs/cgroup ] || skip "no cgroup file system: systemd cannot boot in a container here"
    tmp=$(mktemp -d)
    root=$tmp/root
    nspawn_pid=
    pid1=
    overlay=
}

# The machine's own Debian mirror (deb822 .sources or one-line .list), else the default.
container_find_mirror() {
    local f suite=$container_suite
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        awk -v suite="$suite" '
            /^[ \t]*$/ { if (uri != "" && ok) { print uri; exit } uri = ""; ok = 0; next }
            /^URIs:/ { uri = $2 }
            /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
            END { if (uri != "" && ok) print uri }' "$f" | head -n1
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        sed -n -E "s/^deb[ \t]+(\[[^]]*\][ \t]+)?([^ \t]+)[ \t]+${suite}[ \t].*/\2/p" "$f"
    done
}

container_rootfs() {
    local mirror cache key suite=$container_suite
    mirror=$(container_find_mirror | grep -v security | head -n1)
    mirror=${mirror:-http://deb.debian.org/debian}
    cache=${VMB_NSPAWN_CACHE:-/var/cache/vmbalance-nspawn}
    key=$(printf '%s\n' "$suite" "$mirror" "$container_packages" | sha256sum | cut -c1-16)
    lower=$cache/$suite-$key
    mkdir -p "$cache"
    exec 9>"$cache/lock"
    flock 9
    if [ ! -e "$lower/.complete" ]; then
        step "debootstrap $suite from $mirror into $lower"
        rm -rf "$lower.tmp"
        if ! debootstrap --variant=minbase --include="$container_packages" "$suite" \
            "$lower.tmp" "$mirror" >"$tmp/debootstrap.log" 2>&1; then
            tail -n 30 "$tmp/debootstrap.log" >"$tmp/debootstrap.tail"
            rm -rf "$lower.tmp"
            flock -u 9
            fatal "debootstrap $suite from $mirror" "$tmp/debootstrap.tail"
        fi
        rm -f "$lower.tmp"/var/cache/apt/archives/*.deb
        # Every boot of a copy must not find an old machine's identity.
        : >"$lower.tmp/etc/machine-id"
        touch "$lower.tmp/.complete"
        mv "$lower.tmp" "$lower"
    fi
    flock -u 9
    step "rootfs $lower"
}

container_mount() {
    mkdir -p "$root" "$tmp/upper" "$tmp/work"
    if mount -t overlay overlay -o "lowerdir=$lower,upperdir=$tmp/upper,workdir=$tmp/work" \
        "$root" 2>/dev/null; then
        overlay=1
    else
        cp -a "$lower/." "$root/"
    fi
}

# Runs a command inside the container, with a clean environment.
ct() {
    nsenter -t "$pid1" -m -u -i -n -p -r -w \
        env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
}

container_boot() {
    systemd-nspawn -q -D "$root" -b --register=no --keep-unit --console=passive \
        -M "vmbtest-$$" "$@" >"$tmp/nspawn.log" 2>&1 &
    nspawn_pid=$!
    for _ in $(seq 100); do
        pid1=$(ps -o pid=,comm= --ppid "$nspawn_pid" 2>/dev/null | awk '$2 == "systemd" { print $1 }')
        [ -n "$pid1" ] && break
        kill -0 "$nspawn_pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$pid1" ] || fatal "systemd-nspawn boots the rootfs" "$tmp/nspawn.log"
    # PID 1 is there before its control socket.
    wait_until 30 ct test -S /run/systemd/private
    local state
    state=$(ct timeout 60 systemctl is-system-running --wait 2>&1)
    case $state in
    running | degraded) ok "the container boots ($state)" ;;
    *)
        echo "$state" >"$tmp/state"
        ct systemctl --failed --no-pager >>"$tmp/state" 2>&1
        fatal "the container boots" "$tmp/state"
        ;;
    esac
    step "booted"
}

container_cleanup() {
    if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
        # nspawn turns SIGTERM into a clean poweroff of the container.
        kill -TERM "$nspawn_pid"
        for _ in $(seq 100); do
            kill -0 "$nspawn_pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$nspawn_pid" 2>/dev/null; then
            echo "# container did not power off in 20 s: killing it"
            # PID 1 of the container takes every process in it along.
            [ -n "$pid1" ] && kill -KILL "$pid1" 2>/dev/null
            kill -KILL "$nspawn_pid" 2>/dev/null
        fi
        wait "$nspawn_pid" 2>/dev/null
    fi
    [ -n "$overlay" ] && umount "$root"
    if [ -n "${VMB_NSPAWN_KEEP:-}" ]; then
        echo "# kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
