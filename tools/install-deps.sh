#!/bin/sh
# Install what llm-eval needs to build and test on Debian 12 (run as root, or
# with sudo). Debian packages only; the llama.cpp and DuckDB libraries come
# from npm through `make deps` (see mk/llama.mk, mk/duckdb.mk), pinned by
# package-lock.json files. cmake and ninja-build: `make peers` (mk/peers.mk),
# the llama.cpp tools bench/peers.sh uses.
set -eu
PKGS="build-essential pkg-config git ca-certificates
      libyaml-dev libjansson-dev libpcre2-dev zlib1g-dev libsqlite3-dev libseccomp-dev
      libcurl4-openssl-dev libmicrohttpd-dev
      python3 python3-jinja2 python3-numpy clang libclang-rt-14-dev valgrind hyperfine time groff-base
      chromium cmake ninja-build"
# The machine image may carry its own Node.js (with npm inside); Debian's
# nodejs/npm packages conflict with that, so take them only when npm is absent.
command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps: all Debian packages present"
	exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
