#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs dist/autofactory_*.deb and dist/autofact-agent_*.deb into a fresh Debian bookworm
# root (mmdebstrap from Debian's mirror, then chroot) and checks them as an administrator
# would use them: the programs run, the agent's files, user and modes are as designed, the
# units verify, an agent enrols with an installed server and its samples are stored, an upgrade
# keeps an edited config and the agent's state, and purge removes them. docs/PACKAGING.md.
#   tests/packaging/install-test.sh [DIST_DIR]     (default dist/; needs root)
# The agent and server run under systemd in the booted root (systemd-nspawn) where this machine
# allows it, else as the units' users in a chroot (AUTOFACT_INSTALL_TEST_CHROOT=1 forces that).
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
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
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
exited() { ! kill -0 "$1" 2>/dev/null; }
mode_of() { in_root stat -c '%U:%G %a' "$1"; }
expect_mode() {
  local got; got=$(mode_of "$1")
  [ "$got" = "$2" ] || fail "$1 is $got, expected $2"
}

step "bootstrapping Debian bookworm into $root"
started=$SECONDS
mmdebstrap --quiet --variant=apt --include=ca-certificates,systemd,systemd-sysv,dbus,man-db,procps,jq \
  bookworm "$root" \
  "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
  "deb $security_mirror bookworm-security main"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# /proc, /sys and /dev for the programs in the root; systemd-nspawn brings its own.
mount_api() {
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys"
  mount --bind /dev "$root/dev"
  mount --bind /dev/pts "$root/dev/pts"
}
unmount_api() {
  for m in dev/pts dev sys proc; do umount "$root/$m"; done
}
mount_api
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
# Created by postinst from the template, not a conffile (a changed default must never stop an
# upgrade with a question on every node).
in_root dpkg-query -W -f='${Conffiles}\n' autofact-agent | grep -q '/etc/autofact' \
  && fail "the agent's config is a conffile"
