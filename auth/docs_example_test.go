package auth_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// The program of "Add your own protected page" (docs/development.md)
// compiles as written in a module of its own, which can reach only the
// exported surface: the same program importing an internal package is
// refused.
func TestDocsExampleCompilesInAnotherModule(t *testing.T) {
	root := testenv.Root(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "development.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Add your own protected page\n")
	if !ok {
		t.Fatal(`docs/development.md has no "## Add your own protected page" section`)
	}
	_, code, ok := strings.Cut(section, "```go\n")
	if !ok {
		t.Fatal("the section has no Go block")
	}
	code, _, _ = strings.Cut(code, "```")

	if out, err := build(t, root, code); err != nil {
		t.Fatalf("the program of docs/development.md does not compile in another module: %v\n%s\n%s", err, out, code)
	}
	internal := strings.Replace(code, `"github.com/b2c-functions-go/b2c-functions-go/auth"`,
		`"github.com/b2c-functions-go/b2c-functions-go/auth"
	_ "github.com/b2c-functions-go/b2c-functions-go/internal/b2c"`, 1)
	if out, err := build(t, root, internal); err == nil || !strings.Contains(out, "use of internal package") {
		t.Fatalf("a program importing an internal package compiled, so the module is not separate: %v\n%s", err, out)
	}
}

// build compiles main.go in a new module that requires this one from root,
// offline, with the module cache that scripts/setup filled.
func build(t *testing.T, root, mainGo string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	goMod := "module example.com/reports\n\ngo 1.26\n\nrequire github.com/b2c-functions-go/b2c-functions-go v0.0.0\n\n" +
		"replace github.com/b2c-functions-go/b2c-functions-go => " + root + "\n"
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"go.mod": []byte(goMod), "go.sum": sum, "main.go": []byte(mainGo)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "build", "-o", os.DevNull, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOPROXY=off")
	out, err := cmd.CombinedOutput()
	return string(out), err
}
