package doctor

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cardtill/internal/config"
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
	t.Parallel()
	now := time.Now()
	day := 24 * time.Hour
	cases := []struct {
		name        string
		files       func(t *testing.T) (cert, key string)
		want, want2 string
	}{
		{"plain HTTP", func(t *testing.T) (string, string) { return "", "" }, OK, "reverse proxy"},
		{"valid", func(t *testing.T) (string, string) { return writeCert(t, now.Add(-day), now.Add(90*day)) }, OK, "valid until"},
		{"expiring", func(t *testing.T) (string, string) { return writeCert(t, now.Add(-day), now.Add(3*day)) }, Warn, "expires on"},
		{"expired", func(t *testing.T) (string, string) { return writeCert(t, now.Add(-90*day), now.Add(-day)) }, Fail, "expired"},
		{"not yet valid", func(t *testing.T) (string, string) { return writeCert(t, now.Add(day), now.Add(90*day)) }, Fail, "not valid before"},
		{"key missing", func(t *testing.T) (string, string) {
			c, _ := writeCert(t, now.Add(-day), now.Add(90*day))
			return c, filepath.Join(t.TempDir(), "nokey.pem")
		}, Fail, "certificate:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Hub.TLSCert, cfg.Hub.TLSKey = tc.files(t)
			f := doctorFor(cfg).checkTLS()
			if f.Status != tc.want || !strings.Contains(f.Detail, tc.want2) {
				t.Errorf("got %s %q, want %s with %q", f.Status, f.Detail, tc.want, tc.want2)
			}
			if f.Status != OK && f.Fix == "" {
				t.Error("no fix given")
			}
		})
	}
}

func TestCheckListen(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := config.Default()
	cfg.Hub.Listen = ln.Addr().String()
	if f := doctorFor(cfg).checkListen(); f.Status != Warn || !strings.Contains(f.Fix, "hub runs") {
		t.Errorf("address in use: %+v", f)
	}
	cfg.Hub.Listen = "127.0.0.1:0"
	if f := doctorFor(cfg).checkListen(); f.Status != OK {
		t.Errorf("free address: %+v", f)
	}
	cfg.Hub.Listen = "not-an-address"
	if f := doctorFor(cfg).checkListen(); f.Status != Fail || f.Fix == "" {
		t.Errorf("bad address: %+v", f)
	}
}
