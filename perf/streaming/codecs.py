#!/usr/bin/env python3
"""Times codec commands interleaved (A B C A B C ...) and prints medians and ratios against the native path.

    codecs.py OUT.json RUNS BENCH PLAIN

For the CLIs the time is the command's wall time. For the bench (native and managed implementations) it is the
"codec pass" the bench prints: one whole pass over the file after warm-up passes, as in a running server whose
code is compiled already; the process' own wall time (start, warm-up) is recorded beside it.
"""
import json
import re
import statistics
import subprocess
import sys
import time

out, runs, bench, plain = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
groups = {
    "zstd decode (import, unpack)": [
        ("zstd -dc (CLI)", f"zstd -q -dc {plain}.zst > /dev/null"),
        ("native (libzstd)", f"{bench} codec decode zstd native {plain}.zst > /dev/null"),
        ("ZstdSharp.Port 0.8.8", f"{bench} codec decode zstd managed {plain}.zst > /dev/null"),
    ],
    "lz4 decode (import, unpack)": [
        ("lz4 -dc (CLI)", f"lz4 -q -dc {plain}.lz4 > /dev/null"),
        ("native (liblz4)", f"{bench} codec decode lz4 native {plain}.lz4 > /dev/null"),
        ("K4os.Compression.LZ4 1.3.8", f"{bench} codec decode lz4 managed {plain}.lz4 > /dev/null"),
    ],
    "zstd encode -3 (export)": [
        ("zstd -3 -c (CLI)", f"zstd -q -3 -c {plain} > /dev/null"),
        ("native (libzstd)", f"{bench} codec encode zstd native {plain} > /dev/null"),
        ("ZstdSharp.Port 0.8.8", f"{bench} codec encode zstd managed {plain} > /dev/null"),
    ],
    "lz4 encode -1 (export)": [
        ("lz4 -1 -c (CLI)", f"lz4 -q -1 -c {plain} > /dev/null"),
        ("native (liblz4)", f"{bench} codec encode lz4 native {plain} > /dev/null"),
        ("K4os.Compression.LZ4 1.3.8", f"{bench} codec encode lz4 managed {plain} > /dev/null"),
    ],
}

results = {}
for group, commands in groups.items():
    rows = [dict(name=n, command=c, times=[], process=[]) for n, c in commands]
    for r in range(runs + 1):  # the first round is a warm-up
        for row in rows:
            start = time.perf_counter()
            p = subprocess.run(["sh", "-c", row["command"]], stderr=subprocess.PIPE, text=True)
            wall = time.perf_counter() - start
            if p.returncode != 0:
                sys.exit(f"{row['command']} failed ({p.returncode}): {p.stderr}")
            m = re.search(r"codec pass: ([0-9.]+) s", p.stderr)
            timed = float(m.group(1)) if m else wall
            if r > 0:
                row["times"].append(timed)
                row["process"].append(wall)
            sys.stderr.write(f"  {'warm-up' if r == 0 else f'run {r}/{runs}':10} {group:30} {row['name']:28} {timed:7.3f} s\n")
    for row in rows:
        row["median"] = statistics.median(row["times"])
        row["process_median"] = statistics.median(row["process"])
    results[group] = rows

json.dump(results, open(out, "w"), indent=1)
print("| what | implementation | median | native / this | whole process (median) |")
print("|---|---|---:|---:|---:|")
for group, rows in results.items():
    native = next(r for r in rows if r["name"].startswith("native"))
    for r in rows:
        print(f"| {group} | {r['name']} | {r['median']:.3f} s | {native['median'] / r['median']:.2f} | {r['process_median']:.3f} s |")
