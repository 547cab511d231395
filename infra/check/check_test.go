package check

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestPolicyCatches: every rule has testdata/rules/<id>.txtar, whose every
// bad* file breaks exactly that rule and whose every good* file breaks none
// of the policy. Other files of an archive are shared: each bad or good file
// is checked beside them (a module it calls, the template a parameter file
// uses).
func TestPolicyCatches(t *testing.T) {
	archives, err := filepath.Glob(filepath.Join("testdata", "rules", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, r := range rules {
		known[r.id] = true
		if !slices.Contains(archives, filepath.Join("testdata", "rules", r.id+".txtar")) {
			t.Errorf("rule %s has no testdata/rules/%s.txtar", r.id, r.id)
		}
	}
	// Lay every variant out in its own directory; parse them all in one run.
	type variant struct {
		rule, name, dir string
		bad             bool
	}
	var variants []variant
	var paths []string
	for _, a := range archives {
		id := strings.TrimSuffix(filepath.Base(a), ".txtar")
		if !known[id] {
			t.Errorf("%s names no rule", a)
			continue
		}
		files := readArchive(t, a)
		var shared []txtarFile
		var own []txtarFile
		for _, f := range files {
			if strings.HasPrefix(f.name, "bad") || strings.HasPrefix(f.name, "good") {
				own = append(own, f)
			} else {
				shared = append(shared, f)
			}
		}
		if !slices.ContainsFunc(own, func(f txtarFile) bool { return strings.HasPrefix(f.name, "bad") }) ||
			!slices.ContainsFunc(own, func(f txtarFile) bool { return strings.HasPrefix(f.name, "good") }) {
			t.Errorf("%s needs a bad and a good file", a)
		}
		for _, f := range own {
			v := variant{rule: id, name: f.name, dir: filepath.Join(t.TempDir(), f.name), bad: strings.HasPrefix(f.name, "bad")}
			paths = append(paths, writeFiles(t, v.dir, append([]txtarFile{f}, shared...))...)
			variants = append(variants, v)
		}
	}
	parsed, err := Parse(paths...)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range variants {
		t.Run(v.rule+"/"+v.name, func(t *testing.T) {
			var files []*File
			for _, f := range parsed {
				if filepath.Dir(f.Path) == v.dir {
					if len(f.Errors) > 0 {
						t.Fatalf("does not parse:\n%s", f.ErrorText())
					}
					files = append(files, f)
				}
			}
			violations := NewSet(v.dir, files).Violations()
			var other []Violation
			caught := false
			for _, viol := range violations {
				if viol.Rule == v.rule && v.bad {
					caught = true
					t.Logf("caught: %s", viol)
				} else {
					other = append(other, viol)
				}
			}
			if v.bad && !caught {
				t.Errorf("rule %s did not catch it", v.rule)
			}
			for _, viol := range other {
				t.Errorf("breaks more than rule %s: %s", v.rule, viol)
			}
		})
	}
}

// TestParserRejectsBrokenBicep proves the parse check can fail: in
// testdata/syntax.txtar every broken* file has a syntax error and every
// valid* file none.
func TestParserRejectsBrokenBicep(t *testing.T) {
	dir := t.TempDir()
	paths := writeFiles(t, dir, readArchive(t, filepath.Join("testdata", "syntax.txtar")))
	parsed, err := Parse(paths...)
	if err != nil {
		t.Fatal(err)
	}
	broken := 0
	for _, f := range parsed {
		name := filepath.Base(f.Path)
		want := strings.HasPrefix(name, "broken")
		if want {
			broken++
		}
		if got := len(f.Errors) > 0; got != want {
			t.Errorf("%s: broken=%v, want %v\n%s", name, got, want, f.ErrorText())
		}
	}
	if broken == 0 || broken == len(parsed) {
		t.Fatalf("syntax.txtar needs broken and valid files (%d of %d broken)", broken, len(parsed))
	}
}

// TestViolationsByFileAndLine: reports read in file order, then line order.
func TestViolationsByFileAndLine(t *testing.T) {
	dir := t.TempDir()
	paths := writeFiles(t, dir, []txtarFile{
		{"b.bicep", "param unused string\n"},
		{"a.bicep", "param one string\nparam two string\n"},
	})
	parsed, err := Parse(paths...)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range NewSet(dir, parsed).Violations() {
		got = append(got, v.String())
	}
	want := []string{
		"a.bicep:1: [param-description] parameter one has no @description",
		"a.bicep:1: [unused-symbol] parameter one is never used",
		"a.bicep:2: [param-description] parameter two has no @description",
		"a.bicep:2: [unused-symbol] parameter two is never used",
		"b.bicep:1: [param-description] parameter unused has no @description",
		"b.bicep:1: [unused-symbol] parameter unused is never used",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// ---- txtar ----

// txtarFile is one file of a txtar archive.
type txtarFile struct{ name, data string }

// readTxtar reads the txtar format (as golang.org/x/tools/txtar writes it;
// read here with the standard library only): an optional comment, then
// files, each opened by a line "-- NAME --".
func readTxtar(src string) (comment string, files []txtarFile) {
	for _, line := range strings.SplitAfter(src, "\n") {
		header := strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(header, "-- ") && strings.HasSuffix(header, " --") && len(header) > 6 {
			files = append(files, txtarFile{name: strings.TrimSpace(header[3 : len(header)-3])})
			continue
		}
		if len(files) == 0 {
			comment += line
		} else {
			files[len(files)-1].data += line
		}
	}
	return comment, files
}

func readArchive(t *testing.T, path string) []txtarFile {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, files := readTxtar(string(src))
	if len(files) == 0 {
		t.Fatalf("%s holds no files", path)
	}
	return files
}

// writeFiles writes files into dir (a test's temporary directory) and
// returns their paths.
func writeFiles(t *testing.T, dir string, files []txtarFile) []string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, []byte(f.data), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

func TestReadTxtar(t *testing.T) {
	comment, files := readTxtar("About.\n-- a.bicep --\nx\n\n-- b --\n-- c.bicep --\ny")
	want := []txtarFile{{"a.bicep", "x\n\n"}, {"b", ""}, {"c.bicep", "y"}}
	if comment != "About.\n" || !slices.Equal(files, want) {
		t.Errorf("got %q %q", comment, files)
	}
}
