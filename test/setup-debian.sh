#!/usr/bin/env bash
# Install the Debian packages danehook's tests and demo run for real: DNS servers (BIND, Knot,
# PowerDNS), DNS tools, pebble + ACME clients, postfix, nginx, openssl/gnutls/ldns validators,
# DKIM signers/verifier (OpenDKIM + opendkim-tools, rspamd), promtool (prometheus) and
# systemd-analyze (systemd) for the monitoring examples, lexicon (dns-lexicon) for the exec adapter example.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# postfix asks a question on install; answer it so the install never blocks.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  bind9 bind9-dnsutils knot knot-dnsutils pdns-server pdns-backend-sqlite3 sqlite3 \
  pebble lego certbot dehydrated curl postfix nginx-light dovecot-imapd dovecot-pop3d \
  openssl ldnsutils gnutls-bin faketime ca-certificates iproute2 strace unbound util-linux \
  opendkim opendkim-tools rspamd prometheus systemd lexicon >/dev/null
# The packages' own services must not hold the ports or config the tests use.
for svc in named bind9 knot pdns postfix nginx unbound opendkim rspamd prometheus; do
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
echo "setup-debian: packages installed"
