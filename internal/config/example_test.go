package config

import (
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// emptySlicesToNil makes [] and a missing list compare equal.
func emptySlicesToNil(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		emptySlicesToNil(v.Elem())
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				emptySlicesToNil(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.Len() == 0 && v.CanSet() {
			v.Set(reflect.Zero(v.Type()))
		}
	}
}

// commentedKey matches a key the example shows commented out because its
// default depends on the platform: "#path = ...".
var commentedKey = regexp.MustCompile(`(?m)^#([a-z_]+ = )`)

// TestExampleConfigIsTheDefaults: the shipped example, loaded as it is, is
// exactly the defaults, key for key; so are its commented-out path keys
// (their Linux values) once uncommented.
func TestExampleConfigIsTheDefaults(t *testing.T) {
	t.Parallel()
	texts := map[string]string{"as shipped": Example}
	if runtime.GOOS != "windows" {
		texts["commented keys set"] = commentedKey.ReplaceAllString(Example, "$1")
	}
	for name, text := range texts {
		cfg, err := Load(writeFile(t, "config.toml", text), noEnv)
		if err != nil {
			t.Fatalf("%s: the shipped example must load: %v", name, err)
		}
		cfg.Path = ""
		def := Default()
		emptySlicesToNil(reflect.ValueOf(cfg))
		emptySlicesToNil(reflect.ValueOf(def))
		cv, dv := reflect.ValueOf(cfg).Elem(), reflect.ValueOf(def).Elem()
		for i := 0; i < cv.NumField(); i++ {
			sec := cv.Type().Field(i)
			if sec.Type.Kind() != reflect.Struct {
				continue
			}
			for j := 0; j < sec.Type.NumField(); j++ {
				got, want := cv.Field(i).Field(j).Interface(), dv.Field(i).Field(j).Interface()
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: %s.%s is %v in config.example.toml but defaults to %v", name, tomlName(sec), tomlName(sec.Type.Field(j)), got, want)
				}
			}
		}
	}
}

// TestExampleConfigNamesAndExplainsEveryKey walks the config's toml tags:
// every key is in the example, in its section, with a comment (on its line,
// or above it in its block of keys).
func TestExampleConfigNamesAndExplainsEveryKey(t *testing.T) {
	t.Parallel()
	lines := strings.Split(Example, "\n")
	found := map[string]int{}
	sec := ""
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "[") {
			sec = strings.Trim(l, "[]")
			continue
		}
		m := regexp.MustCompile(`^#?([a-z_]+) = `).FindStringSubmatch(l)
		if m == nil || sec == "" {
			continue
		}
		found[sec+"."+m[1]] = i
	}
	commented := func(i int) bool {
		if strings.Contains(lines[i][strings.Index(lines[i], "=")+1:], " # ") {
			return true
		}
		for j := i - 1; j >= 0; j-- {
			l := strings.TrimSpace(lines[j])
			switch {
			case l == "" || strings.HasPrefix(l, "["):
				return false
			case commentedKey.MatchString(l) || regexp.MustCompile(`^[a-z_]+ = `).MatchString(l):
				continue // a key of the same block
			case strings.HasPrefix(l, "#"):
				return true
			}
		}
		return false
	}
	rt := reflect.TypeOf(Config{})
	n := 0
	for i := 0; i < rt.NumField(); i++ {
		s := rt.Field(i)
		if s.Type.Kind() != reflect.Struct {
			continue
		}
		for j := 0; j < s.Type.NumField(); j++ {
			key := tomlName(s) + "." + tomlName(s.Type.Field(j))
			n++
			at, ok := found[key]
			if !ok {
				t.Errorf("%s is missing from config.example.toml", key)
				continue
			}
			if !commented(at) {
				t.Errorf("%s (config.example.toml line %d) has no comment saying what it is for", key, at+1)
			}
			delete(found, key)
		}
	}
	for key, at := range found {
		t.Errorf("config.example.toml line %d: %s is not a config key", at+1, key)
	}
	if n < 50 {
		t.Fatalf("walked only %d keys: the walk is broken", n)
	}
}
