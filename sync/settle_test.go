package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"cardtill/store"
	"cardtill/wechat"
)

// settleName is a settlement in one word: the next step, or the state
// it commits.
func settleName(s Settlement) string {
	switch s.Next {
	case AskPolicy:
		return "policy"
	case Retry:
		return "retry"
	case Leave:
		return "leave"
	case ConsumeNext:
		return "consume"
	}
	return string(s.To)
}

// TestSettleTable drives settle with every errcode class of WeChat's
// table (docs/ARCHITECTURE.md; classified by the real client's
// classification, classifyWeChat), errcodes the till does not know, every
// transport failure, the hub refusing the key, the engine stopping, and
// every answer of a query, for both calls in every context: the cashier
// waiting, the drain of a code accepted offline, the settling of a lost
// consume. Each row lists the six outcomes: query (cashier, drain,
// resolving), then consume (cashier, drain of an offline code, resolving).
func TestSettleTable(t *testing.T) {
	t.Parallel()
	api := func(code int) *WeChatError {
		return classifyWeChat(&wechat.APIError{Op: "card/code/x", Code: code, Msg: "errmsg"}).(*WeChatError)
	}
	other := func(err error) *WeChatError { return classifyWeChat(err).(*WeChatError) }
	type row struct {
		name     string
		err      *WeChatError
		stopping bool
		want     string // six outcomes, space separated
	}
	refusedAll := "rejected conflict conflict rejected conflict rejected"
	busy := "policy retry retry in_doubt in_doubt in_doubt"
	config := "rejected retry retry rejected conflict rejected"
	unknown := "rejected retry retry in_doubt in_doubt in_doubt"
	rows := []row{
		{"-1 system busy", api(-1), false, busy},
		{"45009 daily quota", api(45009), false, busy},
		{"45011 too frequent", api(45011), false, busy},
		{"40001 token invalid (after the one refresh)", api(40001), false, busy},
		{"40014 token not latest", api(40014), false, busy},
		{"42001 token expired", api(42001), false, busy},
		{"40056 unknown code", api(40056), false, refusedAll},
		{"40099 already consumed", api(40099), false, "rejected conflict consumed rejected conflict in_doubt"},
		{"40127 user-card status", api(40127), false, refusedAll},
		{"40116 invalid code", api(40116), false, refusedAll},
		{"40075 invalid encrypt code", api(40075), false, refusedAll},
		{"40078 card status", api(40078), false, refusedAll},
		{"40079 time", api(40079), false, refusedAll},
		{"40146 marked", api(40146), false, refusedAll},
		{"40147 time restriction", api(40147), false, refusedAll},
		{"40073 invalid card_id", api(40073), false, config},
		{"41012 missing card_id", api(41012), false, config},
		{"43009 no custom code", api(43009), false, config},
		{"45030 no permission", api(45030), false, config},
		{"48001 api unauthorized", api(48001), false, config},
		{"40164 IP not whitelisted", api(40164), false, config},
		{"48004 not in the table", api(48004), false, unknown},
		{"50002 account limited", api(50002), false, unknown},
		{"connection refused", other(errors.New("dial tcp 10.0.0.1:443: connection refused")), false, busy},
		{"timeout", other(fmt.Errorf("wechat card/code/x: %w", context.DeadlineExceeded)), false, busy},
		{"HTTP 502", other(errors.New("wechat card/code/x: HTTP 502 Bad Gateway")), false, busy},
		{"not JSON", other(errors.New("wechat card/code/x: answer is not JSON")), false, busy},
		{"hub down", other(&wechat.HubError{Status: 502}), false, busy},
		{"hub refused the key (never sent)", other(&wechat.HubError{Status: 401}), false, "rejected retry retry rejected in_doubt in_doubt"},
		{"engine stopping", other(context.Canceled), true, "leave leave leave in_doubt in_doubt in_doubt"},
	}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	type ctxCall struct {
		call    Call
		c       Context
		offline bool
	}
	columns := []ctxCall{{CallQuery, Cashier, false}, {CallQuery, Drain, true}, {CallQuery, Resolving, false},
		{CallConsume, Cashier, false}, {CallConsume, Drain, true}, {CallConsume, Resolving, false}}
	for _, r := range rows {
		want := strings.Fields(r.want)
		for i, col := range columns {
			in := Settle{Call: col.call, Context: col.c, Offline: col.offline, Err: r.err, Stopping: r.stopping, Now: now}
			got := settle(in)
			if settleName(got) != want[i] {
				t.Errorf("%s, call %d in context %d: %s, want %s (%+v)", r.name, col.call, col.c, settleName(got), want[i], got)
			}
			checkSettlement(t, r.name, in, got)
		}
	}
	// What a query can answer, and a consume's success.
	answers := []struct {
		name string
		info CodeInfo
		want string // query: cashier, drain, resolving
	}{
		{"NORMAL, can consume", CodeInfo{Status: "NORMAL", CanConsume: true}, "consume consume consume"},
		{"NORMAL, cannot consume", CodeInfo{Status: "NORMAL"}, "rejected conflict conflict"},
		{"NORMAL, not yet valid", CodeInfo{Status: "NORMAL", CanConsume: true, Begin: now.Add(time.Hour)}, "rejected conflict consume"},
		{"CONSUMED", CodeInfo{Status: "CONSUMED"}, "rejected conflict consumed"},
		{"EXPIRE", CodeInfo{Status: "EXPIRE"}, "rejected conflict conflict"},
		{"GIFTING", CodeInfo{Status: "GIFTING"}, "rejected conflict conflict"},
		{"GIFT_TIMEOUT", CodeInfo{Status: "GIFT_TIMEOUT"}, "rejected conflict conflict"},
		{"DELETE", CodeInfo{Status: "DELETE"}, "rejected conflict conflict"},
		{"UNAVAILABLE", CodeInfo{Status: "UNAVAILABLE"}, "rejected conflict conflict"},
	}
	for _, a := range answers {
		want := strings.Fields(a.want)
		for i, col := range columns[:3] {
			in := Settle{Call: CallQuery, Context: col.c, Offline: col.offline, Info: a.info, Now: now}
			got := settle(in)
			if settleName(got) != want[i] {
				t.Errorf("query answered %s in context %d: %s, want %s", a.name, col.c, settleName(got), want[i])
			}
			if !got.Reached || got.WeChatStatus != a.info.Status {
				t.Errorf("query answered %s: %+v", a.name, got)
			}
			checkSettlement(t, a.name, in, got)
		}
	}
	for _, col := range columns[3:] {
		in := Settle{Call: CallConsume, Context: col.c, Offline: col.offline, Result: ConsumeResult{OpenID: "o"}, Now: now}
		got := settle(in)
		if got.To != StateConsumed || got.Reason != ReasonOK || !got.Early || !got.Reached {
			t.Errorf("consume answered ok in context %d: %+v", col.c, got)
		}
		checkSettlement(t, "consume ok", in, got)
	}
}

