package words_test

import (
	"slices"
	"testing"
	"unicode"

	"cardtill/sync"
	"cardtill/words"
)

// Every reason the engine can journal has its words in every language: a
// line for the cashier and a name for the report, and none is English in
// Chinese. The catalogue holds no reason the engine does not know.
func TestCatalogueComplete(t *testing.T) {
	all := sync.AllReasons()
	for _, lang := range words.Langs {
		for _, r := range all {
			w, ok := words.For(lang, string(r))
			if !ok || w.Screen == "" || w.Short == "" {
				t.Errorf("%s: reason %q lacks words: %+v", lang, r, w)
			}
			if lang == "zh" {
				for _, s := range []string{w.Screen, w.Short, w.Conflict} {
					if latin(s) {
						t.Errorf("zh words of %q are English: %q", r, s)
					}
				}
			}
		}
	}
	for _, c := range words.Codes() {
		if !slices.Contains(all, sync.Reason(c)) {
			t.Errorf("the catalogue has words for %q, which package sync does not know", c)
		}
	}
	if len(words.Codes()) != len(all) {
		t.Errorf("%d codes with words, %d reasons", len(words.Codes()), len(all))
	}
}

// A reason added later, with no words yet, still shows: its code.
func TestUnknownReasonShowsItsCode(t *testing.T) {
	if got := words.Short("zh", "from_a_newer_build"); got != "from_a_newer_build" {
		t.Errorf("Short of an unknown reason = %q, want its code", got)
	}
	if got := words.Conflict("en", "from_a_newer_build"); got != "from_a_newer_build" {
		t.Errorf("Conflict of an unknown reason = %q, want its code", got)
	}
	if got := words.Screen("en", "from_a_newer_build"); got != "" {
		t.Errorf("Screen of an unknown reason = %q, want none (the screen falls back to the engine's text)", got)
	}
	// a conflict has its own words where a refusal's would mislead
	if c, s := words.Conflict("en", "already_used"), words.Short("en", "already_used"); c == s {
		t.Errorf("conflict words of already_used = %q, the same as a refusal's", c)
	}
	if got, want := words.Conflict("en", "expired"), "Had expired"; got != want {
		t.Errorf("Conflict(en, expired) = %q, want %q", got, want)
	}
	if got, want := words.Short("xx", "expired"), words.Short("en", "expired"); got != want {
		t.Errorf("an unknown language = %q, want English %q", got, want)
	}
}

// latin reports a run of three or more ASCII letters (a word of English).
func latin(s string) bool {
	n := 0
	for _, r := range s {
		if r < unicode.MaxASCII && unicode.IsLetter(r) {
			if n++; n >= 3 {
				return true
			}
			continue
		}
		n = 0
	}
	return false
}
