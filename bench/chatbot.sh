#!/usr/bin/env bash
# bench/chatbot.sh - the assistant (docs/chatbot.md): indexing speed and S9, an extractive answer
# on a district's index of about 100,000 passages, beside the hello-world ceiling, in one run.
#
#   1. builds build/ent (release) and bench/hello.c;
#   2. generates a district with `ent demo --scale N` (SQLite, or PostgreSQL with BENCH_DB=postgres);
#   3. starts ent and has bench/chatbot-corpus.mjs upload BENCH_DOCS course PDFs of BENCH_PAGES
#      pages of generated French text (2,000 x 25 = 50,000 pages, about 100,000 passages) as
#      materials of the district's courses, and write the S9 request list;
#   4. stops ent and times `ent index` (every document extracted with poppler, cut, stemmed and
#      indexed again): pages per second, from its last line;
#   5. starts ent again and runs wrk with bench/scenario.lua: S9, POST /chatbot/ask by 1,000
#      students about their courses (extractive answers: no ENT_LLM), at 64 connections and at 4,
#      and the hello-world ceiling; the share of the questions answered (not "Je ne sais pas");
#   6. prints a table and writes it to bench/results/DATE-COMMIT-chatbot-DB.md.
#
# Targets (issue 17): indexing >= 50 pages/s; S9 p99 <= 30 ms.
# Settings: BENCH_SCALE=2000 BENCH_DB=sqlite|postgres BENCH_DOCS=2000 BENCH_PAGES=25 BENCH_USERS=1000
# BENCH_THREADS=2 BENCH_CONNECTIONS=64 BENCH_DURATION=10 BENCH_WARMUP=3 ENT_BIN=build/ent
# BENCH_RESULTS=bench/results
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/common.sh
. bench/common.sh
die() { bench_die "$@"; }

scale=${BENCH_SCALE:-2000}
dbkind=${BENCH_DB:-sqlite}
threads=${BENCH_THREADS:-2}
conns=${BENCH_CONNECTIONS:-64}
duration=${BENCH_DURATION:-10}
warmup=${BENCH_WARMUP:-3}
ent_bin=${ENT_BIN:-build/ent}
results_dir=${BENCH_RESULTS:-bench/results}
export BENCH_DOCS=${BENCH_DOCS:-2000} BENCH_PAGES=${BENCH_PAGES:-25} BENCH_USERS=${BENCH_USERS:-1000}
for v in "$scale" "$threads" "$conns" "$duration" "$warmup" "$BENCH_DOCS" "$BENCH_PAGES" "$BENCH_USERS"; do
	[[ $v =~ ^[0-9]+$ && $v -gt 0 ]] || die "BENCH_* settings must be positive integers (got \"$v\")"
done
[[ $dbkind == sqlite || $dbkind == postgres ]] || die "BENCH_DB must be sqlite or postgres"
for cmd in wrk curl cc pkg-config node; do
	command -v "$cmd" >/dev/null || die "$cmd is not installed (make bench installs it)"
done

pgdir=""
cleanup() {
	stop_all
	[[ -n $pgdir ]] && bash tests/services/postgres.sh stop "$pgdir" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -z ${ENT_BIN:-} && -z ${BENCH_SKIP_BUILD:-} ]]; then
	make --no-print-directory build >&2 || die "make build failed"
fi
[[ -x $ent_bin ]] || die "$ent_bin is missing: run make build"
ent_bin=$(cd "$(dirname "$ent_bin")" && pwd)/$(basename "$ent_bin")
build_hello || die "bench/hello.c did not build"

if [[ -n ${BENCH_DATA:-} && $dbkind == sqlite ]]; then
	data=$BENCH_DATA # kept: the corpus and its index are reused by the next run (no indexing figure then)
	mkdir -p "$data"
else
	make_tmpdir || die "cannot make a temporary directory"
	data=$bench_tmpdir
fi
# Extractive answers on the embedded retrieval: no model, no vectors. No rate limit in the way.
export ENT_DATA=$data ENT_LOG_LEVEL=warn ENT_CHATBOT_RATE=100000
unset ENT_DB ENT_LLM ENT_VECTORS
if [[ $dbkind == postgres ]]; then
	pgdir=$(mktemp -d /tmp/ent-bench-pg.XXXXXX)
	rmdir "$pgdir"
	ENT_DB=$(bash tests/services/postgres.sh start "$pgdir") || die "PostgreSQL did not start"
	export ENT_DB
