#!/bin/bash
# shellcheck disable=SC2016,SC2034,SC2119,SC1091 # check() evals its condition later; lib.sh sets and reads the shared variables
# Scenario 12: other work on the host. A niced busy loop that the kernel may run on any pCPU
# (like a build or a backup) runs throughout. Four 1-vCPU guests at 100/100/30/30 % start
# balanced ({a,c} {b,d}); then b drops to 30 % and c rises to 100 %, which leaves 200 % on
# one pCPU while the hog fills the room on the other. The hog yields to the vCPUs wherever
# it runs, so the daemon must not count it against that pCPU: it must rebalance within 5
# cycles, with at most 4 pin changes, no ping-pong, and no pin change over the 8 cycles
# after that. Judged by `virsh vcpupin`.
NAME=s12-host-hog
source "$(dirname "$0")/lib.sh"

lab_begin a b c d m
[ "${VMB_LAB_HOG:-0}" -gt 0 ] || start_host_hog 1
setup_cpu_guests a=100@0 b=100@1 c=30@0 d=30@1
sleep 1
EXCLUDE=${P}m start_cpu_daemon

load_change_story "b=30 c=100" "b 100 -> 30 %, c 30 -> 100 % (the hog fills the room left on b's pCPU)"
stop_daemon
finish
