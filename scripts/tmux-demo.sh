#!/usr/bin/env bash
# Drives the built cardtill binary through `cardtill demo` in tmux at 80x24
# (send-keys, capture-pane) and checks what the cashier sees: consumed,
# already used, unknown code, product barcode, outage -> accepted offline ->
# quit warning -> back online -> queue drained and a conflict, the shift
# report scrolled, the queue screen and marking the conflict seen, help,
# the Chinese screen and a lost consume answer settling in place.
#
# Usage: scripts/tmux-demo.sh [path/to/cardtill]   (builds ./cmd/cardtill when omitted)
# Exit 0 when every check passed; on failure prints the screen it saw.
set -euo pipefail

cd "$(dirname "$0")/.."
if ! command -v tmux >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		apt-get update -qq && apt-get install -y -qq tmux >/dev/null
	else
		echo "tmux-demo: tmux is not installed (apt-get install tmux)" >&2
		exit 1
	fi
fi

work=$(mktemp -d)
sock="cardtill-demo-$$"
cleanup() { tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

bin=${1:-}
if [ -z "$bin" ]; then
	bin="$work/cardtill"
	go build -o "$bin" ./cmd/cardtill
fi

pane=""
screen() { tmux -L "$sock" capture-pane -p -t "$pane"; }

# wait_for TEXT... : polls the screen until every TEXT is on it (a 10 s
# deadline, or $WAIT seconds).
wait_for() {
	local deadline=$((SECONDS + ${WAIT:-10})) s missing
	while :; do
		s=$(screen 2>/dev/null || true)
		missing=""
		for want in "$@"; do
			if ! grep -qF -- "$want" <<<"$s"; then missing="$want"; break; fi
		done
		[ -z "$missing" ] && return 0
		if [ $SECONDS -ge $deadline ]; then
			echo "tmux-demo: FAIL: screen never showed \"$missing\"; it shows:" >&2
			echo "$s" >&2
			exit 1
		fi
		sleep 0.1
	done
}

# lacks TEXT : the screen must not show TEXT now.
lacks() {
	if screen | grep -qF -- "$1"; then
		echo "tmux-demo: FAIL: screen shows \"$1\":" >&2
		screen >&2
		exit 1
	fi
}

keys() { tmux -L "$sock" send-keys -t "$pane" "$@"; }
# scan CODE: as a keyboard-wedge scanner sends it: the code and Enter in one
# burst (one tmux command, so they arrive within a few ms).
scan() { tmux -L "$sock" send-keys -t "$pane" -l "$1" \; send-keys -t "$pane" Enter; }
# human TEXT: typed by a person, a key every 150 ms (no Enter).
human() {
	local i
	for ((i = 0; i < ${#1}; i++)); do keys -l "${1:i:1}"; sleep 0.15; done
}

start() { # start LANG [demo flags...]
	pane="till-${1%%_*}-$((++started))"
	local lang=$1
	shift
	tmux -L "$sock" new-session -d -s "$pane" -x "${cols:-80}" -y "${rows:-24}" \
		"env -u LC_ALL -u LC_MESSAGES LANG=$lang TERM=xterm-256color NO_COLOR=1 '$bin' demo $*; echo 'cardtill exited'; sleep 30"
}
started=0

start en_US.UTF-8
wait_for "Demo codes" "Scan or type a code" "scanner: keyboard only" "queue 0"
wait_for "● WeChat online" # known within seconds of the start, with no scan

scan 100000000001
wait_for "REDEEMED" "1000 0000 0001" "¥20 off any drink" "1 ✔  0 ✖"
sleep 0.15 # the scanner reads it twice, 150 ms apart: the same answer, marked
scan 100000000001
wait_for "read twice" "1000 0000 0001" "1 ✔  0 ✖"
lacks "REFUSED"

scan 100000000010
wait_for "REFUSED" "Already used"

scan 199999999999
wait_for "Not a coupon of this store"

scan 6901234567892
wait_for "That is a product barcode, not a coupon"

keys F8
wait_for "outage ON"
# idle: the probe (every 2 s in the demo) finds the outage without a scan
wait_for "WeChat OFFLINE for 0 min · 20 more can be accepted offline this shift"
scan 100000000002
wait_for "ACCEPTED OFFLINE" "will be checked with WeChat later" "queue 1" "WeChat OFFLINE since"
lacks "WeChat online"
scan 100000000060 # deleted by the customer, but the till cannot know while offline
wait_for "1000 0000 0060" "queue 2"
scan abcdef # offline, typed text is not taken for a coupon
wait_for "WeChat offline — that is not a coupon code" "queue 2"

keys C-c
wait_for "Quit cardtill?" "2 code(s) wait for WeChat"
keys n
wait_for "Scan or type a code"

keys F8 # back online: one queued code is consumed, WeChat refuses the deleted one: a conflict
wait_for "outage OFF" "queue 0" "WeChat online" "conflicts 1 (1 new)"
# the recent rows settled in place (the engine's update stream): nothing
# still says accepted offline, the deleted code's row is a conflict
wait_for "! CONFLICT · Deleted by the cus"
lacks "ACCEPTED OFFLINE"

keys F4 # the shift report: longer than 80x24, so it scrolls
wait_for "SHIFT REPORT" "more ↓" # the report carries its own title (F4)
keys End
wait_for "end  ↑"
keys Home
wait_for "more ↓"
keys F3 # the queue and conflicts, from the journal
wait_for "Waiting for WeChat" "Nothing waits for WeChat." "Conflicts" "1 new" "1000 0000 0060" "F6 seen"
keys F6 # the manager has seen it
wait_for "conflicts 1   last sync"
lacks "1 new"
keys Escape
wait_for "Demo codes"

keys F1
wait_for "Keys" "open or close the shift" "scroll the shift report"
keys Escape
wait_for "Demo codes"

keys C-c
wait_for "cardtill exited"
echo "tmux-demo: en: ok"

start zh_CN.UTF-8
wait_for "演示券码" "请扫码或输入券码" "仅键盘"
scan 100000000003
wait_for "核销成功" "满200减50"
scan 100000000040
wait_for "不可核销" "转赠中，请顾客完成或取消转赠"
# the consume's answer is lost (the demo's fake WeChat applies it and drops
# the connection): the panel says it is being checked, then settles in
# place once the drain's query after the quiet period (5 s) finds it used
scan 100000000004
wait_for "核实中" "微信未回复，正在核实" "1000 0000 0004"
WAIT=30 wait_for "核销成功" "（微信已确认）" "1000 0000 0004"
lacks "核实中"
keys C-c
wait_for "cardtill exited"
echo "tmux-demo: zh: ok"

# A scan is a scan whatever dialog is open: each dialog closes unanswered
# and the scan is served; the same keys typed by hand answer as a person.
start en_US.UTF-8 --confirm
wait_for "Demo codes" "Scan or type a code"
scan 100000000001
wait_for "Redeem this coupon?" "Waiting for you to confirm" "1000 0000 0001"
scan 100000000002 # the next customer's coupon: cancels the waiting one
wait_for "Redeem this coupon?" "code 1000 0000 0002" "Cancelled by the cashier" "0 ✔  0 ✖"
human 1000 # typed by hand: the dialog keeps waiting
sleep 0.3
wait_for "Redeem this coupon?" "code 1000 0000 0002"
keys Enter # Enter on its own consumes
wait_for "1000 0000 0002" "1 ✔  0 ✖"
lacks "Redeem this coupon?"

keys F2 # close-shift prompt: a scan does not close the shift
wait_for "Close shift #1"
scan 100000000003
wait_for "Redeem this coupon?" "code 1000 0000 0003"
lacks "Close shift #1"
keys Escape
wait_for "CANCELLED" "shift #1"

keys F8 # an outage: the queue makes Ctrl+C ask
scan 100000000001
wait_for "ACCEPTED OFFLINE" "queue 1"
keys C-c
wait_for "Quit cardtill?"
scan 100000000080 # the quit prompt: a scan never quits
wait_for "1000 0000 0080" "queue 2"
lacks "Quit cardtill?"
lacks "cardtill exited"
keys C-c
wait_for "Quit cardtill?"
human n # by hand: n stays
wait_for "Scan or type a code"
lacks "Quit cardtill?"
keys F8
wait_for "outage OFF" "queue 0"

keys F2
wait_for "Close shift #1"
human y # by hand: y closes the shift
wait_for "Shift #1 closed" "no shift open"
keys F2 # the open-shift name field: a scan is not the cashier's name
wait_for "Open a shift"
scan 100000000070
wait_for "1000 0000 0070" "Not usable" "shift #2"
lacks "Open a shift"
keys F2
wait_for "Close shift #2"
human y
wait_for "Shift #2 closed"
keys F2
wait_for "Open a shift"
keys C-u
human "Li Lei"
keys Enter
wait_for "Shift #3 opened for Li Lei" "Li Lei · shift #3"
keys C-c
wait_for "cardtill exited"
echo "tmux-demo: a scan during each dialog: ok"

# At 160x45 the answer is read from the customer's side: a big mark and the
# headline in block letters (Chinese beside the mark); the header and the
# status bar say the same as at 80x24.
cols=160 rows=45
start en_US.UTF-8
wait_for "Demo codes" "● WeChat online"
scan 100000000001
wait_for "██    ██" "██  ██" "1000 0000 0001" "¥20 off any drink" "1 ✔  0 ✖" "✔ redeemed"
scan 100000000010
wait_for "██    ██" "Already used"
keys C-c
wait_for "cardtill exited"
start zh_CN.UTF-8
wait_for "演示券码" "● 微信在线"
scan 100000000003
wait_for "核 销 成 功" "满200减50"
keys F8
wait_for "微信离线 已 0 分钟 · 本班次还可离线受理 20 张"
scan 100000000002
wait_for "离 线 已 受 理" "本班次离线已受理 1 / 20"
keys C-c
wait_for "退出 cardtill？"
keys y
wait_for "cardtill exited"
echo "tmux-demo: 160x45, en and zh: ok"

