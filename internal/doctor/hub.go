package doctor

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"cardtill/hub"
	"cardtill/internal/config"
	"cardtill/wechat"
)

// certWarnBefore: a hub certificate closer than this to its end draws a
// warning (WeChat stops pushing to a host with an expired certificate).
const certWarnBefore = 14 * 24 * time.Hour

// Hub performs the checks for a hub (`doctor --hub`).
func (d *Doctor) Hub(ctx context.Context) []Finding {
	var store []Finding
	if d.cfg.Hub.DatabaseURL != "" {
		store = d.checkHubDatabase(ctx)
	} else {
		store = []Finding{d.checkBolt("hub file", d.cfg.Hub.StorePath, 0)}
	}
	out := append([]Finding{d.checkConfig(), d.checkPush(), d.checkHubSecret()}, store...)
	out = append(out, d.checkTLS(), d.checkListen())
	wc, wd := d.checkReach(ctx, "wechat", d.cfg.Hub.APIBase)
	out = append(out, wc)
	var dates []dated
	if wd != nil {
		dates = append(dates, *wd)
	}
	out = append(out, checkClock(dates))
	if secret, err := d.cfg.HubSecret(d.getenv); err == nil && d.cfg.Hub.AppID != "" {
		out = append(out, d.obtainToken(ctx, config.NewStableTokenSource(d.cfg.Hub.APIBase, d.cfg.Hub.AppID, secret, slog.New(slog.DiscardHandler), d.hc), false))
	}
	return out
}

// checkPush builds the push codec the hub would use.
func (d *Doctor) checkPush() Finding {
	f := Finding{Name: "push"}
	if _, err := config.NewPushCodec(d.cfg); err != nil {
		f.Status, f.Detail = Fail, err.Error()
		f.Fix = "copy Token and EncodingAESKey from the server configuration page of the WeChat admin console into [hub]"
		return f
	}
	mode := "plaintext"
	if d.cfg.Hub.EncodingAESKey != "" {
		mode = "safe/compatible (AES)"
	}
	f.Status, f.Detail = OK, "push settings valid ("+mode+")"
	if d.cfg.Hub.PreviousToken != "" || d.cfg.Hub.PreviousEncodingAESKey != "" {
		f.Detail += "; a previous key is still accepted"
		f.Status, f.Fix = Warn, "once the key rotation is done, empty hub.previous_token and hub.previous_encoding_aes_key"
	}
	return f
}

// checkHubSecret: the hub's token service needs the AppID and AppSecret;
// without them `cardtill hub` refuses to start (config error).
func (d *Doctor) checkHubSecret() Finding {
	f := Finding{Name: "credentials"}
	if d.cfg.Hub.AppID == "" {
		f.Status, f.Detail = Fail, "hub.appid is empty: cardtill hub will not start (its token service needs it)"
		f.Fix = "set hub.appid and hub.secret_file to serve tokens to the tills"
		return f
	}
	if _, err := d.cfg.HubSecret(d.getenv); err != nil {
		f.Status, f.Detail = Fail, "AppSecret: "+err.Error()+" (cardtill hub will not start)"
		f.Fix = "put the AppSecret in hub.secret_file (mode 0640, group cardtill) to serve tokens to the tills"
		return f
	}
	f.Status, f.Detail = OK, "AppSecret readable ("+secretSource(d.cfg.Hub.SecretFile, "CARDTILL_HUB_SECRET", d.getenv)+")"
	return f
}

