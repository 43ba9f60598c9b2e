#!/bin/bash
# shellcheck disable=SC2016,SC2034,SC2119,SC1091 # check() evals its condition later; lib.sh sets and reads the shared variables
# Scenario 15c: a virtio-mem guest (issue 15, item 2). v has 512 MiB of boot memory (one guest
# NUMA cell) and a 512 MiB virtio-mem device with nothing plugged. First a probe without the
# daemon: `virsh update-memory-device --requested-size 128MiB` must show up as <current> within
# 20 s, else the scenario skips with the evidence (console lines, the device's XML): TCG or the
# guest kernel could not run it here. Then vmbalanced (only v managed) while v's workload ramps
# 32 -> 400 MiB and back: vmbalanced must leave v's memory alone (hands off, said once with the
# reason) and change neither its balloon nor its device. Why: driving the device was tried here
# (libvirt 9.0, QEMU 7.2): plugging works, but libvirt refuses a balloon target above <memory>
# (the boot memory) while QEMU counts plugged memory in the balloon's target, so every balloon
# change re-inflated the plugged blocks (v never got past 512 MiB, 26 OOM kills).
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

EXCLUDE=$(virsh_ list --name | grep "^$P" | grep -v "^${P}v$" | paste -sd, -) start_mem_daemon
ACTUAL0=$(balloon_current v)
ctl v 'mem 400 20' || bail "start v's ramp"
sleep $((10 * INTERVAL))
ctl v 'mem 32'
sleep $((5 * INTERVAL))
END_REQ=$(vmem_field requested) ACTUAL1=$(balloon_current v)
grep -E "${P}v" "$TMP/daemon.log" | grep -v debug | sed 's/^/#   /'
check "v's memory is left alone, with the reason, once" \
	'[ "$(grep -c "domain ${P}v: .*virtio-mem device.*leaves its memory alone" "$TMP/daemon.log")" = 1 ]'
check "no balloon change of v ($((ACTUAL0 / 1024)) -> $((ACTUAL1 / 1024)) MiB)" \
	'! grep -q "set ${P}v memory" "$TMP/daemon.log"'
check "no virtio-mem change of v (requested $((${END_REQ:-0} / 1024)) MiB)" \
	'[ "${END_REQ:-0}" = 0 ] && ! grep -q "virtio-mem of ${P}v" "$TMP/daemon.log"'
check_no_warnings
stop_daemon
finish
