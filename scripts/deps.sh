#!/usr/bin/env bash
# Installs the Debian packages a target needs, only those missing. Usage: scripts/deps.sh build|test|bench
# Runs apt-get as root, or through sudo when available.
set -euo pipefail

build=(build-essential cmake pkg-config git libmicrohttpd-dev libjansson-dev libsqlite3-dev libpq-dev
       libssl-dev zlib1g-dev libcurl4-openssl-dev libargon2-dev libmagic-dev libcairo2-dev libfontconfig-dev librabbitmq-dev libical-dev liboath-dev libqrencode-dev libpoppler-glib-dev libstemmer-dev libicu-dev nodejs npm)
test=(libcmocka-dev prometheus postgresql sqlite3 curl rabbitmq-server chromium docker-compose clang-format nginx-light)
bench=(wrk hyperfine nginx-light postgresql rabbitmq-server)
fuzz=(clang)

want=("${build[@]}")
case "${1:-build}" in
  build) ;;
  test) want+=("${test[@]}") ;;
  bench) want+=("${bench[@]}") ;;
  fuzz) want+=("${fuzz[@]}") ;;
  *) echo "usage: $0 build|test|bench|fuzz" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  # nodejs/npm may come from outside Debian (a newer Node on the machine): accept the commands.
  if [ "$p" = nodejs ] && command -v node >/dev/null; then continue; fi
  if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing Debian packages: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "run as root or install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# The prometheus package would start a server where systemd runs; we only need promtool.
# rabbitmq-server may start a system node (rabbit@HOST, port 5672) likewise; the tests run their own
# node on other ports (tests/services/rabbitmq.sh).
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
