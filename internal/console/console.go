// Package console owns the terminal cardtill draws on: the glyphs it may
// use (ASCII of the same width where the Windows console draws ambiguous
// symbols two cells wide), the Windows console's set-up (UTF-8, VT, a font
// that draws Chinese, the till's window size), and the language of the
// till screen and of the CLI's reports (config, locale, the system's
// display language; English on a console that cannot draw Chinese).
package console

import (
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
	"golang.org/x/text/width"
)

// Chinese (East Asian Wide) characters take two cells everywhere, and the
// screen's layout (lipgloss) counts them so. The box-drawing lines, the
// marks (● ✔ ✖ ⏸ ▸) and punctuation such as … · — “” are East Asian
// *Ambiguous*: lipgloss counts one cell, as Windows Terminal and Linux
// terminals draw them, but the Windows console host (conhost) with a font
// that draws Chinese (NSimSun, SimSun, ...) draws them two cells wide, and
// every line with one overflows. On such a console cardtill replaces them
// one for one with ASCII of the same width (asciiGlyphs), so the layout
// stays right; Chinese text is untouched. The console set-up itself (UTF-8
// code page, VT processing, the font and size of the till's window) is in
// console_windows.go; what it decides is here, where it is tested on any
// system.

// glyphMode is how box and mark glyphs reach the console.
type glyphMode int

const (
	glyphsUnicode glyphMode = iota // as they are
	glyphsASCII                    // through asciiWriter
)

// consoleKind is what draws the output.
type consoleKind int

const (
	notConsole      consoleKind = iota // a pipe or file: bytes as they are
	unixTerminal                       // a Linux/macOS terminal
	windowsTerminal                    // Windows Terminal (WT_SESSION set)
	windowsConhost                     // the classic Windows console host
)

// chooseGlyphs decides the glyph mode: CARDTILL_GLYPHS=unicode or ascii
// when set (anywhere, e.g. ascii on a Linux text console), else ASCII on
// conhost only.
func chooseGlyphs(kind consoleKind, getenv func(string) string) glyphMode {
	switch strings.ToLower(getenv("CARDTILL_GLYPHS")) {
	case "ascii":
		return glyphsASCII
	case "unicode":
		return glyphsUnicode
	}
	if kind == windowsConhost {
		return glyphsASCII
	}
	return glyphsUnicode
}

// asciiGlyphs: each glyph the screen and the reports draw, in ASCII of the
// same width (TestASCIIGlyphsKeepWidth).
var asciiGlyphs = map[rune]string{
	// box drawing: lipgloss's normal, rounded, thick and double borders
	'─': "-", '━': "-", '┄': "-", '┈': "-", '╌': "-", '═': "=",
	'│': "|", '┃': "|", '┆': "|", '┊': "|", '╎': "|", '║': "|",
	// block elements (the report's hour bars)
	'█': "#", '▉': "#", '▊': "#", '▋': "#", '▌': "#", '▍': "#", '▎': "#", '▏': "#", '▓': "#", '▒': ":", '░': ".",
	// marks
	'●': "*", '○': "o", '◉': "*", '■': "#", '□': "o", '◆': "*", '◇': "o",
	'✔': "v", '✓': "v", '✖': "x", '✗': "x", '✘': "x", '⏸': "=", '⚠': "!", '★': "*", '☆': "*", '※': "*",
	'▸': ">", '▶': ">", '►': ">", '◂': "<", '◀': "<", '◄': "<", '▲': "^", '▼': "v", '→': ">", '←': "<", '↑': "^", '↓': "v",
	// punctuation
	'…': ".", '·': ".", '•': "*", '—': "-", '–': "-", '―': "-",
	'“': `"`, '”': `"`, '‘': "'", '’': "'", '×': "x", '÷': "/", '°': "o", '±': "+",
}

// asciiFor is what r becomes on a console that cannot draw it in one cell;
// ok is false when r stays as it is (ASCII, Chinese, letters of any script).
func asciiFor(r rune) (s string, ok bool) {
	if r < utf8.RuneSelf {
		return "", false
	}
	if s, ok := asciiGlyphs[r]; ok {
		return s, true
	}
	if r >= 0x2500 && r <= 0x257F { // any other box-drawing corner, tee or cross
		return "+", true
	}
	if unicode.IsLetter(r) || unicode.IsDigit(r) {
		return "", false
	}
	if width.LookupRune(r).Kind() == width.EastAsianAmbiguous {
		s := "?"
		if ansi.StringWidth(string(r)) == 2 {
			s = "??"
		}
		return s, true
	}
	return "", false
}

