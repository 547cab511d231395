package main

import (
	"archive/zip"
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeApp lays out an app folder as a Windows checkout leaves it: no file
// carries an exec bit.
func writeApp(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const hostJSON = `{"customHandler": {"description": {"defaultExecutablePath": "handler"}}}`

func TestPackSetsTheHandlersExecBit(t *testing.T) {
	files := map[string]string{
		"host.json":           hostJSON,
		"handler":             "\x7fELF binary",
		".funcignore":         "*.go\n",
		"index/function.json": `{"bindings": []}`,
	}
	dir := writeApp(t, files)
	out := filepath.Join(t.TempDir(), "app.zip")
	if err := run([]string{"appzip", dir, out}, io.Discard); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	seen := map[string]bool{}
	for _, f := range zr.File {
		seen[f.Name] = true
		want := fs.FileMode(0o644)
		if f.Name == "handler" {
			want = 0o755
		}
		// The instance's unzip reads a Unix mode only from an entry made
		// on Unix (creator 3) with the mode in the high 16 bits.
		if creator := f.CreatorVersion >> 8; creator != 3 {
			t.Errorf("%s: creator %d, want 3 (Unix)", f.Name, creator)
		}
		if got := fs.FileMode(f.ExternalAttrs>>16) & fs.ModePerm; got != want {
			t.Errorf("%s: external attributes give mode %v, want %v", f.Name, got, want)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if string(body) != files[f.Name] {
			t.Errorf("%s holds %q, want %q", f.Name, body, files[f.Name])
		}
	}
	for name := range files {
		if !seen[name] {
			t.Errorf("zip lacks %s", name)
		}
	}
	if len(zr.File) != len(files) {
		t.Errorf("zip has %d entries, want %d", len(zr.File), len(files))
	}
}

func TestPackIsReproducible(t *testing.T) {
	dir := writeApp(t, map[string]string{"host.json": hostJSON, "handler": "bin", "a/function.json": "{}"})
	var zips [2][]byte
	for i := range zips {
		out := filepath.Join(t.TempDir(), "app.zip")
		if err := run([]string{"appzip", dir, out}, io.Discard); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		zips[i] = b
		// A later build touches every file: the zip must not change.
		now := filepath.Join(dir, "handler")
		if err := os.Chtimes(now, zipEpoch.AddDate(40, 0, 0), zipEpoch.AddDate(40, 0, 0)); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(zips[0], zips[1]) {
		t.Error("the same folder packed twice gives different zips")
	}
}

func TestPackRefusesWhatIsNotAnAppFolder(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no host.json", map[string]string{"handler": "bin"}, "not an app folder"},
		{"host.json not JSON", map[string]string{"host.json": "{", "handler": "bin"}, "host.json"},
		{"no executable named", map[string]string{"host.json": `{}`, "handler": "bin"}, "defaultExecutablePath"},
		{"executable missing", map[string]string{"host.json": hostJSON}, `"handler"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeApp(t, c.files)
			outDir := t.TempDir()
			err := run([]string{"appzip", dir, filepath.Join(outDir, "app.zip")}, io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one naming %s", err, c.want)
			}
			if left, _ := os.ReadDir(outDir); len(left) != 0 {
				t.Errorf("a refused folder left %v behind", left)
			}
		})
	}
}
