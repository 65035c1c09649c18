#!/usr/bin/env bash
# Measures `cardtill run` at start on a given journal: the resident set
# (VmRSS, and its peak VmHWM) and the CPU it used (utime+stime) 1, 5, 10
# and 30 s after start, and when the first frame showed, in tmux at 80x24.
# WeChat is a closed loopback port (the till is offline; nothing leaves
# the machine); retain_days = 400 so that, on a journal built by
# store's TestWriteBenchJournal (redemptions of January 2026), nothing is
# due for retention and the figures are those of an ordinary start.
#
# Each round copies the journal (the file given is never changed) and
# starts the till twice on the copy: "first" (which migrates an older
# schema) and "second" (the steady state), each stopped with SIGTERM
# after the last sample.
#
# Usage: scripts/rss.sh JOURNAL [path/to/cardtill] [rounds]
#        scripts/rss.sh --summary OUTPUT   (the summary of a saved output)
#   (builds ./cmd/cardtill when the binary is omitted; 3 rounds)
# The journals:
#   CARDTILL_BENCH_JOURNAL=/tmp/j1m.db go test ./store -run TestWriteBenchJournal -count=1 -timeout 60m
#   CARDTILL_BENCH_JOURNAL=/tmp/j10k.db CARDTILL_BENCH_JOURNAL_N=10000 go test ./store -run TestWriteBenchJournal -count=1
# Prints one line per start and sample:
#   round start t_s rss_kB hwm_kB anon_kB file_kB cpu_s first_frame_ms
# (VmRSS, VmHWM, RssAnon, RssFile: the journal's mmap is file pages)
# and, at the end, the min and median over the rounds of each figure.
# RSS_COLD=1 drops the copy from the page cache before each start (dd
# iflag=nocache): without, the kernel also maps pages of the cached file
# around each one bbolt touches, which RssFile counts.
# RSS_SCREEN=1 also prints (to stderr) the screen and the log's tail at
# the last sample of each start.
set -euo pipefail
samples=(1 5 10 30)

# summary OUTPUT: the min and median over the rounds of each figure.
summary() {
	echo "# min / median over the rounds (MB, s, ms)"
	for start in first second; do
		for t in "${samples[@]}" frame; do
			awk -v st="$start" -v t="$t" 'NF==9 && $2==st && $3==t' "$1" | awk -v st="$start" -v t="$t" '
				function mm(col, div, fmt,   i, j, x, b) {
					for (i = 1; i <= NR; i++) b[i] = v[i, col] / div
					for (i = 1; i <= NR; i++) for (j = i + 1; j <= NR; j++) if (b[j] < b[i]) { x = b[i]; b[i] = b[j]; b[j] = x }
					return sprintf(fmt " / " fmt, b[1], b[int((NR + 1) / 2)])
				}
				{ for (c = 4; c <= 9; c++) v[NR, c] = ($c == "-" ? -1 : $c) }
				END { if (NR) printf "%-6s %5s  rss %s  hwm %s  anon %s  file %s  cpu %s\n", st, t,
					mm(4, 1024, "%.1f"), mm(5, 1024, "%.1f"), mm(6, 1024, "%.1f"), mm(7, 1024, "%.1f"), mm(8, 1, "%.2f") }'
		done
		# the first frame: the last line of each round's start
		awk -v st="$start" 'NF==9 && $2==st { f[$1] = $9 } END { for (r in f) print f[r] }' "$1" | sort -n |
			awk -v st="$start" '{ b[NR] = $1 } END { if (NR) printf "%-6s first frame %s / %s ms\n", st, b[1], b[int((NR + 1) / 2)] }'
	done
}

if [ "${1:-}" = "--summary" ]; then summary "${2:?usage: scripts/rss.sh --summary OUTPUT}"; exit; fi
journal=${1:?usage: scripts/rss.sh JOURNAL [cardtill] [rounds]}
journal=$(realpath "$journal")
bin=${2:-}
rounds=${3:-3}

