// Package scanner turns what a barcode scanner sends into scans.
//
// It owns: reading serial scanners (RS-232 or USB virtual COM ports, through
// github.com/tarm/serial), cutting the byte stream into frames (terminators,
// STX/ETX envelopes, AIM symbology identifiers, configured prefix/suffix),
// noticing a scanner that was unplugged and opening it again when it comes
// back, listing the serial ports of the machine, and parsing what was scanned
// (serial or keyboard-wedge input alike) into a [Payload]: a plain code, or a
// URL/query string carrying encrypt_code, code and card_id.
//
// It must never: pass on an unreadable or over-long frame as a code, drop a
// frame without saying so (every frame becomes an [Event]), talk to WeChat,
// touch the journal, or decide anything about a coupon beyond "this is (not)
// a coupon code". Everything after Parse belongs to the engine (package sync).
//
// Reading a port: [Open] returns a [Reader] whose Events channel carries
// Connected, Disconnected, Scan and BadScan events until Close. Parsing typed
// input: [Parse]. Both reject with a *[RejectError] whose [RejectKind] the
// till screen translates.
package scanner
