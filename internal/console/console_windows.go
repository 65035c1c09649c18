//go:build windows

package console

import (
	"io"
	"os"
	"unsafe"

	"github.com/mattn/go-runewidth"
	"golang.org/x/sys/windows"
)

// Console set-up on Windows (what it decides, and why, is in console.go).

var (
	kernel32                        = windows.NewLazySystemDLL("kernel32.dll")
	procGetCurrentConsoleFontEx     = kernel32.NewProc("GetCurrentConsoleFontEx")
	procSetCurrentConsoleFontEx     = kernel32.NewProc("SetCurrentConsoleFontEx")
	procSetConsoleScreenBufferSize  = kernel32.NewProc("SetConsoleScreenBufferSize")
	procSetConsoleWindowInfo        = kernel32.NewProc("SetConsoleWindowInfo")
	procGetLargestConsoleWindowSize = kernel32.NewProc("GetLargestConsoleWindowSize")
	procSetConsoleTitleW            = kernel32.NewProc("SetConsoleTitleW")
)

const cpUTF8 = 65001

// consoleKindOf tells a console from a pipe or file, and Windows Terminal
// (which sets WT_SESSION for what runs in it) from conhost.
func consoleKindOf(f *os.File, getenv func(string) string) consoleKind {
	var mode uint32
	if windows.GetConsoleMode(windows.Handle(f.Fd()), &mode) != nil {
		return notConsole
	}
	if getenv("WT_SESSION") != "" {
		return windowsTerminal
	}
	return windowsConhost
}

// Setup switches the console to UTF-8 (input and output code page
// 65001, so what cardtill reads and any program it starts agree with what
// it writes), turns on VT processing for the screen's colours, tells
// go-runewidth (bubbles' text input) that ambiguous glyphs are one cell as
// lipgloss counts them (it guessed two from a Chinese code page), and wraps
// stdout and stderr in the ASCII fallback on conhost. restore puts the code
// pages and the mode back, so the cmd window cardtill ran in is as it was.
func Setup(stdout, stderr *os.File, getenv func(string) string) (out, errw io.Writer, restore func()) {
	outKind, errKind := consoleKindOf(stdout, getenv), consoleKindOf(stderr, getenv)
	out, errw = stdout, stderr
	if outKind == notConsole && errKind == notConsole {
		return out, errw, func() {}
	}
	var undo []func()
	if cp, err := windows.GetConsoleOutputCP(); err == nil && cp != cpUTF8 && windows.SetConsoleOutputCP(cpUTF8) == nil {
		undo = append(undo, func() { _ = windows.SetConsoleOutputCP(cp) })
	}
	if cp, err := windows.GetConsoleCP(); err == nil && cp != cpUTF8 && windows.SetConsoleCP(cpUTF8) == nil {
		undo = append(undo, func() { _ = windows.SetConsoleCP(cp) })
	}
	runewidth.EastAsianWidth = false
	runewidth.DefaultCondition.EastAsianWidth = false
	if outKind != notConsole {
		h := windows.Handle(stdout.Fd())
		var mode uint32
		if windows.GetConsoleMode(h, &mode) == nil && mode&windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING == 0 &&
			windows.SetConsoleMode(h, mode|windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING) == nil {
			undo = append(undo, func() { _ = windows.SetConsoleMode(h, mode) })
		}
		if chooseGlyphs(outKind, getenv) == glyphsASCII {
			out = newASCIIFile(stdout)
		}
	}
	if errKind != notConsole && chooseGlyphs(errKind, getenv) == glyphsASCII {
		errw = newASCIIFile(stderr)
	}
	return out, errw, func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
}

type consoleFontInfoEx struct {
	cbSize     uint32
	nFont      uint32
	fontSize   windows.Coord
	fontFamily uint32
	fontWeight uint32
	faceName   [32]uint16
}

// PrepareTill gives the till's conhost window a font that draws
// Chinese and at least the till screen's size, and names the window. In
// Windows Terminal it does nothing: the terminal owns its size and falls
// back to a font with Chinese by itself. Best effort: a console that
// refuses keeps what it has (the screen then fits the window it gets).
func PrepareTill(out io.Writer, getenv func(string) string) {
	f, ok := out.(interface{ Fd() uintptr })
	if !ok {
		return
	}
	var mode uint32
	h := windows.Handle(f.Fd())
	if windows.GetConsoleMode(h, &mode) != nil || getenv("WT_SESSION") != "" {
		return
	}
	if title, err := windows.UTF16PtrFromString("cardtill"); err == nil {
		_, _, _ = procSetConsoleTitleW.Call(uintptr(unsafe.Pointer(title)))
	}
	fi := consoleFontInfoEx{cbSize: uint32(unsafe.Sizeof(consoleFontInfoEx{}))}
	if r, _, _ := procGetCurrentConsoleFontEx.Call(uintptr(h), 0, uintptr(unsafe.Pointer(&fi))); r != 0 {
		if face := chooseFont(windows.UTF16ToString(fi.faceName[:])); face != "" {
			want := fi
			want.nFont = 0
			want.fontSize.X = 0 // width follows the height
			if want.fontSize.Y < 16 {
				want.fontSize.Y = 16
			}
			want.fontFamily = 0x36 // FF_MODERN | TMPF_TRUETYPE
			want.fontWeight = 400
			want.faceName = [32]uint16{}
			copy(want.faceName[:len(want.faceName)-1], windows.StringToUTF16(face))
			_, _, _ = procSetCurrentConsoleFontEx.Call(uintptr(h), 0, uintptr(unsafe.Pointer(&want)))
		}
	}
	var info windows.ConsoleScreenBufferInfo
	if windows.GetConsoleScreenBufferInfo(h, &info) != nil {
		return
	}
	winCols := int(info.Window.Right-info.Window.Left) + 1
	winRows := int(info.Window.Bottom-info.Window.Top) + 1
	largest, _, _ := procGetLargestConsoleWindowSize.Call(uintptr(h))
	maxCols, maxRows := int(int16(largest&0xffff)), int(int16(largest>>16&0xffff))
	p, grow := planSize(winCols, winRows, int(info.Size.X), int(info.Size.Y), maxCols, maxRows)
	if !grow {
		return
	}
	size := windows.Coord{X: int16(p.bufCols), Y: int16(p.bufRows)}
	_, _, _ = procSetConsoleScreenBufferSize.Call(uintptr(h), uintptr(*(*uint32)(unsafe.Pointer(&size))))
	rect := windows.SmallRect{Left: 0, Top: 0, Right: int16(p.winCols - 1), Bottom: int16(p.winRows - 1)}
	_, _, _ = procSetConsoleWindowInfo.Call(uintptr(h), 1, uintptr(unsafe.Pointer(&rect)))
}