expect_mode /usr/share/autofact-agent/autofact-agent.json "root:root 644"
in_root dpkg-query -W -f='${Conffiles}\n' autofactory | grep -q '/etc/default/autofactory' \
  || fail "/etc/default/autofactory is not a conffile"
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
# Under systemd itself when this machine can boot the root as a container (systemd-nspawn):
# the units' hardening, system-call filter, StateDirectory= and restart rules then really
# apply. A check script runs as a unit inside the booted root and powers it off.
roundtrip_systemd() {
  cat > "$root/usr/local/sbin/autofact-install-check" <<'CHECK'
#!/bin/sh
set -u
result=/root/install-check.result
exec > /root/install-check.log 2>&1
fail() { echo "FAIL: $*" > "$result"; systemctl poweroff; exit 1; }
wait_for() { # seconds, command...
  n=$(($1 * 5)); shift
  while ! "$@"; do n=$((n - 1)); [ "$n" -gt 0 ] || return 1; sleep 0.2; done
}
unit_is() { [ "$(systemctl show -p ActiveState --value "$1")" = "$2" ]; }
db=/var/lib/autofactory/autofactory.db
as_server() { runuser -u autofactory -- autofactory "$@"; }

# Unconfigured, the agent exits 2 and the unit does not restart it (RestartPreventExitStatus).
systemctl start autofact-agent
wait_for 20 unit_is autofact-agent.service failed || fail "an unconfigured agent did not fail"
[ "$(systemctl show -p ExecMainStatus --value autofact-agent)" = 2 ] || fail "unconfigured agent: exit $(systemctl show -p ExecMainStatus --value autofact-agent), not 2"
[ "$(systemctl show -p NRestarts --value autofact-agent)" = 0 ] || fail "exit 2 was restarted"
systemctl reset-failed autofact-agent

sed -i 's/^AUTOFACTORY_LISTEN=.*/AUTOFACTORY_LISTEN=127.0.0.1:8675/' /etc/default/autofactory
systemctl start autofactory
server_fp() { journalctl -u autofactory -o cat | sed -n 's/^certificate //p' | tail -n1 | grep .; }
wait_for 30 server_fp >/dev/null || fail "autofactory.service printed no certificate"
fp=$(server_fp)
[ "$(stat -c '%U %a' /var/lib/autofactory/autofactory-tls.key)" = "autofactory 600" ] || fail "server key mode"
token=$(as_server token create --db "$db") || fail "token create"
autofact-agent --config /etc/autofact/autofact-agent.json --state-dir /var/lib/autofact-agent --write-config \
  --server wss://127.0.0.1:8675 --token "$token" --fingerprint "$fp" || fail "--write-config"
systemctl start autofact-agent
samples() { as_server clients --db "$db" --json | jq '[.[].samples] | add // 0'; }
stored() { [ "$(samples)" -gt 0 ]; }
wait_for 60 stored || fail "no samples stored from autofact-agent.service within 60 s"
[ "$(stat -c '%U %a' /var/lib/autofact-agent/identity.json)" = "autofact-agent 600" ] || fail "identity mode"
[ "$(stat -c '%U %a' /var/lib/autofact-agent)" = "autofact-agent 700" ] || fail "state folder mode"
unit_is autofact-agent.service active || fail "the agent is not running"

# Restarted agents come back with the same identity (welcome back): new samples arrive under
# the same client, and no second client appears. Then they stop cleanly.
id=$(jq -r .id /var/lib/autofact-agent/identity.json)
before=$(samples)
systemctl restart autofact-agent
more() { [ "$(samples)" -gt "$before" ]; }
wait_for 60 more || fail "no new samples after a restart"
[ "$(as_server clients --db "$db" --json | jq length)" = 1 ] || fail "a restart enrolled a second client"
systemctl stop autofact-agent
[ "$(systemctl show -p ExecMainStatus --value autofact-agent)" = 0 ] || fail "SIGTERM: exit not 0"
[ "$(jq -r .id /var/lib/autofact-agent/identity.json)" = "$id" ] || fail "identity changed on restart"

# Revoked, the agent exits 4 and is not restarted either.
systemctl start autofact-agent
as_server revoke "$id" --db "$db" >/dev/null || fail "revoke"
wait_for 30 unit_is autofact-agent.service failed || fail "a revoked agent kept running"
[ "$(systemctl show -p ExecMainStatus --value autofact-agent)" = 4 ] || fail "revoked agent: exit $(systemctl show -p ExecMainStatus --value autofact-agent), not 4"
[ "$(systemctl show -p NRestarts --value autofact-agent)" = 0 ] || fail "exit 4 was restarted"
systemctl stop autofactory
[ "$(systemctl show -p ExecMainStatus --value autofactory)" = 0 ] || fail "server: exit not 0 on stop"
echo "ok $id $(samples)" > "$result"
systemctl poweroff
CHECK
  chmod 755 "$root/usr/local/sbin/autofact-install-check"
  cat > "$root/etc/systemd/system/autofact-install-check.service" <<'UNIT'
[Unit]
Description=autofact install test
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/autofact-install-check
UNIT
  mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
  ln -sf /etc/systemd/system/autofact-install-check.service \
    "$root/etc/systemd/system/multi-user.target.wants/autofact-install-check.service"
  unmount_api
  timeout -k 30 300 systemd-nspawn --quiet --register=no --keep-unit --console=pipe -D "$root" --boot \
    >"$root/tmp/boot.log" 2>&1 || true
  mount_api
  rm -f "$root/etc/systemd/system/multi-user.target.wants/autofact-install-check.service" \
    "$root/etc/systemd/system/autofact-install-check.service" "$root/usr/local/sbin/autofact-install-check"
  local result; result=$(cat "$root/root/install-check.result" 2>/dev/null || echo "FAIL: the check did not finish")
  if [[ "$result" != ok* ]]; then
    cat "$root/root/install-check.log" >&2 || true
    tail -n 40 "$root/tmp/boot.log" >&2 || true
    fail "under systemd: ${result#FAIL: }"
  fi
  read -r _ agent_id stored <<<"$result"
  url=wss://127.0.0.1:8675
  step "under systemd: autofact-agent.service enrolled as $agent_id with autofactory.service ($stored samples), after a restart new samples under the same client, stopped with exit 0; exit 2 (no config) and 4 (revoked) were not restarted"
}

