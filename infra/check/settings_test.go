package check

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestAppSettingsUnderConditions: settings in a branch of a ternary (the
// app settings a union() with conditional objects) are read with their
// conditions, and SetWhen evaluates them for a parameter's value.
func TestAppSettingsUnderConditions(t *testing.T) {
	dir := t.TempDir()
	paths := writeFiles(t, dir, []txtarFile{{"app.bicep", `
@description('Kind.')
param kind string

var isA = kind == 'a'
var onlyA = isA ? { ONLY_A: '1' } : {}

resource site 'Microsoft.Web/sites@2025-03-01' existing = {
  name: 'site'
}

resource appSettings 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: site
  name: 'appsettings'
  properties: union({
    ALWAYS: kind
  }, onlyA, (kind != 'a' && !(kind =~ 'C')) ? { ONLY_B: '1' } : { NOT_B: '1' }, length(kind) > 1 ? { UNKNOWN: '1' } : {})
}
`}})
	parsed, err := Parse(paths...)
	if err != nil {
		t.Fatal(err)
	}
	if len(parsed[0].Errors) > 0 {
		t.Fatal(parsed[0].ErrorText())
	}
	settings, errs := NewSet(dir, parsed).AppSettings()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := map[string]map[string]bool{ // setting → kind → set
		"ALWAYS": {"a": true, "b": true, "c": true},
		"ONLY_A": {"a": true, "b": false, "c": false},
		"ONLY_B": {"a": false, "b": true, "c": false},
		"NOT_B":  {"a": true, "b": false, "c": true},
	}
	for _, s := range settings {
		for kind, set := range want[s.Name] {
			got, err := s.SetWhen("kind", kind)
			if err != nil || got != set {
				t.Errorf("%s for kind %s: set %v (%v), want %v", s.Name, kind, got, err, set)
			}
		}
		if s.Name == "UNKNOWN" {
			if _, err := s.SetWhen("kind", "a"); err == nil || !strings.Contains(err.Error(), "length(kind) > 1") {
				t.Errorf("UNKNOWN: want an error naming its condition, got %v", err)
			}
		}
		delete(want, s.Name)
	}
	for name := range want {
		t.Errorf("%s not read (%s)", name, filepath.Base(paths[0]))
	}
}
