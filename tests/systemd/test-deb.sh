#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Debian package, for real: built with dpkg-buildpackage from a clean copy of the source
# tree, checked with lintian, installed with apt-get in the booted container of
# test-nspawn.sh (lib.sh), used as root and as an unprivileged user over the container's
# system bus, and purged, leaving no file behind.
# Usage: test-deb.sh SRCDIR
#   VMB_NSPAWN_CACHE, VMB_NSPAWN_KEEP=1 as for test-nspawn.sh
# Exit 77 (skip) when not root, or a tool or a build dependency is missing.
set -uo pipefail
src=$(realpath "$1")
# shellcheck source=tests/systemd/lib.sh
source "$(dirname "$0")/lib.sh"

container_init dpkg-buildpackage:dpkg-dev dh:debhelper lintian:lintian \
    dpkg-checkbuilddeps:dpkg-dev
trap container_cleanup EXIT

# 1. A clean copy: the files git knows or would know (tracked, or new and not ignored), so
# that no build tree of the developer's goes in; every file when the tree is not a git one.
version=$(sed -n -E "s/^ *version *: *'([^']+)'.*/\1/p" "$src/meson.build" | head -n1)
arch=$(dpkg --print-architecture)
pkgsrc=$tmp/src/vmbalance-$version
mkdir -p "$pkgsrc"
if command -v git >/dev/null && git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$src" ls-files -z --cached --others --exclude-standard |
        (cd "$src" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
        tar -C "$src" --null -T - -cf - | tar -C "$pkgsrc" -xf -
else
    tar -C "$src" --exclude='./.git' --exclude='./build*' --exclude='./obj-*' --exclude='./debian/.debhelper' \
        -cf - . | tar -C "$pkgsrc" -xf -
fi
[ -f "$pkgsrc/debian/control" ] || fatal "a copy of the source tree with debian/ in $pkgsrc"
(cd "$pkgsrc" && dpkg-checkbuilddeps) >"$tmp/builddeps" 2>&1 ||
    skip "build dependencies missing: $(cat "$tmp/builddeps") (see .ci/packages.txt)"

changelog_version=$(cd "$pkgsrc" && dpkg-parsechangelog -S Version)
if [ -n "$version" ] && [ "$changelog_version" = "$version" ]; then
    ok "debian/changelog's version is meson.build's ($version)"
else
    fail "debian/changelog's version ($changelog_version) is meson.build's ($version)"
fi

# 2. The package.
build_start=$SECONDS
if (cd "$pkgsrc" && dpkg-buildpackage -us -uc -b) >"$tmp/buildpackage.log" 2>&1; then
    ok "dpkg-buildpackage -us -uc -b ($((SECONDS - build_start)) s)"
else
    tail -n 40 "$tmp/buildpackage.log" >"$tmp/out"
    fatal "dpkg-buildpackage -us -uc -b" "$tmp/out"
fi
deb=$tmp/src/vmbalance_${version}_${arch}.deb
changes=$tmp/src/vmbalance_${version}_${arch}.changes
[ -f "$deb" ] || fatal "dpkg-buildpackage made $(basename "$deb") (made: $(ls "$tmp/src"))"
step "built $(basename "$deb")"

# Lintian on the .changes (the .deb, its -dbgsym and the .buildinfo): informational tags
# are listed (debian/README.source says which are accepted and why), no warning or error.
lintian --pedantic -I --fail-on error,warning "$changes" >"$tmp/lintian" 2>&1
lintian_rc=$?
grep -v 'running with root privileges' "$tmp/lintian" >"$tmp/lintian.tags"
if [ "$lintian_rc" -eq 0 ] && ! grep -q '^[EW]:' "$tmp/lintian.tags"; then
    ok "lintian: no error, no warning ($(grep -c '^[IP]:' "$tmp/lintian.tags") informational)"
    sed 's/^/# /' "$tmp/lintian.tags"
else
    fail "lintian: no error, no warning (exit $lintian_rc)" "$tmp/lintian.tags"
fi

# Where Debian expects the files, and which are conffiles.
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$tmp/contents"
missing=
for f in /usr/sbin/vmbalanced /usr/bin/vmbalancectl /lib/systemd/system/vmbalanced.service \
    /usr/share/dbus-1/system.d/org.vmbalance.Manager1.conf \
    /usr/share/dbus-1/system-services/org.vmbalance.Manager1.service \
    /usr/share/bash-completion/completions/vmbalancectl /etc/vmbalanced/vmbalanced.conf \
    /usr/share/man/man8/vmbalanced.8.gz /usr/share/man/man1/vmbalancectl.1.gz \
    /usr/share/man/man5/vmbalanced.conf.5.gz; do
    grep -qx "$f" "$tmp/contents" || missing="$missing $f"
done
if [ -z "$missing" ]; then ok "the package holds the daemon, the CLI, the unit, the bus policy, the completion and the man pages"; else fail "files missing from the package:$missing" "$tmp/contents"; fi
if [ "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles)" = /etc/vmbalanced/vmbalanced.conf ]; then
    ok "/etc/vmbalanced/vmbalanced.conf is the conffile"
else
    fail "/etc/vmbalanced/vmbalanced.conf is the conffile"
fi
if dpkg-deb -f "$deb" Recommends | grep -q libvirt-daemon-system &&
    dpkg-deb -f "$deb" Depends | grep -q libvirt0; then
    ok "Depends: $(dpkg-deb -f "$deb" Depends); Recommends: $(dpkg-deb -f "$deb" Recommends)"
else
    fail "Depends from shlibs, Recommends libvirt-daemon-system"
fi

# 3. The container: the cached rootfs of test-nspawn.sh, nothing of the project in it.
container_rootfs
container_mount
mkdir -p "$root/srv"
cp "$deb" "$root/srv/"
# The demo host instead of qemu:///system, which needs libvirtd: a drop-in of the test's own,
# there before the package (so postinst's start uses it) and after the purge.
mkdir -p "$root/etc/systemd/system/vmbalanced.service.d"
cat >"$root/etc/systemd/system/vmbalanced.service.d/test.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=/usr/sbin/vmbalanced --connect fake:///usr/share/vmbalance/demo.ini
EOF
# No network: whatever apt needs must already be in the rootfs.
container_boot --private-network

# Every file and directory the package could touch, before install and after purge. The
# package manager's own records (/var/lib/dpkg, /var/lib/apt) change by design.
file_list() {
    ct find /etc /usr /var/lib -xdev \( -path /var/lib/dpkg -o -path /var/lib/apt \) -prune \
        -o -print | sort
}
file_list >"$tmp/files-before"

# 4. apt-get install ./....deb, offline (no network in the container): apt resolves the
# Depends against what the rootfs has installed (the runtime libraries) with debootstrap's
# package lists, and must not need to download anything. Without the Recommends: they would
# bring libvirtd and QEMU (some 250 packages to download), which the fake:// host does not
# need; the field itself is checked on the .deb above.
install_start=$SECONDS
if ct env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "/srv/$(basename "$deb")" >"$tmp/apt-install" 2>&1 &&
    grep -q '^0 upgraded, 1 newly installed' "$tmp/apt-install"; then
    ok "apt-get install --no-install-recommends ./$(basename "$deb"): vmbalance alone ($((SECONDS - install_start)) s)"
else
    fatal "apt-get install ./$(basename "$deb")" "$tmp/apt-install"
fi
if ct dpkg-query -W -f '${Status}' vmbalance 2>/dev/null | grep -qx 'install ok installed'; then
    ok "dpkg: vmbalance install ok installed"
else
    fail "dpkg: vmbalance install ok installed" "$tmp/apt-install"
fi

unit_prop() { ct systemctl show -p "$1" --value vmbalanced; }
journal() { ct journalctl -q --no-pager -u vmbalanced "$@"; }
is_active() { [ "$(ct systemctl is-active vmbalanced)" = active ]; }
if [ "$(ct systemctl is-enabled vmbalanced 2>&1)" = enabled ]; then
    ok "systemctl is-enabled vmbalanced: enabled"
else
    fail "systemctl is-enabled vmbalanced: $(ct systemctl is-enabled vmbalanced 2>&1)"
fi
if wait_until 10 is_active; then
    ok "systemctl is-active vmbalanced: active (started by postinst)"
else
    journal >"$tmp/out" 2>&1
    fail "systemctl is-active vmbalanced: $(ct systemctl is-active vmbalanced)" "$tmp/out"
fi
# The bus may read the package's policy a moment after postinst starts the unit: the start
# must not depend on that race (a refused name would be a failure and a restart).
if [ "$(unit_prop NRestarts)" = 0 ]; then
    ok "started once, no restart (NRestarts=0)"
else
    journal >"$tmp/out" 2>&1
    fail "started once, no restart (NRestarts=$(unit_prop NRestarts))" "$tmp/out"
fi

# 5. vmbalancectl over the container's system bus, as root and as nobody.
has_domains() { ct vmbalancectl status >"$tmp/status" 2>&1 && grep -q "web1" "$tmp/status"; }
if wait_until 10 has_domains; then
    ok "root: vmbalancectl status ($(grep -c . "$tmp/status") lines)"
else
    fail "root: vmbalancectl status" "$tmp/status"
fi
if ct runuser -u nobody -- vmbalancectl status >"$tmp/out" 2>&1 && [ -s "$tmp/out" ]; then
    ok "nobody: vmbalancectl status"
else
    fail "nobody: vmbalancectl status" "$tmp/out"
fi
if ct runuser -u nobody -- vmbalancectl set interval 9 >"$tmp/out" 2>&1; then
    fail "nobody: vmbalancectl set interval 9 is refused (it succeeded)" "$tmp/out"
elif grep -qi "denied" "$tmp/out"; then
    ok "nobody: vmbalancectl set interval 9 is refused ($(head -n1 "$tmp/out"))"
else
    fail "nobody: vmbalancectl set interval 9 is refused" "$tmp/out"
fi
interval_is() { ct vmbalancectl get interval 2>&1 | grep -qw "$1"; }
if ct vmbalancectl set interval 7 >"$tmp/out" 2>&1 && interval_is 7 &&
    ct test -s /var/lib/vmbalanced/overrides.conf; then
    ok "root: vmbalancectl set interval 7 (kept in /var/lib/vmbalanced/overrides.conf)"
else
    ct vmbalancectl get interval >>"$tmp/out" 2>&1
    fail "root: vmbalancectl set interval 7" "$tmp/out"
fi
old_pid=$(unit_prop MainPID)
if ct timeout 60 systemctl restart vmbalanced >"$tmp/out" 2>&1 && wait_until 10 is_active &&
    [ "$(unit_prop MainPID)" != "$old_pid" ] && wait_until 5 interval_is 7; then
    ok "systemctl restart vmbalanced: a new daemon (pid $old_pid -> $(unit_prop MainPID)), interval still 7"
else
    ct vmbalancectl get interval >>"$tmp/out" 2>&1
    journal -n 20 >>"$tmp/out" 2>&1
    fail "systemctl restart vmbalanced keeps interval 7" "$tmp/out"
fi
if ct test -f /usr/share/man/man5/vmbalanced.conf.5.gz; then
    ok "vmbalanced.conf(5) installed"
else
    fail "vmbalanced.conf(5) installed"
fi
step "used"

# 6. Purge: the service stops, every file of the package and of the daemon goes.
if ct env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q vmbalance >"$tmp/apt-purge" 2>&1; then
    ok "apt-get purge vmbalance"
else
    fail "apt-get purge vmbalance" "$tmp/apt-purge"
fi
status=$(ct dpkg-query -W -f '${Status}' vmbalance 2>/dev/null)
case $status in
'' | *not-installed) ok "dpkg: vmbalance purged (${status:-unknown to dpkg})" ;;
*) fail "dpkg: vmbalance purged (status: $status)" ;;
esac
if ct pgrep -x vmbalanced >/dev/null; then
    fail "no vmbalanced process after purge ($(ct pgrep -a -x vmbalanced))"
else
    ok "no vmbalanced process after purge"
fi
file_list >"$tmp/files-after"
if diff -u "$tmp/files-before" "$tmp/files-after" >"$tmp/files-diff"; then
    ok "nothing left behind in /etc, /usr, /var/lib ($(wc -l <"$tmp/files-after") paths as before install)"
else
    fail "nothing left behind in /etc, /usr, /var/lib" "$tmp/files-diff"
fi

echo "1..$n"
echo "# done in $((SECONDS - t0)) s"
[ "$fails" -eq 0 ]
