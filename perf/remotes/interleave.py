#!/usr/bin/env python3
"""Times whole commands interleaved (A B C A B C ...), so that a change in the machine's load hits
every command alike, and writes each command's times and median as JSON.

    interleave.py OUT.json RUNS WARMUP  NAME PREPARE COMMAND  [NAME PREPARE COMMAND]...

PREPARE runs (untimed, through sh) before every run of its COMMAND, e.g. to empty a store and touch
memory; COMMAND is timed through sh too (its start-up costs a few ms, the same for every command).
A failing prepare or command stops the benchmark with its output, so a broken run is never a number.
CPU time (user + system) is recorded for the command's processes and, when CPU_PIDS lists daemons (the
server a command talks to), for those too: on a loaded machine it is steadier than wall time.
"""
import os
import json
import resource
import statistics
import subprocess
import sys
import time


def run(cmd, what):
    p = subprocess.run(["sh", "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        sys.stderr.write(f"{what} failed ({p.returncode}): {cmd}\n{p.stdout}\n")
        sys.exit(1)


def daemon_cpu(pids):
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except FileNotFoundError:
            pass
    return total


def main():
    pids = os.environ.get("CPU_PIDS", "").split()
    out, runs, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    specs = sys.argv[4:]
    if not specs or len(specs) % 3:
        sys.exit(__doc__)
    commands = [dict(name=specs[i], prepare=specs[i + 1], command=specs[i + 2], times=[], cpu=[])
                for i in range(0, len(specs), 3)]
    for r in range(warmup + runs):
        for c in commands:
            if c["prepare"]:
                run(c["prepare"], c["name"] + " prepare")
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            daemons = daemon_cpu(pids)
            start = time.perf_counter()
            run(c["command"], c["name"])
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            daemons = daemon_cpu(pids) - daemons
            if r >= warmup:
                c["times"].append(wall)
                c["cpu"].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime + daemons)
            label = "warm-up" if r < warmup else f"run {r - warmup + 1}/{runs}"
            sys.stderr.write(f"  {label:12} {c['name']:40} {wall:8.3f} s\n")
    for c in commands:
        c["median"] = statistics.median(c["times"])
        c["cpu_median"] = statistics.median(c["cpu"])
    with open(out, "w") as f:
        json.dump({"results": commands}, f, indent=1)


main()
