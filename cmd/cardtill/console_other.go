//go:build !windows

package main

import (
	"io"
	"os"
)

// setupConsole off Windows: terminals speak UTF-8 and draw ambiguous glyphs
// in one cell; CARDTILL_GLYPHS=ascii still asks for the ASCII fallback (a
// Linux text console whose font lacks the marks).
func setupConsole(stdout, stderr *os.File, getenv func(string) string) (out, errw io.Writer, restore func()) {
	out, errw = stdout, stderr
	if chooseGlyphs(unixTerminal, getenv) == glyphsASCII {
		out, errw = newASCIIFile(stdout), newASCIIFile(stderr)
	}
	return out, errw, func() {}
}

// prepareTillConsole: a terminal's size and font are its own business.
func prepareTillConsole(io.Writer, func(string) string) {}