// checkSettlement checks what must hold of every settlement.
func checkSettlement(t *testing.T, name string, in Settle, got Settlement) {
	t.Helper()
	from := StateQueued
	switch {
	case in.Call == CallConsume:
		from = StateConsuming
	case in.Context == Cashier:
		from = StateChecked // the engine commits received -> checked -> ...
	case in.Context == Resolving:
		from = StateInDoubt
	}
	w := in.Err
	switch got.Next {
	case Commit, ConsumeNext:
		if got.To == StateConsumed && from == StateChecked {
			t.Errorf("%s: a query cannot end consumed for the cashier", name)
		} else if !storeAllowed(from, got.To) {
			t.Errorf("%s: %s -> %s is not a move of the table", name, from, got.To)
		}
	case Retry, AskPolicy, Leave:
		if in.Call == CallConsume {
			t.Errorf("%s: a consume's answer always commits (got %s)", name, settleName(got))
		}
		if w == nil {
			t.Errorf("%s: an answer of WeChat that says nothing (%s)", name, settleName(got))
		}
	}
	if in.Call == CallConsume && w != nil && got.To == StateConsumed {
		t.Errorf("%s: a failed consume taken as consumed", name)
	}
	if got.Early != (in.Call == CallConsume && (got.To == StateConsumed || got.To == StateInDoubt)) {
		t.Errorf("%s: early %v for %s", name, got.Early, got.To)
	}
	if got.Reached && got.Lost {
		t.Errorf("%s: reached and lost", name)
	}
	if w != nil {
		lost := (w.Kind == WeChatUnreachable || w.Kind == WeChatToken) && !in.Stopping
		if got.Lost != lost {
			t.Errorf("%s: lost %v", name, got.Lost)
		}
		if got.Reached && (w.unsent() || in.Stopping || lost) {
			t.Errorf("%s: an answer that is not WeChat's ends an outage", name)
		}
		if !knownErrcode(w.Code) && w.Code != 0 && (got.To == StateConflict) && got.Next == Commit {
			t.Errorf("%s: an errcode not in the table made a conflict", name)
		}
	}
	if in.Context != Cashier && in.Call == CallQuery && got.Next == Commit && got.To == StateRejected {
		t.Errorf("%s: a code served offline or in doubt refused as if the cashier waited", name)
	}
}

func storeAllowed(from, to State) bool { return store.Allowed(from, to) }

// Every state has one kind, the same wherever a redemption is shown.
func TestKindOfEveryState(t *testing.T) {
	t.Parallel()
	want := map[State]OutcomeKind{StateReceived: Refused, StateChecked: Refused, StateConsuming: Checking, StateInDoubt: Checking,
		StateQueued: AcceptedOffline, StateConsumed: Consumed, StateRejected: Refused, StateConflict: Conflict}
	for _, s := range store.AllStates {
		if k, ok := want[s]; !ok || KindOf(s) != k {
			t.Errorf("KindOf(%s) = %s, want %s", s, KindOf(s), k)
		}
	}
}
