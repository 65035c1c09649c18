package tui

import (
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// The Linux console (the kiosk's tty1, TERM=linux) has no CJK font and
// few symbols: it draws ✔ ✖ ⏸ ╭ and Chinese as blots. With Options.ASCII
// the screen speaks English (the caller sets Lang) and View's output is
// made ASCII: each symbol becomes one ASCII character of the same width,
// and anything else it cannot draw (a Chinese card title from WeChat)
// becomes '?' per cell, so the layout does not move. The notice line says
// so once, and how to get Chinese: a framebuffer terminal (kmscon, fbterm)
// with a CJK font (packaging/README.md).

// ConsoleNotice is the one-line notice of the ASCII fallback.
const ConsoleNotice = "This console cannot draw Chinese: English shown. For Chinese run the till under kmscon or fbterm (see the packaging README)."

var asciiGlyphs = strings.NewReplacer(
	"✔", "v", "✖", "x", "⏸", "=", "●", "*", "○", "o", "…", ".", "█", "#", "▶", ">", "✓", "v",
	"↑", "^", "↓", "v", "←", "<", "→", ">", "⚑", "!", "≡", "=", "–", "-", "—", "-", "·", "-",
	"╭", "+", "╮", "+", "╰", "+", "╯", "+", "─", "-", "│", "|", "═", "=", "¥", "Y", "•", "*",
)

// asciiOnly makes a rendered screen ASCII, keeping every line's width in
// cells (escape sequences are kept as they are).
func asciiOnly(s string) string {
	s = asciiGlyphs.Replace(s)
	var b strings.Builder
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == 0x1b: // keep an escape sequence whole
			n := escLen(s)
			b.WriteString(s[:n])
			s = s[n:]
			continue
		case r < utf8.RuneSelf:
			b.WriteByte(s[0])
		default:
			b.WriteString(strings.Repeat("?", max(1, ansi.StringWidth(string(r)))))
		}
		s = s[size:]
	}
	return b.String()
}

// escLen is the length of the escape sequence at the start of s.
func escLen(s string) int {
	if len(s) < 2 || s[1] != '[' {
		return min(2, len(s))
	}
	for i := 2; i < len(s); i++ {
		if c := s[i]; c >= 0x40 && c <= 0x7e {
			return i + 1
		}
	}
	return len(s)
}
