#!/usr/bin/env bash
# publish-cli.sh OUT WORK: the `imageactors` command as a release ships it — precompiled (ReadyToRun), which starts
# ~0.1 s sooner than a build that compiles at run time — into OUT, with WORK/artifacts as its own build folder so
# the runtime-specific restore stays out of the checkout. Used by the benchmark scripts.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
rid="linux-$(uname -m | sed 's/x86_64/x64/; s/aarch64/arm64/')"
dotnet publish "$repo/src/ImageActors.Cli" -c Release -r "$rid" --self-contained false -p:PublishReadyToRun=true \
  --artifacts-path "$2/artifacts" -o "$1" -v quiet -nologo >/dev/null