# Without systemd-nspawn: the same programs with the units' users, arguments and folders.
roundtrip_chroot() {
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
  wait_for 20 exited "$agent_pid" || fail "agent still running 20 s after SIGTERM"
  wait "$agent_pid" || fail "agent exited $? on SIGTERM"
  kill -TERM "$server_pid"
  wait_for 30 exited "$server_pid" || fail "server still running 30 s after SIGTERM"
  wait "$server_pid" || fail "server exited $? on SIGTERM"
  pids=()
  agent_id=$(jq -r .id "$root/var/lib/autofact-agent/identity.json")
  step "installed agent enrolled as $agent_id and its samples were stored (chroot, without systemd)"
}

if [ -n "${AUTOFACT_INSTALL_TEST_CHROOT:-}" ]; then
  echo "install-test: AUTOFACT_INSTALL_TEST_CHROOT is set: the programs run without systemd; the units are checked by systemd-analyze only" >&2
  roundtrip_chroot
else
  unmount_api
  if ! probe=$(systemd-nspawn --quiet --register=no --keep-unit --console=pipe -D "$root" /bin/true 2>&1); then
    mount_api
    fail "systemd-nspawn cannot run here ($probe); set AUTOFACT_INSTALL_TEST_CHROOT=1 to test without systemd"
  fi
  mount_api
  roundtrip_systemd
fi

# --- upgrade: an edited config and the agent's state survive ---
repack="$root/tmp/repack"
dpkg-deb -R "$agent_deb" "$repack"
old_version=$(sed -n 's/^Version: //p' "$repack/DEBIAN/control")
new_version="$old_version+upgradetest1"
sed -i "s/^Version: .*/Version: $new_version/" "$repack/DEBIAN/control"
# The shipped default changes too: the edited config must stay as it is, with no question.
printf '{\n    "server": "",\n    "proxy": "system"\n}\n' > "$repack/usr/share/autofact-agent/autofact-agent.json"
(cd "$repack" && find . -type f ! -path './DEBIAN/*' -printf '%P\n' | sort | xargs md5sum > DEBIAN/md5sums)
dpkg-deb --root-owner-group -Zxz -b "$repack" "$root/tmp/autofact-agent_upgrade.deb" >/dev/null
config_before=$(sha256sum < "$root/etc/autofact/autofact-agent.json")
in_root apt-get install -y -qq /tmp/autofact-agent_upgrade.deb </dev/null >/dev/null
[ "$(in_root dpkg-query -W -f='${Version}' autofact-agent)" = "$new_version" ] || fail "upgrade did not install"
[ "$(sha256sum < "$root/etc/autofact/autofact-agent.json")" = "$config_before" ] || fail "upgrade changed the edited config"
grep -q "$url" "$root/etc/autofact/autofact-agent.json" || fail "the config lost its server"
expect_mode /etc/autofact/autofact-agent.json "root:autofact-agent 640"
[ "$(jq -r .id "$root/var/lib/autofact-agent/identity.json")" = "$agent_id" ] || fail "upgrade lost the identity"
# A config the administrator deleted comes back from the template (postinst never fails on it).
rm "$root/etc/autofact/autofact-agent.json"
in_root apt-get install -y -qq --reinstall /tmp/autofact-agent_upgrade.deb </dev/null >/dev/null
expect_mode /etc/autofact/autofact-agent.json "root:autofact-agent 640"
grep -q '"proxy": "system"' "$root/etc/autofact/autofact-agent.json" || fail "the config was not made from the new template"
step "upgrade $old_version -> $new_version: edited config (no question asked) and identity kept; a deleted config comes back from the template"

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