fi
reuse=""
[[ -f $data/.chatbot-$scale-$BENCH_DOCS-$BENCH_PAGES ]] && reuse=1
if [[ -z $reuse ]]; then
	echo "bench: generating a district of $scale students ($dbkind)" >&2
	"$ent_bin" demo --scale "$scale" >&2 || die "ent demo --scale failed"
fi
"$ent_bin" token --ttl 60 "admin@district.ent.local" >/dev/null || die "ent token failed"

start_ent() { # LOG [SERVICES] -> $eport, $epid
	free_port || die "no free loopback port"
	eport=$bench_port
	ENT_SERVICES=${2:-all} start_bg "$ent_bin" serve --listen "127.0.0.1:$eport" --access-log off 2>>"$1"
	epid=$bench_last_pid
	wait_ready "$epid" "http://127.0.0.1:$eport/health" 60 || die "ent did not start: $(tail -5 "$1")"
}

# ---- the corpus ----

lists=$data/requests
if [[ -z $reuse ]]; then
# Without the chatbot service while uploading: `ent index` below indexes everything, timed (the
# consumer would index each upload inside the bus's write transaction meanwhile, slowing both).
start_ent "$data/ent.log" core,users,fichiers,cours,notifications,notes,calendar,support,messagerie,auth
ENT_BIN=$ent_bin node bench/chatbot-corpus.mjs "http://127.0.0.1:$eport" "$scale" "$lists" ||
	die "building the corpus failed"
stop_one "$epid"

# ---- indexing ----

echo "bench: ent index ($BENCH_DOCS documents of $BENCH_PAGES pages)" >&2
sync
index_out=$("$ent_bin" index 2>&1 >/dev/null) || die "ent index failed: $(tail -3 <<<"$index_out")"
index_line=$(grep 'index reconstruit' <<<"$index_out" | tail -1)
# "index reconstruit : D documents, F en échec ; P pages, N passages en S s (R pages/s)"
idx_docs=$(sed -n 's/.*: \([0-9]*\) documents.*/\1/p' <<<"$index_line")
idx_pages=$(sed -n 's/.* \([0-9]*\) pages,.*/\1/p' <<<"$index_line")
idx_passages=$(sed -n 's/.* \([0-9]*\) passages.*/\1/p' <<<"$index_line")
idx_secs=$(sed -n 's/.* en \([0-9.]*\) s .*/\1/p' <<<"$index_line")
idx_rate=$(sed -n 's/.*(\([0-9]*\) pages\/s).*/\1/p' <<<"$index_line")
[[ -n $idx_rate ]] || die "ent index printed no rate: $index_line"
echo "bench: $index_line" >&2
[[ -n ${BENCH_DATA:-} ]] && touch "$data/.chatbot-$scale-$BENCH_DOCS-$BENCH_PAGES"
else
	echo "bench: reusing the corpus and index in $data (no indexing figure)" >&2
	index_line="" idx_docs="-" idx_pages="-" idx_passages="-" idx_secs="-" idx_rate=0
fi

# ---- S9 ----

start_ent "$data/ent.log"
free_port || die "no free loopback port"
hport=$bench_port
start_bg build-bench/hello "$hport" >/dev/null
hpid=$bench_last_pid
wait_ready "$hpid" "http://127.0.0.1:$hport/" || die "the hello-world did not start"

