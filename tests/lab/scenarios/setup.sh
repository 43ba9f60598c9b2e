#!/bin/bash
# shellcheck disable=SC2016,SC2034,SC2119,SC1091 # check() evals its condition later; lib.sh sets and reads the shared variables
# lab-setup: builds the guest, brings the lab up (virtlogd + libvirtd when nothing runs them,
# /dev/kvm mode) and starts the session guests the scenarios share (a b c d m, idle), in
# parallel. Writes $SESSION so the scenarios reuse them; lab-teardown ends it.
NAME=setup
source "$(dirname "$0")/lib.sh"

lab_preflight
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmb-lab-setup.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
T=$(now)
if [ -f "$SESSION" ]; then
	diag "a previous session was not torn down: lab.sh down first"
	rm -f "$SESSION"
	"$LAB" down >"$TMP/down.log" 2>&1 || sed 's/^/# /' "$TMP/down.log"
fi
t=$(now)
"$LAB" build -q >"$TMP/build.log" 2>&1 || { sed 's/^/# /' "$TMP/build.log"; bail "build the guest kernel + initramfs"; }
ok "guest kernel + initramfs built or cached ($(since "$t") s)"
t=$(now)
"$LAB" up >"$TMP/up.log" 2>&1 || { sed 's/^/# /' "$TMP/up.log"; bail "lab.sh up"; }
sed 's/^lab: /# /' "$TMP/up.log"
ok "lab up ($(since "$t") s)"
# From here on a failure must not leave the half-started lab behind.
trap '"$LAB" down >/dev/null 2>&1; rm -rf "$TMP"' EXIT
# Leftover suite guests (an interrupted run) go first.
for d in $(virsh_ list --all --name | grep "^$P"); do "$LAB" stop "$d" >/dev/null 2>&1; done
t=$(now)
ensure_guests "${SESSION_GUESTS[@]}" || bail "start the session guests"
ok "session guests ${SESSION_GUESTS[*]} started in $(since "$t") s"
echo "started $(date -Is) by pid $$" >"$SESSION"
trap 'rm -rf "$TMP"' EXIT
diag "lab setup took $(since "$T") s"
finish
