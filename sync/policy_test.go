package sync_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"cardtill/sync"
)

func TestPolicyDecide(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC)
	base := sync.Policy{Mode: "accept", MaxPerShift: 3, MaxAge: 4 * time.Hour, UnknownCodes: "accept"}
	tests := []struct {
		name       string
		p          sync.Policy
		in         sync.PolicyInput
		accept     bool
		reason     sync.Reason
		textNeedle string
	}{
		{"accepts within limits", base, sync.PolicyInput{Now: t0, OfflineSince: t0.Add(-time.Hour), AcceptedInShift: 2}, true, sync.ReasonAcceptedOffline, "checked"},
		{"mode refuse", sync.Policy{Mode: "refuse"}, sync.PolicyInput{Now: t0}, false, sync.ReasonOfflineRefused, "does not accept coupons offline"},
		{"shift limit", base, sync.PolicyInput{Now: t0, AcceptedInShift: 3}, false, sync.ReasonOfflineShiftLimit, "3 of 3"},
		{"no shift limit when negative", sync.Policy{MaxPerShift: -1}, sync.PolicyInput{Now: t0, AcceptedInShift: 1000}, true, sync.ReasonAcceptedOffline, ""},
		{"zero per shift accepts none", sync.Policy{}, sync.PolicyInput{Now: t0}, false, sync.ReasonOfflineShiftLimit, "0 of 0"},
		{"too long offline", base, sync.PolicyInput{Now: t0, OfflineSince: t0.Add(-5 * time.Hour)}, false, sync.ReasonOfflineTooLong, "longer than the 4h0m0s allowed"},
		{"exactly max age still accepted", base, sync.PolicyInput{Now: t0, OfflineSince: t0.Add(-4 * time.Hour)}, true, sync.ReasonAcceptedOffline, ""},
		{"card not allowed", sync.Policy{AllowCards: []string{"pA"}, MaxPerShift: -1}, sync.PolicyInput{Now: t0, CardID: "pB"}, false, sync.ReasonOfflineCard, "pB"},
		{"card allowed", sync.Policy{AllowCards: []string{"pA"}, MaxPerShift: -1}, sync.PolicyInput{Now: t0, CardID: "pA"}, true, sync.ReasonAcceptedOffline, ""},
		{"card from cache allowed", sync.Policy{AllowCards: []string{"pA"}, MaxPerShift: -1}, sync.PolicyInput{Now: t0, Cached: &sync.CachedStatus{Status: "NORMAL", CardID: "pA"}}, true, sync.ReasonAcceptedOffline, ""},
		{"card unknown with allow list", sync.Policy{AllowCards: []string{"pA"}, MaxPerShift: -1}, sync.PolicyInput{Now: t0}, false, sync.ReasonOfflineCard, "limited to some cards"},
		{"unknown code refused", sync.Policy{UnknownCodes: "refuse", MaxPerShift: -1}, sync.PolicyInput{Now: t0}, false, sync.ReasonOfflineUnknownCode, "not in the local cache"},
		{"known code accepted despite unknown refuse", sync.Policy{UnknownCodes: "refuse", MaxPerShift: -1}, sync.PolicyInput{Now: t0, Cached: &sync.CachedStatus{Status: "NORMAL"}}, true, sync.ReasonAcceptedOffline, ""},
		{"feed says deleted", base, sync.PolicyInput{Now: t0, Cached: &sync.CachedStatus{Status: "DELETE", At: t0}}, false, sync.ReasonOfflineKnownBad, "deleted"},
		{"feed says consumed", base, sync.PolicyInput{Now: t0, Cached: &sync.CachedStatus{Status: "CONSUMED", At: t0}}, false, sync.ReasonOfflineKnownBad, "already used"},
		{"feed says gifting", base, sync.PolicyInput{Now: t0, Cached: &sync.CachedStatus{Status: "GIFTING", At: t0}}, false, sync.ReasonOfflineKnownBad, "being given to a friend"},
		{"feed says gifted", base, sync.PolicyInput{Now: t0, Cached: &sync.CachedStatus{Status: "GIFTED", At: t0}}, false, sync.ReasonOfflineKnownBad, "given to a friend (the code changed)"},
		{"feed says gifted, any case", base, sync.PolicyInput{Now: t0, Cached: &sync.CachedStatus{Status: " gifted", At: t0}}, false, sync.ReasonOfflineKnownBad, "GIFTED"},
		{"gifted refused even when the card is allowed", sync.Policy{AllowCards: []string{"pA"}, MaxPerShift: -1}, sync.PolicyInput{Now: t0, CardID: "pA", Cached: &sync.CachedStatus{Status: "GIFTED", CardID: "pA", At: t0}}, false, sync.ReasonOfflineKnownBad, "code changed"},
		{"feed says normal", base, sync.PolicyInput{Now: t0, Cached: &sync.CachedStatus{Status: "NORMAL", At: t0}}, true, sync.ReasonAcceptedOffline, ""},
		{"typed text is not a code", base, sync.PolicyInput{Now: t0, Code: "abc"}, false, sync.ReasonOfflineNotACode, `"abc"`},
		{"too short for a code", base, sync.PolicyInput{Now: t0, Code: "123456789"}, false, sync.ReasonOfflineNotACode, "does not look like a coupon code"},
		{"too long for a code", base, sync.PolicyInput{Now: t0, Code: "123456789012345678901"}, false, sync.ReasonOfflineNotACode, "10,20"},
		{"ten digits", base, sync.PolicyInput{Now: t0, Code: "1234567890"}, true, sync.ReasonAcceptedOffline, ""},
		{"twenty digits", base, sync.PolicyInput{Now: t0, Code: "12345678901234567890"}, true, sync.ReasonAcceptedOffline, ""},
		{"custom pattern accepts custom codes", sync.Policy{MaxPerShift: -1, CodePattern: regexp.MustCompile(`^CUST-[0-9]{4}$`)}, sync.PolicyInput{Now: t0, Code: "CUST-8848"}, true, sync.ReasonAcceptedOffline, ""},
		{"custom pattern refuses the rest", sync.Policy{MaxPerShift: -1, CodePattern: regexp.MustCompile(`^CUST-[0-9]{4}$`)}, sync.PolicyInput{Now: t0, Code: "452998530302"}, false, sync.ReasonOfflineNotACode, "CUST"},
		{"mode refuse says so first", sync.Policy{Mode: "refuse"}, sync.PolicyInput{Now: t0, Code: "abc"}, false, sync.ReasonOfflineRefused, "does not accept coupons offline"},
	}
	for _, tt := range tests {
		if tt.in.Code == "" {
			tt.in.Code = "452998530302" // a WeChat code: the other rules decide
		}
		t.Run(tt.name, func(t *testing.T) {
			d := tt.p.Decide(tt.in)
			if d.Accept != tt.accept || d.Reason != tt.reason {
				t.Fatalf("Decide = %+v, want accept=%v reason=%s", d, tt.accept, tt.reason)
			}
			if !strings.Contains(d.Text, tt.textNeedle) {
				t.Errorf("text %q does not name %q", d.Text, tt.textNeedle)
			}
			if !d.Accept && !d.Reason.Offline() {
				t.Errorf("refusal reason %s is not an offline reason", d.Reason)
			}
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	if err := (sync.Policy{Mode: "accept", UnknownCodes: "refuse"}).Validate(); err != nil {
		t.Fatal(err)
	}
	for field, p := range map[string]sync.Policy{"Policy.Mode": {Mode: "maybe"}, "Policy.UnknownCodes": {UnknownCodes: "yes"}, "Policy.MaxAge": {MaxAge: -time.Second}} {
		var oe *sync.OptionError
		if err := p.Validate(); !errors.As(err, &oe) || oe.Field != field {
			t.Errorf("Validate(%+v) = %v, want a *sync.OptionError of %s", p, err, field)
		}
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	one := func() float64 { return 0.999999 }
	zero := func() float64 { return 0 }
	b := sync.Backoff{Base: time.Second, Max: time.Minute, Rand: one}
	prev := time.Duration(0)
	for i := 1; i <= 10; i++ {
		d := b.Delay(i, false, false)
		if d < prev {
			t.Fatalf("attempt %d: %s < previous %s", i, d, prev)
		}
		if d > time.Minute {
			t.Fatalf("attempt %d: %s over the cap", i, d)
		}
		prev = d
	}
	if d := b.Delay(30, false, false); d < 59*time.Second {
		t.Errorf("attempt 30 = %s, want about the cap", d)
	}
	if lo, hi := (sync.Backoff{Base: time.Second, Max: time.Minute, Rand: zero}).Delay(3, false, false), b.Delay(3, false, false); lo != 2*time.Second || hi < 3990*time.Millisecond {
		t.Errorf("jitter range for attempt 3 = [%s, %s], want [2s, 4s)", lo, hi)
	}
	if n, s := b.Delay(1, false, false), b.Delay(1, true, false); s < 7*n {
		t.Errorf("slow delay %s is not much slower than %s", s, n)
	}
	if q := (sync.Backoff{Base: time.Second, Max: time.Minute, Rand: zero}).Delay(1, false, true); q != 30*time.Second {
		t.Errorf("quota delay = %s, want half the cap at least", q)
	}
}

// anyCode is a format check that lets the engine tests' short codes through.
var anyCode = regexp.MustCompile(`^\S+$`)
