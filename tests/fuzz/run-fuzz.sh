#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs one libFuzzer harness for a while on a scratch copy of its seed corpus (the tree's
# corpus is never written): `meson test --suite fuzz` in a build configured with
# -Dfuzz=true and CC=clang. A crash, leak, UBSan report, GLib critical or broken promise of a
# loader fails the test; the input is kept under BUILDDIR/fuzz-crashes/ and printed (base64),
# to be saved under tests/fuzz/crashes/ with the defect.
#   run-fuzz.sh HARNESS SEED_CORPUS_DIR [SECONDS]
#   VMB_FUZZ_SECONDS  overrides SECONDS (default 60)
set -euo pipefail
harness=$1
seeds=$2
seconds=${VMB_FUZZ_SECONDS:-${3:-60}}
name=$(basename "$harness")
keep=${VMB_BUILDDIR:-$PWD}/fuzz-crashes/$name

work=$(mktemp -d "${TMPDIR:-/tmp}/vmb-$name-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/artifacts"
cp "$seeds"/* "$work/corpus/"

# Leaks are checked by libFuzzer itself (-detect_leaks); a report must stop the run.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1
echo "fuzz: $name for ${seconds}s on $(find "$work/corpus" -type f | wc -l) seed(s) from $seeds"
status=0
"$harness" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1 ||
    status=$?
tail -n 40 "$work/log"
if [ "$status" -ne 0 ] || [ -n "$(ls -A "$work/artifacts")" ]; then
    mkdir -p "$keep"
    for a in "$work/artifacts"/*; do
        [ -e "$a" ] || continue
        cp "$a" "$keep/"
        echo "fuzz: FAILED ($status): input kept as $keep/$(basename "$a"), base64:"
        base64 "$a" | head -c 20000
        echo
    done
    cp "$work/log" "$keep/log"
    exit 1
fi
echo "fuzz: $name: no finding in ${seconds}s, corpus grew to $(find "$work/corpus" -type f | wc -l) input(s)"
