#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The bus policy, enforced by a real dbus-daemon: a private bus started from a copy of the
# system bus configuration whose only policy directory holds the project's policy file.
# As nobody, every read works and every change is refused by the bus (AccessDenied); as
# root, changes work. Usage: test-bus-policy.sh DAEMON SRCDIR [VMBALANCECTL]
# Exit 77 (skip) when not root, a tool is missing, or vmbalancectl is not built (then the
# bus checks with gdbus still run first and must pass).
set -uo pipefail
daemon=$(realpath "$1")
src=$(realpath "$2")
ctl=${3:+$(realpath "$3")}
name=org.vmbalance.Manager1
path=/org/vmbalance/Manager1
# shellcheck source=tests/systemd/lib.sh
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (runs clients as nobody with runuser)"
for tool in dbus-daemon runuser gdbus; do
    command -v "$tool" >/dev/null || skip "$tool not found (Debian packages dbus-daemon, util-linux, libglib2.0-bin)"
done
[ -r /usr/share/dbus-1/system.conf ] || skip "no /usr/share/dbus-1/system.conf (Debian package dbus)"

tmp=$(mktemp -d)
bus_pid=
daemon_pid=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
    [ -n "$bus_pid" ] && kill "$bus_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
# nobody must reach the bus socket and the copied client.
chmod 0755 "$tmp"
cd "$tmp" || exit 1

# The system configuration with our socket and our policy directory only; no pid file,
# no user switch, no activation of the machine's services.
mkdir "$tmp/system.d"
cp "$src/dbus/$name.conf" "$tmp/system.d/"
sed -e "s|<listen>.*</listen>|<listen>unix:path=$tmp/bus</listen>|" \
    -e "s|<includedir>system.d</includedir>|<includedir>$tmp/system.d</includedir>|" \
    -e '\|<includedir>/etc/dbus-1/system.d</includedir>|d' \
    -e '\|<include ignore_missing="yes">/etc/dbus-1/system|d' \
    -e '\|<user>|d' -e '\|<pidfile>|d' -e '\|<fork/>|d' -e '\|<syslog/>|d' \
    -e '\|<servicehelper>|d' -e '\|<standard_system_servicedirs/>|d' \
    /usr/share/dbus-1/system.conf >"$tmp/system.conf"
dbus-daemon --config-file="$tmp/system.conf" --fork --print-address=3 --print-pid=4 \
    3>"$tmp/address" 4>"$tmp/bus.pid" 2>"$tmp/bus.log" || {
    cat "$tmp/bus.log"
    echo "FAIL: cannot start the private bus"
    exit 1
}
bus_pid=$(cat "$tmp/bus.pid")
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$tmp/bus"

printf '[daemon]\ninterval = 2\n' >"$tmp/vmbalanced.conf"
"$daemon" --config "$tmp/vmbalanced.conf" --connect "fake://$src/data/demo.ini" \
    --state-dir "$tmp/state" >"$tmp/daemon.log" 2>&1 &
daemon_pid=$!
owned=
for _ in $(seq 50); do
    if gdbus call --system --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
        --method org.freedesktop.DBus.NameHasOwner "$name" 2>/dev/null | grep -q true; then
        owned=1
        break
    fi
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
done
if [ -n "$owned" ]; then ok "root owns $name under the policy"; else fail "root owns $name under the policy" "$tmp/daemon.log"; fi

as_nobody() {
    runuser -u nobody -- "$@"
}
call() { # user method args...
    local user=$1 method=$2
    shift 2
    local cmd=(gdbus call --system --dest "$name" --object-path "$path" --method "$method" "$@")
    if [ "$user" = root ]; then "${cmd[@]}"; else as_nobody "${cmd[@]}"; fi
}
expect_allowed() { # user method args...
    if call "$@" >"$tmp/out" 2>&1; then ok "$1 may call $2"; else fail "$1 may call $2" "$tmp/out"; fi
}
expect_denied() { # method args... (as nobody)
    if call nobody "$@" >"$tmp/out" 2>&1; then
        fail "nobody is refused $1 (it succeeded)" "$tmp/out"
    elif grep -q "org.freedesktop.DBus.Error.AccessDenied" "$tmp/out"; then
        ok "nobody is refused $1 by the bus (AccessDenied)"
    else
        fail "nobody is refused $1 by the bus (AccessDenied)" "$tmp/out"
    fi
}