// checkTLS loads the hub's certificate and key and looks at the dates.
func (d *Doctor) checkTLS() Finding {
	f := Finding{Name: "tls"}
	h := d.cfg.Hub
	if h.TLSCert == "" {
		addr, _ := d.cfg.HubListenAddr()
		f.Status, f.Detail = OK, "plain HTTP on "+addr+": a reverse proxy must terminate TLS on port 443 in front of it"
		return f
	}
	pair, err := tls.LoadX509KeyPair(h.TLSCert, h.TLSKey)
	if err != nil {
		f.Status, f.Detail = Fail, "certificate: "+err.Error()
		f.Fix = "point hub.tls_cert at the PEM certificate chain and hub.tls_key at its private key, readable by the cardtill user"
		return f
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		f.Status, f.Detail, f.Fix = Fail, "certificate: "+err.Error(), "replace hub.tls_cert with a valid PEM certificate"
		return f
	}
	now := d.now()
	left := leaf.NotAfter.Sub(now)
	switch {
	case now.Before(leaf.NotBefore):
		f.Status, f.Detail = Fail, fmt.Sprintf("certificate for %v is not valid before %s", leaf.DNSNames, leaf.NotBefore.Format(time.DateOnly))
		f.Fix = "check this machine's clock, or use a certificate that is valid now"
	case left <= 0:
		f.Status, f.Detail = Fail, fmt.Sprintf("certificate for %v expired on %s", leaf.DNSNames, leaf.NotAfter.Format(time.DateOnly))
		f.Fix = "renew the certificate (WeChat does not push to a host with an expired one) and restart the hub"
	case left < certWarnBefore:
		f.Status, f.Detail = Warn, fmt.Sprintf("certificate for %v expires on %s", leaf.DNSNames, leaf.NotAfter.Format(time.DateOnly))
		f.Fix = "renew the certificate and restart the hub"
	default:
		f.Status, f.Detail = OK, fmt.Sprintf("certificate for %v valid until %s", leaf.DNSNames, leaf.NotAfter.Format(time.DateOnly))
	}
	return f
}

// listening reports whether something answers on addr (":8443" is tried
// on loopback). It tells "in use" apart where errno names differ (Windows).
func listening(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), time.Second)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// checkListen tries to listen where the hub would.
func (d *Doctor) checkListen() Finding {
	f := Finding{Name: "listen"}
	addr, err := d.cfg.HubListenAddr()
	if err != nil {
		f.Status, f.Detail = Fail, err.Error()
		f.Fix = "serve HTTPS (hub.tls_cert, hub.tls_key), or listen on 127.0.0.1 behind a local proxy, or set hub.behind_proxy = true with hub.trusted_proxies"
		return f
	}
	ln, err := net.Listen("tcp", addr)
	switch {
	case err == nil:
		_ = ln.Close()
		f.Status, f.Detail = OK, addr+" is free"
	case errors.Is(err, syscall.EADDRINUSE) || listening(addr):
		f.Status, f.Detail = Warn, addr+" is in use"
		f.Fix = "normal while the hub runs (systemctl status cardtill-hub); otherwise another program holds it: pick another hub.listen"
	case errors.Is(err, syscall.EACCES):
		f.Status, f.Detail = Fail, addr+": permission denied"
		f.Fix = "ports below 1024 need CAP_NET_BIND_SERVICE (see the install guide), or listen on 8443 behind a reverse proxy"
	default:
		f.Status, f.Detail = Fail, fmt.Sprintf("%s: %v", addr, err)
		f.Fix = "set hub.listen to an address of this machine, e.g. \":8443\" or \"127.0.0.1:8443\""
	}
	return f
}

