package hub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The dashboard's accounts and sessions in the bbolt file (schema 4).
var (
	bucketAccounts = []byte("admin_accounts") // name -> accountRecord JSON
	bucketSessions = []byte("admin_sessions") // sha256(session id) -> Session JSON
)

var _ AccountStore = (*BoltStore)(nil)

type accountRecord struct {
	Account
	Hash string `json:"hash"` // argon2id PHC string
}

// migrateAccounts adds the accounts and sessions buckets.
func migrateAccounts(tx *bolt.Tx) error {
	for _, b := range [][]byte{bucketAccounts, bucketSessions} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	return nil
}

// AddAccount stores name with its password hash.
func (s *BoltStore) AddAccount(name, hash string) error {
	if err := ValidAccountName(name); err != nil {
		return err
	}
	if err := CheckPasswordHash(hash); err != nil {
		return err
	}
	b, err := json.Marshal(accountRecord{Account: Account{Name: name, Created: s.now().UTC()}, Hash: hash})
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		a := tx.Bucket(bucketAccounts)
		if a.Get([]byte(name)) != nil {
			return fmt.Errorf("add account %q: %w: remove it first to set a new password", name, ErrAccountExists)
		}
		return a.Put([]byte(name), b)
	})
}

// RemoveAccount removes name and its sessions in one transaction.
func (s *BoltStore) RemoveAccount(name string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		a := tx.Bucket(bucketAccounts)
		if a.Get([]byte(name)) == nil {
			return fmt.Errorf("remove account %q: %w", name, ErrNoAccount)
		}
		if err := a.Delete([]byte(name)); err != nil {
			return err
		}
		return deleteSessions(tx.Bucket(bucketSessions), func(ss Session) bool { return ss.Account == name })
	})
}

// deleteSessions deletes the sessions for which drop says so.
func deleteSessions(b *bolt.Bucket, drop func(Session) bool) error {
	var gone [][]byte
	err := b.ForEach(func(k, v []byte) error {
		var ss Session
		if json.Unmarshal(v, &ss) != nil || drop(ss) {
			gone = append(gone, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range gone {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Accounts lists the accounts by name.
func (s *BoltStore) Accounts() ([]Account, error) {
	var out []Account
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAccounts).ForEach(func(_, v []byte) error {
			var r accountRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out = append(out, r.Account)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return out, nil
}

// AccountHash is name's password hash.
func (s *BoltStore) AccountHash(name string) (string, bool, error) {
	var r accountRecord
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketAccounts).Get([]byte(name))
		if v == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(v, &r)
	})
	if err != nil {
		return "", false, fmt.Errorf("read account: %w", err)
	}
	return r.Hash, ok, nil
}

// AddSession stores a new session.
func (s *BoltStore) AddSession(ss Session) error {
	b, err := json.Marshal(ss)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketAccounts).Get([]byte(ss.Account)) == nil {
			return fmt.Errorf("add session: %w", ErrNoAccount)
		}
		return tx.Bucket(bucketSessions).Put(ss.IDHash[:], b)
	})
}

// Session finds a live session of an existing account.
func (s *BoltStore) Session(idHash [32]byte, now time.Time) (Session, bool, error) {
	var ss Session
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSessions).Get(idHash[:])
		if v == nil {
			return nil
		}
		if err := json.Unmarshal(v, &ss); err != nil {
			return err
		}
		ok = now.Before(ss.Expires) && tx.Bucket(bucketAccounts).Get([]byte(ss.Account)) != nil
		return nil
	})
	if err != nil {
		return Session{}, false, fmt.Errorf("read session: %w", err)
	}
	if !ok {
		return Session{}, false, nil
	}
	ss.IDHash = idHash
	return ss, true, nil
}

// RemoveSession ends a session.
func (s *BoltStore) RemoveSession(idHash [32]byte) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketSessions).Delete(idHash[:]) })
}

// PruneSessions removes expired sessions.
func (s *BoltStore) PruneSessions(now time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return deleteSessions(tx.Bucket(bucketSessions), func(ss Session) bool { return !now.Before(ss.Expires) })
	})
}
