package scanner

import (
	"context"
	"testing"
	"time"

	"github.com/creack/pty"
)

// A quiet line is not a disconnect: after several read timeouts with
// nothing on the line the Reader has reported nothing, and the next scan is
// its next event.
func TestQuietLineStaysConnected(t *testing.T) {
	t.Parallel()
	m, s, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	path := s.Name()
	s.Close()
	defer m.Close()
	quiet := make(chan struct{}, 16)
	r, err := Open(context.Background(), Config{Port: path}, Options{
		ReadTimeout: 100 * time.Millisecond,
		onQuietRead: func() {
			select {
			case quiet <- struct{}{}:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if ev := <-r.Events(); ev.Kind != EventConnected {
		t.Fatalf("first event %v", ev.Kind)
	}
	for range 4 {
		<-quiet
	}
	select {
	case ev := <-r.Events():
		t.Fatalf("a quiet line produced %v: %v", ev.Kind, ev.Err)
	default:
	}
	m.Write([]byte("1\r"))
	if ev := <-r.Events(); ev.Kind != EventScan || ev.Scan.Payload.Code != "1" {
		t.Fatalf("after quiet reads: %v %+v", ev.Kind, ev.Scan)
	}
}
