#!/usr/bin/env bash
# Prepares this machine for registry-edge: the Debian packages the local stack and the tests run, and
# node_modules. Installs only what is missing (nothing, the second time), so it is safe before every
# `npm start` / `npm test`. As root it installs; otherwise it says exactly what to install and fails.
set -euo pipefail
cd "$(dirname "$0")/.."

# command:Debian package
tools=(skopeo:skopeo docker-registry:docker-registry umoci:umoci podman:podman ctr:containerd chromium:chromium)
missing=()
for entry in "${tools[@]}"; do
  command -v "${entry%%:*}" >/dev/null 2>&1 || missing+=("${entry#*:}")
done

status=0
if ((${#missing[@]})); then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${missing[*]}"
    # The docker-registry package starts a registry on :5000 (all interfaces, htpasswd) when it is
    # installed; the stack runs its own on loopback, so keep services from starting during the install.
    policy=${SETUP_POLICY_RC_D:-/usr/sbin/policy-rc.d} # overridden by the script's own test
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' >"$policy"
      chmod 755 "$policy"
      trap 'rm -f "$policy"' EXIT
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}"
  else
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: install them as root with: apt-get install -y ${missing[*]}" >&2
    status=1
  fi
fi

if ! command -v moto_server >/dev/null 2>&1; then
  echo "setup: moto_server (S3 emulator) is missing. It comes with the machine image; elsewhere run:" >&2
  echo "setup:   pip install 'moto[server]==5.2.1'   (then make sure moto_server is on PATH)" >&2
  status=1
fi

# npm writes node_modules/.package-lock.json on every install: older than package-lock.json means stale.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi

exit "$status"
