package report

import (
	"testing"

	"cardtill/sync"
)

// Every reason the engine can journal has a receipt word in each language.
func TestEveryReasonHasAReceiptName(t *testing.T) {
	for lang := range cats {
		for _, r := range sync.AllReasons() {
			if n := reasonName(lang, string(r)); n == string(r) {
				t.Errorf("%s: no receipt word for reason %q", lang, r)
			}
		}
	}
	if got := reasonName("zh", "from_a_newer_build"); got != "from_a_newer_build" {
		t.Errorf("an unknown reason prints as %q, want its code", got)
	}
}
