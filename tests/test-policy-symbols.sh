#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The policy library stays GLib only (daemon/meson.build): none of its objects may need a
# symbol from libvirt, libsystemd, iniparser or GDBus, nor, when LIBGIO is given, any
# symbol that libgio defines.
#   test-policy-symbols.sh LIBVMBPOLICY.a [LIBGIO.so]
set -uo pipefail
archive=${1:?usage: test-policy-symbols.sh LIBVMBPOLICY.a [LIBGIO.so]}
libgio=${2:-}

if ! command -v nm >/dev/null; then
    echo "1..0 # SKIP nm is not installed (package binutils)"
    exit 77
fi
[ -f "$archive" ] || { echo "Bail out! no archive $archive"; exit 1; }

# "nm -u" prints "U symbol" per undefined symbol and "object.o:" headers; keep the names.
undefined=$(nm -u "$archive" | awk '$1 == "U" { print $2 }' | sed 's/@.*//' | sort -u)
echo "1..2"

bad=$(grep -E '^(vir|sd_|iniparser_|g_dbus_)' <<<"$undefined")
if [ -z "$bad" ]; then
    echo "ok 1 - no libvirt, libsystemd, iniparser or GDBus symbol"
else
    echo "not ok 1 - the policy library needs:"
    sed 's/^/#   /' <<<"$bad"
fi

if [ -z "$libgio" ] || [ ! -e "$libgio" ]; then
    echo "ok 2 # SKIP libgio not found"
else
    gio=$(nm -D --defined-only "$libgio" | awk '{ print $3 }' | sed 's/@.*//' | sort -u)
    bad_gio=$(comm -12 <(echo "$undefined") <(echo "$gio"))
    if [ -z "$bad_gio" ]; then
        echo "ok 2 - no GIO symbol"
    else
        echo "not ok 2 - the policy library needs GIO:"
        sed 's/^/#   /' <<<"$bad_gio"
        bad="$bad$bad_gio"
    fi
fi
[ -z "$bad" ]
