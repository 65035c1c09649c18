package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	bolt "go.etcd.io/bbolt"
)

// The dashboard's accounts in MigrateToPG: copied with their hashes, so
// HQ's people log in to the hubs on the database with the same passwords.
// Sessions are not copied: everyone logs in again after the move.

func (s *BoltStore) dumpAccounts() ([]accountRecord, error) {
	var out []accountRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAccounts)
		if b == nil { // a file opened read-only before its migration to schema 4
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var r accountRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read the hub file's accounts: %w", err)
	}
	return out, nil
}

// copyAccounts inserts the accounts missing in the database; one of the
// same name with another hash is ErrMigrateConflict.
func copyAccounts(ctx context.Context, tx pgx.Tx, accs []accountRecord) (added int, err error) {
	for _, a := range accs {
		tag, err := tx.Exec(ctx, "INSERT INTO hub_accounts (name, created, hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", a.Name, a.Created.UTC(), a.Hash)
		if err != nil {
			return added, err
		}
		added += int(tag.RowsAffected())
		var h string
		err = tx.QueryRow(ctx, "SELECT hash FROM hub_accounts WHERE name = $1", a.Name).Scan(&h)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && h != a.Hash) {
			return added, fmt.Errorf("%w (dashboard account %q has another password there)", ErrMigrateConflict, a.Name)
		}
		if err != nil {
			return added, err
		}
	}
	return added, nil
}
