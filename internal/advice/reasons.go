package advice

import (
	"cmp"

	"cardtill/sync"
)

// ForRefusal is the setting behind a refusal of the till's own (the
// engine's text states the fact; the setting is the operator's), or ""
// for a refusal that is the customer's or WeChat's. keyRefused says the
// engine's status has the hub refusing this till's terminal key, the one
// configuration refusal that is not WeChat's; terminal names the till.
func ForRefusal(o sync.Outcome, keyRefused bool, terminal string) string {
	if o.Reason == sync.ReasonConfig && keyRefused {
		return "ask HQ to add this till (cardtill hub terminal add " + cmp.Or(terminal, "NAME") + " on the hub) and put the key in wechat.terminal_key_file"
	}
	return reasonSetting[o.Reason]
}

var reasonSetting = map[sync.Reason]string{
	sync.ReasonOfflineRefused:     "offline.mode",
	sync.ReasonOfflineNotACode:    "offline.code_pattern",
	sync.ReasonOfflineCard:        "offline.allow_cards",
	sync.ReasonOfflineUnknownCode: "offline.unknown_codes",
	sync.ReasonOfflineTooLong:     "offline.max_age",
	sync.ReasonOfflineShiftLimit:  "offline.max_per_shift (a manager may allow more on the till, F7)",
	sync.ReasonOfflineJournalFull: "store.max_size_mb (or sync the queue, then cardtill db compact)",
	sync.ReasonConfig:             "wechat.custom_code_cards, the AppID's API permissions and IP whitelist",
}
