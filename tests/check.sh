#!/usr/bin/env bash
# The test command: builds with warnings as errors and runs every test suite, then builds
# again with AddressSanitizer + UBSan and runs the unit, program, D-Bus and soak tests there,
# then builds the libFuzzer harnesses with clang-14 and runs each for 30 s, two at a time (the
# fuzz suite; skipped, with the reason, where clang-14 or libFuzzer is missing).
#   VMB_CHECK_DIR  where the build trees go (default: build-check/ in the source tree)
#   VMB_SUITES     meson test suites to run in the plain build (default: all but soak)
#   VMB_FUZZ_SECONDS  how long each fuzz harness runs (default 30 here; longer runs by hand)
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
# The soak runs once, in the sanitizer build below, where leaks and memory errors show.
suites=(--no-suite soak)
for s in ${VMB_SUITES:-}; do suites+=(--suite "$s"); done
meson test -C "$out/plain" --print-errorlogs "${suites[@]}"

echo "== build with AddressSanitizer + UBSan"
setup "$out/asan" -Dwerror=true -Dbuildtype=debug -Db_sanitize=address,undefined \
    -Db_lundef=false
meson compile -C "$out/asan"
LSAN_OPTIONS="suppressions=$src/tests/lsan.supp:print_suppressions=0" \
    meson test -C "$out/asan" --print-errorlogs --suite unit --suite daemon --suite dbus \
    --suite soak

echo "== fuzz: libFuzzer harnesses (clang-14, ASan + UBSan)"
fuzz_targets=(fuzz-config fuzz-overrides fuzz-scenario fuzz-proc-stat fuzz-proc-meminfo fuzz-domain-xml fuzz-domain-policy fuzz-numa-maps)
fuzz_skip=
if ! command -v clang-14 >/dev/null; then
    fuzz_skip="clang-14 is not installed (apt-get install clang-14 libclang-rt-14-dev libfuzzer-14-dev)"
elif ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
    clang-14 -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then
    fuzz_skip="clang-14 cannot link -fsanitize=fuzzer (apt-get install libclang-rt-14-dev libfuzzer-14-dev)"
fi
if [ -n "$fuzz_skip" ]; then
    echo "check: SKIP fuzz suite: $fuzz_skip"
else
    CC=clang-14 setup "$out/fuzz" -Dfuzz=true -Dbuildtype=debugoptimized -Db_sanitize=address,undefined \
        -Db_lundef=false
    # The harnesses only: the rest of the tree was built and tested above.
    meson compile -C "$out/fuzz" "${fuzz_targets[@]}"
    # Each harness is one process: two at a time keep both cores busy, and 30 s each keeps the
    # whole command well inside CI's budget (the corpus seeds every run; long runs are by hand).
    VMB_FUZZ_SECONDS=${VMB_FUZZ_SECONDS:-30} \
        LSAN_OPTIONS="suppressions=$src/tests/lsan.supp:print_suppressions=0" \
        meson test -C "$out/fuzz" --no-rebuild --print-errorlogs --num-processes 2 --suite fuzz
fi
echo "check: all passed"
