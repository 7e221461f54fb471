#!/usr/bin/env bash
# zstd and lz4: the native path (P/Invoke to libzstd / liblz4) against the managed libraries the design names
# (ZstdSharp.Port, K4os.Compression.LZ4) and the reference CLIs, on one generated 512 MiB file (half random, half
# text; made here, never committed). Decoding is what import and unpack do; encoding (default level, one thread) is
# what an export with images.compression_algorithm does. Each group is timed interleaved (A B C A B C ...);
# for our implementations the time is one pass after warm-up passes (codecs.py says why), for the CLIs the command.
#
#   perf/streaming/codecs.sh                  # 7 runs per command after 1 warm-up
#   RUNS=3 SIZE_MB=128 perf/streaming/codecs.sh   # short mode
#
# Run it with `uptime` showing a load near 0 for wall times that mean something; the CPU column is steadier.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
SIZE_MB=${SIZE_MB:-512}
RUNS=${RUNS:-7}
WORK=${WORK:-$(mktemp -d /var/tmp/ia-codecs-bench.XXXXXX)}
mkdir -p "$WORK"
echo "work folder: $WORK (size ${SIZE_MB} MiB, ${RUNS} runs)" >&2

dotnet build -c Release "$repo/perf/ImageActors.StreamingBench" -v q -nologo >/dev/null
bench="$repo/perf/ImageActors.StreamingBench/bin/Release/net10.0/ImageActors.StreamingBench"

plain="$WORK/plain"
if [[ ! -f "$plain" ]]; then
  half=$(( SIZE_MB / 2 ))
  openssl rand -out "$WORK/random" $(( half << 20 ))
  # Text: source and headers from this machine, repeated past the compressors' windows.
  find /usr/include /usr/share/perl* /usr/lib/python3* -type f \( -name '*.h' -o -name '*.pm' -o -name '*.py' \) 2>/dev/null | head -20000 > "$WORK/list"
  { while :; do xargs cat < "$WORK/list" 2>/dev/null || exit 0; done; } | head -c $(( half << 20 )) > "$WORK/text" || true
  cat "$WORK/random" "$WORK/text" > "$plain"
  rm -f "$WORK/random" "$WORK/text" "$WORK/list"
fi
[[ -f "$plain.zst" ]] || zstd -q -3 -c "$plain" > "$plain.zst"
[[ -f "$plain.lz4" ]] || lz4 -q -1 -c "$plain" > "$plain.lz4"
ls -l "$plain" "$plain.zst" "$plain.lz4" >&2

python3 "$repo/perf/streaming/codecs.py" "$WORK/codecs.json" "$RUNS" "$bench" "$plain"
