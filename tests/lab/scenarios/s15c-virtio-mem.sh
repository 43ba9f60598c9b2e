#!/bin/bash
# shellcheck disable=SC2016,SC2034,SC2119,SC1091 # check() evals its condition later; lib.sh sets and reads the shared variables
# Scenario 15c: a virtio-mem guest (issue 15, item 2). v has 512 MiB of boot memory (one guest
# NUMA cell) and a 512 MiB virtio-mem device with nothing plugged. First a probe without the
# daemon: `virsh update-memory-device --requested-size 128MiB` must show up as <current> within
# 20 s, else the scenario skips with the evidence (console lines, the device's XML): TCG or the
# guest kernel could not run it here. Then vmbalanced (only v managed) while v's workload ramps
# 32 -> 800 MiB at 20 MiB/s, beyond its boot memory: it must plug blocks through the device's
# requested size (journal "virtio-mem of vmblab-v"), v reaches 800 MiB held with no OOM kill;
# when v lets go (back to 32 MiB) the requested size comes down again within 8 cycles.
NAME=s15c-virtio-mem
source "$(dirname "$0")/lib.sh"

need_memory_coordinator
lab_begin
start_own_guest v --transient --mem 512 --vmem 512 || bail "start v (virtio-mem)"
vmem_xml() { virsh_ dumpxml "${P}v" | sed -n "/<memory model='virtio-mem'/,/<\/memory>/p"; }
vmem_field() { vmem_xml | sed -n "s|.*<$1 unit='KiB'>\([0-9]*\)</$1>.*|\1|p" | head -1; }

# Probe: can this guest plug memory at all here?
PLUGGED=''
if virsh_ update-memory-device "${P}v" --requested-size 128MiB --live >"$TMP/probe.log" 2>&1; then
	for ((i = 0; i < 40; i++)); do
		c=$(vmem_field current)
		[ "${c:-0}" -ge $((128 * 1024)) ] && PLUGGED=$c && break
		sleep 0.5
	done
fi
if [ -z "$PLUGGED" ]; then
	diag "update-memory-device: $(cat "$TMP/probe.log")"
	vmem_xml | sed 's/^/#   /'
	grep -i "virtio_mem\|virtio-mem" "$VMB_LAB_STATE/guests/${P}v/console.log" 2>/dev/null | sed 's/^/#   console: /'
	skip "virtio-mem does not plug on this host (requested 128 MiB, <current> $(vmem_field current) KiB after 20 s): see the evidence above"
fi
diag "probe: 128 MiB plugged (<current> $((PLUGGED / 1024)) MiB)"
virsh_ update-memory-device "${P}v" --requested-size 0 --live >/dev/null 2>&1 || true
for ((i = 0; i < 40; i++)); do [ "$(vmem_field current)" = 0 ] && break; sleep 0.5; done
diag "after the probe: <current> $(($(vmem_field current) / 1024)) MiB"

KILL0=$(console_count v 'memory child killed')
EXCLUDE=$(virsh_ list --name | grep "^$P" | grep -v "^${P}v$" | paste -sd, -) start_mem_daemon
T0=$(now)
ctl v 'mem 800 20' || bail "start v's ramp"
HELD='' END_US=$(to_us "$T0" 90)
while [ "${EPOCHREALTIME/./}" -lt "$END_US" ]; do
	"$LAB" ctl v status 2>/dev/null | grep -q 'held_mib=800 ' && HELD=$(since "$T0") && break
	daemon_alive || break
	sleep 1
done
PEAK_CUR=$(vmem_field current) PEAK_REQ=$(vmem_field requested)
diag "v holds 800 MiB after ${HELD:-never} s; device requested $((${PEAK_REQ:-0} / 1024)) MiB, plugged $((${PEAK_CUR:-0} / 1024)) MiB"
ctl v 'mem 32'
sleep $((8 * INTERVAL))
END_REQ=$(vmem_field requested)
grep -E "${P}v memory|virtio-mem of ${P}v" "$TMP/daemon.log" | grep -v debug | sed 's/^/#   /'
KILLS=$(($(console_count v 'memory child killed') - KILL0))
check "v reached 800 MiB held, beyond its 512 MiB boot memory (${HELD:-never})" '[ -n "$HELD" ]'
check "blocks were plugged through the device (requested $((${PEAK_REQ:-0} / 1024)) MiB)" \
	'[ "${PEAK_REQ:-0}" -ge $((256 * 1024)) ] && grep -q "virtio-mem of ${P}v" "$TMP/daemon.log"'
check "no OOM kill on v ($KILLS)" '[ "$KILLS" = 0 ]'
check "the requested size came down after v let go ($((${PEAK_REQ:-0} / 1024)) -> $((${END_REQ:-0} / 1024)) MiB)" \
	'[ "${END_REQ:-0}" -lt "${PEAK_REQ:-0}" ]'
check_no_warnings
stop_daemon
finish
