package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestMSIVersion(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"1.2.3", "1.2.3"},
		{"0.1.0~dev.250.g0123456789ab", "0.1.0.250"},
		{"1.2.0-7-gabcdef", "1.2.0.7"}, // git describe after the tag v1.2.0
		{"1.2.0+ci2", "1.2.0.2"},
		{"1.2.0~rc1", "1.2.0.1"},
		{"01.02.03", "1.2.3"},
		{"255.255.65535", "255.255.65535"},
	} {
		got, err := msiVersion(c.in)
		if err != nil || got != c.want {
			t.Errorf("msiVersion(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "dev", "1.2", "v1.2.3", "256.0.0", "1.256.0", "1.2.65536", "1.2.3~dev.65536"} {
		if got, err := msiVersion(bad); err == nil {
			t.Errorf("msiVersion(%q) = %q, want an error", bad, got)
		} else if !strings.Contains(err.Error(), bad) {
			t.Errorf("msiVersion(%q): error %q does not name the version", bad, err)
		}
	}
}

var guidRe = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)

// One X.Y.Z and architecture is one product (so Windows refuses a second
// build beside the first); a new X.Y.Z or the other architecture is another.
func TestProductCode(t *testing.T) {
	a := productCode("1.2.0", "amd64")
	if !guidRe.MatchString(a) {
		t.Fatalf("productCode = %q, not a GUID", a)
	}
	if b := productCode("1.2.0.7", "amd64"); b != a {
		t.Errorf("1.2.0.7 has product code %s, 1.2.0 %s: builds of one X.Y.Z must share it", b, a)
	}
	for _, other := range []string{productCode("1.2.1", "amd64"), productCode("1.2.0", "386")} {
		if other == a {
			t.Errorf("product code %s repeats for another version or architecture", other)
		}
	}
	if productCode("1.2.0", "amd64") != a {
		t.Error("productCode is not deterministic")
	}
}

func TestParams(t *testing.T) {
	p, err := params("1.2.0", "386")
	if err != nil {
		t.Fatal(err)
	}
	if p.wixlArch != "x86" || p.programFiles != "ProgramFilesFolder" || p.win64 != "no" || p.template != "Intel;1033" {
		t.Errorf("386: %+v", p)
	}
	p, err = params("1.2.0", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	if p.wixlArch != "x64" || p.programFiles != "ProgramFiles64Folder" || p.win64 != "yes" || p.template != "x64;1033" {
		t.Errorf("amd64: %+v", p)
	}
	if _, err := params("1.2.0", "arm64"); err == nil || !strings.Contains(err.Error(), "arm64") {
		t.Errorf("arm64: err = %v, want one naming it", err)
	}
}

func TestParseFiles(t *testing.T) {
	fs, err := parseFiles([]string{"setup.cmd=a/setup.cmd", "cardtill.exe=b/c.exe"})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 || fs[0].name != "cardtill.exe" || fs[1].path != "a/setup.cmd" {
		t.Errorf("parseFiles = %+v, want sorted by name", fs)
	}
	for _, bad := range []string{"x", "=p", "n=", `dir/n=p`, `dir\n=p`} {
		if _, err := parseFiles([]string{bad}); err == nil {
			t.Errorf("parseFiles(%q): no error", bad)
		}
	}
}

// needTools skips outside CI when wixl, msibuild or faketime is missing; in
// CI (CI=true) they must be there.
func needTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"wixl", "msibuild", "faketime", "msiinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed (CI must have it: apt-get install wixl msitools faketime)", tool)
			}
			t.Skipf("%s is not installed: apt-get install wixl msitools faketime (make tools)", tool)
		}
	}
}

// Two builds of the same inputs are the same bytes; a changed input gives
// another package code and the same product code.
func TestBuildReproducible(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	for name, body := range map[string]string{"cardtill.exe": "MZ not really an exe", "config.example.toml": "[ui]\n", "setup.cmd": "@echo off\r\n", "README.txt": "readme\r\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files := func() []string {
		var out []string
		for _, n := range []string{"cardtill.exe", "config.example.toml", "setup.cmd", "README.txt"} {
			out = append(out, n+"="+filepath.Join(dir, n))
		}
		return out
	}
	env := func(k string) string {
		if k == "SOURCE_DATE_EPOCH" {
			return "1700000000"
		}
		return ""
	}
	build := func(out string) []byte {
		t.Helper()
		args := append([]string{"-o", out, "-arch", "amd64", "-version", "1.2.0", "-wxs", "../../packaging/windows/cardtill.wxs"}, files()...)
		if err := run(args, env); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a := build(filepath.Join(dir, "a.msi"))
	// Other file times and another clock must not matter.
	later := time.Now()
	if err := os.Chtimes(filepath.Join(dir, "setup.cmd"), later, later); err != nil {
		t.Fatal(err)
	}
	b := build(filepath.Join(dir, "b.msi"))
	if !bytes.Equal(a, b) {
		t.Fatal("two builds of the same inputs differ")
	}
	sum := func(msi string) string {
		out, err := exec.Command("msiinfo", "suminfo", msi).Output()
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	if s := sum(filepath.Join(dir, "a.msi")); !strings.Contains(s, "Created: Tue Nov 14 22:13:20 2023") || !strings.Contains(s, "Last saved: Tue Nov 14 22:13:20 2023") {
		t.Errorf("summary times are not SOURCE_DATE_EPOCH:\n%s", s)
	}
	if err := os.WriteFile(filepath.Join(dir, "setup.cmd"), []byte("@echo on\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	build(filepath.Join(dir, "c.msi"))
	uuid := regexp.MustCompile(`Revision number \(UUID\): (\S+)`)
	ua, uc := uuid.FindStringSubmatch(sum(filepath.Join(dir, "a.msi"))), uuid.FindStringSubmatch(sum(filepath.Join(dir, "c.msi")))
	if ua == nil || uc == nil || ua[1] == uc[1] {
		t.Errorf("package codes %v and %v: a changed file must change it", ua, uc)
	}
}
