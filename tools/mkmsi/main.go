// Command mkmsi builds the cardtill MSI from packaging/windows/cardtill.wxs
// with wixl (Debian's msitools), reproducibly: two runs over the same files
// give the same bytes, which `make dist` relies on for its checksums.
//
//	go run ./tools/mkmsi -o dist/cardtill-1.2.0-windows-amd64.msi -arch amd64 \
//	    -version 1.2.0 -wxs packaging/windows/cardtill.wxs \
//	    cardtill.exe=dist/.work/windows-amd64/cardtill.exe config.example.toml=... \
//	    setup.cmd=packaging/windows/setup.cmd README.txt=packaging/windows/README-windows.txt
//
// wixl stamps the package with a random package code and the current time,
// and its cabinet takes each file's modification time. mkmsi therefore
// stages the files with SOURCE_DATE_EPOCH as their time, runs wixl under
// faketime at SOURCE_DATE_EPOCH, and then sets the package code (derived
// from the inputs) with msibuild. msibuild also lists CASHIER and REMOVEDATA
// in SecureCustomProperties, which wixl cannot express.
package main

import (
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// secureProperties are the public properties an administrator may set on
// the msiexec command line (with MajorUpgrade's own two).
const secureProperties = "WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;CASHIER;REMOVEDATA"

func main() {
	if err := run(os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintf(os.Stderr, "mkmsi: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet("mkmsi", flag.ContinueOnError)
	out := fs.String("o", "", "MSI file to write")
	arch := fs.String("arch", "", "amd64 or 386")
	version := fs.String("version", "", "cardtill VERSION (as make dist has it)")
	wxs := fs.String("wxs", "packaging/windows/cardtill.wxs", "the WiX source")
	printOnly := fs.Bool("print", false, "print the MSI ProductVersion and ProductCode of -version and -arch, build nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *printOnly {
		p, err := params(*version, *arch)
		if err != nil {
			return err
		}
		fmt.Printf("%s {%s}\n", p.msiVersion, p.productCode)
		return nil
	}
	if *out == "" || *arch == "" || *version == "" || fs.NArg() == 0 {
		return errors.New("usage: mkmsi -o OUT.msi -arch amd64|386 -version VERSION [-wxs FILE] NAME=PATH")
	}
	p, err := params(*version, *arch)
	if err != nil {
		return err
	}
	epoch, err := sourceDate(getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		return err
	}
	wxsPath, err := filepath.Abs(*wxs)
	if err != nil {
		return err
	}
	stage, err := os.MkdirTemp("", "mkmsi-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	files, err := parseFiles(fs.Args())
	if err != nil {
		return err
	}
	h := sha256.New()
	fmt.Fprintf(h, "cardtill package\x00%s\x00%s\x00", *version, *arch)
	if err := hashFile(h, wxsPath); err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00", f.name)
		if err := stageFile(stage, f, epoch, h); err != nil {
			return err
		}
	}
	packageCode := guid(h.Sum(nil))

	outAbs, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	tmp := outAbs + ".tmp"
	defer os.Remove(tmp)
	wixl := []string{
		"faketime", "-f", epoch.Format("2006-01-02 15:04:05"), // -f: the clock stands still (without it, it runs on from there and a build that crosses a second differs)
		"wixl", "-a", p.wixlArch, "-o", tmp,
		"-D", "Version=" + p.msiVersion,
		"-D", "ProductCode=" + p.productCode,
		"-D", "ProgramFiles=" + p.programFiles,
		"-D", "Win64=" + p.win64,
		wxsPath,
	}
	if err := runIn(stage, wixl, "TZ=UTC"); err != nil {
		return err
	}
	if err := runIn(stage, []string{"msibuild", tmp, "-q",
		"UPDATE `Property` SET `Value` = '" + secureProperties + "' WHERE `Property` = 'SecureCustomProperties'"}); err != nil {
		return err
	}
	subject := fmt.Sprintf("cardtill %s: till agent for WeChat cards and coupons", *version)
	if err := runIn(stage, []string{"msibuild", tmp, "-s", subject, "cardtill", p.template, "{" + packageCode + "}"}); err != nil {
		return err
	}
	return os.Rename(tmp, outAbs)
}

type file struct{ name, path string }

func parseFiles(args []string) ([]file, error) {
	var out []file
	for _, a := range args {
		name, path, ok := strings.Cut(a, "=")
		if !ok || name == "" || path == "" || strings.ContainsAny(name, `/\`) {
			return nil, fmt.Errorf("%q: write NAME=PATH (NAME a plain file name, as the .wxs names its Source)", a)
		}
		out = append(out, file{name, path})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// stageFile copies f into dir under its name, with mtime as its time (the
// cabinet records it), and feeds its name and bytes to h.
func stageFile(dir string, f file, mtime time.Time, h io.Writer) error {
	src, err := os.Open(f.path)
	if err != nil {
		return err
	}
	defer src.Close()
	dst := filepath.Join(dir, f.name)
	w, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(io.MultiWriter(w, h), src); err != nil {
		w.Close()
		return fmt.Errorf("%s: %w", f.path, err)
	}
	if err := w.Close(); err != nil {
		return err
	}
	return os.Chtimes(dst, mtime, mtime)
}

func hashFile(h io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(h, f)
	return err
}

func runIn(dir string, argv []string, env ...string) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("%s is not installed: run 'make tools' (apt-get install wixl msitools faketime)", argv[0])
		}
		return fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return nil
}

// msiParams is what the .wxs takes for one build.
type msiParams struct {
	msiVersion   string // ProductVersion
	productCode  string // GUID, no braces
	wixlArch     string // wixl -a
	programFiles string // the Directory id of Program Files
	win64        string // Component/@Win64
	template     string // summary information Template
}

func params(version, arch string) (msiParams, error) {
	v, err := msiVersion(version)
	if err != nil {
		return msiParams{}, err
	}
	p := msiParams{msiVersion: v}
	switch arch {
	case "amd64":
		p.wixlArch, p.programFiles, p.win64, p.template = "x64", "ProgramFiles64Folder", "yes", "x64;1033"
	case "386":
		p.wixlArch, p.programFiles, p.win64, p.template = "x86", "ProgramFilesFolder", "no", "Intel;1033"
	default:
		return msiParams{}, fmt.Errorf("-arch %q: amd64 or 386", arch)
	}
	p.productCode = productCode(v, arch)
	return p, nil
}

// productCode is the same for every build with the same X.Y.Z and
// architecture: Windows refuses a second build of one X.Y.Z as "another
// version of this product is already installed" (error 1638) instead of
// installing it beside the first, and REINSTALL=ALL REINSTALLMODE=vomus
// replaces it (a minor upgrade). A new X.Y.Z gets a new code and replaces
// the old one through MajorUpgrade.
func productCode(msiVer, arch string) string {
	base := msiVer
	if parts := strings.Split(msiVer, "."); len(parts) == 4 {
		base = strings.Join(parts[:3], ".")
	}
	sum := sha256.Sum256([]byte("cardtill product\x00" + base + "\x00" + arch))
	return guid(sum[:])
}

// guid formats the first 16 bytes of sum as an upper-case GUID of the
// name-based kind (version 5 layout, RFC 4122 variant).
func guid(sum []byte) string {
	var b [16]byte
	copy(b[:], sum)
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
}

var (
	releaseRe = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)$`)
	// 0.1.0~dev.N.gSHA (no tag yet), 1.2.0-N-gSHA (git describe after a tag),
	// 1.2.0~rc.N, 1.2.0+ci2 ...: X.Y.Z, then the first number of the rest.
	prefixRe = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)(?:[~+-][^0-9]*(\d+))?`)
)

// msiVersion turns VERSION into an MSI ProductVersion: a release X.Y.Z
// stays X.Y.Z; any other build of X.Y.Z carries its number (the commit
// count of a dev build) as the fourth field, X.Y.Z.N, which Windows shows
// but ignores when it compares versions. MSI limits the fields to
// 255.255.65535.65535.
func msiVersion(v string) (string, error) {
	if m := releaseRe.FindStringSubmatch(v); m != nil {
		return checkFields(v, m[1:4])
	}
	m := prefixRe.FindStringSubmatch(v)
	if m == nil {
		return "", fmt.Errorf("VERSION %q does not start with X.Y.Z: the MSI needs a numeric ProductVersion", v)
	}
	fields := m[1:4]
	if m[4] != "" {
		fields = append(fields, m[4])
	}
	return checkFields(v, fields)
}

func checkFields(v string, fields []string) (string, error) {
	limits := []int{255, 255, 65535, 65535}
	out := make([]string, len(fields))
	for i, f := range fields {
		n, err := strconv.Atoi(f)
		if err != nil || n > limits[i] {
			return "", fmt.Errorf("VERSION %q: field %d (%s) is over %d, the MSI limit", v, i+1, f, limits[i])
		}
		out[i] = strconv.Itoa(n)
	}
	return strings.Join(out, "."), nil
}

// sourceDate parses SOURCE_DATE_EPOCH; unset means 1980-01-01.
func sourceDate(s string) (time.Time, error) {
	if s == "" {
		return time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds", s)
	}
	return time.Unix(n, 0).UTC(), nil
}
