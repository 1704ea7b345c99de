#!/usr/bin/env bash
# Fails when a C file tracked by git is not formatted as .clang-format says (STYLE.md). Run by
# `make test` before anything is built; `scripts/check-format.sh --fix` formats them in place.
# clang-format comes from Debian (scripts/deps.sh test): one version, so one answer.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "check-format: clang-format is missing (scripts/deps.sh test)" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.c' '*.h')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
bad=0
for f in "${files[@]}"; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "check-format: $f is not formatted (scripts/check-format.sh --fix)" >&2
    bad=$((bad + 1))
  fi
done
[ "$bad" -eq 0 ] || { echo "check-format: $bad file(s) to format" >&2; exit 1; }
echo "check-format: ${#files[@]} C files formatted"
