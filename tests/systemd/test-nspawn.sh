#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# vmbalanced under real systemd: a minimal Debian rootfs (debootstrap, cached), the project
# installed into a copy of it with `meson install --destdir`, booted with systemd-nspawn and
# driven with nsenter. Inside: systemctl enable --now, vmbalancectl status / set, the journal
# fields, a nobody set refused by the bus, reload, and a watchdog-triggered restart.
# Usage: test-nspawn.sh SRCDIR BUILDDIR
#   VMB_NSPAWN_CACHE  where the rootfs is cached (default /var/cache/vmbalance-nspawn)
#   VMB_NSPAWN_KEEP=1 keep the container's files in $TMPDIR for a post-mortem
# Exit 77 (skip) when not root or systemd-nspawn, debootstrap or nsenter is missing.
set -uo pipefail
src=$(realpath "$1")
build=$(realpath "$2")
t0=$SECONDS
# shellcheck source=tests/systemd/lib.sh
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, mounts, systemd-nspawn)"
for tool in systemd-nspawn:systemd-container debootstrap:debootstrap nsenter:util-linux \
    flock:util-linux meson:meson; do
    command -v "${tool%%:*}" >/dev/null ||
        skip "${tool%%:*} not found (Debian package ${tool#*:}; see .ci/packages.txt)"
done
[ -d /sys/fs/cgroup ] || skip "no cgroup file system: systemd cannot boot in a container here"

suite=bookworm
# systemd + the bus, the daemon's runtime libraries, procps for ExecReload's kill.
packages=systemd,systemd-sysv,dbus,procps,libvirt0,libvirt-glib-1.0-0,libiniparser1,libglib2.0-0,libsystemd0,libjson-glib-1.0-0

