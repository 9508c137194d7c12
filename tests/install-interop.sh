#!/usr/bin/env bash
# Installs the interop test servers (Cyrus IMAP 3.6, Courier-IMAP 5.0 + courier-pop, Exim 4.96)
# next to the Dovecot + Postfix the harness already uses, without removing them and without
# starting any system service. Called by tests/run; idempotent (a second run only checks).
#
# cyrus-imapd/cyrus-pop3d/courier-imap/courier-pop conflict with imap-server/pop3-server
# (they would remove dovecot-imapd/-pop3d) and exim4 with mail-transport-agent (it would
# remove postfix). So only their libraries (and the non-conflicting courier-authlib* and
# courier-base) are installed with apt-get; the conflicting packages are downloaded and
# unpacked with dpkg-deb -x into $TERN_INTEROP_ROOT/root, so none of their maintainer scripts
# run. The test harness (tests/harness/{cyrus,courier,exim}.rs) runs them from there.
set -euo pipefail

INTEROP_ROOT=/opt/tern-interop
TREE=$INTEROP_ROOT/root
STAMP=$TREE/.tern-installed

# Unpacked, never installed.
extract=(cyrus-common cyrus-imapd cyrus-pop3d courier-imap courier-pop exim4-base exim4-daemon-light)
# Installed with apt-get (only those missing): what the unpacked binaries link against, plus
# saslpasswd2 (sasl2-bin) for Cyrus's users and Courier's authlib/userdb/base (couriertls, the
# courier user).
deps=(sasl2-bin db-util libsasl2-modules libclamav12 libical3 libicu72 libjansson4 libkrb5-3
  libldap-2.5-0 libpcre3 libpq5 libsqlite3-0 libxapian30 libxml2 libzephyr4 libwrap0 libcom-err2
  courier-authlib courier-authlib-userdb courier-base libcourier-unicode4 libgamin0 libgdbm6
  libidn12 libdb5.3 libgnutls-dane0 libgnutls30 libidn2-0 libnsl2 libpcre2-8-0 zlib1g libssl3)

# one dpkg-query for all (a dpkg -s per package costs ~10 ms each)
# (dpkg-query exits 1 when it has never heard of one of them, as on a fresh machine)
installed=$({ dpkg-query -W -f '${Package} ${Status}\n' "${deps[@]}" 2>/dev/null || true; } |
  awk '$NF == "installed" { print $1 }')
missing=()
for p in "${deps[@]}"; do
  grep -qx "$p" <<<"$installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "${extract[*]}" ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "tests/install-interop.sh: the interop servers are missing; run tests/run as root" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
made_policy=0
cleanup() {
  if [ "$made_policy" -eq 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  if [ -n "${dl:-}" ]; then rm -rf "$dl"; fi
}
trap cleanup EXIT
# No system service may start (courier-authdaemon, gamin, ...): the tests run their own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  made_policy=1
fi

updated=0
if [ "${#missing[@]}" -gt 0 ]; then
  echo "tests/install-interop.sh: installing ${missing[*]}"
  apt-get update -qq
  updated=1
  # Refuse anything that would remove a package (dovecot, postfix, ...).
  plan=$(apt-get -s install --no-install-recommends "${missing[@]}")
  if grep -q '^Remv' <<<"$plan"; then
    echo "tests/install-interop.sh: refusing, apt-get would remove packages:" >&2
    grep '^Remv' <<<"$plan" >&2
    exit 1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "${extract[*]}" ]; then
  echo "tests/install-interop.sh: unpacking ${extract[*]} into $TREE"
  [ "$updated" -eq 1 ] || apt-get update -qq
  dl=$(mktemp -d)
  chmod 755 "$dl"
  # apt-get download runs as _apt when it can: the dir must be writable by it
  if id _apt >/dev/null 2>&1; then chown _apt "$dl"; fi
  (cd "$dl" && apt-get download -qq "${extract[@]}")
  rm -rf "$TREE.new"
  mkdir -p "$TREE.new"
  for deb in "$dl"/*.deb; do
    dpkg-deb -x "$deb" "$TREE.new"
  done
  rm -rf "$TREE"
  mv "$TREE.new" "$TREE"
  echo "${extract[*]}" > "$STAMP"
fi

# Every unpacked binary must find its libraries.
lib=$TREE/usr/lib/x86_64-linux-gnu
for bin in "$TREE/usr/lib/cyrus/bin/master" "$TREE/usr/lib/cyrus/bin/imapd" \
  "$TREE/usr/lib/cyrus/bin/pop3d" "$TREE/usr/lib/cyrus/bin/lmtpd" \
  "$TREE/usr/lib/courier/courier/imaplogin" "$TREE/usr/bin/imapd" \
  "$TREE/usr/lib/courier/courier/courierpop3login" "$TREE/usr/sbin/exim4"; do
  [ -x "$bin" ] || { echo "tests/install-interop.sh: $bin missing after unpacking" >&2; exit 1; }
  if LD_LIBRARY_PATH=$lib ldd "$bin" | grep -q 'not found'; then
    echo "tests/install-interop.sh: $bin lacks libraries:" >&2
    LD_LIBRARY_PATH=$lib ldd "$bin" | grep 'not found' >&2
    exit 1
  fi
done
