#!/bin/bash
# lab.sh - vmbalance real-guest lab: tiny libvirt/QEMU guests running a
# workload (workload.c) whose CPU duty cycle and memory demand are known and
# can be changed live, for testing vmbalanced against real guests.
#
# Usage: lab.sh COMMAND [ARGS]
#   up                       start virtlogd + libvirtd if not running, make
#                            /dev/kvm root:kvm 0660 (remembering the old mode)
#   down [--force]           destroy+undefine all lab guests, stop only the
#                            daemons `up` started, restore /dev/kvm.  Refuses
#                            to stop libvirtd while non-lab guests run on it
#                            (unless --force)
#   start NAME [opts]        define + start guest vmblab-NAME, wait for the
#                            workload's ready marker.  Options:
#       --vcpus N (1)  --mem MiB (384)  --maxmem MiB (max(512, mem))
#       --duty D (0)  --threads N (1)  --hold MiB (32)
#       --target MiB --rate MiB/s   ramp the held memory after boot
#       --autodeflate  --transient  --append 'KERNEL ARGS'  --timeout S
#       --no-balloon (no balloon device)  --no-balloon-driver (device, no guest driver)
#       --free-page-reporting (<memballoon freePageReporting='on'>)
#       --no-settle (return at boot, while the balloon may still inflate to --mem)
#       --vmem MiB (a virtio-mem device of that size, 2 MiB blocks, none plugged; --mem is
#                   then the boot memory, one guest NUMA cell)
#   ctl NAME 'CMD' ['CMD'...] send control commands, print one reply each:
#                            duty D | threads N | mem M [RATE] | status | ping
#   stop NAME                destroy + undefine one guest (its console log
#                            stays until the next start of NAME or down)
#   list                     lab guests and their state
#   console NAME [-f]        print (or follow) the guest's serial console log
#   oom NAME [-v]            number of guest OOM kills in the console log
#   wait NAME REGEX [SECS]   wait until REGEX (grep -E) appears on the console
#   info NAME                domain name, console log, control socket
#   build                    (re)build the guest kernel+initramfs (cached)
#
# NAME may be given with or without the vmblab- prefix; the lab only ever
# touches domains whose name has the prefix.
#
# Environment: VMB_LAB_STATE (/run/vmbalance-lab), VMB_LAB_CACHE (see
# build-guest.sh), VMB_LAB_PREFIX (vmblab-), VMB_LAB_VIRT_TYPE (qemu|kvm,
# default kvm only if kvm_intel or kvm_amd is loaded), VMB_LAB_URI
# (qemu:///system).
#
# Needs (Debian): libvirt-daemon-system libvirt-clients qemu-system-x86
# busybox-static gcc libc6-dev netcat-openbsd (nc -U for `ctl`).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
STATE=${VMB_LAB_STATE:-/run/vmbalance-lab}
PREFIX=${VMB_LAB_PREFIX:-vmblab-}
URI=${VMB_LAB_URI:-qemu:///system}
CTL_CHANNEL=org.vmbalance.ctl
READY_RE='vmb-workload: ready'
OOM_RE='Out of memory: Killed process'

say() { echo "lab: $*" >&2; }
die() { echo "lab: error: $*" >&2; exit 1; }
virsh_() { virsh -q -c "$URI" "$@"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'; }

usage() { sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//'; }

# ---- helpers --------------------------------------------------------------

# Domain name for NAME (adds the prefix) after checking NAME is sane.
dom_name() {
	local n=${1#"$PREFIX"}
	[[ $n =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$ ]] || die "bad guest name '$1'"
	echo "$PREFIX$n"
}
gdir() { echo "$STATE/guests/$1"; }     # per-guest state dir (by domain name)

libvirt_ok() { timeout 15 virsh -c "$URI" version >/dev/null 2>&1; }
need_libvirt() { libvirt_ok || die "libvirt ($URI) not reachable: run '$0 up' first"; }

lab_domains() {   # names of all lab domains (running or defined)
	virsh_ list --all --name 2>/dev/null | grep -E "^${PREFIX//./\\.}" || true
}

# PID from PIDFILE if that process is alive and is COMM, else nothing.
live_pid() {
	local pf=$1 comm=$2 pid
	[ -f "$pf" ] || return 1
	pid=$(cat "$pf" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] || return 1
	echo "$pid"
}

# Run a daemon: cwd /, stdio on /dev/null and no other inherited fd (our
# lock, a caller's pipes), then exec.  It daemonizes itself (-d).
spawn_daemon() {
	(
		cd /
		for fd in /proc/$BASHPID/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] && eval "exec $fd>&-"
		done
		exec "$@" </dev/null >/dev/null 2>&1
	)
}

lock() {
	mkdir -p "$STATE"
	exec 8>"$STATE/.lock"
	flock -w 120 8 || die "another lab.sh up/down holds $STATE/.lock"
}

# ---- up / down ------------------------------------------------------------

stop_started_daemon() {   # stop a daemon only if our own pidfile names it
	local name=$1 pf="$STATE/$1.pid" pid _
	if pid=$(live_pid "$pf" "$name"); then
		kill -TERM "$pid"
		for _ in $(seq 1 150); do
			[ -d "/proc/$pid" ] || break
			sleep 0.1
		done
		if [ -d "/proc/$pid" ]; then
			say "$name ($pid) ignored SIGTERM for 15 s, sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
		say "stopped $name (pid $pid)"
	fi
	rm -f "$pf"
}

restore_kvm() {
	local uid gid mode
	[ -f "$STATE/kvm.mode" ] || return 0
	read -r uid gid mode <"$STATE/kvm.mode"
	chown "$uid:$gid" /dev/kvm && chmod "$mode" /dev/kvm
	say "/dev/kvm restored to $(stat -c '%U:%G %a' /dev/kvm)"
	rm -f "$STATE/kvm.mode"
}

cmd_up() {
	local t0 t pid
	t0=$(now)
	lock
	mkdir -p "$STATE/guests"
	for t in virtlogd libvirtd virsh qemu-system-x86_64 nc; do
		command -v "$t" >/dev/null || die "missing '$t' (see $0 --help for packages)"
	done
	# Undo a half-done `up` on failure or Ctrl-C.
	trap 'say "up failed, undoing"; stop_started_daemon libvirtd; stop_started_daemon virtlogd; restore_kvm; exit 1' ERR INT TERM

	# /dev/kvm the way udev would set it, before libvirtd probes QEMU
	# (otherwise libvirt re-probes QEMU on every call: define takes ~48 s).
	if [ -c /dev/kvm ] && [ "$(stat -c '%G %a' /dev/kvm)" != "kvm 660" ] &&
		[ ! -f "$STATE/kvm.mode" ] && getent group kvm >/dev/null; then
		stat -c '%u %g %a' /dev/kvm >"$STATE/kvm.mode"
		chgrp kvm /dev/kvm
		chmod 0660 /dev/kvm
		say "/dev/kvm: $(awk '{print $1":"$2" "$3}' "$STATE/kvm.mode") -> root:kvm 660 (restored by down)"
	fi

	if live_pid "$STATE/virtlogd.pid" virtlogd >/dev/null ||
		live_pid /run/virtlogd.pid virtlogd >/dev/null ||
		{ [ -S /run/libvirt/virtlogd-sock ] && nc -zU /run/libvirt/virtlogd-sock 2>/dev/null; }; then
		say "virtlogd already running"
	else
		spawn_daemon virtlogd -d -p "$STATE/virtlogd.pid"
		for t in $(seq 1 100); do
			pid=$(live_pid "$STATE/virtlogd.pid" virtlogd) && [ -S /run/libvirt/virtlogd-sock ] && break
			sleep 0.1
		done
		[ -n "${pid:-}" ] || die "virtlogd did not start"
		say "started virtlogd (pid $pid)"
	fi

	if libvirt_ok; then
		say "libvirtd already running"
	else
		spawn_daemon libvirtd -d -p "$STATE/libvirtd.pid"
		for t in $(seq 1 300); do
			libvirt_ok && break
			sleep 0.1
		done
		libvirt_ok || die "libvirtd did not come up within 30 s"
		pid=$(live_pid "$STATE/libvirtd.pid" libvirtd) || die "libvirtd pidfile missing"
		say "started libvirtd (pid $pid)"
	fi
	trap - ERR INT TERM
	say "up in $(since "$t0") s (virt type $(virt_type))"
}

cmd_down() {
	local t0 d foreign force=0
	[ "${1:-}" = --force ] && force=1
	t0=$(now)
	lock
	if libvirt_ok; then
		for d in $(lab_domains); do stop_domain "$d"; done
		foreign=$(virsh_ list --name 2>/dev/null | grep -vE "^${PREFIX//./\\.}" | grep . || true)
	else
		foreign=
	fi
	if [ -n "$foreign" ] && [ $force = 0 ] && live_pid "$STATE/libvirtd.pid" libvirtd >/dev/null; then
		say "non-lab guests are running ($(tr '\n' ' ' <<<"$foreign")); leaving libvirtd/virtlogd running (down --force stops them)"
	else
		stop_started_daemon libvirtd
		stop_started_daemon virtlogd
	fi
	restore_kvm
	rm -rf "$STATE/guests"      # console logs, sockets, XML of the guests
	say "down in $(since "$t0") s"
}

# ---- guests -------------------------------------------------------------------

virt_type() {
	if [ -n "${VMB_LAB_VIRT_TYPE:-}" ]; then
		echo "$VMB_LAB_VIRT_TYPE"
	elif [ -c /dev/kvm ] && { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; }; then
		echo kvm
	else
		echo qemu        # TCG: /dev/kvm here is nested kvm-pvm, unusable
	fi
}

stop_domain() {   # destroy + undefine a lab domain (name with prefix)
	local d=$1 t0
	case $d in "$PREFIX"*) ;; *) die "refusing to touch non-lab domain $d" ;; esac
	t0=$(now)
	if [ "$(virsh_ domstate "$d" 2>/dev/null)" = running ] ||
		[ "$(virsh_ domstate "$d" 2>/dev/null)" = paused ]; then
		virsh_ destroy "$d" >/dev/null 2>&1 || true
	fi
	virsh_ undefine "$d" >/dev/null 2>&1 || true
	say "stopped $d in $(since "$t0") s"
}

xml_escape() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e "s/'/\&apos;/g"; }

