#!/bin/sh
# Writes stat-256cpu, a /proc/stat of a 256-CPU host with counters that follow a formula the
# tests repeat (tests/test-host-proc.c, expected_256()). Usage: sh make-stat-256cpu.sh > stat-256cpu
awk 'BEGIN {
    n = 256
    for (c = 0; c < n; c++) {
        user[c] = 100000 + 37 * c; nice[c] = c % 7; sys[c] = 20000 + 11 * c
        idle[c] = 900000 - 13 * c; iowait[c] = c % 5; irq[c] = c % 3
        softirq[c] = 50 + c; steal[c] = c % 17; guest[c] = (c % 4) * 10
    }
    t["user"] = t["nice"] = t["sys"] = t["idle"] = t["iowait"] = 0
    for (c = 0; c < n; c++) {
        t["user"] += user[c]; t["nice"] += nice[c]; t["sys"] += sys[c]; t["idle"] += idle[c]
        t["iowait"] += iowait[c]; t["irq"] += irq[c]; t["softirq"] += softirq[c]
        t["steal"] += steal[c]; t["guest"] += guest[c]
    }
    printf "cpu  %d %d %d %d %d %d %d %d %d 0\n", t["user"], t["nice"], t["sys"], t["idle"],
        t["iowait"], t["irq"], t["softirq"], t["steal"], t["guest"]
    for (c = 0; c < n; c++)
        printf "cpu%d %d %d %d %d %d %d %d %d %d 0\n", c, user[c], nice[c], sys[c], idle[c],
            iowait[c], irq[c], softirq[c], steal[c], guest[c]
    # A big host has a counter per interrupt number: a long line the parser must skip.
    printf "intr 123456789"
    for (i = 0; i < 4096; i++)
        printf " %d", (i % 97 == 0) ? i * 3 : 0
    printf "\n"
    printf "ctxt 987654321\nbtime 1700000000\nprocesses 123456\nprocs_running 3\n"
    printf "procs_blocked 0\nsoftirq 5555 0 1111 2 333 44 0 5 666 0 777\n"
}'
