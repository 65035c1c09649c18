package liberrors

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// sections are the config file's sections; "section.key" in an error text
// names a key the way the environment overrides and logs do.
var sections = []string{"store", "sync", "wechat", "scanner", "hub", "printer", "ui", "fleet", "offline", "till"}

var (
	// bracketKey is "[store]"-style: a TOML section. Printf's explicit
	// argument indexes ("%[1]s") have digits, never letters.
	bracketKey = regexp.MustCompile(`\[[a-z_]+\]`)
	// dottedKey is "wechat.terminal_key_file"-style: a section, a dot and
	// a key of lower-case letters and underscores. A file name such as
	// "till.db" is a key by this rule too, which the library texts do
	// not need: they name the path they were given.
	dottedKey = regexp.MustCompile(`\b(` + strings.Join(sections, "|") + `)\.[a-z_]+\b`)
)

// advice says what in s is the CLI's to say, or "" when nothing is.
func advice(s string) string {
	// Verbs such as "%[2]s" are not keys; take them out first.
	s = regexp.MustCompile(`%[-+# 0]*\[\d+\]`).ReplaceAllString(s, "%")
	switch {
	case bracketKey.MatchString(s):
		return "names the config key " + bracketKey.FindString(s)
	case dottedKey.MatchString(s):
		return "names the config key " + dottedKey.FindString(s)
	case strings.Contains(s, "cardtill "):
		return `names a command ("cardtill ...")`
	case strings.Contains(s, "systemctl"):
		return `names a command ("systemctl")`
	}
	return ""
}

// exempt are named texts, package.Name, that the guard lets through, each
// with why. An entry the walk no longer meets fails the guard, so the list
// only shrinks.
var exempt = map[string]string{}

// finding is one error text that gives advice.
type finding struct {
	pos  token.Position
	text string
	why  string
}

func (f finding) String() string {
	return fmt.Sprintf("%s:%d: error text %q %s", f.pos.Filename, f.pos.Line, f.text, f.why)
}

// checkPackage checks one package's files (parsed with fset): every string
// passed to fmt.Errorf or errors.New (a literal, a concatenation of
// literals, or a constant or variable of the package holding one), every
// string given to a function with the signature of a format when it is
// called from an Error method, and every literal in the body of a method
// Error() string.
func checkPackage(fset *token.FileSet, files []*ast.File, seen map[string]bool) []finding {
	// The package's named strings: const and var X = "..." at any level.
	named := map[string]string{}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range vs.Names {
				if i < len(vs.Values) {
					if s, ok := literal(vs.Values[i], nil); ok {
						named[name.Name] = s
					}
				}
			}
			return true
		})
	}
	pkg := ""
	if len(files) > 0 {
		pkg = files[0].Name.Name
	}
	// isExempt reports (and notes) an exempt name.
	isExempt := func(e ast.Expr) bool {
		id, ok := e.(*ast.Ident)
		if !ok {
			return false
		}
		if _, ok := exempt[pkg+"."+id.Name]; ok {
			seen[pkg+"."+id.Name] = true
			return true
		}
		return false
	}
	var out []finding
	report := func(at token.Pos, s string) {
		if why := advice(s); why != "" {
			out = append(out, finding{fset.Position(at), s, why})
		}
	}
	for _, f := range files {
		fmtName, errorsName := importName(f, "fmt"), importName(f, "errors")
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				pkg, ok := sel.X.(*ast.Ident)
				if !ok {
					return true
				}
				if (pkg.Name == fmtName && sel.Sel.Name == "Errorf") || (pkg.Name == errorsName && sel.Sel.Name == "New") {
					for _, a := range n.Args {
						if isExempt(a) {
							continue
						}
						if s, ok := literal(a, named); ok {
							report(a.Pos(), s)
						}
					}
				}
			case *ast.CompositeLit:
				// A literal of an error type: &APIError{Msg: "..."}.
				if strings.HasSuffix(typeName(n.Type), "Error") {
					for _, el := range n.Elts {
						if kv, ok := el.(*ast.KeyValueExpr); ok {
							el = kv.Value
						}
						if isExempt(el) {
							continue
						}
						if s, ok := literal(el, named); ok {
							report(el.Pos(), s)
						}
					}
				}
			case *ast.FuncDecl:
				if n.Recv != nil && n.Name.Name == "Error" && n.Body != nil &&
					n.Type.Params.NumFields() == 0 && n.Type.Results.NumFields() == 1 {
					ast.Inspect(n.Body, func(m ast.Node) bool {
						switch m := m.(type) {
						case *ast.BasicLit:
							if s, ok := literal(m, nil); ok {
								report(m.Pos(), s)
							}
						case *ast.Ident:
							if isExempt(m) {
								return true
							}
							if s, ok := named[m.Name]; ok {
								report(m.Pos(), s)
							}
						}
						return true
					})
				}
			}
			return true
		})
	}
	return out
}

// literal is the string e stands for when it is a string literal, a
// concatenation of them, or a name in named.
func literal(e ast.Expr, named map[string]string) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.ParenExpr:
		return literal(e.X, named)
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		l, lok := literal(e.X, named)
		r, rok := literal(e.Y, named)
		return l + r, lok && rok
	case *ast.Ident:
		s, ok := named[e.Name]
		return s, ok
	}
	return "", false
}

