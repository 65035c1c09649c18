package console

import (
	"bytes"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"cardtill/tui"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"golang.org/x/text/width"
)

// bubbletea needs a term.File to find the terminal behind its output.
var _ interface {
	io.ReadWriteCloser
	Fd() uintptr
} = (*asciiFile)(nil)

func TestASCIIGlyphsKeepWidth(t *testing.T) {
	t.Parallel()
	for r, s := range asciiGlyphs {
		for _, c := range s {
			if c >= utf8.RuneSelf {
				t.Errorf("%q -> %q is not ASCII", r, s)
			}
		}
		if got, want := ansi.StringWidth(s), ansi.StringWidth(string(r)); got != want {
			t.Errorf("%q (%d cells) -> %q (%d cells)", r, want, s, got)
		}
	}
}

func TestAsciiFor(t *testing.T) {
	t.Parallel()
	for _, r := range []rune{'a', '1', '中', '券', '¥', 'é', 'Ж', 'α', '，', '（'} {
		if s, ok := asciiFor(r); ok {
			t.Errorf("asciiFor(%q) = %q: letters, digits, wide and narrow characters stay", r, s)
		}
	}
	for r, want := range map[rune]string{'╭': "+", '┼': "+", '╬': "+", '✔': "v", '…': ".", '§': "?"} {
		if s, ok := asciiFor(r); !ok || s != want {
			t.Errorf("asciiFor(%q) = %q, %v; want %q", r, s, ok, want)
		}
	}
}

// noAmbiguous fails on any East Asian Ambiguous rune that is not a letter
// or digit: conhost with a Chinese font draws those two cells wide.
func noAmbiguous(t *testing.T, what, s string) {
	t.Helper()
	for _, r := range ansi.Strip(s) {
		if width.LookupRune(r).Kind() == width.EastAsianAmbiguous {
			if _, ok := asciiFor(r); ok {
				t.Errorf("%s: %q left in %q", what, r, s)
				return
			}
		}
	}
}

func throughASCII(s string) string {
	var b bytes.Buffer
	w := &asciiWriter{w: &b}
	_, _ = w.Write([]byte(s))
	return b.String()
}

// The till screen's parts, rendered as lipgloss renders them, keep every
// line's width and lose every ambiguous glyph.
func TestASCIIWriterKeepsLayout(t *testing.T) {
	t.Parallel()
	tx := tui.Catalogue("zh")
	panel := lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).Padding(0, 2).Width(60).
		Render("✔  " + tx.Ready + "\n" + "满20减5券  ·  券码 1102 0120 1246 … “重复扫码”")
	dialog := lipgloss.NewStyle().Border(lipgloss.DoubleBorder()).Width(40).Render("⏸ " + tx.QuitAsk)
	thick := lipgloss.NewStyle().Border(lipgloss.ThickBorder()).Render("● ○ ▸ ✖ — █")
	for _, in := range []string{panel, dialog, thick, strings.Repeat("─", 80)} {
		out := throughASCII(in)
		inLines, outLines := strings.Split(in, "\n"), strings.Split(out, "\n")
		if len(inLines) != len(outLines) {
			t.Fatalf("%d lines became %d", len(inLines), len(outLines))
		}
		for i := range inLines {
			if a, b := ansi.StringWidth(inLines[i]), ansi.StringWidth(outLines[i]); a != b {
				t.Errorf("line %d: %d cells became %d:\n%s\n%s", i, a, b, inLines[i], outLines[i])
			}
		}
		noAmbiguous(t, "rendered", out)
		if !strings.Contains(out, "券码") && strings.Contains(in, "券码") {
			t.Errorf("Chinese text lost: %s", out)
		}
	}
}

// Every text of both catalogues comes through without an ambiguous glyph
// and with its width: a glyph added to the screen later is caught here.
func TestASCIIWriterCatalogues(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"zh", "en"} {
		var walk func(v reflect.Value, path string)
		walk = func(v reflect.Value, path string) {
			switch v.Kind() {
			case reflect.String:
				in := v.String()
				out := throughASCII(in)
				if ansi.StringWidth(in) != ansi.StringWidth(out) {
					t.Errorf("%s %s: %q (%d) -> %q (%d)", lang, path, in, ansi.StringWidth(in), out, ansi.StringWidth(out))
				}
				noAmbiguous(t, lang+" "+path, out)
			case reflect.Struct:
				for i := 0; i < v.NumField(); i++ {
					if v.Type().Field(i).IsExported() {
						walk(v.Field(i), path+"."+v.Type().Field(i).Name)
					}
				}
			case reflect.Map:
				for _, k := range v.MapKeys() {
					walk(v.MapIndex(k), path+"[]")
				}
			case reflect.Pointer:
				if !v.IsNil() {
					walk(v.Elem(), path)
				}
			}
		}
		walk(reflect.ValueOf(tui.Catalogue(lang)), "Text")
	}
}

