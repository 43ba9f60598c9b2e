#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Regenerates bench/RESULTS.md and bench/plots/*.png, the one command for the benchmark:
#   bash bench/run.sh [vmb-bench options, e.g. --set cpu.max_moves=64 for a what-if run]
# Builds vmb-bench and the daemon (release), runs every trace with every algorithm, measures the
# costs (the daemon's memory; a real libvirt host if one answers, read-only) and draws the plots
# with gnuplot (Debian package gnuplot-nox). About two minutes.
#   VMB_BENCH_BUILD  build directory (default: build-bench/ in the source tree)
#   VMB_BENCH_LAB    libvirt URI for the real-host cycle cost (default qemu:///system, "" skips)
#   VMB_BENCH_LAB_WAIT  seconds to keep retrying while that host is down or has no guest (120)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${VMB_BENCH_BUILD:-$src/build-bench}
lab=${VMB_BENCH_LAB-qemu:///system}

if ! command -v gnuplot >/dev/null; then
    echo "run.sh: gnuplot is missing; install it with: apt-get install gnuplot-nox" >&2
    exit 1
fi
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$src" -Dbuildtype=release
fi
ninja -C "$build" bench/vmb-bench daemon/vmbalanced

data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
args=(--results "$src/bench/RESULTS.md" --data "$data" --notes "$src/bench/notes.md"
    --daemon "$build/daemon/vmbalanced")
if [ -n "$lab" ]; then
    args+=(--lab "$lab" --lab-wait "${VMB_BENCH_LAB_WAIT:-120}")
fi
"$build/bench/vmb-bench" "${args[@]}" "$@"

mkdir -p "$src/bench/plots"
rm -f "$src/bench/plots/"*.png
gnuplot -e "plots='$src/bench/plots'" "$data/plots.gp"
echo "run.sh: wrote bench/RESULTS.md and $(find "$src/bench/plots" -name '*.png' | wc -l) plots"
