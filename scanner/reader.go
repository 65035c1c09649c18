package scanner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	stdsync "sync"
	"time"
)

// EventKind is what an [Event] reports.
type EventKind int

// Event kinds.
const (
	// EventScan: a frame was read. Scan.Err is nil for a coupon payload, or
	// a *RejectError saying what else it was (a product barcode, …).
	EventScan EventKind = iota + 1
	// EventBadScan: the frame was unreadable (too long, not text, cut off);
	// Scan.Err is a *RejectError. The cashier should scan again.
	EventBadScan
	// EventConnected: the port is open and being read.
	EventConnected
	// EventDisconnected: the port was lost or could not be opened; Err
	// says why (an *OpenError, or wraps ErrDisconnected). The Reader keeps
	// trying to reopen it. Sent again when the reason changes.
	EventDisconnected
)

func (k EventKind) String() string {
	switch k {
	case EventScan:
		return "scan"
	case EventBadScan:
		return "bad_scan"
	case EventConnected:
		return "connected"
	case EventDisconnected:
		return "disconnected"
	}
	return fmt.Sprintf("event(%d)", int(k))
}

// Event is one thing that happened to the scanner.
type Event struct {
	At   time.Time
	Kind EventKind
	Port string
	Scan Scan  // EventScan, EventBadScan
	Err  error // EventDisconnected
}

// Scan is one read of a code, from the serial scanner or typed.
type Scan struct {
	// Raw is what was received, sanitised for display and logs.
	Raw string
	// Symbology is the AIM identifier the scanner sent, or "".
	Symbology string
	// Payload is set when Err is nil.
	Payload Payload
	// Err is nil for a coupon, else a *RejectError.
	Err error
	// Source is "serial:<port>" or "keyboard".
	Source string
}

// KeyboardScan parses a line typed (or sent by a keyboard-wedge scanner)
// into the line of the till screen into a Scan with Source "keyboard".
func KeyboardScan(line string) Scan {
	p, err := Parse(line)
	aim, _ := splitAIM(line)
	return Scan{Raw: Sanitize(line), Symbology: aim, Payload: p, Err: err, Source: "keyboard"}
}

// scanFromFrame turns a frame into a Scan and the event kind it belongs to.
func scanFromFrame(fr Frame, source string) (EventKind, Scan) {
	s := Scan{Raw: fr.Raw, Symbology: fr.Symbology, Source: source}
	if fr.Err != nil {
		s.Err = fr.Err
		return EventBadScan, s
	}
	s.Payload, s.Err = parse(fr.Text, fr.Symbology)
	var re *RejectError
	if errors.As(s.Err, &re) && re.Kind.Unreadable() {
		return EventBadScan, s
	}
	return EventScan, s
}

// Reader reads one serial scanner until Close, reopening the port whenever
// it is lost. Its events come in order on Events.
type Reader struct {
	cfg    Config
	o      Options
	log    *slog.Logger
	source string
	events chan Event
	cancel context.CancelFunc
	wg     stdsync.WaitGroup
	once   stdsync.Once
}

// Open validates cfg, opens the port and starts reading it. When the port
// cannot be opened Open returns an *OpenError, unless o.WaitForPort is set:
// then the Reader starts with an EventDisconnected carrying that error and
// keeps trying. Cancelling ctx is the same as Close.
func Open(ctx context.Context, cfg Config, o Options) (*Reader, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Port == "" {
		return nil, &ConfigError{Key: "port", Msg: "no serial port configured: set it, or leave it empty and scan into the till screen (keyboard)"}
	}
	o = o.withDefaults()
	r := &Reader{
		cfg:    cfg,
		o:      o,
		log:    o.Logger.With("port", cfg.Port),
		source: "serial:" + cfg.Port,
		events: make(chan Event, o.EventBuffer),
	}
	c, err := openConn(cfg, o.ReadTimeout)
	if err != nil && !o.WaitForPort {
		return nil, err
	}
	ctx, r.cancel = context.WithCancel(ctx)
	r.wg.Add(1)
	go r.run(ctx, c, err)
	return r, nil
}

// Events delivers what happens, in order, until the Reader is closed; then
// it is closed. Reading it promptly matters: the Reader waits for room
// rather than drop a scan.
func (r *Reader) Events() <-chan Event { return r.events }

// Close stops reading, closes the port and waits for the Reader's
// goroutines (at most about one ReadTimeout).
func (r *Reader) Close() error {
	r.once.Do(r.cancel)
	r.wg.Wait()
	return nil
}

// run owns the connection: read, frame, detect loss, reopen.
func (r *Reader) run(ctx context.Context, c *conn, openErr error) {
	defer r.wg.Done()
	defer close(r.events)
	var lastErr string
	if c == nil {
		lastErr = openErr.Error()
		r.log.Warn("scanner port cannot be opened; will keep trying", "err", openErr)
		if !r.emit(ctx, Event{Kind: EventDisconnected, Err: openErr}) {
			return
		}
	}
	backoff := r.o.MinBackoff
	attempts := 0
	for {
		if c == nil {
			var err error
			c, err = r.reopen(ctx, &backoff, &attempts, &lastErr)
			if err != nil {
				return // ctx done
			}
		}
		lostErr := r.readConn(ctx, c)
		c.close()
		if lostErr == nil {
			return // ctx done
		}
		c = nil
		lastErr = lostErr.Error()
		r.log.Warn("scanner disconnected", "err", lostErr)
		if !r.emit(ctx, Event{Kind: EventDisconnected, Err: lostErr}) {
			return
		}
	}
}

