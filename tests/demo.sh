#!/usr/bin/env bash
# The demo: builds vmbalanced and runs it on a simulated 4-pCPU host with six guests whose
# loads change over time (tests/scenarios/demo.ini), logging every decision. Ctrl-C stops.
# Installs the build dependencies first when run as root on Debian and they are missing.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${VMB_BUILD_DIR:-$src/build}

if ! pkg-config --exists libvirt-glib-1.0 libsystemd 2>/dev/null || ! command -v meson >/dev/null; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "demo: installing build dependencies (apt-get)"
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            $(grep -v '^#' "$src/.ci/packages.txt")
    else
        echo "demo: missing build dependencies; as root run: apt-get install $(grep -v '^#' "$src/.ci/packages.txt" | tr '\n' ' ')" >&2
        exit 1
    fi
fi

[ -f "$build/build.ninja" ] || meson setup "$build" "$src" >/dev/null
meson compile -C "$build" >/dev/null

conf=$(mktemp)
trap 'rm -f "$conf"' EXIT
printf '[daemon]\ninterval = 2\n' >"$conf"
echo "demo: vmbalanced on a simulated host (tests/scenarios/demo.ini); Ctrl-C to stop"
"$build/daemon/vmbalanced" --config "$conf" --connect "fake://$src/tests/scenarios/demo.ini" "$@"
