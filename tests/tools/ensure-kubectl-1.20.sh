#!/bin/sh
# Debian's kubectl 1.20 (package kubernetes-client), unpacked into a private
# folder so that it never replaces the kubectl on PATH:
#   tests/tools/ensure-kubectl-1.20.sh [DIR]   (default build/kubectl-1.20)
# leaves DIR/usr/bin/kubectl. Never installs the package. Without apt-get or
# network it says so and exits 0: the tests that need 1.20 then skip.
set -eu
dir=${1:-build/kubectl-1.20}
if [ -x "$dir/usr/bin/kubectl" ]; then
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
	echo "ensure-kubectl-1.20: no apt-get/dpkg-deb here; tests that need kubectl 1.20 will skip" >&2
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && apt-get download kubernetes-client >/dev/null 2>&1); then
	echo "ensure-kubectl-1.20: apt-get download kubernetes-client failed; tests that need kubectl 1.20 will skip" >&2
	exit 0
fi
mkdir -p "$dir"
dpkg-deb -x "$tmp"/kubernetes-client_*.deb "$dir"
"$dir/usr/bin/kubectl" version --client >/dev/null 2>&1 || { echo "ensure-kubectl-1.20: unpacked kubectl does not run" >&2; exit 1; }
echo "ensure-kubectl-1.20: kubectl 1.20 in $dir/usr/bin/kubectl"