cd "$(dirname "$0")/.."
command -v tmux >/dev/null || { echo "rss: tmux is not installed" >&2; exit 1; }
work=$(mktemp -d)
sock="cardtill-rss-$$"
cleanup() { tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
if [ -z "$bin" ]; then
	bin="$work/cardtill"
	go build -o "$bin" ./cmd/cardtill
fi
bin=$(realpath "$bin")

cat >"$work/config.toml" <<EOF
[terminal]
id = "T"
[wechat]
api_base = "http://127.0.0.1:1"
token_source = "static"
static_token = "rss-measure"
[store]
path = "$work/journal.db"
retain_days = 400
[ui]
lang = "en"
[log]
file = "$work/cardtill.log"
EOF

tck=$(getconf CLK_TCK)
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# sample ROUND START T PID FRAME: one line of figures of process PID.
sample() {
	local st line
	[ -d "/proc/$4" ] || { echo "rss: cardtill exited; its log:" >&2; cat "$work/cardtill.log" >&2; exit 1; }
	read -r -a st <"/proc/$4/stat"
	line=$(awk '/^VmRSS/{r=$2} /^VmHWM/{h=$2} /^RssAnon/{a=$2} /^RssFile/{f=$2} END{print r, h, a, f}' "/proc/$4/status")
	# utime and stime are fields 14 and 15 (the command name has no space here)
	echo "$1 $2 $3 $line $(awk -v u="${st[13]}" -v k="${st[14]}" -v t="$tck" 'BEGIN{printf "%.2f", (u+k)/t}') ${5:--}"
}

# one ROUND START: runs the till on $work/journal.db, prints its samples.
# A start whose first frame has not shown by the last sample is waited
# for (up to 15 min) and sampled again then ("frame"), so that a migration
# the first start runs is done before the second.
one() {
	local round=$1 start=$2 t0 pid frame="" i=0 s
	[ -n "${RSS_COLD:-}" ] && dd if="$work/journal.db" iflag=nocache count=0 status=none
	t0=$(now_ms)
	tmux -L "$sock" new-session -d -x 80 -y 24 -s till "exec '$bin' run --config '$work/config.toml'"
	pid=$(tmux -L "$sock" list-panes -t till -F '#{pane_pid}')
	shown() { tmux -L "$sock" capture-pane -p -t till | grep -q '[^[:space:]]'; }
	for s in "${samples[@]}"; do
		while [ "$(now_ms)" -lt $((t0 + s * 1000)) ]; do
			if [ -z "$frame" ] && shown; then frame=$(($(now_ms) - t0)); fi
			sleep 0.02
		done
		sample "$round" "$start" "$s" "$pid" "$frame"
	done
	if [ -z "$frame" ]; then
		while ! shown && [ "$(now_ms)" -lt $((t0 + 900000)) ]; do sleep 0.1; done
		shown && frame=$(($(now_ms) - t0))
		sample "$round" "$start" frame "$pid" "$frame"
	fi
	[ -n "${RSS_SCREEN:-}" ] && { tmux -L "$sock" capture-pane -p -t till >&2; tail -5 "$work/cardtill.log" >&2 || true; }
	kill -TERM "$pid"
	while [ -d "/proc/$pid" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	[ -d "/proc/$pid" ] && kill -KILL "$pid"
	tmux -L "$sock" kill-server 2>/dev/null || true
}

echo "# $bin on $journal ($(du -h "$journal" | cut -f1)), $rounds rounds"
echo "# round start t_s rss_kB hwm_kB anon_kB file_kB cpu_s first_frame_ms"
for r in $(seq 1 "$rounds"); do
	cp "$journal" "$work/journal.db"
	one "$r" first
	one "$r" second
	rm -f "$work/journal.db" "$work"/journal.db.*
done | tee "$work/out"

summary "$work/out"
