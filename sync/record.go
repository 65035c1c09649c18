package sync

import "time"

// Record is one journaled redemption as the engine reads and writes it. A
// Journal stores every field and gives them back unchanged.
type Record struct {
	ID                                uint64
	Code, CardID, EncryptCode         string
	Source, RawScan                   string
	Cashier                           string
	ShiftID                           uint64
	Terminal                          string
	State                             State
	Reason                            Reason
	ReasonText                        string
	Errcode                           int
	WeChatStatus, OpenID              string
	ValidFrom, ValidUntil             time.Time
	ReceivedAt, AcceptedAt, UpdatedAt time.Time
	Attempts                          int
	NextAttempt                       time.Time
	LastError                         string
}

// usedAt is when the code was used here: accepted offline, or consumed.
func (r Record) usedAt() time.Time {
	if !r.AcceptedAt.IsZero() {
		return r.AcceptedAt
	}
	if !r.UpdatedAt.IsZero() {
		return r.UpdatedAt
	}
	return r.ReceivedAt
}

// applyInfo copies what a query said onto the record.
func (r *Record) applyInfo(info CodeInfo) {
	r.WeChatStatus = info.Status
	if info.OpenID != "" {
		r.OpenID = info.OpenID
	}
	if info.CardID != "" && r.CardID == "" {
		r.CardID = info.CardID
	}
	r.ValidFrom, r.ValidUntil = info.Begin, info.End
}
