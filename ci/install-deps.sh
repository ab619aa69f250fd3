#!/usr/bin/env bash
# Installs every Debian 12 package pvebridge needs to build, test, benchmark and fuzz.
# Idempotent: does nothing when all are present. Needs root (CI runs as root).
set -euo pipefail

PACKAGES=(
  # toolchains and build
  build-essential g++ clang-14 libclang-rt-14-dev cmake ninja-build pkg-config clang-format
  # libraries
  libuv1-dev libwslay-dev libmbedtls-dev libssl-dev libsimdjson-dev libglib2.0-dev
  # the fake VM's encoders (Tight's zlib streams and JPEG)
  zlib1g-dev libjpeg62-turbo-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  # independent peers for interop tests
  curl python3 python3-websockets vncsnapshot tightvncpasswd libnet-vnc-perl libvncserver-dev
  xvfb virt-viewer libxtst6 libx11-6 tigervnc-viewer
  # packaging: the .deb (dpkg-shlibdeps), man page rendering, completion tests
  dpkg-dev groff-base man-db zsh bash-completion
  # a real VNC server (the mock's --qemu) and an independent HTTP CONNECT proxy
  qemu-system-x86 tinyproxy
  # SPICE interop: QEMU's SPICE TLS certificates are made with the openssl command line
  openssl
  # terminal consoles: a real terminal emulator for the interactive tests, the mock's shell and a
  # full-screen program in it
  tmux bash less
  # the time-to-first-picture bench's stand-in viewer (DES for VNC authentication)
  python3-cryptography
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# Packages such as tinyproxy start a service when installed; the tests run their own instances.
# A policy-rc.d that denies every start (unless the machine has one already) keeps them quiet.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  trap '$SUDO rm -f "$policy"' EXIT
fi
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
