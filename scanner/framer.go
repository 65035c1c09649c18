package scanner

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Control bytes scanners use to wrap a code.
const (
	stx = 0x02
	etx = 0x03
)

// Frame is one scanner message, cut from the byte stream by a [Framer].
type Frame struct {
	// Text is the code text: envelope, AIM identifier, prefix, suffix and
	// blanks removed. Empty when Err is set.
	Text string
	// Symbology is the AIM identifier the scanner put in front ("]Q1"), or "".
	Symbology string
	// Raw is the frame as received (blanks around it trimmed), sanitised
	// for display and logs.
	Raw string
	// Err is a *RejectError (TooLong, NonPrintable, Incomplete) when the
	// frame is unreadable.
	Err error
}

// Framer cuts a scanner's byte stream into frames. It is pure (no I/O, no
// clock): the caller feeds bytes as they arrive and calls Flush after
// FrameTimeout of silence. Memory is bounded by MaxLength. Not safe for
// concurrent use.
type Framer struct {
	term           byte // terminator byte; 0 for "none"
	etxEnds        bool // ETX ends every frame ("etx" terminator)
	prefix, suffix string
	max            int

	buf      []byte
	envelope bool // the current frame began with STX
	overflow bool // the current frame passed max and was reported
}

// NewFramer makes a framer for the terminator, prefix, suffix and
// max_length of cfg (zero fields take their defaults).
func NewFramer(cfg Config) *Framer {
	cfg = cfg.WithDefaults()
	f := &Framer{prefix: cfg.Prefix, suffix: cfg.Suffix, max: cfg.MaxLength}
	switch cfg.Terminator {
	case "cr":
		f.term = '\r'
	case "lf", "crlf": // crlf: the CR before LF is trimmed with the blanks
		f.term = '\n'
	case "tab":
		f.term = '\t'
	case "etx":
		f.etxEnds = true
	}
	f.buf = make([]byte, 0, min(f.max, 256))
	return f
}

// Pending reports whether bytes of an unfinished frame are buffered, i.e.
// whether the caller should call Flush after FrameTimeout of silence.
func (f *Framer) Pending() bool { return len(f.buf) > 0 || f.overflow }

// Feed consumes p and appends the frames it completes to out.
func (f *Framer) Feed(p []byte, out []Frame) []Frame {
	for _, b := range p {
		switch {
		case b == stx:
			// A new envelope: whatever came before it was never ended.
			out = f.end(out, RejectIncomplete)
			f.envelope = true
		case b == etx && (f.etxEnds || f.envelope):
			out = f.end(out, 0)
		case b == f.term && f.term != 0:
			out = f.end(out, 0)
		case f.overflow:
			// already reported as too long: skip to the frame's end
		case len(f.buf) >= f.max:
			out = append(out, Frame{
				Raw: Sanitize(string(f.buf)),
				Err: &RejectError{Kind: RejectTooLong, Input: Sanitize(string(f.buf)),
					What: fmt.Sprintf("more than %d characters", f.max)},
			})
			f.buf = f.buf[:0]
			f.overflow = true
		default:
			f.buf = append(f.buf, b)
		}
	}
	return out
}

// Flush ends the buffered frame after silence. With terminator "none" that
// is how every frame ends; otherwise the bytes were never terminated and
// come back as an Incomplete rejection. ok is false when there was nothing
// to report.
func (f *Framer) Flush() (fr Frame, ok bool) {
	kind := RejectIncomplete
	if f.term == 0 && !f.etxEnds {
		kind = 0
	}
	out := f.end(nil, kind)
	if len(out) == 0 {
		return Frame{}, false
	}
	return out[0], true
}

// end finishes the current frame. unended != 0 reports any non-blank bytes
// as that rejection instead of a frame.
func (f *Framer) end(out []Frame, unended RejectKind) []Frame {
	raw := f.buf
	overflow := f.overflow
	f.buf, f.overflow, f.envelope = f.buf[:0], false, false
	if overflow {
		return out // reported when it overflowed
	}
	if len(trimBlank(raw)) == 0 {
		return out // blanks between frames (a CR before LF, a stray LF) are not data
	}
	rawS := string(trimBlank(raw)) // the one copy; text below is a slice of it
	fr := Frame{Raw: Sanitize(rawS)}
	if unended != 0 {
		fr.Err = &RejectError{Kind: unended, Input: fr.Raw}
		return append(out, fr)
	}
	text := strings.Trim(strings.TrimSuffix(strings.Trim(rawS, blanks), "\x03"), blanks)
	if text == "" {
		return out // only an ETX
	}
	if !printable(text) {
		fr.Err = &RejectError{Kind: RejectNonPrintable, Input: fr.Raw}
		return append(out, fr)
	}
	// Scanners put the configured prefix before the AIM identifier, but
	// accept either order.
	hadPrefix := f.prefix != "" && strings.HasPrefix(text, f.prefix)
	text = strings.TrimPrefix(text, f.prefix)
	if f.prefix == "" {
		hadPrefix = true
	}
	fr.Symbology, text = splitAIM(text)
	if !hadPrefix {
		text = strings.TrimPrefix(text, f.prefix)
	}
	if f.suffix != "" {
		text = strings.TrimSuffix(text, f.suffix)
	}
	text = strings.TrimSpace(text)
	if !utf8.ValidString(text) {
		// only an unchecked prefix/suffix cutting a character in two
		fr.Err = &RejectError{Kind: RejectNonPrintable, Input: fr.Raw, Symbology: fr.Symbology}
		return append(out, fr)
	}
	if text == "" {
		fr.Err = &RejectError{Kind: RejectIncomplete, Input: fr.Raw, Symbology: fr.Symbology}
		return append(out, fr)
	}
	fr.Text = text
	return append(out, fr)
}

const blanks = " \t\r\n\v\f"

func trimBlank(b []byte) []byte { return bytes.Trim(b, blanks) }
