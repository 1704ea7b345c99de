#!/usr/bin/env bash
# bench/files.sh - course files on the file: store (issue "Courses and secure files", item 6):
#   - download of a 100 MiB file on loopback, several times (target: 1 GiB/s or more);
#   - upload of 1 GiB streamed with chunked encoding (target: ent's resident memory grows by less
#     than 32 MiB: the body must never be held whole in memory).
# Informative, never a test. Settings: ENT_BIN=build/ent BENCH_DOWNLOADS=5 BENCH_RESULTS=bench/results
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/common.sh
. bench/common.sh

ent_bin=${ENT_BIN:-build/ent}
downloads=${BENCH_DOWNLOADS:-5}
results_dir=${BENCH_RESULTS:-bench/results}
[ -x "$ent_bin" ] || bench_die "$ent_bin is missing (make build)"
command -v curl >/dev/null || bench_die "curl is not installed"
trap stop_all EXIT

make_tmpdir
dir=$bench_tmpdir
free_port || bench_die "no free port"
port=$bench_port
url=http://127.0.0.1:$port
ENT_MAX_UPLOAD=$((2 << 30)) ENT_QUOTA=$((8 << 30)) start_bg "$ent_bin" serve --data "$dir/data" \
	--listen "127.0.0.1:$port" --public-url "$url" --access-log off 2>"$dir/ent.log"
ent_pid=$bench_last_pid
for _ in $(seq 100); do curl -fs "$url/health" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "$url/health" >/dev/null || bench_die "ent did not start: $(tail -3 "$dir/ent.log")"

"$ent_bin" user add --data "$dir/data" --email bench@t.local --name "Bench Teacher" --role enseignant \
	--password Correct-Horse-Battery-9 >/dev/null
token=$("$ent_bin" token --data "$dir/data" --public-url "$url" bench@t.local)
auth="Authorization: Bearer $token"

rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

# Download: 100 MiB of random bytes.
head -c $((100 << 20)) /dev/urandom >"$dir/100m.bin"
id=$(curl -fsS -X POST -H "$auth" -H 'Content-Type: application/octet-stream' --data-binary @"$dir/100m.bin" \
	"$url/api/fichiers?name=100m.bin" | sed -n 's/.*"id":"\([0-9a-f-]*\)".*/\1/p')
[ -n "$id" ] || bench_die "the 100 MiB upload failed"
speeds=()
for i in $(seq "$downloads"); do
	s=$(curl -fsS -H "$auth" -o /dev/null -w '%{speed_download}' "$url/api/fichiers/$id/content")
	speeds+=("$s")
	echo "bench: download $i: $(awk -v s="$s" 'BEGIN {printf "%.2f GiB/s", s / 1073741824}')" >&2
done
median=$(printf '%s\n' "${speeds[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
best=$(printf '%s\n' "${speeds[@]}" | sort -n | tail -1)
rm -f "$dir/100m.bin"

# Upload: 1 GiB, chunked, from a pipe (the client holds nothing either).
rss_before=$(rss "$ent_pid")
hwm_before=$(hwm "$ent_pid")
start=$(date +%s.%N)
code=$(head -c $((1 << 30)) /dev/zero | curl -sS -o /dev/null -w '%{http_code}' -X POST -H "$auth" \
	-H 'Content-Type: application/octet-stream' -H 'Transfer-Encoding: chunked' -T - "$url/api/fichiers?name=1g.bin")
end=$(date +%s.%N)
[ "$code" = 201 ] || bench_die "the 1 GiB upload answered $code"
hwm_after=$(hwm "$ent_pid")
rss_after=$(rss "$ent_pid")
peak_growth=$(( (hwm_after > rss_before ? hwm_after - rss_before : 0) ))
up_speed=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.2f", 1024 / (b - a)}')

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git status --porcelain 2>/dev/null)" ] && commit="$commit-dirty"
mkdir -p "$results_dir"
out="$results_dir/$(date -u +%Y-%m-%d)-$commit-files.md"
{
	echo "# Course files on file: ($(date -u +%Y-%m-%dT%H:%M:%SZ), commit $commit)"
	echo
	echo "Machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)."
	echo
	echo "| measure | figure | target |"
	echo "|---|---:|---|"
	awk -v m="$median" -v b="$best" -v n="$downloads" 'BEGIN {printf "| download of 100 MiB (curl, loopback, median of %d; best) | %.2f GiB/s; %.2f GiB/s | 1 GiB/s or more: %s |\n", n, m / 1073741824, b / 1073741824, (m >= 1073741824 ? "PASS" : "BELOW")}'
	echo "| upload of 1 GiB, chunked | $up_speed MiB/s | |"
	echo "| resident memory before the upload | $((rss_before / 1024)) MiB (peak so far $((hwm_before / 1024)) MiB) | |"
	echo "| peak resident memory during the upload, growth over before | $((peak_growth / 1024)) MiB | under 32 MiB: $([ "$peak_growth" -lt $((32 << 10)) ] && echo PASS || echo BELOW) |"
	echo "| resident memory after | $((rss_after / 1024)) MiB | |"
} | tee "$out"
echo "bench: written to $out" >&2
