package hub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The dashboard's accounts and sessions in PostgreSQL (pgmigrations
// NNNN_accounts.sql).

var _ AccountStore = (*PGStore)(nil)

// AddAccount stores name with its password hash.
func (s *PGStore) AddAccount(name, hash string) error {
	if err := ValidAccountName(name); err != nil {
		return err
	}
	if err := CheckPasswordHash(hash); err != nil {
		return err
	}
	return s.call(func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, "INSERT INTO hub_accounts (name, created, hash) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING", name, s.now().UTC(), hash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("add account %q: %w: remove it first to set a new password", name, ErrAccountExists)
		}
		return nil
	})
}

// RemoveAccount removes name; its sessions go with it (cascade).
func (s *PGStore) RemoveAccount(name string) error {
	return s.call(func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, "DELETE FROM hub_accounts WHERE name = $1", name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("remove account %q: %w", name, ErrNoAccount)
		}
		return nil
	})
}

// Accounts lists the accounts by name.
func (s *PGStore) Accounts() ([]Account, error) {
	var out []Account
	err := s.call(func(ctx context.Context) error {
		out = out[:0]
		rows, err := s.pool.Query(ctx, "SELECT name, created FROM hub_accounts ORDER BY name")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a Account
			if err := rows.Scan(&a.Name, &a.Created); err != nil {
				return err
			}
			a.Created = a.Created.UTC()
			out = append(out, a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return out, nil
}

// AccountHash is name's password hash.
func (s *PGStore) AccountHash(name string) (string, bool, error) {
	var h string
	err := s.call(func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, "SELECT hash FROM hub_accounts WHERE name = $1", name).Scan(&h)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read account: %w", err)
	}
	return h, true, nil
}

// AddSession stores a new session.
func (s *PGStore) AddSession(ss Session) error {
	err := s.call(func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, "INSERT INTO hub_sessions (id_hash, account, csrf, created, expires) VALUES ($1, $2, $3, $4, $5)",
			ss.IDHash[:], ss.Account, ss.CSRF, ss.Created.UTC(), ss.Expires.UTC())
		return err
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23503" { // foreign key: the account is gone
		return fmt.Errorf("add session: %w", ErrNoAccount)
	}
	return err
}

// Session finds a live session (its account exists: the foreign key).
func (s *PGStore) Session(idHash [32]byte, now time.Time) (Session, bool, error) {
	ss := Session{IDHash: idHash}
	err := s.call(func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, "SELECT account, csrf, created, expires FROM hub_sessions WHERE id_hash = $1 AND expires > $2", idHash[:], now.UTC()).
			Scan(&ss.Account, &ss.CSRF, &ss.Created, &ss.Expires)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Session{}, false, nil
	}
	if err != nil {
		return Session{}, false, fmt.Errorf("read session: %w", err)
	}
	ss.Created, ss.Expires = ss.Created.UTC(), ss.Expires.UTC()
	return ss, true, nil
}

// RemoveSession ends a session.
func (s *PGStore) RemoveSession(idHash [32]byte) error {
	return s.call(func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, "DELETE FROM hub_sessions WHERE id_hash = $1", idHash[:])
		return err
	})
}

// PruneSessions removes expired sessions.
func (s *PGStore) PruneSessions(now time.Time) error {
	return s.call(func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, "DELETE FROM hub_sessions WHERE expires <= $1", now.UTC())
		return err
	})
}