// typeName is the name of the type e spells (T, pkg.T), or "".
func typeName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return e.Sel.Name
	}
	return ""
}

// importName is the name file f knows the standard package path by, or ""
// when f does not import it.
func importName(f *ast.File, path string) string {
	for _, im := range f.Imports {
		if p, _ := strconv.Unquote(im.Path.Value); p == path {
			if im.Name != nil {
				return im.Name.Name
			}
			return path
		}
	}
	return ""
}

// moduleRoot is the folder of the go.mod above the working directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = up
	}
}

// libraryDirs are the module's folders with Go files outside cmd/ and
// internal/ (and outside testdata, vendor and hidden folders, which the
// go tool skips too).
func libraryDirs(t *testing.T, root string) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		name := d.Name()
		if rel != "." && (rel == "cmd" || rel == "internal" || name == "testdata" || name == "vendor" ||
			strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		if rel != "." {
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
		}
		dirs = append(dirs, path)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// TestLibraryErrorsGiveNoAdvice is the guard: no error text of a library
// package names a config key ("[store] path", "wechat.terminal_key_file")
// or a command ("cardtill ...", "systemctl").
func TestLibraryErrorsGiveNoAdvice(t *testing.T) {
	t.Parallel()
	root := moduleRoot(t)
	var all []finding
	seen := map[string]bool{}
	files, pkgs := 0, 0
	for _, dir := range libraryDirs(t, root) {
		fset := token.NewFileSet()
		byPkg := map[string][]*ast.File{}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			n := e.Name()
			if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			byPkg[f.Name.Name] = append(byPkg[f.Name.Name], f)
			files++
		}
		for _, fs := range byPkg {
			pkgs++
			for _, fd := range checkPackage(fset, fs, seen) {
				rel, _ := filepath.Rel(root, fd.pos.Filename)
				fd.pos.Filename = filepath.ToSlash(rel)
				all = append(all, fd)
			}
		}
	}
	// The walk found the library: at least store, sync, wechat, hub.
	if pkgs < 10 || files < 50 {
		t.Fatalf("checked %d files in %d packages: the walk from %s missed the library", files, pkgs, root)
	}
	for name := range exempt {
		if !seen[name] {
			t.Errorf("exempt %s is no longer used as an error text: remove it from the list", name)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].String() < all[j].String() })
	for _, fd := range all {
		t.Error(fd)
	}
	if len(all) > 0 {
		t.Log("a library states the fact in a typed error; cmd/cardtill's advice names the key or the command")
	}
}

// TestCheckerCatchesAdvice runs the checker on sources that give advice in
// every way it knows, and on ones that do not, so the guard cannot pass by
// finding nothing.
func TestCheckerCatchesAdvice(t *testing.T) {
	t.Parallel()
	const src = `package bad

import (
	"errors"
	stdfmt "fmt"
)

const hint = "set [store] path"

var ErrA = errors.New("journal full: raise [store] max_size_mb")    // line 10
var ErrB = errors.New("put it in " + "wechat.terminal_key_file")    // line 11

func f(p string) error {
	if p == "" {
		return stdfmt.Errorf("%s: run cardtill db backup", p)       // line 15
	}
	if p == "x" {
		return stdfmt.Errorf(
			"%s is held: systemctl stop it", p)                        // line 19
	}
	return stdfmt.Errorf("no path: " + hint)                        // line 21
}

type E struct{ Path string }

func (e *E) Error() string {
	return stdfmt.Sprintf("%s: check [printer] port", e.Path)      // line 27
}

type APIError struct{ Op, Msg string }

var errC = &APIError{Op: "token",
	Msg: "no terminal key: set wechat.terminal_key_file"}          // line 33
`
	const good = `package good

import (
	"errors"
	"fmt"
)

var ErrA = errors.New("store: the journal is full")

func f(p string, n int) error {
	return fmt.Errorf("store: %[1]s is held by another process (waited %[2]d s); %[1]s was not changed", p, n)
}

func g(p string) error { return fmt.Errorf("store: %s: cardtill's journal format is newer", p) }

type E struct{ Path string }

func (e *E) Error() string { return fmt.Sprintf("printer %s: not found [%d]", e.Path, 3) }

type APIError struct{ Op, Msg string }

var errC = &APIError{Op: "token", Msg: "no terminal key"}
`
	fset := token.NewFileSet()
	bad, err := parser.ParseFile(fset, "bad.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for _, fd := range checkPackage(fset, []*ast.File{bad}, map[string]bool{}) {
		lines = append(lines, fd.pos.Line)
		if !strings.Contains(fd.String(), fmt.Sprintf("bad.go:%d:", fd.pos.Line)) {
			t.Errorf("finding %q does not name its file and line", fd)
		}
	}
	want := []int{10, 11, 15, 19, 21, 27, 33}
	if fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Errorf("findings at lines %v, want %v", lines, want)
	}
	okFile, err := parser.ParseFile(fset, "good.go", good, 0)
	if err != nil {
		t.Fatal(err)
	}
	if fds := checkPackage(fset, []*ast.File{okFile}, map[string]bool{}); len(fds) > 0 {
		t.Errorf("facts only, yet found %v", fds)
	}
}