// A character cut between two writes (bubbletea writes frames in pieces)
// comes out whole.
func TestASCIIWriterSplitWrites(t *testing.T) {
	t.Parallel()
	in := "\x1b[1m✔ 已核销\x1b[0m ─── 券码 … ok\n"
	want := throughASCII(in)
	for cut := 0; cut <= len(in); cut++ {
		var b bytes.Buffer
		w := &asciiWriter{w: &b}
		for _, part := range []string{in[:cut], in[cut:]} {
			if n, err := w.Write([]byte(part)); err != nil || n != len(part) {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
		if b.String() != want {
			t.Fatalf("cut at %d: %q, want %q", cut, b.String(), want)
		}
	}
	var b bytes.Buffer
	w := &asciiWriter{w: &b}
	for i := 0; i < len(in); i++ {
		_, _ = w.Write([]byte{in[i]})
	}
	if b.String() != want {
		t.Fatalf("byte by byte: %q, want %q", b.String(), want)
	}
	if want != "\x1b[1mv 已核销\x1b[0m --- 券码 . ok\n" {
		t.Errorf("got %q", want)
	}
}

func TestChooseGlyphs(t *testing.T) {
	t.Parallel()
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "CARDTILL_GLYPHS" {
				return v
			}
			return ""
		}
	}
	for _, c := range []struct {
		kind consoleKind
		env  string
		want glyphMode
	}{
		{windowsConhost, "", glyphsASCII},
		{windowsConhost, "unicode", glyphsUnicode},
		{windowsTerminal, "", glyphsUnicode},
		{windowsTerminal, "ASCII", glyphsASCII},
		{unixTerminal, "", glyphsUnicode},
		{unixTerminal, "ascii", glyphsASCII},
		{notConsole, "", glyphsUnicode},
	} {
		if got := chooseGlyphs(c.kind, env(c.env)); got != c.want {
			t.Errorf("chooseGlyphs(%d, %q) = %d, want %d", c.kind, c.env, got, c.want)
		}
	}
}

func TestSetupConsoleASCII(t *testing.T) {
	t.Parallel()
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, _, restore := Setup(f, f, func(k string) string {
		if k == "CARDTILL_GLYPHS" {
			return "ascii"
		}
		return ""
	})
	defer restore()
	if _, err := io.WriteString(out, "● 在线 ─\n"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(f.Name())
	if string(got) != "* 在线 -\n" {
		t.Errorf("wrote %q", got)
	}
	if fd, ok := out.(interface{ Fd() uintptr }); !ok || fd.Fd() != f.Fd() {
		t.Error("the ASCII writer hides the file's Fd")
	}
	plain, _, _ := Setup(f, f, func(string) string { return "" })
	if plain != io.Writer(f) {
		t.Errorf("without CARDTILL_GLYPHS stdout is wrapped: %T", plain)
	}
}

func TestPlanSize(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		win, buf, largest [2]int
		want              sizePlan
		grow              bool
	}{
		{[2]int{120, 30}, [2]int{120, 9001}, [2]int{200, 60}, sizePlan{}, false},          // Windows 10's default: big enough
		{[2]int{80, 25}, [2]int{80, 300}, [2]int{200, 60}, sizePlan{}, false},             // the classic 80x25
		{[2]int{80, 20}, [2]int{80, 20}, [2]int{200, 60}, sizePlan{80, 24, 80, 24}, true}, // too short
		{[2]int{60, 20}, [2]int{60, 300}, [2]int{200, 60}, sizePlan{80, 300, 80, 24}, true},
		{[2]int{60, 20}, [2]int{60, 20}, [2]int{70, 22}, sizePlan{70, 22, 70, 22}, true},     // a small display: as big as it allows
		{[2]int{60, 20}, [2]int{60, 20}, [2]int{0, 0}, sizePlan{80, 24, 80, 24}, true},       // largest unknown
		{[2]int{100, 20}, [2]int{100, 20}, [2]int{90, 50}, sizePlan{100, 24, 100, 24}, true}, // never narrower
	} {
		got, grow := planSize(c.win[0], c.win[1], c.buf[0], c.buf[1], c.largest[0], c.largest[1])
		if got != c.want || grow != c.grow {
			t.Errorf("planSize(win %v, buf %v, largest %v) = %+v, %v; want %+v, %v", c.win, c.buf, c.largest, got, grow, c.want, c.grow)
		}
	}
}

func TestChooseFont(t *testing.T) {
	t.Parallel()
	for face, want := range map[string]string{
		"Consolas": "NSimSun", "Lucida Console": "NSimSun", "Terminal": "NSimSun", "": "NSimSun",
		"NSimSun": "", "新宋体": "", "simsun": "", "MS Gothic": "",
	} {
		if got := chooseFont(face); got != want {
			t.Errorf("chooseFont(%q) = %q, want %q", face, got, want)
		}
	}
}

// io.Copy and friends must not find a way around the fallback.
func TestASCIIFileCopy(t *testing.T) {
	t.Parallel()
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a := newASCIIFile(f)
	if _, err := io.Copy(a, strings.NewReader("✔ ok\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(a, "…\n"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(f.Name()); string(got) != "v ok\n.\n" {
		t.Errorf("wrote %q", got)
	}
}
