#!/usr/bin/env bash
# Install every Debian package subca's build, tests and demo use, when missing.
# Safe to run repeatedly; needs root (or sudo) only when something is missing.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libssl-dev libsqlite3-dev libjansson-dev libevent-dev libcurl4-openssl-dev
  # unit tests
  libcmocka-dev
  # integration tests: the customer's root signers and the verifiers
  openssl gnutls-bin golang-cfssl python3 python3-cryptography sqlite3 curl
  # integration tests: ACME clients
  certbot lego uacme caddy
  # misc tools the scripts use
  ca-certificates procps jq
  # bench/acme: the ACME reference server
  pebble
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian packages: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq </dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >&2
