#!/usr/bin/env bash
# Installs what the tests need (on a fresh Debian machine too) and runs every test project.
# The last line printed is the total over all test projects: "N passed, N failed[, N skipped]".
set -uo pipefail
cd "$(dirname "$0")"

# Debian packages the tests use: PostgreSQL (throwaway servers), the real LXD client and daemon
# (interop and fingerprint checks; Incus below), squashfs-tools (unsquashfs), the reference codec CLIs, and nginx
# (a real static server for the download client).
packages=(postgresql squashfs-tools lxd-client lxd zstd xz-utils lz4 bzip2 gzip openssl tar nginx)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "Installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${missing[@]}" >/dev/null || { echo "apt-get install ${missing[*]} failed" >&2; exit 1; }
fi

# Incus 6.0 LTS (client and daemon) comes from the bookworm-backports suite of the Debian archive this machine's
# source list already names: that suite is enabled with the same archive address, read from the list, not written here.
if ! dpkg -s incus-client incus >/dev/null 2>&1; then
  echo "Installing: incus-client incus (bookworm-backports)"
  export DEBIAN_FRONTEND=noninteractive
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    uris=""
    for list in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list.d/*.sources; do
      [ -f "$list" ] && uris=$(awk '/^URIs:/ {print $2; exit}' "$list") && [ -n "$uris" ] && break
    done
    if [ -z "$uris" ] && [ -f /etc/apt/sources.list ]; then
      uris=$(awk '$1 == "deb" && $0 ~ / bookworm / {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)
    fi
    [ -n "$uris" ] || { echo "no Debian archive address in /etc/apt/sources.list{,.d}: cannot enable bookworm-backports for Incus" >&2; exit 1; }
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uris" \
      > /etc/apt/sources.list.d/bookworm-backports.sources
  fi
  apt-get update -qq >/dev/null
  apt-get install -y -qq -t bookworm-backports incus-client incus >/dev/null || { echo "apt-get install incus-client incus (bookworm-backports) failed" >&2; exit 1; }
fi

log=$(mktemp)
# A test that hangs fails after 10 minutes (with a dump of the test host) instead of holding the run.
dotnet test ImageActors.sln -c Release --logger "console;verbosity=minimal" --blame-hang-timeout 10m "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Each project prints "Passed!  - Failed: F, Passed: P, Skipped: S, Total: T" (or "Failed!  - ...").
read -r passed failed skipped < <(awk '
  /(Passed|Failed)! +- +Failed: +[0-9]+, +Passed: +[0-9]+, +Skipped: +[0-9]+/ {
    for (i = 1; i <= NF; i++) {
      if ($i == "Failed:")  { f += $(i+1) + 0 }
      if ($i == "Passed:")  { p += $(i+1) + 0 }
      if ($i == "Skipped:") { s += $(i+1) + 0 }
    }
  }
  END { printf "%d %d %d\n", p, f, s }' "$log")
rm -f "$log"

if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # A build error or a crashed test host: count it as a failure so it cannot pass unnoticed.
  failed=1
fi
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$status" -eq 0 ]
