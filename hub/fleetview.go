package hub

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// What HQ reads of the fleet (the CLI today, a dashboard later): the tills
// with the ones that need a look marked and first.

// Marks of a till.
const (
	// StaleAfter intervals without a report mark a till silent.
	StaleAfter = 3
	// QueueAlarm: codes queued longer mark a till.
	QueueAlarm = time.Hour
)

// TillView is a till as HQ sees it now.
type TillView struct {
	TillRecord
	// Never: a terminal key that never reported.
	Never bool `json:"never,omitempty"`
	// Silent: no report for StaleAfter of its intervals.
	Silent bool `json:"silent,omitempty"`
	// QueueOld: a code has waited for WeChat longer than QueueAlarm.
	QueueOld bool `json:"queue_old,omitempty"`
}

// Marked reports whether the till needs a look.
func (v TillView) Marked() bool { return v.Never || v.Silent || v.QueueOld }

// Marks says why, in words ("" when nothing).
func (v TillView) Marks(now time.Time) string {
	var m []string
	if v.Never {
		m = append(m, "never reported")
	}
	if v.Silent {
		m = append(m, "silent "+Ago(now, v.Received))
	}
	if v.QueueOld {
		m = append(m, "queued "+Ago(now, v.Heartbeat.OldestQueued))
	}
	return strings.Join(m, ", ")
}

// StoreName is the till's store, or its name when it has none.
func (v TillView) StoreName() string {
	if v.Heartbeat.Store != "" {
		return v.Heartbeat.Store
	}
	return v.Till
}

// ViewTills marks the tills at now, adds the terminals that never
// reported, and sorts the marked first, then by store and till.
func ViewTills(now time.Time, tills []TillRecord, terminals []Terminal) []TillView {
	out := make([]TillView, 0, max(len(tills), len(terminals)))
	seen := map[string]bool{}
	for _, t := range tills {
		seen[t.Till] = true
		iv := t.Heartbeat.Interval.Duration()
		if iv <= 0 {
			iv = time.Minute
		}
		v := TillView{TillRecord: t}
		v.Silent = now.Sub(t.Received) > StaleAfter*iv
		v.QueueOld = !t.Heartbeat.OldestQueued.IsZero() && t.Heartbeat.QueueDepth > 0 && now.Sub(t.Heartbeat.OldestQueued) > QueueAlarm
		out = append(out, v)
	}
	for _, t := range terminals {
		if !seen[t.Name] {
			out = append(out, TillView{TillRecord: TillRecord{Till: t.Name}, Never: true})
		}
	}
	slices.SortStableFunc(out, func(a, b TillView) int {
		if a.Marked() != b.Marked() {
			if a.Marked() {
				return -1
			}
			return 1
		}
		if c := strings.Compare(a.StoreName(), b.StoreName()); c != 0 {
			return c
		}
		return strings.Compare(a.Till, b.Till)
	})
	return out
}

// Ago is how long before now t was, rounded for a person ("45s", "12m",
// "3h05m", "2d4h"); "" for a zero t.
func Ago(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	case d < 48*time.Hour:
		h := d / time.Hour
		m := (d - h*time.Hour).Round(time.Minute) / time.Minute
		if m == 60 {
			h, m = h+1, 0
		}
		return fmt.Sprintf("%dh%02dm", h, m)
	}
	days := d / (24 * time.Hour)
	return fmt.Sprintf("%dd%dh", days, (d-days*24*time.Hour)/time.Hour)
}
