#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The agent builds for Windows and macOS from the same sources: OS headers (POSIX, Win32, Mach)
# may appear only in platform files — files with a "// platform: NAME" line that their
# CMakeLists.txt builds only inside an if() block. This CI builds Linux only, so this check is
# what keeps a stray #include <unistd.h> out of the code every platform compiles.
#   tests/portability.sh [SOURCE_DIR]
set -euo pipefail
root="${1:-$(dirname "$0")/..}"
cd "$root"
pattern='^[[:space:]]*#[[:space:]]*include[[:space:]]*<(unistd|fcntl|dlfcn|netdb|poll|pthread|signal|termios|windows|winsock2|ws2tcpip|mach/|sys/|arpa/|netinet/)'
status=0
while IFS= read -r file; do
  if ! grep -q '^// platform: ' "$file"; then
    echo "$file: includes an OS header but has no \"// platform:\" line:" >&2
    grep -nE "$pattern" "$file" | sed 's/^/  /' >&2
    status=1
    continue
  fi
  name=$(basename "$file")
  lists="$(dirname "$file")/CMakeLists.txt"
  # Inside an if() … endif() block of its own folder's CMakeLists.txt.
  if ! awk -v name="$name" '
      /^[[:space:]]*if\(/ { depth++ }
      /^[[:space:]]*endif\(/ { depth-- }
      depth > 0 && index($0, name) { found = 1 }
      END { exit !found }' "$lists"; then
    echo "$file: a platform file, but $lists does not build it inside an if() block" >&2
    status=1
  fi
done < <(grep -rlE "$pattern" app-agent shared --include='*.cpp' --include='*.h' | sort)
[ "$status" = 0 ] && echo "agent and shared sources: OS headers only in guarded platform files"
exit "$status"