m=org.vmbalance.Manager1
expect_allowed nobody org.freedesktop.DBus.Introspectable.Introspect
expect_allowed nobody org.freedesktop.DBus.Peer.Ping
expect_allowed nobody org.freedesktop.DBus.Properties.GetAll "$m"
expect_allowed nobody org.freedesktop.DBus.Properties.Get "$m" CpuInterval
expect_allowed nobody $m.GetStatus
expect_allowed nobody $m.ListTunables
expect_allowed nobody $m.GetTunable interval
expect_allowed nobody $m.GetHistory 10
expect_denied $m.SetTunable interval '<uint32 5>'
expect_denied $m.ResetTunable interval
expect_denied $m.Pause cpu
expect_denied $m.Resume cpu
expect_denied $m.Reload
expect_denied $m.RunNow cpu
expect_denied org.freedesktop.DBus.Properties.Set "$m" CpuInterval '<uint32 5>'
if ! grep -q "uint32 2" <<<"$(call nobody org.freedesktop.DBus.Properties.Get "$m" CpuInterval 2>&1)"; then
    fail "the refused calls changed nothing (interval still 2)"
else
    ok "the refused calls changed nothing (interval still 2)"
fi
expect_allowed root $m.SetTunable interval '<uint32 3>'
expect_allowed root $m.ResetTunable interval

# A second instance must not take the name over (owning it is the lock).
"$daemon" --config "$tmp/vmbalanced.conf" --connect "fake://$src/data/demo.ini" \
    --state-dir "$tmp/state2" >"$tmp/second.log" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && kill -0 "$daemon_pid" 2>/dev/null; then
    ok "a second instance exits ($rc), the first runs on"
else
    fail "a second instance exits, the first runs on (exit $rc)" "$tmp/second.log"
fi
# nobody may not own the name either.
as_nobody "$daemon" --config "$tmp/vmbalanced.conf" \
    --connect "fake://$src/data/demo.ini" --state-dir "$tmp/state3" \
    >"$tmp/nobody.log" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && grep -q "AccessDenied\|not allowed to own" "$tmp/nobody.log"; then
    ok "nobody cannot own $name"
else
    fail "nobody cannot own $name (exit $rc)" "$tmp/nobody.log"
fi

# The same through vmbalancectl, the way an operator meets it.
cli_missing=
if [ -z "$ctl" ] || [ ! -x "$ctl" ]; then
    cli_missing=1
else
    # A copy nobody can run wherever the build tree is.
    install -m 0755 "$ctl" "$tmp/vmbalancectl"
    if as_nobody "$tmp/vmbalancectl" status >"$tmp/out" 2>&1; then
        ok "nobody: vmbalancectl status works"
    else
        fail "nobody: vmbalancectl status works" "$tmp/out"
    fi
    if as_nobody "$tmp/vmbalancectl" set interval 5 >"$tmp/out" 2>&1; then
        fail "nobody: vmbalancectl set interval 5 is refused (it succeeded)" "$tmp/out"
    elif grep -qi "AccessDenied\|Rejected send message\|denied" "$tmp/out"; then
        ok "nobody: vmbalancectl set interval 5 is refused"
        sed 's/^/# /' "$tmp/out"
    else
        fail "nobody: vmbalancectl set interval 5 is refused" "$tmp/out"
    fi
    if "$tmp/vmbalancectl" set interval 5 >"$tmp/out" 2>&1; then
        ok "root: vmbalancectl set interval 5 works"
    else
        fail "root: vmbalancectl set interval 5 works" "$tmp/out"
    fi
    if as_nobody "$tmp/vmbalancectl" get interval >"$tmp/out" 2>&1 && grep -qw 5 "$tmp/out"; then
        ok "nobody: vmbalancectl get interval shows 5"
    else
        fail "nobody: vmbalancectl get interval shows 5" "$tmp/out"
    fi
fi

echo "1..$n"
[ "$fails" -eq 0 ] || exit 1
[ -z "$cli_missing" ] || skip "vmbalancectl is not built yet (cli/, issue 4): the bus policy checks above passed, the vmbalancectl ones did not run"
exit 0