cmd_start() {
	[ $# -ge 1 ] || die "usage: start NAME [options]"
	local name dom dir vcpus=1 mem=384 maxmem='' duty=0 threads=1 hold=32
	local target='' rate=0 autodeflate=0 balloon=virtio transient=0 append='' timeout=120
	local reporting=0 settle=1 vmem=0
	name=$1; shift
	dom=$(dom_name "$name")
	while [ $# -gt 0 ]; do
		case $1 in
		--vcpus) vcpus=$2; shift ;;
		--mem) mem=$2; shift ;;
		--maxmem) maxmem=$2; shift ;;
		--duty) duty=$2; shift ;;
		--threads) threads=$2; shift ;;
		--hold) hold=$2; shift ;;
		--target) target=$2; shift ;;
		--rate) rate=$2; shift ;;
		--autodeflate) autodeflate=1 ;;
		--free-page-reporting) reporting=1 ;;
		--no-settle) settle=0 ;;
		--vmem) vmem=$2; shift ;;
		--no-balloon) balloon=none ;;
		--no-balloon-driver) balloon=nodriver ;;
		--transient) transient=1 ;;
		--append) append=$2; shift ;;
		--timeout) timeout=$2; shift ;;
		*) die "start: unknown option $1" ;;
		esac
		shift
	done
	local v
	for v in vcpus mem duty threads hold rate timeout vmem; do
		[[ ${!v} =~ ^[0-9]+$ ]] || die "--$v must be a number"
	done
	[ -z "$maxmem" ] && maxmem=$(( mem > 512 ? mem : 512 ))
	[[ $maxmem =~ ^[0-9]+$ ]] && [ "$maxmem" -ge "$mem" ] || die "--maxmem must be >= --mem"
	[ -z "$target" ] || [[ $target =~ ^[0-9]+$ ]] || die "--target must be a number"
	[ "$duty" -le 100 ] || die "--duty must be 0..100"

	local t0 t1 t2 t3 vt
	t0=$(now)
	need_libvirt
	virsh_ dominfo "$dom" >/dev/null 2>&1 && die "$dom already exists (lab.sh stop $name)"

	# Kernel + initramfs (cache hit: ~0.05 s).
	# shellcheck disable=SC2034  # VMB_GUEST_DIR: set by the eval below
	local VMB_KERNEL='' VMB_INITRD='' VMB_GUEST_DIR=''
	eval "$("$HERE/build-guest.sh" -q)"
	[ -f "$VMB_KERNEL" ] && [ -f "$VMB_INITRD" ] || die "guest build failed"

	dir=$(gdir "$dom")
	rm -rf "$dir"
	mkdir -p "$dir"
	vt=$(virt_type)
	local cmdline="console=ttyS0 loglevel=4 panic=1 vmb.threads=$threads vmb.duty=$duty vmb.mem=$hold"
	[ -n "$target" ] && cmdline+=" vmb.target=$target vmb.rate=$rate"
	[ -n "$append" ] && cmdline+=" $append"
	[ "$balloon" = nodriver ] && cmdline+=" vmb.nomod=virtio_balloon"
	local cpu='' ad=''
	[ "$vt" = kvm ] && cpu="<cpu mode='host-passthrough'/>"
	[ "$autodeflate" = 1 ] && ad=" autodeflate='on'"
	[ "$reporting" = 1 ] && ad+=" freePageReporting='on'"
	local memballoon="<memballoon model='virtio'$ad><stats period='1'/></memballoon>"
	# virtio-mem needs a guest NUMA cell (the boot memory) and a hotplug slot.
	local maxmemory='' vmemdev='' memtotal=$maxmem
	if [ "$vmem" -gt 0 ]; then
		maxmemory="<maxMemory slots='1' unit='MiB'>$((mem + vmem))</maxMemory>"
		cpu="<cpu>"
		[ "$vt" = kvm ] && cpu="<cpu mode='host-passthrough'>"
		cpu+="<numa><cell id='0' cpus='0-$((vcpus - 1))' memory='$mem' unit='MiB'/></numa></cpu>"
		vmemdev="<memory model='virtio-mem'><target><size unit='MiB'>$vmem</size><node>0</node><block unit='MiB'>2</block><requested unit='MiB'>0</requested></target></memory>"
		memtotal=$((mem + vmem))
	fi
	[ "$balloon" = none ] && memballoon="<memballoon model='none'/>"

	cat >"$dir/domain.xml" <<EOF
