package sync_test

import (
	"context"
	"regexp"
	"testing"

	"cardtill/sync"
)

// Offline, anything typed is not a coupon: "abc" is refused as not a code
// (nothing queued, no conflict later), a 12-digit code is accepted, and a
// merchant's code_pattern lets its custom codes through.
func TestOfflineFormatCheck(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		pattern *regexp.Regexp
		code    string
		accept  bool
	}{
		{nil, "abc", false},
		{nil, "12345", false},
		{nil, "452998530302", true},
		{regexp.MustCompile(`^CUST-[0-9]+$`), "CUST-8848", true},
		{regexp.MustCompile(`^CUST-[0-9]+$`), "abc", false},
	} {
		st := newStoreTillWith(t, 2, func(o *sync.Options) { o.Policy.MaxPerShift, o.Policy.CodePattern = 20, c.pattern })
		st.srv.SetOutage(true)
		out, err := st.e.Redeem(context.Background(), sync.Request{Code: c.code})
		if err != nil {
			t.Fatal(err)
		}
		if got := out.Kind == sync.AcceptedOffline; got != c.accept {
			t.Fatalf("%s (pattern %v): %+v", c.code, c.pattern, out)
		}
		if !c.accept && out.Reason != sync.ReasonOfflineNotACode {
			t.Fatalf("%s refused for %s, want %s", c.code, out.Reason, sync.ReasonOfflineNotACode)
		}
		if s := st.e.Status(); (s.QueueDepth == 1) != c.accept {
			t.Fatalf("%s: queue %d", c.code, s.QueueDepth)
		}
	}
}
