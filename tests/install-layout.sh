#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `cmake --install` of a build into a staging folder (DESTDIR): every file lands where the
# GNU/FHS layout puts it for the prefix the build was configured with (the test suite's build:
# /usr/local; the packages' /usr is checked by tests/packaging/), and the units name the
# programs and config under that prefix.
#   tests/install-layout.sh BUILD_DIR
set -euo pipefail
build=$1
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
prefix=$(cache_value CMAKE_INSTALL_PREFIX)
unitdir=$(cache_value AUTOFACT_SYSTEMD_UNITDIR)
if [ "$prefix" = /usr ]; then sysconf=/etc; else sysconf=$prefix/etc; fi
DESTDIR="$stage" cmake --install "$build" >/dev/null
root="$stage$prefix"
status=0
expect() { # path (relative to the prefix, or absolute) [mode]
  local path=$1
  [[ "$path" == /* ]] || path="$prefix/$path"
  if [ ! -f "$stage$path" ]; then
    echo "install-layout: missing $path" >&2; status=1; return
  fi
  if [ -n "${2:-}" ] && [ "$(stat -c %a "$stage$path")" != "$2" ]; then
    echo "install-layout: $path has mode $(stat -c %a "$stage$path"), expected $2" >&2; status=1
  fi
}
expect bin/autofactory 755
expect bin/autofact-agent 755
expect share/autofact-agent/autofact-agent.json 644
expect "$sysconf/default/autofactory" 644
expect "$unitdir/autofact-agent.service" 644
expect "$unitdir/autofactory.service" 644
expect share/applications/io.github.autofact.autofactory.desktop
expect share/metainfo/io.github.autofact.autofactory.metainfo.xml
expect share/icons/hicolor/scalable/apps/autofactory.svg
for size in 16 22 24 32 48 64 128 256; do
  expect "share/icons/hicolor/${size}x${size}/apps/autofactory.png"
done
expect share/man/man1/autofactory.1.gz
expect share/man/man1/autofact-agent.1.gz
expect share/doc/autofact-agent/copyright
expect share/doc/autofactory/copyright
grep -qx "ExecStart=$prefix/bin/autofact-agent --config $sysconf/autofact/autofact-agent.json --state-dir /var/lib/autofact-agent" \
  "$stage$unitdir/autofact-agent.service" || { echo "install-layout: agent unit's ExecStart does not follow the prefix" >&2; status=1; }
grep -q "^ExecStart=$prefix/bin/autofactory --headless" "$stage$unitdir/autofactory.service" \
  || { echo "install-layout: server unit's ExecStart does not follow the prefix" >&2; status=1; }
grep -qx "EnvironmentFile=-$sysconf/default/autofactory" "$stage$unitdir/autofactory.service" \
  || { echo "install-layout: server unit's EnvironmentFile does not follow the prefix" >&2; status=1; }
gzip -t "$root/share/man/man1/autofactory.1.gz" || status=1
# Nothing anywhere else.
outside=$(cd "$stage" && find . -type f ! -path ".$prefix/*" ! -path ".$sysconf/*" ! -path ".$unitdir/*")
[ -z "$outside" ] || { echo "install-layout: files outside the layout: $outside" >&2; status=1; }
[ "$status" = 0 ] && echo "install-layout: $(cd "$stage" && find . -type f | wc -l) files installed for prefix $prefix as expected"
exit "$status"
