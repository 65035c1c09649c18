//go:build !windows

package console

import (
	"io"
	"os"
)

// Setup off Windows: terminals speak UTF-8 and draw ambiguous glyphs
// in one cell; CARDTILL_GLYPHS=ascii still asks for the ASCII fallback (a
// Linux text console whose font lacks the marks).
func Setup(stdout, stderr *os.File, getenv func(string) string) (out, errw io.Writer, restore func()) {
	out, errw = stdout, stderr
	if chooseGlyphs(unixTerminal, getenv) == glyphsASCII {
		out, errw = newASCIIFile(stdout), newASCIIFile(stderr)
	}
	return out, errw, func() {}
}

// PrepareTill: a terminal's size and font are its own business.
func PrepareTill(io.Writer, func(string) string) {}
