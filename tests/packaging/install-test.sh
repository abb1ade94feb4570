#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs dist/autofactory_*.deb and dist/autofact-agent_*.deb into a fresh Debian bookworm
# root (mmdebstrap from Debian's mirror, then chroot) and checks them as an administrator
# would use them: the programs run, the agent's files, user and modes are as designed, the
# units verify, an agent enrols with an installed server and its samples are stored, an upgrade
# keeps an edited config and the agent's state, and purge removes them. docs/PACKAGING.md.
#   tests/packaging/install-test.sh [DIST_DIR]     (default dist/; needs root)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dist="$(cd "${1:-$here/../../dist}" && pwd)"
mirror="${AUTOFACT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security_mirror="${AUTOFACT_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"

fail() { echo "install-test: FAIL: $*" >&2; exit 1; }
step() { echo "install-test: $*"; }

[ "$(id -u)" = 0 ] || fail "needs root (mmdebstrap and chroot)"
agent_deb=$(ls "$dist"/autofact-agent_*.deb 2>/dev/null | head -n1)
server_deb=$(ls "$dist"/autofactory_*.deb 2>/dev/null | head -n1)
[ -n "$agent_deb" ] && [ -n "$server_deb" ] || fail "no packages in $dist (run scripts/package)"

root="$(mktemp -d /tmp/autofact-root.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for m in dev/pts dev sys proc; do
    if mountpoint -q "$root/$m"; then umount -l "$root/$m" || true; fi
  done
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT

# In the root: a clean environment, as a login shell would have it.
in_root() {
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root \
    DEBIAN_FRONTEND=noninteractive "$@"
}
# Waits up to $1 seconds for the command after it to succeed (polling, not a fixed sleep).
wait_for() {
  local limit=$1; shift
  local deadline=$((SECONDS + limit))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}
# Names from the root's own users and groups, not the host's.
mode_of() { in_root stat -c '%U:%G %a' "$1"; }
expect_mode() {
  local got; got=$(mode_of "$1")
  [ "$got" = "$2" ] || fail "$1 is $got, expected $2"
}

step "bootstrapping Debian bookworm into $root"
started=$SECONDS
mmdebstrap --quiet --variant=apt --include=ca-certificates,systemd,man-db,procps \
  bookworm "$root" \
  "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
  "deb $security_mirror bookworm-security main"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
step "bootstrapped in $((SECONDS - started)) s"

step "installing $(basename "$agent_deb") and $(basename "$server_deb")"
cp "$agent_deb" "$server_deb" "$root/tmp/"
in_root apt-get update -qq
in_root apt-get install -y -qq "/tmp/$(basename "$agent_deb")" "/tmp/$(basename "$server_deb")" >/dev/null

# --- the programs run ---
version=$(in_root autofact-agent --version)
[[ "$version" == "autofact-agent "* ]] || fail "autofact-agent --version printed: $version"
in_root autofactory --help | grep -q "Sub-commands" || fail "autofactory --help"
in_root man -P cat autofact-agent 2>/dev/null | grep -q "state-dir" || fail "man autofact-agent"
in_root man -P cat autofactory 2>/dev/null | grep -q "token create" || fail "man autofactory"
step "programs and man pages: ok ($version)"

# --- files, user and modes ---
in_root getent passwd autofact-agent >/dev/null || fail "no user autofact-agent"
IFS=: read -r _ _ uid _ _ home shell < <(in_root getent passwd autofact-agent)
[ "$uid" -lt 1000 ] || fail "autofact-agent is not a system user (uid $uid)"
[ "$home" = /var/lib/autofact-agent ] || fail "autofact-agent's home is $home"
[ "$shell" = /usr/sbin/nologin ] || fail "autofact-agent's shell is $shell"
in_root getent passwd autofactory >/dev/null || fail "no user autofactory"
expect_mode /usr/bin/autofact-agent "root:root 755"
expect_mode /usr/bin/autofactory "root:root 755"
expect_mode /etc/autofact/autofact-agent.json "root:autofact-agent 640"
expect_mode /lib/systemd/system/autofact-agent.service "root:root 644"
expect_mode /lib/systemd/system/autofactory.service "root:root 644"
expect_mode /etc/default/autofactory "root:root 644"
in_root dpkg-query -W -f='${Conffiles}\n' autofact-agent | grep -q '/etc/autofact/autofact-agent.json' \
  || fail "the agent's config is not a conffile"
for f in /usr/share/applications/io.github.autofact.autofactory.desktop \
         /usr/share/metainfo/io.github.autofact.autofactory.metainfo.xml \
         /usr/share/icons/hicolor/scalable/apps/autofactory.svg \
         /usr/share/icons/hicolor/48x48/apps/autofactory.png \
         /usr/share/doc/autofact-agent/copyright /usr/share/doc/autofactory/copyright; do
  [ -f "$root$f" ] || fail "missing $f"
done
# Nothing is enabled or started by the packages.
for unit in autofact-agent autofactory; do
  [ ! -e "$root/etc/systemd/system/multi-user.target.wants/$unit.service" ] || fail "$unit was enabled"
done
in_root systemd-analyze verify autofact-agent.service autofactory.service \
  || fail "systemd-analyze verify"
agent_score=$(in_root systemd-analyze security --offline=yes /lib/systemd/system/autofact-agent.service 2>/dev/null \
  | sed -n 's/.*Overall exposure level for autofact-agent.service: \([0-9.]*\).*/\1/p')
server_score=$(in_root systemd-analyze security --offline=yes /lib/systemd/system/autofactory.service 2>/dev/null \
  | sed -n 's/.*Overall exposure level for autofactory.service: \([0-9.]*\).*/\1/p')
[ -n "$agent_score" ] || fail "no security score for autofact-agent.service"
awk -v s="$agent_score" 'BEGIN { exit !(s < 2.0) }' || fail "autofact-agent.service exposure $agent_score (want < 2.0)"
step "files, users, modes and units: ok (exposure: agent $agent_score, server $server_score)"

# --- an agent enrols with an installed server, as the units run them ---
# systemd creates the state folders (StateDirectory=); here the test does.
install -d -o "$(in_root id -u autofactory)" -g "$(in_root id -g autofactory)" -m 0750 "$root/var/lib/autofactory"
install -d -o "$uid" -g "$(in_root id -g autofact-agent)" -m 0700 "$root/var/lib/autofact-agent"
server_out="$root/tmp/server.out"
# setpriv execs (runuser would fork): the PIDs below are the programs', and so are the exit codes.
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  setpriv --reuid=autofactory --regid=autofactory --init-groups -- autofactory --headless --db /var/lib/autofactory/autofactory.db \
  --listen 127.0.0.1:0 >"$server_out" 2>"$root/tmp/server.err" &
pids+=($!)
server_pid=$!
wait_for 30 grep -q '^certificate ' "$server_out" || { cat "$root/tmp/server.err" >&2; fail "server did not start"; }
url=$(sed -n 's/^listening on //p' "$server_out")
fingerprint=$(sed -n 's/^certificate //p' "$server_out")
expect_mode /var/lib/autofactory/autofactory-tls.key "autofactory:autofactory 600"
token=$(in_root runuser -u autofactory -- autofactory token create --db /var/lib/autofactory/autofactory.db)
[ -n "$token" ] || fail "token create printed nothing"
in_root autofact-agent --config /etc/autofact/autofact-agent.json --write-config \
  --server "$url" --token "$token" --fingerprint "$fingerprint" >/dev/null
expect_mode /etc/autofact/autofact-agent.json "root:autofact-agent 640"
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  setpriv --reuid=autofact-agent --regid=autofact-agent --init-groups -- autofact-agent --config /etc/autofact/autofact-agent.json \
  --state-dir /var/lib/autofact-agent 2>"$root/tmp/agent.err" &
pids+=($!)
agent_pid=$!
samples_stored() {
  local n
  n=$(in_root runuser -u autofactory -- autofactory clients --db /var/lib/autofactory/autofactory.db --json \
      | jq '[.[].samples] | add // 0')
  [ "$n" -gt 0 ]
}
wait_for 60 samples_stored || { cat "$root/tmp/agent.err" >&2; fail "no samples stored within 60 s"; }
expect_mode /var/lib/autofact-agent/identity.json "autofact-agent:autofact-agent 600"
[ -f "$root/var/lib/autofact-agent/autofact-spool.db" ] || fail "no spool in the state folder"
kill -TERM "$agent_pid"
wait "$agent_pid" || fail "agent exited $? on SIGTERM"
kill -TERM "$server_pid"
wait "$server_pid" || fail "server exited $? on SIGTERM"
pids=()
agent_id=$(jq -r .id "$root/var/lib/autofact-agent/identity.json")
step "installed agent enrolled as $agent_id and its samples were stored"

# --- upgrade: an edited config and the agent's state survive ---
repack="$root/tmp/repack"
dpkg-deb -R "$agent_deb" "$repack"
old_version=$(sed -n 's/^Version: //p' "$repack/DEBIAN/control")
new_version="$old_version+upgradetest1"
sed -i "s/^Version: .*/Version: $new_version/" "$repack/DEBIAN/control"
# The shipped config changes too, so dpkg must choose between it and the edited one.
printf '{\n    "server": "",\n    "proxy": "system"\n}\n' > "$repack/etc/autofact/autofact-agent.json"
(cd "$repack" && find . -type f ! -path './DEBIAN/*' -printf '%P\n' | sort | xargs md5sum > DEBIAN/md5sums)
dpkg-deb --root-owner-group -Zxz -b "$repack" "$root/tmp/autofact-agent_upgrade.deb" >/dev/null
in_root apt-get install -y -qq -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  /tmp/autofact-agent_upgrade.deb >/dev/null
[ "$(in_root dpkg-query -W -f='${Version}' autofact-agent)" = "$new_version" ] || fail "upgrade did not install"
grep -q "$url" "$root/etc/autofact/autofact-agent.json" || fail "upgrade replaced the edited config"
[ -f "$root/etc/autofact/autofact-agent.json.dpkg-dist" ] || fail "the new shipped config was not kept beside it"
expect_mode /etc/autofact/autofact-agent.json "root:autofact-agent 640"
[ "$(jq -r .id "$root/var/lib/autofact-agent/identity.json")" = "$agent_id" ] || fail "upgrade lost the identity"
step "upgrade $old_version -> $new_version: edited config and identity kept"

# --- remove keeps state, purge removes it ---
# As an administrator's "systemctl enable" would have left it.
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -s /lib/systemd/system/autofact-agent.service "$root/etc/systemd/system/multi-user.target.wants/autofact-agent.service"
in_root apt-get remove -y -qq autofact-agent >/dev/null
[ ! -e "$root/usr/bin/autofact-agent" ] || fail "remove left the binary"
[ -f "$root/var/lib/autofact-agent/identity.json" ] || fail "remove (not purge) deleted the state"
[ -f "$root/etc/autofact/autofact-agent.json" ] || fail "remove (not purge) deleted the config"
in_root apt-get purge -y -qq autofact-agent autofactory >/dev/null
for gone in /var/lib/autofact-agent /etc/autofact/autofact-agent.json /var/lib/autofactory \
            /etc/default/autofactory /etc/systemd/system/multi-user.target.wants/autofact-agent.service \
            /usr/bin/autofactory; do
  [ ! -e "$root$gone" ] && [ ! -L "$root$gone" ] || fail "purge left $gone"
done
step "remove kept the state; purge removed state, config and enable links"
step "passed in $((SECONDS - started)) s"
