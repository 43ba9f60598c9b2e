#!/bin/bash
# shellcheck disable=SC2016,SC2034,SC2119,SC1091 # check() evals its condition later; lib.sh sets and reads the shared variables
# Scenario 2: a load change while vmbalanced runs. Four 1-vCPU guests at 70/70/20/20 %
# start balanced ({a,c} {b,d}, 90 % each); the daemon must leave that alone. Then b drops to
# 20 % and c rises to 70 %, which puts 140 % on one pCPU: the daemon must rebalance within 5 cycles,
# with at most 4 pin changes, no vCPU pinned back where it came from (ping-pong), and no
# pin change over the 8 cycles after that. Judged by `virsh vcpupin`.
NAME=s2-load-change
source "$(dirname "$0")/lib.sh"

lab_begin a b c d m
setup_cpu_guests a=70@0 b=70@1 c=20@0 d=20@1
sleep 1
EXCLUDE=${P}m start_cpu_daemon

load_change_story "b=20 c=70" "b 70 -> 20 %, c 20 -> 70 %"
stop_daemon
finish
