package hub

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
)

// The dashboard accounts over the admin socket, so that `cardtill hub admin
// add|remove|list` works while a bbolt hub holds its file. Only the
// password's hash crosses the socket (the CLI hashes it).

// Error codes of the account requests (errorBody.Code).
const (
	adminCodeAccountExists = "account_exists"
	adminCodeNoAccount     = "no_account"
)

type addAccountBody struct {
	Name string `json:"name"`
	Hash string `json:"hash"`
}

// accountAdmin adds the account requests to the admin socket's mux.
func (s *Server) accountAdmin(mux *http.ServeMux) {
	as, _ := s.store.(AccountStore)
	none := func(w http.ResponseWriter) bool {
		if as == nil {
			jsonError(w, http.StatusNotImplemented, "this hub's store keeps no dashboard accounts")
			return true
		}
		return false
	}
	mux.HandleFunc("GET /accounts", func(w http.ResponseWriter, r *http.Request) {
		if none(w) {
			return
		}
		acs, err := as.Accounts()
		if err != nil {
			jsonError(w, 500, err.Error())
			return
		}
		writeJSON(w, 200, acs)
	})
	mux.HandleFunc("POST /accounts", func(w http.ResponseWriter, r *http.Request) {
		if none(w) {
			return
		}
		var b addAccountBody
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&b); err != nil {
			jsonError(w, 400, "want {\"name\":..,\"hash\":..}")
			return
		}
		err := as.AddAccount(b.Name, b.Hash)
		switch {
		case errors.Is(err, ErrAccountExists):
			jsonCodeError(w, 409, adminCodeAccountExists, err.Error())
		case err != nil:
			jsonError(w, 400, err.Error())
		default:
			s.log.Info("dashboard account added", "account", b.Name)
			writeJSON(w, 200, struct{}{})
		}
	})
	mux.HandleFunc("DELETE /accounts/{name}", func(w http.ResponseWriter, r *http.Request) {
		if none(w) {
			return
		}
		name := r.PathValue("name")
		err := as.RemoveAccount(name)
		switch {
		case errors.Is(err, ErrNoAccount):
			jsonCodeError(w, 404, adminCodeNoAccount, err.Error())
		case err != nil:
			jsonError(w, 500, err.Error())
		default:
			s.log.Info("dashboard account removed", "account", name)
			writeJSON(w, 200, struct{}{})
		}
	})
}

// Accounts is AccountStore.Accounts on the running hub.
func (c *AdminClient) Accounts() ([]Account, error) {
	var out []Account
	if err := c.do(context.Background(), http.MethodGet, "/accounts", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// AddAccount is AccountStore.AddAccount on the running hub.
func (c *AdminClient) AddAccount(name, hash string) error {
	return c.do(context.Background(), http.MethodPost, "/accounts", addAccountBody{Name: name, Hash: hash}, nil)
}

// RemoveAccount is AccountStore.RemoveAccount on the running hub.
func (c *AdminClient) RemoveAccount(name string) error {
	return c.do(context.Background(), http.MethodDelete, "/accounts/"+url.PathEscape(name), nil, nil)
}
