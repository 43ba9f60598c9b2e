#!/bin/bash
# selftest.sh - end-to-end check of the lab on real guests (~1.5 min, root):
# up, two guests at 100 % / 30 % duty, vCPU time/delay deltas (free and both
# pinned to pCPU 0), live duty change, memory ramp + OOM, down.  Prints the
# time of each step.  Fails (exit 1) on the first check that does not hold.
#   VMB_SELFTEST_COLD=1   also wipe the build cache first (cold build timing)
set -euo pipefail

LAB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lab.sh"
V=(virsh -q -c "${VMB_LAB_URI:-qemu:///system}")
P=${VMB_LAB_PREFIX:-vmblab-}
FAILS=0

step() { STEP=$1; T0=$(date +%s.%N); }
done_() { printf '%-44s %6.1f s\n' "$STEP" "$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')"; }
check() { if eval "$2"; then echo "  ok: $1"; else echo "  FAIL: $1"; FAILS=$((FAILS + 1)); fi; }

# vcpu.0.{time,wait,delay} of DOM (ns, one "k v" per line).
vstat() { "${V[@]}" domstats --vcpu "$P$1" | sed -n 's/^ *vcpu\.0\.\(time\|wait\|delay\)=/\1 /p'; }

# Busy % of vcpu.0 over SECS for each guest: prints "NAME time% wait% delay%".
sample() {
	local secs=$1 g; shift
	declare -A a
	local t0 t1
	t0=$(date +%s%N)
	for g in "$@"; do a[$g]=$(vstat "$g" | tr '\n' ' '); done
	sleep "$secs"
	t1=$(date +%s%N)
	for g in "$@"; do
		echo "$g ${a[$g]} $(vstat "$g" | tr '\n' ' ')" |
			awk -v w=$((t1 - t0)) '{ # g time T0 wait W0 delay D0 time T1 ...
				for (i = 2; i < 8; i += 2) s0[$i] = $(i+1)
				for (i = 8; i < 14; i += 2) s1[$i] = $(i+1)
				printf "%s time=%.1f%% wait=%.1f%% delay=%.1f%% time+delay=%.1f%%\n", $1,
					100*(s1["time"]-s0["time"])/w, 100*(s1["wait"]-s0["wait"])/w,
					100*(s1["delay"]-s0["delay"])/w,
					100*(s1["time"]-s0["time"]+s1["delay"]-s0["delay"])/w }'
	done
}
pct() {   # pct GUEST KEY SAMPLE-OUTPUT -> the KEY=N% value of GUEST's line
	awk -v g="$1" -v k="$2" '$1 == g { for (i = 2; i <= NF; i++) if (index($i, k "=") == 1) {
		v = substr($i, length(k) + 2); sub(/%.*/, "", v); print v; exit } }' <<<"$3"
}
near() { awk -v v="$1" -v c="$2" -v tol="$3" 'BEGIN{exit !(v >= c - tol && v <= c + tol)}'; }

trap '"$LAB" down >/dev/null 2>&1 || true' EXIT

KVM_BEFORE=$(stat -c '%U:%G %a' /dev/kvm 2>/dev/null || echo none)
daemons() { { pgrep -x libvirtd; pgrep -x virtlogd; true; } | sort | tr '\n' ' '; }
DAEMONS_BEFORE=$(daemons)
if [ "${VMB_SELFTEST_COLD:-0}" = 1 ]; then
	rm -rf "${VMB_LAB_CACHE:-/var/cache/vmbalance-lab}"
fi
step "build guest (build-guest.sh)"; "$LAB" build -q >/dev/null; done_
step "build guest again (cache hit)"; "$LAB" build -q >/dev/null; done_
step "up"; "$LAB" up; done_
step "start a (duty 100)"; "$LAB" start a --duty 100 >/dev/null; done_
step "start b (duty 30)"; "$LAB" start b --duty 30 >/dev/null; done_

step "vcpu deltas, unpinned, 5 s"
s=$(sample 5 a b); echo "$s"; done_
# Other load on the host lowers `time` and raises `delay`; their sum (the
# guest's demand) is what stays put.
check "a time+delay ~100%" "near $(pct a time+delay "$s") 100 10"
check "b time+delay ~30-40%" "near $(pct b time+delay "$s") 36 8"

step "pin both vcpu 0 -> pCPU 0"
"${V[@]}" vcpupin "${P}a" 0 0 >/dev/null
"${V[@]}" vcpupin "${P}b" 0 0 >/dev/null
done_
sleep 2
step "vcpu deltas, both on pCPU 0, 5 s"
s=$(sample 5 a b); echo "$s"; done_
check "both on one pCPU (time a+b <= 103%)" "near $(awk -v x="$(pct a time "$s")" -v y="$(pct b time "$s")" 'BEGIN{print x+y}') 50 53"
check "a delayed (delay > 5%)" "near $(pct a delay "$s") 50 45"

step "ctl a 'duty 50' + unpin a"
"$LAB" ctl a 'duty 50'
"${V[@]}" vcpupin "${P}a" 0 1 >/dev/null
done_
sleep 1
s=$(sample 5 a b); echo "$s"
check "a time+delay ~50%" "near $(pct a time+delay "$s") 52 9"

step "stop a, b"; "$LAB" stop a; "$LAB" stop b; done_

step "start m (256/512 MiB)"; "$LAB" start m --mem 256 --maxmem 512 >/dev/null; done_
step "setmem m 512 MiB, ramp 32->300 MiB @ 8 MiB/s"
"${V[@]}" setmem "${P}m" 512M --live
"$LAB" ctl m 'mem 300 8'
"$LAB" wait m 'mem target reached held_mib=300' 60
done_
"$LAB" ctl m status
"${V[@]}" domstats --balloon "${P}m"
step "setmem m 256 MiB (below demand)"
"${V[@]}" setmem "${P}m" 256M --live
sleep 3
cur=$("${V[@]}" domstats --balloon "${P}m" | sed -n 's/^ *balloon.current=//p')
echo "  balloon.current=$cur KiB after 3 s (target 262144), OOM kills: $("$LAB" oom m)"
done_
step "ctl m 'mem 310' (demand +10 MiB) -> OOM"
"$LAB" ctl m 'mem 310'
"$LAB" wait m 'memory child killed \(oom\)' 30
done_
check "kernel OOM line on console" "[ \"\$(\"$LAB\" oom m)\" -ge 1 ]"
"$LAB" oom m -v | head -2

step "down"; "$LAB" down; trap - EXIT; done_
check "libvirtd/virtlogd pids as before up ('$DAEMONS_BEFORE')" "[ \"\$(daemons)\" = '$DAEMONS_BEFORE' ]"
check "no lab qemu left" "! pgrep -f 'guest=${P}' >/dev/null"
check "/dev/kvm mode restored ($KVM_BEFORE)" "[ \"\$(stat -c '%U:%G %a' /dev/kvm 2>/dev/null || echo none)\" = '$KVM_BEFORE' ]"
[ "$FAILS" = 0 ] && echo "selftest: all checks passed" || { echo "selftest: $FAILS check(s) failed"; exit 1; }
