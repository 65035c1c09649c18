package scanner

import (
	"errors"
	"fmt"
)

// RejectKind says why a scan is not a coupon code. The till screen
// translates it (en/zh); the English wording is in [RejectError.Error].
type RejectKind int

// Rejection kinds. The first three are unreadable frames (a [EventBadScan]):
// the cashier should scan again. The others were read fine but are not a
// coupon code.
const (
	// RejectTooLong: longer than the scanner's max_length, or than any
	// coupon code, link or encrypt_code can be.
	RejectTooLong RejectKind = iota + 1
	// RejectNonPrintable: control characters or bytes that are not text.
	RejectNonPrintable
	// RejectIncomplete: bytes arrived but no terminator followed within
	// frame_timeout (a partial read, or the wrong terminator).
	RejectIncomplete
	// RejectEmpty: nothing but blanks (only from Parse of typed input).
	RejectEmpty
	// RejectProductBarcode: an EAN-13, EAN-8 or UPC-A product barcode.
	RejectProductBarcode
	// RejectPaymentCode: a WeChat Pay / Alipay / UnionPay payment code or
	// payment QR, which belongs to the payment terminal.
	RejectPaymentCode
	// RejectLinkWithoutCode: a web link that carries no encrypt_code or code.
	RejectLinkWithoutCode
	// RejectMalformedCode: a link or query whose encrypt_code, code or
	// card_id is present but cannot be right (bad characters, too long).
	RejectMalformedCode
	// RejectNotACode: text that is none of the above and not a coupon code.
	RejectNotACode
)

var rejectNames = map[RejectKind]string{
	RejectTooLong:         "too_long",
	RejectNonPrintable:    "non_printable",
	RejectIncomplete:      "incomplete",
	RejectEmpty:           "empty",
	RejectProductBarcode:  "product_barcode",
	RejectPaymentCode:     "payment_code",
	RejectLinkWithoutCode: "link_without_code",
	RejectMalformedCode:   "malformed_code",
	RejectNotACode:        "not_a_code",
}

// String is a stable snake_case name for logs, JSON and translation keys.
func (k RejectKind) String() string {
	if s, ok := rejectNames[k]; ok {
		return s
	}
	return fmt.Sprintf("reject(%d)", int(k))
}

// Unreadable reports whether the frame itself was garbled (scan again), as
// opposed to read fine but not being a coupon.
func (k RejectKind) Unreadable() bool {
	return k == RejectTooLong || k == RejectNonPrintable || k == RejectIncomplete
}

// RejectError is why a scan or typed input is not a coupon code.
type RejectError struct {
	Kind RejectKind
	// Input is what was scanned, made safe to show and log: control bytes
	// escaped, cut to a readable length.
	Input string
	// What names what it looked like, when known: "EAN-13", "WeChat Pay",
	// "https://example.com/…", "41 characters".
	What string
	// Symbology is the AIM identifier the scanner sent ("]E0"), if any.
	Symbology string
}

func (e *RejectError) Error() string {
	switch e.Kind {
	case RejectTooLong:
		return withWhat("unreadable, scan again: too long", e.What)
	case RejectNonPrintable:
		return "unreadable, scan again: it contains characters that are not text"
	case RejectIncomplete:
		return "unreadable, scan again: the scan was cut off (no end-of-code mark)"
	case RejectEmpty:
		return "nothing was scanned"
	case RejectProductBarcode:
		return withWhat("that is a product barcode", e.What) + ", not a coupon"
	case RejectPaymentCode:
		return withWhat("that is a payment code", e.What) + ", not a coupon: use the payment terminal"
	case RejectLinkWithoutCode:
		return "that is a web link without a coupon code in it"
	case RejectMalformedCode:
		return withWhat("the coupon code in that link is damaged", e.What) + ": scan again"
	default:
		return withWhat("that is not a coupon code", e.What)
	}
}

func withWhat(s, what string) string {
	if what == "" {
		return s
	}
	return s + " (" + what + ")"
}

// OpenErrorKind says why a serial port could not be opened.
type OpenErrorKind int

// Open error kinds.
const (
	// OpenMissing: no such port (unplugged, or a wrong scanner.port).
	OpenMissing OpenErrorKind = iota + 1
	// OpenBusy: another program holds the port.
	OpenBusy
	// OpenPermission: this user may not open the port.
	OpenPermission
	// OpenNotSerial: the path exists but is not a serial port.
	OpenNotSerial
	// OpenBadSettings: the port refused the configured baud/parity/bits.
	OpenBadSettings
	// OpenOther: anything else; Err says what.
	OpenOther
)

var openNames = map[OpenErrorKind]string{
	OpenMissing:     "missing",
	OpenBusy:        "busy",
	OpenPermission:  "permission",
	OpenNotSerial:   "not_serial",
	OpenBadSettings: "bad_settings",
	OpenOther:       "other",
}

func (k OpenErrorKind) String() string {
	if s, ok := openNames[k]; ok {
		return s
	}
	return fmt.Sprintf("open(%d)", int(k))
}

// OpenError is a serial port that could not be opened. Its message says
// what is wrong and, where this package knows, what the machine needs;
// the config key and the commands are the command line's to name.
type OpenError struct {
	Port string
	Kind OpenErrorKind
	// Hint is what the machine or the scanner needs, in a sentence.
	Hint string
	Err  error
}

func (e *OpenError) Error() string {
	var what string
	switch e.Kind {
	case OpenMissing:
		what = "not found"
	case OpenBusy:
		what = "in use by another program"
	case OpenPermission:
		what = "permission denied"
	case OpenNotSerial:
		what = "not a serial port"
	case OpenBadSettings:
		what = "settings refused"
	default:
		what = "cannot open"
	}
	s := fmt.Sprintf("open serial port %s: %s", e.Port, what)
	if e.Err != nil && e.Kind != OpenMissing {
		s += " (" + e.Err.Error() + ")"
	}
	if e.Hint != "" {
		s += ": " + e.Hint
	}
	return s
}

func (e *OpenError) Unwrap() error { return e.Err }

// ErrClosed is returned by Reader methods after Close.
var ErrClosed = errors.New("scanner: reader closed")

// ErrDisconnected is the Err of a Disconnected event whose cause is the
// device hanging up (reads fail at once) or its path disappearing.
var ErrDisconnected = errors.New("scanner disconnected")
