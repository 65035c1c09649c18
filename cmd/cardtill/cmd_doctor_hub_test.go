package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cardtill/internal/config"
	"cardtill/wechat/wechattest"
)

// writeCert writes a self-signed certificate valid from notBefore to
// notAfter and its key, and returns their paths.
func writeCert(t *testing.T, notBefore, notAfter time.Time) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hub.test"},
		DNSNames: []string{"hub.test"}, NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func TestCheckTLS(t *testing.T) {
	now := time.Now()
	day := 24 * time.Hour
	cases := []struct {
		name        string
		files       func(t *testing.T) (cert, key string)
		want, want2 string
	}{
		{"plain HTTP", func(t *testing.T) (string, string) { return "", "" }, statusOK, "reverse proxy"},
		{"valid", func(t *testing.T) (string, string) { return writeCert(t, now.Add(-day), now.Add(90*day)) }, statusOK, "valid until"},
		{"expiring", func(t *testing.T) (string, string) { return writeCert(t, now.Add(-day), now.Add(3*day)) }, statusWarn, "expires on"},
		{"expired", func(t *testing.T) (string, string) { return writeCert(t, now.Add(-90*day), now.Add(-day)) }, statusFail, "expired"},
		{"not yet valid", func(t *testing.T) (string, string) { return writeCert(t, now.Add(day), now.Add(90*day)) }, statusFail, "not valid before"},
		{"key missing", func(t *testing.T) (string, string) {
			c, _ := writeCert(t, now.Add(-day), now.Add(90*day))
			return c, filepath.Join(t.TempDir(), "nokey.pem")
		}, statusFail, "certificate:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Hub.TLSCert, cfg.Hub.TLSKey = tc.files(t)
			f := doctorFor(cfg).checkTLS()
			if f.Status != tc.want || !strings.Contains(f.Detail, tc.want2) {
				t.Errorf("got %s %q, want %s with %q", f.Status, f.Detail, tc.want, tc.want2)
			}
			if f.Status != statusOK && f.Fix == "" {
				t.Error("no fix given")
			}
		})
	}
}

func TestCheckListen(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := config.Default()
	cfg.Hub.Listen = ln.Addr().String()
	if f := doctorFor(cfg).checkListen(); f.Status != statusWarn || !strings.Contains(f.Fix, "hub runs") {
		t.Errorf("address in use: %+v", f)
	}
	cfg.Hub.Listen = "127.0.0.1:0"
	if f := doctorFor(cfg).checkListen(); f.Status != statusOK {
		t.Errorf("free address: %+v", f)
	}
	cfg.Hub.Listen = "not-an-address"
	if f := doctorFor(cfg).checkListen(); f.Status != statusFail || f.Fix == "" {
		t.Errorf("bad address: %+v", f)
	}
}

func TestDoctorHub(t *testing.T) {
	const pushToken = "PUSH-TOKEN-must-not-print"
	wx := dateServer(t, 0, http.StatusNotFound)
	dir := t.TempDir()
	base := fmt.Sprintf(`
[hub]
listen = "127.0.0.1:0"
api_base = %q
store_path = %q
`, wx.URL, filepath.Join(dir, "hub.db"))
	cases := []struct {
		name     string
		extra    string
		wantCode int
		want     []string
	}{
		// cardtill hub refuses to start without the AppID and AppSecret its token service needs.
		{"push token set, no AppSecret", "token = \"" + pushToken + "\"\n", exitFailure, []string{"OK    push", "FAIL  credentials", "will not start", "OK    hub file", "OK    listen"}},
		{"no push token", "", exitFailure, []string{"FAIL  push", "hub.token"}},
		{"rotation under way", "token = \"" + pushToken + "\"\nprevious_token = \"old\"\n", exitFailure, []string{"WARN  push"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, "config.toml", base+tc.extra)
			var out bytes.Buffer
			code := run(context.Background(), []string{"--config", p, "doctor", "--hub"}, strings.NewReader(""), &out, &out)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d\n%s", code, tc.wantCode, out.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if strings.Contains(out.String(), pushToken) {
				t.Errorf("a secret was printed:\n%s", out.String())
			}
		})
	}
}

// TestDoctorHubToken: the hub's token check goes through the shared
// stable-token source against the fake WeChat, and prints no secret.
func TestDoctorHubToken(t *testing.T) {
	srv := wechattest.New()
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name, secret string
		wantCode     int
		want         string
	}{
		{"issued", srv.Secret, exitOK, "OK    token       WeChat issued a token (expires in 2h0m0s)"},
		{"wrong AppSecret", "WRONG-HUB-SECRET", exitFailure, "the appid or the AppSecret is wrong"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeFile(t, "config.toml", fmt.Sprintf(`
[hub]
listen = "127.0.0.1:0"
api_base = %q
store_path = %q
appid = %q
secret_file = %q
token = "push-token"
`, srv.URL, filepath.Join(dir, "hub.db"), srv.AppID, writeFile(t, "hub.secret", tc.secret)))
			code, out, errs := runCLI(t, "doctor", "--hub", "--config", cfg)
			if code != tc.wantCode || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, want %d with %q\n%s%s", code, tc.wantCode, tc.want, out, errs)
			}
			noSecrets(t, srv, out, errs)
			if strings.Contains(out+errs, "WRONG-HUB-SECRET") {
				t.Fatalf("the secret was printed:\n%s", out)
			}
		})
	}
}