# The machine's own Debian mirror (deb822 .sources or one-line .list), else the default.
find_mirror() {
    local f
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
mirror=$(find_mirror | grep -v security | head -n1)
mirror=${mirror:-http://deb.debian.org/debian}

tmp=$(mktemp -d)
root=$tmp/root
nspawn_pid=
pid1=
overlay=
cleanup() {
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
trap cleanup EXIT

fatal() {
    fail "$@"
    echo "1..$n"
    echo "# gave up after $((SECONDS - t0)) s"
    exit 1
}
step() { echo "# [$((SECONDS - t0)) s] $*"; }
wait_until() { # seconds command...
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.3
    done
}

# 1. The rootfs, cached by suite, mirror and package list; built once under a lock.
cache=${VMB_NSPAWN_CACHE:-/var/cache/vmbalance-nspawn}
key=$(printf '%s\n' "$suite" "$mirror" "$packages" | sha256sum | cut -c1-16)
lower=$cache/$suite-$key
mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9
if [ ! -e "$lower/.complete" ]; then
    step "debootstrap $suite from $mirror into $lower"
    rm -rf "$lower.tmp"
    if ! debootstrap --variant=minbase --include="$packages" "$suite" "$lower.tmp" "$mirror" \
        >"$tmp/debootstrap.log" 2>&1; then
        tail -n 30 "$tmp/debootstrap.log" >"$tmp/debootstrap.tail"
        rm -rf "$lower.tmp"
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

# 2. The project, built for /usr (where systemd and the bus look), next to the tests' build.
nbuild=$build/tests/systemd/nspawn-build
if [ ! -f "$nbuild/build.ninja" ]; then
    meson setup "$nbuild" "$src" --prefix=/usr -Dbuildtype=debugoptimized \
        >"$tmp/setup.log" 2>&1 || fatal "meson setup --prefix=/usr" "$tmp/setup.log"
fi
meson compile -C "$nbuild" >"$tmp/compile.log" 2>&1 || fatal "meson compile (prefix /usr)" "$tmp/compile.log"
step "built $nbuild"

# 3. A throw-away root: an overlay on the cache when possible, else a copy.
mkdir -p "$root" "$tmp/upper" "$tmp/work"
if mount -t overlay overlay -o "lowerdir=$lower,upperdir=$tmp/upper,workdir=$tmp/work" "$root" \
    2>/dev/null; then
    overlay=1
else
    cp -a "$lower/." "$root/"
fi
meson install -C "$nbuild" --destdir "$root" --no-rebuild >"$tmp/install.log" 2>&1 ||
    fatal "meson install --destdir" "$tmp/install.log"
ok "meson install --destdir into a $suite rootfs"
cli_installed=
[ -x "$root/usr/bin/vmbalancectl" ] && cli_installed=1

# The fake backend on the installed demo host; a quick cycle so actions come soon.
mkdir -p "$root/etc/vmbalanced" "$root/etc/systemd/system/vmbalanced.service.d"
cat >"$root/etc/vmbalanced/vmbalanced.conf" <<'EOF'
[daemon]
uri = fake:///usr/share/vmbalance/demo.ini
interval = 2
EOF
# A short watchdog, so the hung-daemon restart is quick to see.
cat >"$root/etc/systemd/system/vmbalanced.service.d/test.conf" <<'EOF'
[Service]
WatchdogSec=3s
RestartSec=1s
EOF

# 4. Boot.
systemd-nspawn -q -D "$root" -b --register=no --keep-unit --console=passive \
    -M "vmbtest-$$" >"$tmp/nspawn.log" 2>&1 &
nspawn_pid=$!
for _ in $(seq 100); do
    pid1=$(ps -o pid=,comm= --ppid "$nspawn_pid" 2>/dev/null | awk '$2 == "systemd" { print $1 }')
    [ -n "$pid1" ] && break
    kill -0 "$nspawn_pid" 2>/dev/null || break
    sleep 0.1
done
[ -n "$pid1" ] || fatal "systemd-nspawn boots the rootfs" "$tmp/nspawn.log"

# Runs a command inside the container, with a clean environment.
ct() {
    nsenter -t "$pid1" -m -u -i -n -p -r -w \
        env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
}
# PID 1 is there before its control socket.
pid1_listens() { ct test -S /run/systemd/private; }
wait_until 30 pid1_listens
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

name=org.vmbalance.Manager1
path=/org/vmbalance/Manager1
# vmbalancectl, or busctl calls that do the same while the CLI is not built.
ctl() { # [nobody] status | get KEY | set KEY VALUE
    local as=()
    if [ "$1" = nobody ]; then
        as=(runuser -u nobody --)
        shift
    fi
    if [ -n "$cli_installed" ]; then
        ct "${as[@]}" vmbalancectl "$@"
        return
    fi
    case $1 in
    status) ct "${as[@]}" busctl call "$name" "$path" "$name" GetStatus ;;
    get) ct "${as[@]}" busctl call "$name" "$path" "$name" GetTunable s "$2" ;;
    set) ct "${as[@]}" busctl call "$name" "$path" "$name" SetTunable sv "$2" s "$3" ;;
    esac
}
prop() { ct busctl get-property "$name" "$path" "$name" "$1"; }
unit_prop() { ct systemctl show -p "$1" --value vmbalanced; }
journal() { ct journalctl -q --no-pager -u vmbalanced "$@"; }

# 5. The README's steps. enable --now: Type=notify returns once the daemon sent READY=1.
if ct timeout 30 systemctl reload dbus >"$tmp/out" 2>&1; then
    ok "systemctl reload dbus"
else
    fail "systemctl reload dbus" "$tmp/out"
fi
if ct timeout 60 systemctl enable --now vmbalanced >"$tmp/out" 2>&1 &&
    [ "$(unit_prop ActiveState)" = active ]; then
    ok "systemctl enable --now vmbalanced: active"
else
    journal >>"$tmp/out" 2>&1
    ct systemctl status --no-pager vmbalanced >>"$tmp/out" 2>&1
    fatal "systemctl enable --now vmbalanced" "$tmp/out"
fi
if [ "$(unit_prop UnitFileState)" = enabled ]; then ok "vmbalanced is enabled"; else fail "vmbalanced is enabled"; fi
[ -z "$cli_installed" ] && echo "# vmbalancectl is not built yet (issue 4): busctl stands in for it"

