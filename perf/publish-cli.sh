#!/usr/bin/env bash
# publish-cli.sh OUT WORK: the `imageactors` command as a release ships it (`dotnet publish -c Release`, which the
# project file makes precompiled with ReadyToRun for this machine's runtime) into OUT, with WORK/artifacts as its own
# build folder so the runtime-specific restore stays out of the checkout. Used by the benchmark scripts.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dotnet publish "$repo/src/ImageActors.Cli" -c Release \
  --artifacts-path "$2/artifacts" -o "$1" -v quiet -nologo >/dev/null
