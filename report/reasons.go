package report

// lang is o.Lang if there is a catalogue for it, else "en".
func (o Options) lang() string {
	if _, ok := cats[o.Lang]; ok {
		return o.Lang
	}
	return "en"
}