# Pulls libvirtd in, ordered after it, but does not go down with it.
wants=" $(unit_prop Wants) "
after=" $(unit_prop After) "
binding=" $(unit_prop Requires) $(unit_prop BindsTo) $(unit_prop PartOf) "
deps="Wants=$wants After=$after Requires/BindsTo/PartOf=$binding"
if [[ $wants == *" libvirtd.service "* ]] && [[ $after == *" libvirtd.service "* ]] &&
    [[ $after == *" virtqemud.service "* ]] && [[ $binding != *libvirtd* ]]; then
    ok "wants and follows libvirtd, survives its restarts (no Requires/BindsTo/PartOf)"
else
    echo "$deps" >"$tmp/out"
    fail "wants and follows libvirtd, survives its restarts" "$tmp/out"
fi

has_status() { unit_prop StatusText | grep -q "domain"; }
if wait_until 10 has_status; then
    ok "STATUS= shown by systemd: $(unit_prop StatusText)"
else
    fail "STATUS= shown by systemd (got '$(unit_prop StatusText)')"
fi

# The sandbox really applies: no capabilities, no new privileges, seccomp on.
main_pid=$(unit_prop MainPID)
ct cat "/proc/$main_pid/status" >"$tmp/proc-status" 2>&1
if grep -q "^CapEff:[[:space:]]*0000000000000000" "$tmp/proc-status" &&
    grep -q "^NoNewPrivs:[[:space:]]*1" "$tmp/proc-status" &&
    grep -q "^Seccomp:[[:space:]]*2" "$tmp/proc-status"; then
    ok "the daemon runs without capabilities, with NoNewPrivs and a seccomp filter"
else
    fail "the daemon runs without capabilities, with NoNewPrivs and a seccomp filter" "$tmp/proc-status"
fi

if ctl status >"$tmp/out" 2>&1; then ok "vmbalancectl status"; else fail "vmbalancectl status" "$tmp/out"; fi
if ctl nobody status >"$tmp/out" 2>&1; then ok "nobody: vmbalancectl status"; else fail "nobody: vmbalancectl status" "$tmp/out"; fi
if ctl set interval 5 >"$tmp/out" 2>&1 && prop CpuInterval | grep -q "u 5"; then
    ok "vmbalancectl set interval 5"
else
    fail "vmbalancectl set interval 5" "$tmp/out"
fi
if ctl nobody set interval 7 >"$tmp/out" 2>&1; then
    fail "nobody: vmbalancectl set interval 7 is refused (it succeeded)" "$tmp/out"
elif grep -qi "denied" "$tmp/out" && prop CpuInterval | grep -q "u 5"; then
    ok "nobody: vmbalancectl set interval 7 is refused ($(head -n1 "$tmp/out")), interval still 5"
else
    fail "nobody: vmbalancectl set interval 7 is refused" "$tmp/out"
fi
# The refusal is the bus's, whatever the client makes of it.
if ct runuser -u nobody -- busctl call "$name" "$path" "$name" SetTunable sv interval s 7 \
    >"$tmp/out" 2>&1; then
    fail "nobody: SetTunable refused by the bus (it succeeded)" "$tmp/out"
elif grep -qi "access denied" "$tmp/out"; then
    ok "nobody: SetTunable refused by the bus ($(head -n1 "$tmp/out"))"
else
    fail "nobody: SetTunable refused by the bus" "$tmp/out"
fi

# 6. The journal: the change, and the actions with their fields.
journal -o verbose --grep 'interval' >"$tmp/set-record" 2>&1
if grep -q "MESSAGE=.*interval.*5" "$tmp/set-record" &&
    grep -q "_SYSTEMD_UNIT=vmbalanced.service" "$tmp/set-record"; then
    ok "journalctl -u vmbalanced shows the change: $(grep -m1 'MESSAGE=.*interval.*5' "$tmp/set-record" | sed 's/^ *//')"
else
    fail "journalctl -u vmbalanced shows the change" "$tmp/set-record"
fi
pin_id=4f3b1d1c9a8e4a55b1e2f0c3d7a6b901
has_pin() { [ -n "$(journal MESSAGE_ID=$pin_id -n 1 -o cat)" ]; }
wait_until 15 has_pin
journal MESSAGE_ID=$pin_id -n 1 -o verbose >"$tmp/pin-record" 2>&1
missing=
for field in DOMAIN DOMAIN_UUID VCPU FROM_PCPU TO_PCPU REASON MESSAGE_ID; do
    grep -q "^ *$field=" "$tmp/pin-record" || missing="$missing $field"