<domain type='$vt'>
  <name>$dom</name>
  <description>vmbalance lab guest (tests/lab/lab.sh)</description>
  $maxmemory
  <memory unit='MiB'>$memtotal</memory>
  <currentMemory unit='MiB'>$mem</currentMemory>
  <vcpu placement='static'>$vcpus</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$VMB_KERNEL</kernel>
    <initrd>$VMB_INITRD</initrd>
    <cmdline>$(printf '%s' "$cmdline" | xml_escape)</cmdline>
  </os>
  <features><acpi/></features>
  $cpu
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <controller type='usb' model='none'/>
    <serial type='pty'>
      <log file='$dir/console.log' append='off'/>
      <target port='0'/>
    </serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <channel type='unix'>
      <source mode='bind' path='$dir/ctl.sock'/>
      <target type='virtio' name='$CTL_CHANNEL'/>
    </channel>
    $memballoon
    $vmemdev
  </devices>
</domain>
EOF

	# From here on a failure or Ctrl-C removes the half-started guest.
	# shellcheck disable=SC2064  # $dom is meant to expand now
	trap "say 'start of $dom failed, removing it'; stop_domain '$dom'; exit 1" ERR
	# shellcheck disable=SC2064
	trap "say 'start of $dom interrupted, removing it'; stop_domain '$dom'; exit 130" INT TERM
	t1=$(now)
	if [ "$transient" = 1 ]; then
		virsh_ create "$dir/domain.xml" >/dev/null
	else
		virsh_ define "$dir/domain.xml" >/dev/null
		virsh_ start "$dom" >/dev/null
	fi
	t2=$(now)

	# Wait for the ready marker; fail fast if the guest dies.
	local deadline=$(( $(date +%s) + timeout )) n=0
	until grep -q "$READY_RE" "$dir/console.log" 2>/dev/null; do
		if [ $(( ++n % 10 )) = 0 ] && [ "$(virsh_ domstate "$dom" 2>/dev/null)" != running ]; then
			tail -n 20 "$dir/console.log" >&2 2>/dev/null || true
			false "guest died"   # -> ERR trap
		fi
		if [ "$(date +%s)" -ge "$deadline" ]; then
			say "no '$READY_RE' on the console of $dom within $timeout s; last lines:"
			tail -n 20 "$dir/console.log" >&2 2>/dev/null || true
			false
		fi
		sleep 0.1
	done
	trap - ERR INT TERM
	t3=$(now)

	# The balloon reaches <currentMemory> a moment after boot: wait for it
	# (max 10 s) so callers start from a settled guest. Without a driver it never moves.
	local cur='' _
	for _ in $(seq 1 100); do
		[ "$balloon" = virtio ] && [ "$settle" = 1 ] || break
		cur=$(virsh_ domstats --balloon "$dom" 2>/dev/null | sed -n 's/^ *balloon.current=//p')
		[ -n "$cur" ] && [ "$cur" -le $(( mem * 1024 + 1024 )) ] && break
		sleep 0.1
	done
	[ "$balloon" != virtio ] || [ "$settle" = 0 ] || { [ -n "$cur" ] && [ "$cur" -le $(( mem * 1024 + 1024 )) ]; } ||
		say "warning: $dom balloon.current=${cur:-?} KiB has not reached --mem $mem MiB"
	say "$dom ready in $(since "$t0") s (balloon settled +$(since "$t3") s; define+start $(awk -v a="$t1" -v b="$t2" 'BEGIN{printf "%.1f", b-a}') s, boot $(awk -v a="$t2" -v b="$t3" 'BEGIN{printf "%.1f", b-a}') s; $vt, $vcpus vcpu, $mem/$maxmem MiB, duty $duty x$threads, hold $hold MiB)"
	echo "$dom"
}

