#!/usr/bin/env bash
# Install the Debian packages shiftpsn needs when they are missing: as root with apt-get, otherwise
# print exactly what to install and go on (the Python parts still work; tests needing them say so).
set -u
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null || {
    echo "apt-get install failed; install by hand: sudo apt-get install ${missing[*]}" >&2; exit 1; }
else
  echo "missing Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install ${missing[*]}  (continuing without them)" >&2
fi