// asciiWriter passes writes to w with asciiFor applied, keeping escape
// sequences and every other byte as they are. A character split across two
// writes is held back until it is whole. It keeps w's Fd, Read and Close
// so that bubbletea still sees a terminal (term.File).
type asciiWriter struct {
	w    io.Writer
	held []byte // the start of an incomplete UTF-8 sequence
	buf  []byte
}

func (a *asciiWriter) Write(p []byte) (int, error) {
	in := p
	if len(a.held) > 0 {
		in = append(a.held, p...)
		a.held = nil
	}
	out := a.buf[:0]
	for i := 0; i < len(in); {
		c := in[i]
		if c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		if !utf8.FullRune(in[i:]) {
			a.held = append([]byte(nil), in[i:]...)
			break
		}
		r, n := utf8.DecodeRune(in[i:])
		if s, ok := asciiFor(r); ok {
			out = append(out, s...)
		} else {
			out = append(out, in[i:i+n]...)
		}
		i += n
	}
	a.buf = out
	if _, err := a.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// asciiFile is an asciiWriter over a console file that is still a
// term.File (Read, Write, Close, Fd), so bubbletea finds the console
// behind it. It does not embed the file: a promoted ReadFrom or WriteString
// would write around the fallback.
type asciiFile struct {
	f  *os.File
	aw *asciiWriter
}

func newASCIIFile(f *os.File) *asciiFile { return &asciiFile{f: f, aw: &asciiWriter{w: f}} }

func (a *asciiFile) Write(p []byte) (int, error)       { return a.aw.Write(p) }
func (a *asciiFile) WriteString(s string) (int, error) { return a.aw.Write([]byte(s)) }
func (a *asciiFile) Read(p []byte) (int, error)        { return a.f.Read(p) }
func (a *asciiFile) Close() error                      { return a.f.Close() }
func (a *asciiFile) Fd() uintptr                       { return a.f.Fd() }

// The till screen wants at least 80x24 cells (docs/TILL-SCREEN: everything
// a cashier needs fits 80x24).
const tillCols, tillRows = 80, 24

// sizePlan says how to grow a console window to fit the till screen.
type sizePlan struct {
	bufCols, bufRows int // the screen buffer, at least the window
	winCols, winRows int
}

// planSize grows a window smaller than the till screen to tillCols x
// tillRows, within the largest window the display allows (maxCols,
// maxRows; 0 means unknown), and never shrinks anything. ok is false when
// nothing needs to change.
func planSize(winCols, winRows, bufCols, bufRows, maxCols, maxRows int) (p sizePlan, ok bool) {
	wantC, wantR := max(winCols, tillCols), max(winRows, tillRows)
	if maxCols > 0 {
		wantC = min(wantC, max(maxCols, winCols))
	}
	if maxRows > 0 {
		wantR = min(wantR, max(maxRows, winRows))
	}
	if wantC == winCols && wantR == winRows {
		return sizePlan{}, false
	}
	return sizePlan{bufCols: max(bufCols, wantC), bufRows: max(bufRows, wantR), winCols: wantC, winRows: wantR}, true
}

// cjkConsoleFonts are console fonts that draw Chinese; the first is what
// cardtill picks when the console's font cannot (NSimSun ships with every
// Chinese Windows and with the Chinese supplemental fonts elsewhere).
var cjkConsoleFonts = []string{"NSimSun", "新宋体", "SimSun", "宋体", "SimSun-ExtB", "SimHei", "黑体",
	"Microsoft YaHei Mono", "Sarasa Mono SC", "Sarasa Term SC", "MingLiU", "細明體", "MS Gothic", "ＭＳ ゴシック"}

// chooseFont says which font the till's console should switch to: "" to
// keep face, which draws Chinese already.
func chooseFont(face string) string {
	for _, f := range cjkConsoleFonts {
		if strings.EqualFold(strings.TrimSpace(face), f) {
			return ""
		}
	}
	return cjkConsoleFonts[0]
}
