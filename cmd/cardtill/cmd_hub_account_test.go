package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
)

// 'hub admin add' reads the password from standard input, keeps only its
// hash, and refuses a short one or a name taken; while the hub runs it
// goes through the admin socket, and the account logs in to the running
// hub's dashboard, on hub.listen and on hub.admin_listen. The password is
// in no output and no log.
func TestHubAdminCommands(t *testing.T) {
	t.Parallel()
	cfg, store := hubConfig(t)
	const pw = "correct horse battery"
	add := func(name, input string) (int, string, string) {
		var out, errb lockedBuffer
		code := run(context.Background(), []string{"--config", cfg, "hub", "admin", "add", name}, strings.NewReader(input), &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, out, errOut := add("zhao", pw+"\n"); code != 0 || !strings.Contains(out, `"zhao" added`) || strings.Contains(out+errOut, pw) {
		t.Fatalf("add: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := add("zhao", pw+"\n"); code != exitFailure || !strings.Contains(errOut, "exists") {
		t.Fatalf("add twice: %d %q", code, errOut)
	}
	if code, _, errOut := add("li", "short\n"); code != exitUsage || strings.Contains(errOut, "short\n") {
		t.Fatalf("short password: %d %q", code, errOut)
	}
	if code, _, _ := add("bad name", pw+"\n"); code != exitUsage {
		t.Fatalf("bad name: %d", code)
	}
	raw, _ := os.ReadFile(store)
	if bytes.Contains(raw, []byte(pw)) {
		t.Fatal("the password is stored in the clear")
	}
	code, out, _ := runCmd(t, "--config", cfg, "hub", "admin", "list")
	if code != 0 || !strings.Contains(out, "zhao") || strings.Contains(out, "li") {
		t.Fatalf("list: %d %q", code, out)
	}

	// The running hub: through its admin socket, and on both addresses.
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("admin_listen = \"127.0.0.1:0\"\n")
	_ = f.Close()
	addr, logs, stop := startHub(t, cfg)
	if code, _, errOut := add("li", pw+" 2\n"); code != 0 {
		t.Fatalf("add while the hub runs: %d %s", code, errOut)
	}
	m := regexp.MustCompile(`web dashboard also on (127\.0\.0\.1:\d+)/admin/`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no admin_listen line: %s", logs.String())
	}
	for _, base := range []string{"http://" + addr, "http://" + m[1]} {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		resp, err := c.Get(base + "/admin/login")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		tok := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(body)
		if tok == nil {
			t.Fatalf("%s: no login form: %s", base, body)
		}
		resp, err = c.PostForm(base+"/admin/login", url.Values{"csrf": {string(tok[1])}, "account": {"li"}, "password": {pw + " 2"}})
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Request.URL.Path != "/admin/tills" || !strings.Contains(string(body), "li") {
			t.Fatalf("%s: login: %d %s", base, resp.StatusCode, resp.Request.URL)
		}
	}
	// admin_listen serves the dashboard only.
	if resp, err := http.Get("http://" + m[1] + "/v1/token"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("token service on admin_listen: %v %v", resp, err)
	}
	if code, out, _ := runCmd(t, "--config", cfg, "hub", "admin", "remove", "li"); code != 0 || !strings.Contains(out, "removed") {
		t.Fatalf("remove while running: %d %q", code, out)
	}
	stop()
	if strings.Contains(logs.String(), pw) {
		t.Fatal("the password is in the hub's log")
	}
	if code, _, _ := runCmd(t, "--config", cfg, "hub", "admin", "remove", "li"); code != exitFailure {
		t.Fatalf("remove twice: %d", code)
	}
}
