package functions_test

import (
	"archive/zip"
	"debug/elf"
	"debug/pe"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// TestBuild runs scripts/build and checks the folder it assembles: what
// the host needs at its root, and the binary at the path host.json names.
func TestBuild(t *testing.T) {
	root := testenv.Root(t)
	source := loadFunctions(t, filepath.Join(root, "functions"))
	cases := []struct {
		name  string
		args  []string
		env   []string
		exe   string
		check func(t *testing.T, bin string)
	}{
		{"azure", nil, nil, "handler", func(t *testing.T, bin string) {
			checkAzureBinary(t, bin)
			checkAppZip(t, filepath.Dir(bin))
		}},
		// A Windows developer's func start: handler.exe, named in host.json.
		{"native windows", []string{"--native"}, []string{"GOOS=windows", "GOARCH=amd64"}, "handler.exe", checkWindowsBinary},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "app")
			cmd := exec.Command(filepath.Join(root, "scripts", "build"), append(c.args, out)...)
			cmd.Env = append(os.Environ(), c.env...)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("scripts/build %v: %v\n%s", c.args, err, b)
			}

			var h hostJSON
			readJSON(t, filepath.Join(out, "host.json"), &h)
			if got := h.CustomHandler.Description.DefaultExecutablePath; got != c.exe {
				t.Errorf("assembled host.json names %q, want %q", got, c.exe)
			}
			want := []string{".funcignore", "host.json", c.exe}
			for _, f := range source {
				want = append(want, f.Name)
				if got, src := readFile(t, out, f.Name, "function.json"), readFile(t, root, "functions", f.Name, "function.json"); got != src {
					t.Errorf("%s/function.json differs from the source", f.Name)
				}
			}
			if readFile(t, out, ".funcignore") != readFile(t, root, ".funcignore") {
				t.Error(".funcignore differs from the source")
			}
			entries, err := os.ReadDir(out)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.Name())
			}
			sort.Strings(got)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("app folder holds %q, want %q", got, want)
			}
			c.check(t, filepath.Join(out, c.exe))
		})
	}
}

// checkAppZip: dir.zip holds every file of dir, the same bytes, the
// handler at mode 0755 and the rest at 0644 in the entries' Unix external
// attributes (what the instance's unzip reads).
func checkAppZip(t *testing.T, dir string) {
	zr, err := zip.OpenReader(dir + ".zip")
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		want := fs.FileMode(0o644)
		if f.Name == "handler" {
			want = 0o755
		}
		if got := fs.FileMode(f.ExternalAttrs>>16) & fs.ModePerm; f.CreatorVersion>>8 != 3 || got != want {
			t.Errorf("zip entry %s: creator %d mode %v, want Unix (3) %v", f.Name, f.CreatorVersion>>8, got, want)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != readFile(t, dir, filepath.FromSlash(f.Name)) {
			t.Errorf("zip entry %s differs from the folder's file", f.Name)
		}
	}
	var want []string
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			want = append(want, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, want) {
		t.Errorf("zip holds %q, want the folder's %q", names, want)
	}
}

func readFile(t *testing.T, elem ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(elem...))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkAzureBinary: an executable, static, stripped linux/amd64 ELF.
func checkAzureBinary(t *testing.T, bin string) {
	if fi, err := os.Stat(bin); err != nil || fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("%s is not an executable file: %v", bin, err)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_X86_64 || f.Type != elf.ET_EXEC {
		t.Errorf("%s is %v %v %v, want ELFCLASS64 EM_X86_64 ET_EXEC", bin, f.Class, f.Machine, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has a PT_INTERP program header: it is dynamically linked", bin)
		}
	}
	if f.Section(".debug_info") != nil || f.Section(".symtab") != nil {
		t.Errorf("%s is not stripped", bin)
	}
}

// checkWindowsBinary: an amd64 PE that keeps its DWARF for Delve.
func checkWindowsBinary(t *testing.T, bin string) {
	f, err := pe.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != pe.IMAGE_FILE_MACHINE_AMD64 {
		t.Errorf("%s machine %#x, want AMD64", bin, f.Machine)
	}
	if _, err := f.DWARF(); err != nil {
		t.Errorf("%s has no debug information for Delve: %v", bin, err)
	}
}
