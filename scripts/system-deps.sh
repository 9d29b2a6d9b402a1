#!/usr/bin/env bash
# Make sure the system packages that the build needs are present: a C compiler and
# the libcrypto headers (Debian: libssl-dev).  Installs them with apt-get when run as
# root on Debian; otherwise says exactly what is missing.
set -euo pipefail
missing=()
[ -f /usr/include/openssl/evp.h ] || missing+=(libssl-dev)
command -v cc >/dev/null 2>&1 || missing+=(gcc)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "system-deps: missing ${missing[*]}; install them (Debian: apt-get install ${missing[*]})" >&2
    exit 1
fi
