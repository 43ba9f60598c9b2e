#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The built unit, offline: `test-unit.sh verify UNIT DAEMON` fails on any complaint of
# systemd-analyze verify; `test-unit.sh security UNIT MAX` fails when the exposure score of
# systemd-analyze security is above MAX. Exit 77 when systemd-analyze is missing.
set -uo pipefail
mode=$1
unit=$2
# shellcheck source=tests/systemd/lib.sh
source "$(dirname "$0")/lib.sh"

command -v systemd-analyze >/dev/null || skip "systemd-analyze not found (Debian package systemd)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

case $mode in
verify)
    daemon=$(realpath "$3")
    # ExecStart= names the installed path; verify checks it is executable, so point it at
    # the binary just built. Everything else is the unit as installed.
    exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
    sed "s|^ExecStart=$exec_start|ExecStart=$daemon|" "$unit" >"$tmp/vmbalanced.service"
    # Syntax errors only warn (exit 0): any output at all is a failure.
    systemd-analyze verify --man=no "$tmp/vmbalanced.service" >"$tmp/out" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ] || [ -s "$tmp/out" ]; then
        echo "FAIL: systemd-analyze verify --man=no $unit (exit $rc):"
        cat "$tmp/out"
        exit 1
    fi
    echo "ok: systemd-analyze verify --man=no $unit: no complaints"
    ;;
security)
    max=$3
    systemd-analyze security --offline=true --no-pager "$unit" >"$tmp/out" 2>&1
    score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$tmp/out")
    if [ -z "$score" ]; then
        echo "FAIL: no exposure score from systemd-analyze security --offline=true:"
        cat "$tmp/out"
        exit 1
    fi
    # What is still exposed, for the log.
    grep -E '^✗' "$tmp/out"
    if awk -v s="$score" -v m="$max" 'BEGIN { exit !(s + 0 <= m + 0) }'; then
        echo "ok: exposure $score <= $max"
    else
        echo "FAIL: exposure $score > $max"
        cat "$tmp/out"
        exit 1
    fi
    ;;
*)
    echo "usage: $0 verify UNIT DAEMON | security UNIT MAX" >&2
    exit 2
    ;;
esac
