# shellcheck shell=bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What the shell tests of tests/systemd share (sourced): the skip exit and TAP result lines.
#   skip REASON       prints "SKIP: REASON" and exits 77 (meson: skipped)
#   ok WHAT           "ok N - WHAT"
#   fail WHAT [FILE]  "not ok N - WHAT", then FILE (when it exists) as "# " comment lines
# N counts in $n, the failures in $fails; a test ends with `echo "1..$n"` and fails when
# $fails is not 0.

fails=0
n=0

skip() {
    echo "SKIP: $*"
    exit 77
}
ok() {
    n=$((n + 1))
    echo "ok $n - $1"
}
fail() {
    n=$((n + 1))
    fails=$((fails + 1))
    echo "not ok $n - $1"
    [ -n "${2:-}" ] && [ -f "$2" ] && sed 's/^/# /' "$2"
    return 0
}