# Resolve NAME to an existing lab domain's state dir (prints it).
guest_dir() {
	local dom dir
	dom=$(dom_name "$1")
	dir=$(gdir "$dom")
	[ -d "$dir" ] || die "no lab guest $dom (no $dir)"
	echo "$dir"
}

cmd_ctl() {
	[ $# -ge 2 ] || die "usage: ctl NAME 'CMD' ['CMD'...]"
	local dir sock cmd reply rc=0
	dir=$(guest_dir "$1"); shift
	sock="$dir/ctl.sock"
	[ -S "$sock" ] || die "no control socket $sock (guest not running?)"
	# nc -U (netcat-openbsd) as a coprocess: write a line, read one line
	# back, then kill our nc.  QEMU accepts one client at a time.
	coproc NC { exec nc -U "$sock" 2>/dev/null; }
	local nc_pid=$NC_PID
	for cmd in "$@"; do
		printf '%s\n' "$cmd" >&"${NC[1]}"
		if ! IFS= read -r -t "${VMB_LAB_CTL_TIMEOUT:-10}" reply <&"${NC[0]}"; then
			say "no reply to '$cmd' (guest busy, not ready, or another client connected)"
			rc=1
			break
		fi
		echo "$reply"
		[[ $reply == ok* ]] || rc=1
	done
	kill "$nc_pid" 2>/dev/null || true
	wait "$nc_pid" 2>/dev/null || true
	return $rc
}

cmd_stop() {
	[ $# = 1 ] || die "usage: stop NAME"
	need_libvirt
	local dom
	dom=$(dom_name "$1")
	virsh_ dominfo "$dom" >/dev/null 2>&1 || die "no domain $dom"
	stop_domain "$dom"
}

cmd_list() {
	need_libvirt
	local d
	printf '%-24s %-10s %s\n' NAME STATE CONSOLE
	for d in $(lab_domains); do
		printf '%-24s %-10s %s\n' "$d" "$(virsh_ domstate "$d" 2>/dev/null)" "$(gdir "$d")/console.log"
	done
}

cmd_console() {
	[ $# -ge 1 ] || die "usage: console NAME [-f]"
	local dir
	dir=$(guest_dir "$1")
	if [ "${2:-}" = -f ]; then
		exec tail -n +1 -f "$dir/console.log"
	fi
	cat "$dir/console.log"
}

cmd_oom() {
	[ $# -ge 1 ] || die "usage: oom NAME [-v]"
	local dir
	dir=$(guest_dir "$1")
	if [ "${2:-}" = -v ]; then
		grep -E "$OOM_RE|memory child killed" "$dir/console.log" || true
	fi
	grep -c "$OOM_RE" "$dir/console.log" || true
}

cmd_wait() {
	[ $# -ge 2 ] || die "usage: wait NAME REGEX [SECS]"
	local dir deadline
	dir=$(guest_dir "$1")
	deadline=$(( $(date +%s) + ${3:-60} ))
	until grep -qE "$2" "$dir/console.log" 2>/dev/null; do
		[ "$(date +%s)" -lt "$deadline" ] || die "'$2' not seen on $1's console within ${3:-60} s"
		sleep 0.2
	done
}

cmd_info() {
	[ $# = 1 ] || die "usage: info NAME"
	local dir
	dir=$(guest_dir "$1")
	echo "domain=$(dom_name "$1")"
	echo "console=$dir/console.log"
	echo "ctl=$dir/ctl.sock"
	echo "xml=$dir/domain.xml"
}

main() {
	local c=${1:-}
	[ $# -gt 0 ] && shift
	[ "$(id -u)" = 0 ] || [ "$c" = help ] || [ "$c" = -h ] || [ "$c" = --help ] ||
		die "must run as root"
	case $c in
	up) cmd_up "$@" ;;
	down) cmd_down "$@" ;;
	start) cmd_start "$@" ;;
	ctl) cmd_ctl "$@" ;;
	stop) cmd_stop "$@" ;;
	list) cmd_list "$@" ;;
	console) cmd_console "$@" ;;
	oom) cmd_oom "$@" ;;
	wait) cmd_wait "$@" ;;
	info) cmd_info "$@" ;;
	build) "$HERE/build-guest.sh" "$@" ;;
	-h|--help|help|"") usage ;;
	*) die "unknown command '$c' (lab.sh --help)" ;;
	esac
}

main "$@"
