// Package csvsafe owns the CSV that cardtill hands to people: reports and
// HQ's lists that a manager opens in a spreadsheet. A field that starts
// like a formula (=, +, -, @, a tab or a carriage return) is written with a
// leading apostrophe, so the spreadsheet shows it as text and runs nothing:
// store names, cashiers, card titles and managers' notes are typed at a
// till, not at HQ, and must not become formulas there (CWE-1236).
package csvsafe

import (
	"encoding/csv"
	"io"
)

// Field returns s as a spreadsheet will show it as text: with an
// apostrophe in front when it would otherwise be read as a formula.
func Field(s string) string {
	if s != "" {
		switch s[0] {
		case '=', '+', '-', '@', '\t', '\r':
			return "'" + s
		}
	}
	return s
}

// Writer is a csv.Writer whose Write passes every field through Field.
type Writer struct {
	*csv.Writer
	buf []string
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{Writer: csv.NewWriter(w)} }

// Write writes one record, each field through Field; record itself is
// left as it was.
func (w *Writer) Write(record []string) error {
	w.buf = w.buf[:0]
	for _, f := range record {
		w.buf = append(w.buf, Field(f))
	}
	return w.Writer.Write(w.buf)
}