// hubTokenRefused turns the hub token service's answer (not 200) into a
// finding, by the status and the hub's machine-readable code: a refused
// terminal key is this till's configuration; no AppSecret and no WeChat
// are the hub's problems (the till meanwhile follows its offline policy); a
// status without the hub's code came from a reverse proxy in front of it or
// a wrong wechat.hub_url. HubError carries neither the key nor a token.
func (d *Doctor) hubTokenRefused(he *wechat.HubError) Finding {
	add := "cardtill hub terminal add " + cmp.Or(d.cfg.Terminal.ID, "NAME")
	keyFix := "terminal key refused: ask HQ to add this till (" + add + ") and put the key it prints in wechat.terminal_key_file (mode 0640, group cardtill)"
	offline := "; meanwhile scans follow the [offline] policy"
	f := Finding{Name: "token", Status: Fail}
	why := ""
	if he.Message != "" && !strings.EqualFold(he.Message, http.StatusText(he.Status)) {
		why = ": " + he.Message
	}
	switch {
	case he.Status == http.StatusForbidden:
		f.Detail = "the hub's address answered 403 Forbidden" + why
		f.Fix = keyFix + "; if HQ says this till is added, a reverse proxy or firewall in front of the hub refuses this store: ask HQ to allow it"
	case he.Refused():
		f.Detail = "the hub refused this till's terminal key (unknown or revoked)"
		f.Fix = keyFix
	case he.Code == wechat.HubCodeNoSecret:
		f.Detail = "the hub has no AppSecret: it hands out no tokens"
		f.Fix = "not this till: ask HQ to set hub.secret_file on the hub and restart it ('cardtill doctor --hub' there checks it)" + offline
		f.Status = d.outageStatus()
	case he.Code == wechat.HubCodeWeChatUnavailable:
		f.Detail = "the hub cannot get a token from WeChat now"
		f.Fix = "not this till: ask HQ to check the hub's link to WeChat (journalctl -u cardtill-hub; 'cardtill doctor --hub' there: network, IP whitelist, AppSecret)" + offline
		f.Status = d.outageStatus()
	case he.Status == http.StatusServiceUnavailable:
		f.Detail = fmt.Sprintf("the hub (or a proxy in front of it) answered %d %s%s", he.Status, http.StatusText(he.Status), why)
		f.Fix = "ask HQ: the hub may have no AppSecret (hub.secret_file) or be stopped for maintenance; 'cardtill doctor --hub' there says which" + offline
		f.Status = d.outageStatus()
	case he.Status == http.StatusBadGateway || he.Status == http.StatusGatewayTimeout:
		f.Detail = fmt.Sprintf("a proxy in front of the hub answered %d %s: it cannot reach the hub%s", he.Status, http.StatusText(he.Status), why)
		f.Fix = "ask HQ to check that the hub runs (systemctl status cardtill-hub) and that the reverse proxy forwards to it" + offline
		f.Status = d.outageStatus()
	case he.Status >= 500:
		f.Detail = fmt.Sprintf("the hub answered %d %s%s", he.Status, http.StatusText(he.Status), why)
		f.Fix = "ask HQ to look at the hub's log (journalctl -u cardtill-hub)" + offline
		f.Status = d.outageStatus()
	default:
		f.Detail = fmt.Sprintf("%s answered %d %s%s: that is not the hub's token service", d.cfg.WeChat.HubURL, he.Status, http.StatusText(he.Status), why)
		f.Fix = "check wechat.hub_url (the hub's base URL, without /v1/token) and any reverse proxy in front of the hub"
	}
	return f
}

// outageStatus is the verdict on a token that cannot be had for a reason
// outside this till (WeChat or the hub unreachable or failing): the till
// still serves, offline within [offline] limits, when the policy accepts
// offline (a warning); with offline mode "refuse" it cannot serve (a
// failure). Problems of this till's own set-up are always failures.
func (d *Doctor) outageStatus() string {
	if d.cfg.Offline.Mode == "accept" {
		return Warn
	}
	return Fail
}

// longWriterAge is how long a write transaction on the hub's database
// cluster may be open before doctor --hub warns: the hubs' own are over
// in milliseconds.
const longWriterAge = time.Minute

// checkHubDatabase: hub.database_url parses, the database answers, its
// schema is this cardtill's (doctor never migrates it) and it takes a
// write (rolled back); then, when it does, whether a long write
// transaction on its cluster holds back the tills' feed.
func (d *Doctor) checkHubDatabase(ctx context.Context) []Finding {
	f, st := d.checkHubDatabaseOpen(ctx)
	if st == nil {
		return []Finding{f}
	}
	defer st.Close()
	return []Finding{f, d.checkHubFeed(st)}
}

