package report

import (
	"regexp"
	"sort"
	"strings"
)

// DataStrings are the strings of r that are data, not words of the
// report's language: codes, card ids (whole and shortened), card titles,
// the till, cashiers and managers' names and notes. A report in Chinese
// may show these in Latin letters; nothing else (LatinWords).
func DataStrings(r Report) []string {
	d := []string{r.Terminal, r.Cashier}
	for _, x := range r.ByCard {
		d = append(d, x.CardID, ShortCardID(x.CardID), x.Title)
	}
	for _, x := range r.ByCashier {
		d = append(d, x.Name)
	}
	for _, x := range r.Conflicts {
		d = append(d, x.Code, x.CardID, ShortCardID(x.CardID), x.CardTitle, x.Cashier)
		if x.Resolution != nil {
			d = append(d, x.Resolution.By, x.Resolution.Note)
		}
	}
	for _, x := range r.OfflineOverrides {
		if x.By != ManagerBy {
			d = append(d, x.By)
		}
		d = append(d, x.Cashier)
	}
	for _, x := range r.ConfirmedByQueryList {
		d = append(d, x.Code, x.CardID)
	}
	return d
}

var latin = regexp.MustCompile(`[A-Za-z]+`)

// LatinWords returns the runs of Latin letters in text once the data
// strings are taken out: a Chinese rendering has none.
func LatinWords(text string, data []string) []string {
	d := append([]string(nil), data...)
	sort.Slice(d, func(i, j int) bool { return len(d[i]) > len(d[j]) }) // longest first
	for _, s := range d {
		if s != "" {
			text = strings.ReplaceAll(text, s, " ")
		}
	}
	return latin.FindAllString(text, -1)
}