// reopen tries to open the port with capped, jittered exponential backoff
// until it works or ctx ends. It reports a changed reason once.
func (r *Reader) reopen(ctx context.Context, backoff *time.Duration, attempts *int, lastErr *string) (*conn, error) {
	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
	for {
		t.Reset(jitter(*backoff))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
		*attempts++
		c, err := openConn(r.cfg, r.o.ReadTimeout)
		if err == nil {
			r.log.Info("scanner connected again", "attempts", *attempts)
			*backoff, *attempts = r.o.MinBackoff, 0
			return c, nil
		}
		*backoff = nextBackoff(*backoff, r.o.MaxBackoff)
		if msg := err.Error(); msg != *lastErr {
			*lastErr = msg
			r.log.Warn("scanner port cannot be opened; will keep trying", "err", err)
			if !r.emit(ctx, Event{Kind: EventDisconnected, Err: err}) {
				return nil, ctx.Err()
			}
		}
	}
}

// nextBackoff doubles the wait between reopen attempts, up to max.
func nextBackoff(cur, max time.Duration) time.Duration { return min(cur*2, max) }

// jitter spreads d by ±20% so tills on one power strip do not retry in step.
func jitter(d time.Duration) time.Duration {
	return d - d/5 + time.Duration(rand.Int64N(int64(d/5)*2+1))
}

// chunk is one read of the port.
type chunk struct {
	data []byte
	err  error
	took time.Duration
}

// fastEOFs is how many consecutive reads returning nothing well before
// ReadTimeout mean the device hung up.
const fastEOFs = 3

// lossDetector tells a quiet line from a lost device by what reads return.
// Linux (tarm/serial, VMIN=0/VTIME): a quiet line reads 0, io.EOF after
// the read timeout; a hung-up device reads EIO once and then 0, io.EOF at
// once, every time. Windows: a quiet line reads 0, nil after the timeout; a
// removed device fails the read.
type lossDetector struct {
	readTimeout time.Duration
	fast        int // consecutive empty reads that came back early
}

// observe takes one read's result and returns why the device is lost, or
// nil while it is not.
func (d *lossDetector) observe(n int, err error, took time.Duration) error {
	switch {
	case err != nil && err != io.EOF:
		return err
	case n > 0:
		d.fast = 0
	case took < d.readTimeout/2:
		d.fast++
		if d.fast >= fastEOFs {
			return errors.New("the device hung up (reads return nothing at once)")
		}
	default:
		d.fast = 0 // a read timeout on a quiet line
	}
	return nil
}

// readConn reads c until it is lost (returns why) or ctx ends (returns nil).
func (r *Reader) readConn(ctx context.Context, c *conn) error {
	if !r.emit(ctx, Event{Kind: EventConnected}) {
		return nil
	}
	r.log.Info("scanner connected")
	reads := make(chan chunk)
	done := make(chan struct{})
	defer close(done)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 512)
		for {
			start := time.Now()
			n, err := c.port.Read(buf)
			ch := chunk{err: err, took: time.Since(start)}
			if n > 0 {
				ch.data = append([]byte(nil), buf[:n]...)
			}
			select {
			case reads <- ch:
			case <-done:
				return
			}
			if err != nil && err != io.EOF {
				return
			}
		}
	}()

	framer := NewFramer(r.cfg)
	frameTimer := time.NewTimer(time.Hour)
	frameTimer.Stop()
	defer frameTimer.Stop()
	var frames []Frame
	det := lossDetector{readTimeout: r.o.ReadTimeout}
	flush := func() bool {
		if fr, ok := framer.Flush(); ok {
			return r.emitFrame(ctx, fr)
		}
		return true
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-frameTimer.C:
			if !flush() {
				return nil
			}
		case ch := <-reads:
			if len(ch.data) > 0 {
				frames = framer.Feed(ch.data, frames[:0])
				for _, fr := range frames {
					if !r.emitFrame(ctx, fr) {
						return nil
					}
				}
				if framer.Pending() {
					frameTimer.Reset(r.cfg.FrameTimeout)
				} else {
					frameTimer.Stop()
				}
			}
			lost := det.observe(len(ch.data), ch.err, ch.took)
			if lost == nil && len(ch.data) == 0 {
				lost = c.stillThere()
			}
			if lost != nil {
				flush()
				return fmt.Errorf("%w: %v", ErrDisconnected, lost)
			}
			if len(ch.data) == 0 && r.o.onQuietRead != nil {
				r.o.onQuietRead()
			}
		}
	}
}

func (r *Reader) emitFrame(ctx context.Context, fr Frame) bool {
	kind, s := scanFromFrame(fr, r.source)
	if s.Err != nil {
		r.log.Info("scan refused", "kind", kind.String(), "raw", s.Raw, "err", s.Err)
	}
	return r.emit(ctx, Event{Kind: kind, Scan: s})
}

// emit delivers ev unless ctx ends first. Scans are never dropped: the
// Reader waits for the consumer.
func (r *Reader) emit(ctx context.Context, ev Event) bool {
	ev.At = r.o.Now()
	ev.Port = r.cfg.Port
	select {
	case r.events <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}