# The share of S9's questions answered from the documents, on the first 200.
answered=$(head -200 "$lists/s9.txt" | URL="http://127.0.0.1:$eport" node -e '
	const lines = require("fs").readFileSync(0, "utf8").trim().split("\n");
	(async () => {
		let yes = 0, bytes = 0;
		for (const l of lines) {
			const [m, p, t, b] = l.split("\t");
			const r = await fetch(process.env.URL + p, { method: m, headers: { Authorization: `Bearer ${t}`, "Content-Type": "application/json" }, body: b });
			const text = await r.text();
			if (r.status !== 200) throw new Error(`${r.status} ${text}`);
			bytes += text.length;
			if (JSON.parse(text).answered) yes++;
		}
		console.log(`${yes} ${lines.length} ${Math.round(bytes / lines.length)}`);
	})().catch((e) => { console.error(e.message); process.exit(1); });') || die "asking S9's questions failed"
read -r ans_yes ans_n answer_bytes <<<"$answered"

scenario() { # FILE SECONDS CONNECTIONS -> WRK_RESULT line
	local out t=$threads
	(($3 < t)) && t=$3
	out=$(timeout $(($2 + 60)) wrk -t"$t" -c"$3" -d"$2s" --timeout 5s -s bench/scenario.lua \
		"http://127.0.0.1:$eport" -- "$1") || return 1
	grep '^WRK_RESULT ' <<<"$out"
}
declare -A result cpu
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench: ceiling (hello-world), ${duration}s" >&2
run_wrk "http://127.0.0.1:$hport/" "$warmup" "$threads" "$conns" >/dev/null || die "wrk failed"
result[hello]=$(run_wrk "http://127.0.0.1:$hport/" "$duration" "$threads" "$conns") || die "wrk failed"
stop_one "$hpid"
for c in "$conns" 4; do
	echo "bench: S9 at $c connections, ${duration}s" >&2
	scenario "$lists/s9.txt" "$warmup" "$c" >/dev/null || die "wrk failed on S9"
	read -r u0 s0 <<<"$(proc_cpu "$epid")"
	result[s9c$c]=$(scenario "$lists/s9.txt" "$duration" "$c") || die "wrk failed on S9"
	read -r u1 s1 <<<"$(proc_cpu "$epid")"
	# ent's CPU time per answer (user + system), which other load on the machine does not change.
	cpu[s9c$c]=$(awk -v t=$((u1 + s1 - u0 - s0)) -v hz="$(getconf CLK_TCK)" -v n="$(field "${result[s9c$c]}" requests)" \
		'BEGIN { printf "%.2f", n ? t * 1000 / hz / n : 0 }')
	for k in err_connect err_read err_write err_status; do
		[[ $(field "${result[s9c$c]}" $k) == 0 ]] || die "S9 at $c connections: $k=$(field "${result[s9c$c]}" $k)"
	done
done
rss=$(rss_kib "$epid")

# ---- report ----

ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }
ok() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { if ((op == "le" && v <= t) || (op == "ge" && v >= t)) print "PASS"; else print "MISSED" }'; }
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=""
[[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]] && dirty="-dirty"
day=$(date -u +%Y-%m-%d)
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
load_avg=$(cut -d' ' -f1-3 /proc/loadavg)
p99_64=$(ms "$(field "${result[s9c$conns]}" p99_us)")
mkdir -p "$results_dir"
out="$results_dir/$day-$commit$dirty-chatbot-$dbkind.md"
{
	echo "# The assistant: indexing and S9, $day, commit $commit$dirty, $dbkind"
	echo
	echo "Machine: $(nproc) CPUs ($cpu_model), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); load average before the scenarios: $load_before, at the end: $load_avg."
	echo "Data: \`ent demo --scale $scale\` and $BENCH_DOCS generated course PDFs of $BENCH_PAGES pages (bench/chatbot-corpus.mjs). wrk -t$threads -d${duration}s on the same machine."
	echo
	echo "| measure | figure | target |"
	echo "|---|---:|---|"
	printf '| indexing (`ent index`: %s documents, %s pages, %s passages in %s s) | %s pages/s | ≥ 50: %s |\n' \
		"$idx_docs" "$idx_pages" "$idx_passages" "$idx_secs" "$idx_rate" "$(ok "$idx_rate" 50 ge)"
	echo
	echo "| scenario | requests/s | p50 ms | p99 ms | ent CPU ms per answer | target |"
	echo "|---|---:|---:|---:|---:|---|"
	printf '| ceiling: hello-world (bench/hello.c), %s connections | %.0f | %s | %s | | |\n' "$conns" \
		"$(field "${result[hello]}" rps)" "$(ms "$(field "${result[hello]}" p50_us)")" "$(ms "$(field "${result[hello]}" p99_us)")"
	for c in "$conns" 4; do
		printf '| S9 a student asks (POST /chatbot/ask, extractive), %s connections | %.0f | %s | %s | %s | %s |\n' "$c" \
			"$(field "${result[s9c$c]}" rps)" "$(ms "$(field "${result[s9c$c]}" p50_us)")" \
			"$(ms "$(field "${result[s9c$c]}" p99_us)")$(t=$(field "${result[s9c$c]}" err_timeout); ((t > 0)) && echo " ($t over 5 s)")" "${cpu[s9c$c]}" \
			"$([[ $c == "$conns" ]] && echo "p99 ≤ 30 ms: $(ok "$p99_64" 30 le)")"
	done
	echo
	echo "S9's questions answered from the documents: $ans_yes of the first $ans_n (the others: « Je ne sais pas »); answers of $answer_bytes bytes on average. ent's resident memory after S9: $((rss / 1024)) MiB."
} >"$out"
cat "$out"
echo "bench: written to $out" >&2
