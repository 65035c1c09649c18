package hub_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"cardtill/hub"
	"cardtill/wechat"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// selfSigned writes a certificate for 127.0.0.1 and its key to dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hub.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestServeTLSAndShutdown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	st := openStore(t, filepath.Join(dir, "hub.db"))
	srv, err := hub.NewServer(hub.Options{Push: codec(t), Store: st, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, certFile, keyFile) }()

	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	req, err := codec(t).NewPushRequest(ctx, "https://"+ln.Addr().String()+hub.PathPush, wechat.ModeSafe, seedEvents(t)["user_del_card"])
	if err != nil {
		t.Fatal(err)
	}
	if st, body := do(t, client, req); st != 200 || body != "success" {
		t.Fatalf("push over TLS: %d %q", st, body)
	}
	// Plain HTTP to the TLS port is not served.
	plain := &http.Client{Timeout: 10 * time.Second}
	if resp, err := plain.Get("http://" + ln.Addr().String() + hub.PathHealth); err == nil {
		if resp.StatusCode == 200 {
			t.Error("plain HTTP answered on the TLS listener")
		}
		resp.Body.Close()
	}
	tr.CloseIdleConnections()
	plain.CloseIdleConnections()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after shutdown: %v", err)
	}
	if n := len(mustEvents(t, st)); n != 1 {
		t.Fatalf("%d events", n)
	}
}

func TestServeBadCertificate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := openStore(t, filepath.Join(dir, "hub.db"))
	srv, err := hub.NewServer(hub.Options{Push: codec(t), Store: st})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = srv.Serve(context.Background(), ln, filepath.Join(dir, "missing.pem"), filepath.Join(dir, "missing.key"))
	if err == nil {
		t.Fatal("Serve with a missing certificate succeeded")
	}
}

var zeroTime time.Time

func mustEvents(t *testing.T, st hub.Store) []hub.EventRecord {
	t.Helper()
	evs, err := st.Events(time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestEventsSinceAndLimit(t *testing.T) {
	t.Parallel()
	now := testNow
	st := openStoreClock(t, filepath.Join(t.TempDir(), "hub.db"), func() time.Time { return now })
	for i, name := range []string{"user_get_card", "user_del_card", "card_sku_remind", "user_consume_card"} {
		now = testNow.Add(time.Duration(i) * time.Hour)
		ev, err := wechat.ParseEvent(seedEvents(t)[name])
		if err != nil {
			t.Fatal(err)
		}
		if _, dup, err := st.AddEvent(&wechat.Push{Event: ev, Mode: wechat.ModeSafe}); err != nil || dup {
			t.Fatal(err, dup)
		}
	}
	evs, err := st.Events(testNow.Add(90*time.Minute), 0)
	if err != nil || len(evs) != 2 || evs[0].Event != "card_sku_remind" || !evs[0].Notice || evs[1].Event != "user_consume_card" {
		t.Fatalf("since: %+v %v", evs, err)
	}
	evs, err = st.Events(time.Time{}, 3)
	if err != nil || len(evs) != 3 || evs[0].Event != "user_del_card" || evs[0].Seq != 2 {
		t.Fatalf("limit keeps the newest, oldest first: %+v %v", evs, err)
	}
}