// checkHubFeed: no transaction that has written has been open on the
// cluster longer than longWriterAge (the feed hands no till a change
// committed after such a transaction began until it ends).
func (d *Doctor) checkHubFeed(st *hub.PGStore) Finding {
	f := Finding{Name: "hub feed"}
	age := d.longWriter
	if age <= 0 {
		age = longWriterAge
	}
	ws, err := st.LongWriters(age)
	if err != nil {
		f.Status, f.Detail = Warn, "could not list the database's open transactions: "+err.Error()
		f.Fix = "grant the hub's database user pg_monitor so that doctor can see them"
		return f
	}
	if len(ws) == 0 {
		f.Status, f.Detail = OK, fmt.Sprintf("no write transaction open longer than %s on the database's cluster (among those its user may see)", age)
		return f
	}
	var each []string
	var ends []string
	for _, w := range ws {
		if w.PID == 0 {
			each = append(each, fmt.Sprintf("prepared transaction %q in database %q, for %s", w.GID, w.Database, w.Age.Round(time.Second)))
			ends = append(ends, fmt.Sprintf("COMMIT PREPARED or ROLLBACK PREPARED '%s'", w.GID))
			continue
		}
		each = append(each, fmt.Sprintf("pid %d in database %q, %s, for %s", w.PID, w.Database, w.State, w.Age.Round(time.Second)))
		ends = append(ends, fmt.Sprintf("SELECT pg_terminate_backend(%d)", w.PID))
	}
	f.Status = Warn
	f.Detail = "write transactions open on the database's cluster hold back every till's code-status feed until they end: " + strings.Join(each, "; ")
	f.Fix = "end them (" + strings.Join(ends, "; ") + "), or set idle_in_transaction_session_timeout on the cluster"
	return f
}

// checkHubDatabaseOpen is the database's finding and, when it passed,
// the open store (the caller closes it).
func (d *Doctor) checkHubDatabaseOpen(ctx context.Context) (Finding, *hub.PGStore) {
	f := Finding{Name: "hub database"}
	u := d.cfg.Hub.DatabaseURL
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	st, err := hub.OpenPG(ctx, u, hub.PGOptions{NoMigrate: true})
	switch {
	case errors.Is(err, hub.ErrBadDatabaseURL):
		f.Status, f.Detail = Fail, "hub.database_url: "+err.Error()
		f.Fix = "write hub.database_url as postgres://USER:PASSWORD@HOST:5432/DATABASE (or set CARDTILL_HUB_DATABASE_URL)"
		return f, nil
	case errors.Is(err, hub.ErrNotMigrated):
		f.Status, f.Detail = Fail, err.Error()
		f.Fix = "start 'cardtill hub' (it applies the migrations at start), then run doctor again"
		return f, nil
	case err != nil:
		f.Status, f.Detail = Fail, err.Error()
		f.Fix = "check the user and password in hub.database_url, that the database exists, and pg_hba.conf lets this machine in"
		return f, nil
	}
	where := hub.RedactURL(u)
	if err := st.Check(); err != nil {
		st.Close()
		f.Status, f.Detail = Fail, where+": "+err.Error()
		switch {
		case errors.Is(err, hub.ErrNotMigrated):
			f.Fix = "start 'cardtill hub' (it applies the migrations at start), then run doctor again"
		case strings.Contains(err.Error(), "not writable"):
			f.Fix = "give hub.database_url's user INSERT, UPDATE and DELETE on the hub tables, and point it at the primary, not a read-only replica"
		default:
			f.Fix = "is PostgreSQL running and reachable from here (host, port, firewall)? pushes are answered 500 until it is"
		}
		return f, nil
	}
	f.Status, f.Detail = OK, fmt.Sprintf("%s reachable, schema %d, writable", where, hub.PGSchemaVersion())
	return f, st
}
