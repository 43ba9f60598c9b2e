#!/usr/bin/env bash
# vmbalanced as a program: options, exit codes, config errors, signals, and a real run on
# the simulated host. Usage: test-daemon.sh PATH/TO/vmbalanced SRCDIR
set -uo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
# Waits for the tracked process $1 and forgets it (once reaped its number may be reused, so
# cleanup must not signal it): returns its exit status.
reap() {
    local rc=0 keep=() p
    wait "$1" || rc=$?
    for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    pids=("${keep[@]}")
    return $rc
}
fails=0
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; [ -n "${2:-}" ] && sed 's/^/# /' "$2"; }
expect_rc() { # name want cmd...
    local name=$1 want=$2
    shift 2
    "$@" >"$tmp/out" 2>&1
    local rc=$?
    if [ "$rc" -eq "$want" ]; then ok "$name"; else fail "$name (exit $rc, want $want)" "$tmp/out"; fi
}
expect_text() { # name file pattern
    if grep -qE -- "$3" "$2"; then ok "$1"; else fail "$1 (no /$3/)" "$2"; fi
}
wait_for() { # file pattern seconds
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        grep -qE -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

cat >"$tmp/seed.ini" <<'INI'
[host]
cpus = 2
[domain big1]
load = 100
pin = 0
[domain big2]
load = 100
pin = 0
[domain small1]
load = 30
pin = 0
[domain small2]
load = 30
pin = 0
INI
printf '[daemon]\ninterval = 1\n[memory]\nenabled = no\n' >"$tmp/good.conf"

expect_rc "--version exits 0" 0 "$bin" --version
expect_text "--version prints the version" "$tmp/out" "^vmbalanced [0-9]+\.[0-9]+"
expect_rc "--help exits 0" 0 "$bin" --help
expect_text "--help lists --dry-run" "$tmp/out" "--dry-run"
expect_rc "unknown option is a usage error" 64 "$bin" --frobnicate
expect_rc "stray argument is a usage error" 64 "$bin" extra

printf '[cpu]\ninterval = 0\n' >"$tmp/bad.conf"
expect_rc "out-of-range value exits 78" 78 "$bin" --config "$tmp/bad.conf" --connect "fake://$tmp/seed.ini"
expect_text "error names file, key, value and range" "$tmp/out" "bad.conf.*cpu.interval.*'0'.*1..3600"
printf '[cpu]\nfoo = 1\n' >"$tmp/unknown.conf"
expect_rc "unknown key exits 78" 78 "$bin" --config "$tmp/unknown.conf"
expect_text "unknown key is named" "$tmp/out" "unknown key 'foo'"
expect_rc "missing explicit config exits 78" 78 "$bin" --config "$tmp/nope.conf"
expect_rc "bad scenario path fails" 1 "$bin" --config "$tmp/good.conf" --connect "fake://$tmp/none.ini"

# A real run: the seeds' scenario is fixed by two pins in the second cycle, then nothing.
cp "$tmp/good.conf" "$tmp/run.conf"
"$bin" --config "$tmp/run.conf" --connect "fake://$tmp/seed.ini" >"$tmp/run.log" 2>&1 &
pid=$!
pids+=("$pid")
if wait_for "$tmp/run.log" "pin small" 6; then ok "balances the seed scenario"; else fail "balances the seed scenario" "$tmp/run.log"; fi
sleep 3
pins=$(grep -c " pin " "$tmp/run.log")
if [ "$pins" -eq 2 ]; then ok "two pin changes, then none"; else fail "two pin changes, then none ($pins)" "$tmp/run.log"; fi

# SIGHUP with a broken file keeps the old settings; with a good one it reloads.
printf '[daemon]\ninterval = nope\n' >"$tmp/run.conf"
kill -HUP "$pid"
if wait_for "$tmp/run.log" "reload rejected.*daemon.interval" 3; then ok "bad reload rejected with the key"; else fail "bad reload rejected" "$tmp/run.log"; fi
kill -0 "$pid" 2>/dev/null && ok "still running after a bad reload" || fail "still running after a bad reload"
# A FIFO in place of the file at reload: refused by its kind, never opened for reading (an
# open would block the main loop until a writer came).
rm "$tmp/run.conf"
mkfifo "$tmp/run.conf"
kill -HUP "$pid"
if wait_for "$tmp/run.log" "reload rejected.*run.conf.*FIFO" 3; then ok "FIFO at reload rejected naming the path"; else fail "FIFO at reload rejected naming the path" "$tmp/run.log"; fi
kill -HUP "$pid"
for _ in $(seq 30); do
    [ "$(grep -c 'reload rejected.*FIFO' "$tmp/run.log")" -ge 2 ] && break
    sleep 0.1
done
if [ "$(grep -c 'reload rejected.*FIFO' "$tmp/run.log")" -ge 2 ]; then
    ok "main loop still serves signals after a FIFO reload"
else
    fail "main loop still serves signals after a FIFO reload" "$tmp/run.log"
fi
rm "$tmp/run.conf"
printf '[daemon]\ninterval = 2\n[memory]\nenabled = no\n' >"$tmp/run.conf"
kill -HUP "$pid"
if wait_for "$tmp/run.log" "configuration reloaded" 3; then ok "good reload applied"; else fail "good reload applied" "$tmp/run.log"; fi
kill -TERM "$pid"
reap "$pid"
rc=$?
if [ "$rc" -eq 0 ]; then ok "SIGTERM exits 0"; else fail "SIGTERM exits 0 (got $rc)" "$tmp/run.log"; fi

# Dry run: says what it would do.
"$bin" --config "$tmp/good.conf" --connect "fake://$tmp/seed.ini" --dry-run >"$tmp/dry.log" 2>&1 &
pid=$!
pids+=("$pid")
if wait_for "$tmp/dry.log" "would pin" 6; then ok "dry run reports would-be pins"; else fail "dry run reports would-be pins" "$tmp/dry.log"; fi
kill -INT "$pid"
reap "$pid"
[ $? -eq 0 ] && ok "SIGINT exits 0" || fail "SIGINT exits 0"

# A starving guest is looked at again within seconds, not a whole (10 s) interval later.
cat >"$tmp/grow.ini" <<'INI'
[host]
cpus = 2
memory_mib = 8192
[domain grower]
memory_mib = 2048
current_mib = 256
used_mib = 0:100 60:1500
INI
printf '[daemon]\ninterval = 10\n[cpu]\nenabled = no\n' >"$tmp/grow.conf"
"$bin" --config "$tmp/grow.conf" --connect "fake://$tmp/grow.ini" --verbose >"$tmp/grow.log" 2>&1 &
pid=$!
pids+=("$pid")
sleep 8
kill -TERM "$pid"
reap "$pid"
cycles=$(grep -c "memory cycle" "$tmp/grow.log")
grows=$(grep -c "set grower memory" "$tmp/grow.log")
# cycles after the first grow: within 8 s of a 10 s interval, each one is a follow-up (a
# grow sized for the guest's growth over the next interval may make a second grow unneeded)
after=$(sed -n '/set grower memory/,$p' "$tmp/grow.log" | grep -c "memory cycle")
if [ "$cycles" -ge 3 ] && [ "$grows" -ge 1 ] && [ "$after" -ge 2 ]; then
    ok "starving guest followed up before the interval ($cycles cycles, $grows grows in 8 s)"
else
    fail "starving guest followed up before the interval ($cycles cycles, $grows grows, $after cycles from the first grow)" "$tmp/grow.log"
fi

# Its stderr reader going away (`vmbalanced ... 2>&1 | head -n1`) must not kill it (SIGPIPE,
# exit 141): it stops logging to stderr and keeps running, and stops cleanly on SIGTERM.
printf '[daemon]\ninterval = 1\n' >"$tmp/pipe.conf"
"$bin" --config "$tmp/pipe.conf" --connect "fake://$tmp/seed.ini" --no-bus --verbose \
    --state-dir "$tmp/pipe-state" 2> >(head -n1 >/dev/null) &
pid=$!
pids+=("$pid")
sleep 3
if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    reap "$pid"
    rc=$?
    [ "$rc" -eq 0 ] && ok "survives a closed stderr pipe" || fail "closed stderr pipe: exit $rc, want 0"
else
    reap "$pid"
    fail "closed stderr pipe: died with exit $?"
fi

# A big host: 4,096 pCPUs, 1,024 floating vCPUs. SIGTERM stops it with exit 0 within a second
# whenever it comes: during start-up (once main() catches it), during the first cycle and
# during the cycle that places all 1,024 vCPUs.
{
    printf '[host]\ncpus = 4096\nmemory_mib = 1048576\n'
    for ((d = 0; d < 256; d++)); do
        printf '[domain vm%03d]\nvcpus = 4\nload = %d\nnoise = 2\nmemory_mib = 2048\n' "$d" $((10 + d * 37 % 90))
    done
} >"$tmp/big.ini"
printf '[daemon]\ninterval = 1\n' >"$tmp/big.conf"
catches_term() { # pid: SIGTERM (bit 15) in SigCgt, once the pid runs vmbalanced itself: the
    # forked shell before its exec catches SIGTERM too (bash does, with an EXIT trap set)
    local mask
    [ "$(cat "/proc/$1/comm" 2>/dev/null)" = vmbalanced ] || return 1
    mask=$(awk '/^SigCgt:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
    [ -n "$mask" ] && (((0x$mask >> 14) & 1))
}
usec() { local t=${EPOCHREALTIME/[.,]/}; echo "$((10#$t))"; }
stop_big() { # name when: startup | LOG-PATTERN [SECONDS-AFTER]
    local name=$1 when=$2 after=${3:-0} pid i t0 t1 rc
    rm -rf "$tmp/big-state"
    "$bin" --config "$tmp/big.conf" --connect "fake://$tmp/big.ini" --no-bus \
        --state-dir "$tmp/big-state" >"$tmp/big.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    if [ "$when" = startup ]; then # as soon as main() catches it: tens of ms into start-up
        for ((i = 0; i < 20000; i++)); do catches_term "$pid" && break; done
    elif ! wait_for "$tmp/big.log" "$when" 20; then
        fail "$name (never saw /$when/)" "$tmp/big.log"
        kill -KILL "$pid"
        return
    fi
    sleep "$after"
    (sleep 10 && kill -KILL "$pid" 2>/dev/null) &
    local guard=$!
    t0=$(usec)
    kill -TERM "$pid"
    reap "$pid"
    rc=$?
    t1=$(usec)
    kill "$guard" 2>/dev/null
    local ms=$(((t1 - t0) / 1000))
    if [ "$when" = startup ] && grep -q " started" "$tmp/big.log"; then
        fail "$name: start-up finished before it stopped" "$tmp/big.log"
    elif [ "$rc" -eq 0 ] && [ "$ms" -lt 1000 ]; then
        ok "$name: exit 0 after ${ms} ms"
    else
        fail "$name: exit $rc after ${ms} ms (want 0 within 1000 ms)" "$tmp/big.log"
    fi
}
stop_big "SIGTERM during start-up, 4096 pCPUs" startup
stop_big "SIGTERM during the first cycle, 4096 pCPUs" "started"
# The second cycle, one interval after the first, places the 1,024 vCPUs.
stop_big "SIGTERM while 1024 vCPUs are placed, 4096 pCPUs" "started" 1.05

echo "1..$n"
[ "$fails" -eq 0 ]