done
if has_pin && [ -z "$missing" ]; then
    ok "a pin record with DOMAIN= VCPU= FROM_PCPU= TO_PCPU= REASON= MESSAGE_ID="
else
    fail "a pin record with its fields (missing:${missing:- the record})" "$tmp/pin-record"
fi
domain=$(sed -n 's/^ *DOMAIN=//p' "$tmp/pin-record" | head -n1)
if [ -n "$domain" ] && journal "DOMAIN=$domain" -o cat >"$tmp/out" 2>&1 && [ -s "$tmp/out" ] &&
    ! grep -v "$domain" "$tmp/out" | grep -q .; then
    ok "journalctl -u vmbalanced DOMAIN=$domain: $(head -n1 "$tmp/out")"
else
    fail "journalctl -u vmbalanced DOMAIN=$domain lists that domain's actions only" "$tmp/out"
fi

# 7. Reload: ExecReload's SIGHUP, RELOADING=1 ... READY=1; the override stays.
reload_logged() { journal -o cat | grep -q 'configuration reloaded'; }
if ct timeout 30 systemctl reload vmbalanced >"$tmp/out" 2>&1 && wait_until 5 reload_logged &&
    [ "$(unit_prop ActiveState)" = active ] && prop CpuInterval | grep -q "u 5"; then
    ok "systemctl reload vmbalanced: reloaded, still active, override kept"
else
    journal -n 20 >>"$tmp/out" 2>&1
    fail "systemctl reload vmbalanced" "$tmp/out"
fi

# 8. A hung main loop: no WATCHDOG=1, systemd aborts and restarts it.
old_pid=$(unit_prop MainPID)
old_restarts=$(unit_prop NRestarts)
ct kill -STOP "$old_pid"
step "stopped pid $old_pid (WatchdogSec=3s)"
restarted() {
    local p
    p=$(unit_prop MainPID)
    [ "$p" != 0 ] && [ "$p" != "$old_pid" ] && [ "$(unit_prop ActiveState)" = active ]
}
if wait_until 30 restarted; then
    journal -o cat >"$tmp/out" 2>&1
    if grep -qi "watchdog timeout" "$tmp/out" && [ "$(unit_prop NRestarts)" -gt "$old_restarts" ]; then
        ok "watchdog timeout restarts a hung daemon (pid $old_pid -> $(unit_prop MainPID))"
    else
        fail "watchdog timeout restarts a hung daemon" "$tmp/out"
    fi
    if grep -q "u 5" <<<"$(prop CpuInterval)"; then
        ok "the restarted daemon keeps the runtime override (interval 5)"
    else
        fail "the restarted daemon keeps the runtime override (interval 5)"
    fi
else
    ct systemctl status --no-pager vmbalanced >"$tmp/out" 2>&1
    fail "watchdog timeout restarts a hung daemon" "$tmp/out"
fi
step "restarted"

# 9. A clean stop.
if ct timeout 30 systemctl stop vmbalanced >"$tmp/out" 2>&1 &&
    [ "$(unit_prop ActiveState)" = inactive ] && [ "$(unit_prop Result)" = success ]; then
    ok "systemctl stop vmbalanced: inactive, result success"
else
    ct systemctl status --no-pager vmbalanced >>"$tmp/out" 2>&1
    fail "systemctl stop vmbalanced" "$tmp/out"
fi

# 10. D-Bus activation: a call to the name starts the unit again.
if ct timeout 30 busctl call "$name" "$path" "$name" GetStatus >"$tmp/out" 2>&1 &&
    [ "$(unit_prop ActiveState)" = active ]; then
    ok "a call to $name starts vmbalanced.service (D-Bus activation)"
else
    ct systemctl status --no-pager vmbalanced >>"$tmp/out" 2>&1
    fail "a call to $name starts vmbalanced.service (D-Bus activation)" "$tmp/out"
fi

echo "1..$n"
echo "# done in $((SECONDS - t0)) s"
[ "$fails" -eq 0 ]
