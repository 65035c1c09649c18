package hub

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	bolt "go.etcd.io/bbolt"
)

// GroupCommits reports the group commit's transactions and the writes they
// held (benchmarks).
func GroupCommits(st Store) (commits, writes uint64) {
	s, ok := st.(*BoltStore)
	if !ok {
		return 0, 0
	}
	return s.gcCommits.Load(), s.gcWrites.Load()
}

// AddTerminalsBulk adds terminals in one transaction (benchmark setup:
// AddTerminal commits each on its own).
func AddTerminalsBulk(st Store, names, keys []string) error {
	switch s := st.(type) {
	case *BoltStore:
		return s.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketTerminals)
			for i, n := range names {
				sum := sha256.Sum256([]byte(keys[i]))
				raw, err := json.Marshal(terminalRecord{Terminal: Terminal{Name: n, Created: s.now().UTC()}, KeyHash: sum[:]})
				if err != nil {
					return err
				}
				if err := b.Put([]byte(n), raw); err != nil {
					return err
				}
			}
			return nil
		})
	case *PGStore:
		rows := make([][]any, len(names))
		for i, n := range names {
			sum := sha256.Sum256([]byte(keys[i]))
			rows[i] = []any{n, s.now().UTC(), sum[:]}
		}
		return s.call(func(ctx context.Context) error {
			_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"hub_terminals"}, []string{"name", "created", "key_hash"}, pgx.CopyFromRows(rows))
			return err
		})
	}
	return fmt.Errorf("%T", st)
}
