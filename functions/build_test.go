package functions_test

import (
	"debug/elf"
	"debug/pe"
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
		{"azure", nil, nil, "handler", checkAzureBinary},
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
