package wechat

import (
	"errors"
	"strings"
	"testing"
)

// A body with no XML element in it is named for what it is, never quoted.
func TestNotXMLSaysWhatTheBodyIs(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		"":                          "empty body",
		"  \n ":                     "empty body",
		"hello secret world":        "is not XML",
		`{"event":"user_get_card"}`: "looks like JSON",
		"a=1&b=secret":              "looks like form data",
	} {
		_, err := ParseEvent([]byte(body))
		if !errors.Is(err, ErrPushMalformed) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", body, err, want)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: the error quotes the body: %v", body, err)
		}
	}
}
