// Package report owns shift reports: the X/Z report model built from the
// journal's per-shift counters and index, and its renderings as receipt
// text (en/zh), JSON and CSV, plus a compact per-hour bar chart for the
// till screen.
//
// It must never scan the whole journal: every number comes from a shift's
// counters (frozen at close for a Z report) or its per-shift index. It
// never writes to the journal and never prints; renderers return strings
// whose width is measured in display cells, never bytes.
package report
