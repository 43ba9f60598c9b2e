#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# [daemon] metrics_file end to end, with the real tools: vmbalanced on the simulated host
# writes the file, `promtool check metrics` (Debian prometheus) accepts it, the real
# prometheus-node-exporter serves it from its textfile directory on 127.0.0.1 and a scrape
# finds the simulated host's values; a domain that stops loses its series; a missing
# directory is logged once and written as soon as it exists; a bad path is refused.
# Usage: test-metrics.sh PATH/TO/vmbalanced. TAP; a missing tool skips its checks, saying why.
set -uo pipefail
bin=$1
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
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
py=/usr/bin/python3 # the system's: standard library only
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
fail() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; [ -n "${2:-}" ] && sed 's/^/# /' "$2"; }
wait_for() { # file pattern seconds
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        grep -qE -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
wait_gone() { # file pattern seconds
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        [ -s "$1" ] && ! grep -qE -- "$2" "$1" && return 0
        sleep 0.1
    done
    return 1
}
# check_values FILE EXPR...: each EXPR "series op value" holds in the exposition FILE
# (op: == within 0.02, or >=); parsed as Prometheus text, whoever formatted it.
check_values() {
    "$py" - "$@" <<'PY'
import re, sys
path, exprs = sys.argv[1], sys.argv[2:]
samples = {}
for line in open(path):
    if line.startswith('#') or not line.strip():
        continue
    series, value = line.rstrip('\n').rsplit(' ', 1)
    name, _, labels = series.partition('{')
    # node_exporter sorts labels: compare them as sets
    key = (name, frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', labels)))
    samples[key] = float(value)
bad = 0
for e in exprs:
    series, op, want = e.rsplit(' ', 2)
    name, _, labels = series.partition('{')
    key = (name, frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', labels)))
    got = samples.get(key)
    good = got is not None and (abs(got - float(want)) <= 0.02 if op == '==' else got >= float(want))
    if not good:
        print(f'# {series}: got {got}, want {op} {want}')
        bad += 1
sys.exit(1 if bad else 0)
PY
}

# 2 pCPUs, everything on pCPU 0: the balancer moves one big vCPU to pCPU 1.
cat >"$tmp/host.ini" <<'INI'
[host]
cpus = 2
memory_mib = 8192
host_used_mib = 1024
[domain big1]
load = 100
pin = 0
memory_mib = 1024
current_mib = 1024
used_mib = 300
[domain big2]
load = 100
pin = 0
memory_mib = 2048
current_mib = 2048
used_mib = 300
[domain small1]
vcpus = 2
load = 30
pin = 0,0
memory_mib = 1024
current_mib = 1024
used_mib = 300
[domain short]
load = 10
pin = 1
stop = 4
INI
textdir=$tmp/textfile
mkdir "$textdir"
prom=$textdir/vmbalance.prom
printf '[daemon]\ninterval = 1\nmetrics_file = %s\n' "$prom" >"$tmp/run.conf"
"$bin" --config "$tmp/run.conf" --connect "fake://$tmp/host.ini" --no-bus \
    --state-dir "$tmp/state" >"$tmp/run.log" 2>&1 &
daemon=$!
pids+=("$daemon")

if wait_for "$prom" 'vmbalance_domains 4' 5 && grep -q 'domain="short"' "$prom"; then
    ok "the file is written after the first cycles, with all four domains"
else
    fail "the file is written after the first cycles" "$tmp/run.log"
fi
mode=$(stat -c %a "$prom" 2>/dev/null)
if [ "$mode" = 644 ]; then ok "mode 0644"; else fail "mode $mode, want 644"; fi
leftover=$(find "$textdir" -mindepth 1 ! -name vmbalance.prom | wc -l)
if [ "$leftover" -eq 0 ]; then ok "no temporary file left beside it"; else fail "$leftover other files in the textfile directory"; fi

if command -v promtool >/dev/null; then
    cp "$prom" "$tmp/first.prom"
    if promtool check metrics <"$tmp/first.prom" >"$tmp/promtool.out" 2>&1; then
        ok "promtool check metrics accepts it"
    else
        fail "promtool check metrics" "$tmp/promtool.out"
    fi
else
    skip "promtool not found (Debian package prometheus)"
fi

# The simulated host's values, once the balancer moved a big vCPU off pCPU 0 and the
# short-lived domain stopped (t = 4 s).
if wait_gone "$prom" 'domain="short"' 8; then ok "a stopped domain's series are gone"; else fail "a stopped domain's series are gone" "$prom"; fi
expected=(
    'vmbalance_domains == 3'
    'vmbalance_state{state="running"} == 1'
    'vmbalance_vcpu_demand_ratio{domain="big1",vcpu="0"} == 1'
    'vmbalance_vcpu_demand_ratio{domain="big2",vcpu="0"} == 1'
    'vmbalance_vcpu_demand_ratio{domain="small1",vcpu="1"} == 0.3'
    'vmbalance_domain_memory_maximum_bytes{domain="big2"} == 2147483648'
    'vmbalance_domain_memory_actual_bytes{domain="big1"} >= 134217728'
    'vmbalance_pin_changes_total{reason="balance"} >= 1'
    'vmbalance_cpu_busy_ratio{cpu="1"} >= 0.9'
    'vmbalance_cycles_total{task="cpu"} >= 4'
    'vmbalance_host_memory_reserve_bytes >= 536870912'
)
cp "$prom" "$tmp/steady.prom"
if check_values "$tmp/steady.prom" "${expected[@]}" >"$tmp/check.out"; then
    ok "the file has the simulated host's values"
else
    fail "the file has the simulated host's values" "$tmp/check.out"
fi

# node_exporter with only the textfile collector, on a free port of 127.0.0.1.
if ! command -v prometheus-node-exporter >/dev/null || ! command -v curl >/dev/null; then
    skip "prometheus-node-exporter or curl not found (Debian packages prometheus-node-exporter, curl)"
else
    port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    prometheus-node-exporter --web.listen-address="127.0.0.1:$port" --collector.disable-defaults \
        --collector.textfile --collector.textfile.directory="$textdir" >"$tmp/ne.log" 2>&1 &
    exporter=$!
    pids+=("$exporter")
    for ((i = 0; i < 50; i++)); do
        curl -sf "http://127.0.0.1:$port/metrics" >"$tmp/scrape" 2>/dev/null && break
        sleep 0.1
    done
    if grep -q '^node_textfile_scrape_error 0' "$tmp/scrape"; then
        ok "node_exporter reads the directory without error"
    else
        fail "node_exporter reads the directory without error" "$tmp/ne.log"
    fi
    if check_values "$tmp/scrape" "${expected[@]}" >"$tmp/check.out"; then
        ok "node_exporter serves the simulated host's values"
    else
        fail "node_exporter serves the simulated host's values" "$tmp/check.out"
    fi
    if grep -q '^# TYPE vmbalance_pin_changes_total counter' "$tmp/scrape" &&
        grep -q '^vmbalance_build_info{version="[0-9.]*"} 1' "$tmp/scrape" &&
        ! grep -q 'domain="short"' "$tmp/scrape"; then
        ok "with their types, the build info, and no stopped domain"
    else
        fail "types, build info, stopped domain in the scrape" "$tmp/scrape"
    fi
    kill "$exporter"
    reap "$exporter" 2>/dev/null
fi

# The counters agree with the journal lines once the daemon stopped (its last file stays).
kill -TERM "$daemon"
reap "$daemon"
rc=$?
if [ "$rc" -eq 0 ]; then ok "SIGTERM exits 0"; else fail "SIGTERM: exit $rc" "$tmp/run.log"; fi
pins=$(grep -c 'notice: pin ' "$tmp/run.log")
mems=$(grep -c 'notice: set .* memory' "$tmp/run.log")
total() { "$py" -c 'import sys; print(int(sum(float(l.split()[-1]) for l in open(sys.argv[1]) if l.startswith(sys.argv[2]))))' "$prom" "$1"; }
if [ "$(total vmbalance_pin_changes_total)" -eq "$pins" ] && [ "$(total vmbalance_memory_changes_total)" -eq "$mems" ] && [ "$pins" -ge 1 ]; then
    ok "pin and memory counters match the logged actions ($pins pins, $mems memory changes)"
else
    fail "counters $(total vmbalance_pin_changes_total)/$(total vmbalance_memory_changes_total), log $pins/$mems" "$prom"
fi

# A directory that does not exist yet: one warning, then the file as soon as it does.
later=$tmp/later
printf '[daemon]\ninterval = 1\nmetrics_file = %s/vmbalance.prom\n[memory]\nenabled = no\n' "$later" >"$tmp/later.conf"
"$bin" --config "$tmp/later.conf" --connect "fake://$tmp/host.ini" --no-bus \
    --state-dir "$tmp/state2" >"$tmp/later.log" 2>&1 &
pid=$!
pids+=("$pid")
if wait_for "$tmp/later.log" "metrics_file: cannot write .*later/vmbalance.prom: directory .*later does not exist" 3; then
    ok "a missing directory is named in the log"
else
    fail "a missing directory is named in the log" "$tmp/later.log"
fi
sleep 2.5
warned=$(grep -c "does not exist" "$tmp/later.log")
if [ "$warned" -eq 1 ]; then ok "... once, not every cycle"; else fail "logged $warned times, want once" "$tmp/later.log"; fi
mkdir "$later"
if wait_for "$later/vmbalance.prom" "vmbalance_domains" 3 && grep -q "writing .* again" "$tmp/later.log"; then
    ok "written as soon as the directory exists, and said so"
else
    fail "written once the directory exists" "$tmp/later.log"
fi
kill -TERM "$pid"
reap "$pid"

# A bad path stops the daemon at start-up with the key and what it takes.
printf '[daemon]\nmetrics_file = vmbalance.prom\n' >"$tmp/bad.conf"
"$bin" --config "$tmp/bad.conf" --connect "fake://$tmp/host.ini" --no-bus >"$tmp/bad.log" 2>&1
rc=$?
if [ "$rc" -eq 78 ] && grep -q "daemon.metrics_file.*'vmbalance.prom'.*absolute path" "$tmp/bad.log"; then
    ok "a relative path exits 78 naming the key, the value and the rule"
else
    fail "a relative path: exit $rc" "$tmp/bad.log"
fi

echo "1..$n"
[ "$fails" -eq 0 ]
