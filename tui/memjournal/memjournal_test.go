package memjournal_test

import (
	"errors"
	"testing"
	"time"

	"cardtill/sync"
	"cardtill/tui/memjournal"
)

func TestShiftsOpenOnceAndClose(t *testing.T) {
	j := memjournal.New(time.Now)
	id, err := j.OpenShift("Wang", time.Now())
	if err != nil || id != 1 {
		t.Fatalf("open: %d %v", id, err)
	}
	if _, err := j.OpenShift("Li", time.Now()); err == nil {
		t.Fatal("a second shift opened while one is open")
	}
	if err := j.CloseShift(2, time.Now()); err == nil {
		t.Fatal("closed a shift that is not open")
	}
	if err := j.CloseShift(1, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := j.CurrentShift(); ok {
		t.Fatal("shift still open after close")
	}
	if id, _ := j.OpenShift("Li", time.Now()); id != 2 {
		t.Fatalf("next shift id %d, want 2", id)
	}
}

func TestOneActiveRedemptionPerCode(t *testing.T) {
	j := memjournal.New(time.Now)
	r := sync.Record{Code: "100000000001", State: sync.StateQueued}
	if _, err := j.Create(r, sync.StateQueued); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Create(r, sync.StateQueued); !errors.Is(err, sync.ErrActive) {
		t.Fatalf("second active redemption: %v, want ErrActive", err)
	}
	if p, _, _, _ := j.Counts(); p != 1 {
		t.Fatalf("pending %d, want 1", p)
	}
}
