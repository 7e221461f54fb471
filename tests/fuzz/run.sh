#!/usr/bin/env bash
# Fuzzes ImageActors' input surfaces with afl-fuzz through SharpFuzz, each target for a bounded time.
#
#   tests/fuzz/run.sh SECONDS [-j JOBS] [-t TIMEOUT_MS] [TARGET...]
#
# SECONDS  how long each target runs (afl-fuzz -V).
# -j JOBS  targets run at once (default 1); each afl-fuzz uses one core.
# -t MS    afl-fuzz's timeout per input (default 5000); an input slower than that is saved as a hang.
# TARGET   the targets to run (default: all of them; `ImageActors.Fuzz` without arguments lists them).
#
# Installs afl++ with apt-get when afl-fuzz is missing, publishes tests/ImageActors.Fuzz into tests/fuzz/build,
# instruments the ImageActors assemblies (and the managed codecs and parsers they call) with the SharpFuzz tool of
# .config/dotnet-tools.json, then runs afl-fuzz under `nice -n 19` with the seeds of tests/fuzz/corpus/<target>.
# afl-fuzz's own output goes to tests/fuzz/out/<target>; crashing and hanging inputs are copied to
# tests/fuzz/findings/<target>/, and one line per target (time, executions, corpus, crashes, hangs) is appended to
# tests/fuzz/findings/summary.txt. FUZZ_BUILD and FUZZ_OUT move the instrumented build and afl-fuzz's output
# elsewhere (a second run beside a first). Delete the build folder to instrument changed code again. Replay findings (with the ordinary, uninstrumented build) with
#   dotnet run --project tests/ImageActors.Fuzz -c Release -- <target> tests/fuzz/findings/<target>
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build="${FUZZ_BUILD:-$here/build}"
out="${FUZZ_OUT:-$here/out}"
findings="$here/findings"

usage() { sed -n '4,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ $# -ge 1 && $1 =~ ^[0-9]+$ ]] || usage
seconds=$1; shift
jobs=1
timeout_ms=5000
while [[ $# -gt 0 && $1 == -* ]]; do
    case $1 in
        -j) jobs=$2; shift 2 ;;
        -t) timeout_ms=$2; shift 2 ;;
        *) usage ;;
    esac
done

if ! command -v afl-fuzz >/dev/null; then
    echo "afl-fuzz is missing: installing afl++" >&2
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q afl++
fi

cd "$repo"
dotnet tool restore >/dev/null
if [[ ! -f $build/.instrumented ]]; then
    rm -rf "$build"
    nice -n 19 dotnet publish tests/ImageActors.Fuzz -c Release -o "$build" --nologo -v quiet -clp:ErrorsOnly
    # Our assemblies, and the managed code they hand the bytes to: bzip2 (SharpZipLib), YAML and Akka's HOCON parser.
    for dll in "$build"/ImageActors.*.dll "$build"/imageactors.dll "$build"/ICSharpCode.SharpZipLib.dll "$build"/YamlDotNet.dll "$build"/Akka.dll; do
        [[ $(basename "$dll") == ImageActors.Fuzz.dll ]] && continue
        echo "instrumenting $(basename "$dll")"
        nice -n 19 dotnet sharpfuzz "$dll" >/dev/null
    done
    touch "$build/.instrumented"
fi

mapfile -t all < <(dotnet "$build/ImageActors.Fuzz.dll" 2>&1 | sed -n 's/.*targets: //p' | tr ' ' '\n')
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all[@]}")
for target in "${targets[@]}"; do
    printf '%s\n' "${all[@]}" | grep -qx -- "$target" || { echo "unknown target '$target'; targets: ${all[*]}" >&2; exit 2; }
    [[ -d $here/corpus/$target ]] || { echo "no seeds in tests/fuzz/corpus/$target" >&2; exit 2; }
done

export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
# A runaway allocation ends in OutOfMemoryException (a crash) instead of swapping the machine.
export DOTNET_TieredPGO=0 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_GCHeapHardLimit=0x40000000

fuzz() {
    local target=$1
    local dir="$out/$target"
    rm -rf "$dir"
    mkdir -p "$dir" "$findings/$target"
    local dictionary=()
    [[ -f $here/dictionaries/$target.dict ]] && dictionary=(-x "$here/dictionaries/$target.dict")
    nice -n 19 afl-fuzz -i "$here/corpus/$target" -o "$dir" -t "$timeout_ms" -m none -V "$seconds" "${dictionary[@]}" \
        -- dotnet "$build/ImageActors.Fuzz.dll" "$target" >"$dir/afl.log" 2>&1 || echo "afl-fuzz $target ended with $? (see $dir/afl.log)" >&2
    local stats="$dir/default/fuzzer_stats"
    for kind in crashes hangs; do
        find "$dir/default/$kind" -type f -name 'id:*' -exec cp {} "$findings/$target/" \; 2>/dev/null || true
    done
    if [[ -f $stats ]]; then
        local line
        line=$(awk -v t="$target" -F' *: *' '
            { v[$1] = $2 }
            END { printf "%-24s %6.1f min  %10s execs  %5s corpus  %4s crashes  %4s hangs\n", t, v["run_time"] / 60, v["execs_done"], v["corpus_count"], v["saved_crashes"], v["saved_hangs"] }' "$stats")
        echo "$line" | tee -a "$findings/summary.txt"
    fi
}

running=0
for target in "${targets[@]}"; do
    fuzz "$target" &
    running=$((running + 1))
    if [[ $running -ge $jobs ]]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait
