#!/bin/sh
# Checks that every Debian package named on the command line is installed.
# As root (or with ATOLL_INSTALL=1 under sudo) it installs the missing ones;
# otherwise it prints the exact apt-get line and fails.
missing=""
# One dpkg-query for all of them (the Makefile runs this check in every make).
installed=" $(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null | awk '/ install ok installed$/ {print $1}' | tr '\n' ' ') "
for p in "$@"; do
  case "$installed" in *" $p "*) continue ;; esac
  # Provided by another installed package (e.g. npm by NodeSource's nodejs)?
  dpkg-query -W -f='${Status}|${Provides}\n' 2>/dev/null | grep "^install ok installed|" |
    grep -qE "[|, ]$p( |,|\(|\$)" && continue
  missing="$missing $p"
done
if ! command -v kubectl >/dev/null 2>&1; then
  missing="$missing kubernetes-client"
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "atoll: installing missing packages:$missing" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >&2 || {
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >&2; } || exit 1
  exit 0
fi
echo "atoll: missing Debian packages. Run as root:" >&2
echo "  apt-get install -y$missing" >&2
exit 1
