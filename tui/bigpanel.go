package tui

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/charmbracelet/lipgloss"
)

// The big answer: at wide sizes (bigWidth x bigHeight and more) the panel
// is read from the customer's side of the counter: a large mark (✔ ✖ ⏸ ?
// ! –) and the headline in block letters, five rows tall, then the
// details. Headlines that are not capital Latin letters (the Chinese
// catalogue, "Checking with WeChat…") stand beside the mark as they are.
// At 80x24 the panel stays as it is.

const (
	bigWidth  = 120
	bigHeight = 40
)

// DefaultClearAfter is how long an answer stays on the panel.
const DefaultClearAfter = 20 * time.Second

// cleared reports whether the answer on the panel is older than
// ClearAfter by the screen's clock (the panel then says "ready"); a
// redemption still being checked or confirmed never clears.
func (m Model) cleared() bool {
	r := m.result
	if !r.shown || r.working || r.confirming {
		return false
	}
	at := r.at
	if r.since.After(at) {
		at = r.since
	}
	return m.now.Sub(at) >= m.o.ClearAfter
}

// big reports whether the screen is wide and tall enough for the big answer.
func (m Model) big() bool { return m.width >= bigWidth && m.height >= bigHeight }

// bigMarks are the marks, five rows each.
var bigMarks = map[string][5]string{
	"✔": {"        ██", "       ██ ", "██    ██  ", " ██  ██   ", "  ████    "},
	"✖": {"██    ██", " ██  ██ ", "  ████  ", " ██  ██ ", "██    ██"},
	"⏸": {"██  ██", "██  ██", "██  ██", "██  ██", "██  ██"},
	"?": {" █████ ", "██   ██", "   ███ ", "       ", "   ██  "},
	"!": {"██", "██", "██", "  ", "██"},
	"–": {"      ", "      ", "██████", "      ", "      "},
	"…": {"          ", "          ", "          ", "          ", "██  ██  ██"},
	"≡": {"██████", "      ", "██████", "      ", "██████"},
}

// bigLetters is a block font of the capital letters, five rows each.
var bigLetters = map[rune][5]string{
	'A': {" ███ ", "█   █", "█████", "█   █", "█   █"},
	'B': {"████ ", "█   █", "████ ", "█   █", "████ "},
	'C': {" ████", "█    ", "█    ", "█    ", " ████"},
	'D': {"████ ", "█   █", "█   █", "█   █", "████ "},
	'E': {"█████", "█    ", "████ ", "█    ", "█████"},
	'F': {"█████", "█    ", "████ ", "█    ", "█    "},
	'G': {" ████", "█    ", "█  ██", "█   █", " ████"},
	'H': {"█   █", "█   █", "█████", "█   █", "█   █"},
	'I': {"███", " █ ", " █ ", " █ ", "███"},
	'J': {"  ███", "   █ ", "   █ ", "█  █ ", " ██  "},
	'K': {"█   █", "█  █ ", "███  ", "█  █ ", "█   █"},
	'L': {"█    ", "█    ", "█    ", "█    ", "█████"},
	'M': {"█   █", "██ ██", "█ █ █", "█   █", "█   █"},
	'N': {"█   █", "██  █", "█ █ █", "█  ██", "█   █"},
	'O': {" ███ ", "█   █", "█   █", "█   █", " ███ "},
	'P': {"████ ", "█   █", "████ ", "█    ", "█    "},
	'Q': {" ███ ", "█   █", "█ █ █", "█  █ ", " ██ █"},
	'R': {"████ ", "█   █", "████ ", "█  █ ", "█   █"},
	'S': {" ████", "█    ", " ███ ", "    █", "████ "},
	'T': {"█████", "  █  ", "  █  ", "  █  ", "  █  "},
	'U': {"█   █", "█   █", "█   █", "█   █", " ███ "},
	'V': {"█   █", "█   █", "█   █", " █ █ ", "  █  "},
	'W': {"█   █", "█   █", "█ █ █", "██ ██", "█   █"},
	'X': {"█   █", " █ █ ", "  █  ", " █ █ ", "█   █"},
	'Y': {"█   █", " █ █ ", "  █  ", "  █  ", "  █  "},
	'Z': {"█████", "   █ ", "  █  ", " █   ", "█████"},
	' ': {"  ", "  ", "  ", "  ", "  "},
}

// blockLetters draws word in the block font, twice as wide when that
// fits w, or reports false when it has a letter the font lacks or is
// wider than w.
func blockLetters(word string, w int) ([5]string, bool) {
	for _, scale := range []int{2, 1} {
		var rows [5]string
		for i, r := range word {
			g, ok := bigLetters[r]
			if !ok {
				return rows, false
			}
			for j := range rows {
				if i > 0 {
					rows[j] += strings.Repeat(" ", scale)
				}
				for _, c := range g[j] {
					rows[j] += strings.Repeat(string(c), scale)
				}
			}
		}
		if utf8.RuneCountInString(rows[0]) <= w {
			return rows, true
		}
	}
	return [5]string{}, false
}

// bigLines is the panel's text at the big size, for an inner width w.
func (r resultPanel) bigLines(tx *Text, st Styles, memo *drawMemo, w int) (lipgloss.Style, []string) {
	v := r.view(tx, st)
	mark, ok := bigMarks[v.mark]
	if !ok {
		return r.lines(tx, st)
	}
	markW := lipgloss.Width(mark[0])
	out := []string{""}
	if rows, ok := memo.blockLetters(v.word, w-markW-4); ok {
		for i := range rows {
			out = append(out, v.head.Render(mark[i]+"    "+rows[i]))
		}
	} else {
		// the headline as it is, beside the middle of the mark
		spaced := strings.Join(strings.Split(v.word, ""), " ")
		if lipgloss.Width(spaced) > w-markW-4 {
			spaced = v.word
		}
		for i := range mark {
			row := mark[i]
			if i == 2 {
				row += "    " + spaced
			}
			out = append(out, v.head.Render(row))
		}
	}
	if r.repeat {
		out = append(out, "", st.Bold.Render("↻ "+tx.ReadTwice))
	}
	if r.settled {
		out = append(out, "", st.Muted.Render(tx.SettledMark))
	}
	out = append(out, "")
	out = append(out, v.detail...)
	return v.box, append(out, "")
}
