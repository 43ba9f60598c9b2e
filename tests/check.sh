#!/usr/bin/env bash
# The test command: builds with warnings as errors and runs every test suite, then builds
# again with AddressSanitizer + UBSan and runs the unit, program and D-Bus tests there.
#   VMB_CHECK_DIR  where the build trees go (default: build-check/ in the source tree)
#   VMB_SUITES     meson test suites to run in the plain build (default: all)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${VMB_CHECK_DIR:-$src/build-check}

missing=()
for pc in glib-2.0 gio-2.0 libvirt libvirt-glib-1.0 libsystemd; do
    pkg-config --exists "$pc" 2>/dev/null || missing+=("$pc")
done
if [ ${#missing[@]} -gt 0 ] || ! command -v meson >/dev/null; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "check: installing missing build dependencies (${missing[*]:-meson}) with apt-get"
        apt-get update -q
        # shellcheck disable=SC2046
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            $(grep -v '^#' "$src/.ci/packages.txt")
    else
        echo "check: missing build dependencies (${missing[*]:-meson})." >&2
        echo "check: as root: apt-get install \$(grep -v '^#' $src/.ci/packages.txt)" >&2
        exit 1
    fi
fi

setup() { # dir, options...
    local dir=$1
    shift
    if [ -f "$dir/build.ninja" ]; then
        meson configure "$dir" "$@" >/dev/null
    else
        meson setup "$dir" "$src" "$@"
    fi
}

echo "== build (warnings are errors)"
setup "$out/plain" -Dwerror=true -Dbuildtype=debugoptimized
meson compile -C "$out/plain"
suites=()
for s in ${VMB_SUITES:-}; do suites+=(--suite "$s"); done
meson test -C "$out/plain" --print-errorlogs "${suites[@]}"

echo "== build with AddressSanitizer + UBSan"
setup "$out/asan" -Dwerror=true -Dbuildtype=debug -Db_sanitize=address,undefined \
    -Db_lundef=false
meson compile -C "$out/asan"
LSAN_OPTIONS="suppressions=$src/tests/lsan.supp:print_suppressions=0" \
    meson test -C "$out/asan" --print-errorlogs --suite unit --suite daemon --suite dbus
echo "check: all passed"
