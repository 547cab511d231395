// Package check reads the Bicep templates under infra/ without a Bicep
// compiler (none can be installed where the tests run): parse.mjs parses
// every file with tree-sitter-bicep, this package turns the syntax trees
// into a small model of each template (parameters, resources, modules,
// outputs, app settings) and runs the policy's rules over it.
//
// It proves the files are well-formed Bicep and keep the policy, not that
// they compile or deploy.
package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// File is parse.mjs's answer for one file.
type File struct {
	Path   string        `json:"file"`
	Errors []SyntaxError `json:"errors"`
	Tree   *Node         `json:"tree"`
}

// SyntaxError is one broken region of a file.
type SyntaxError struct {
	Line   int    `json:"line"`
	Column int    `json:"column"`
	Text   string `json:"text"`
}

// ErrorText is the file's syntax errors, one per line.
func (f *File) ErrorText() string {
	var b strings.Builder
	for _, e := range f.Errors {
		fmt.Fprintf(&b, "%s:%d:%d: %s\n", f.Path, e.Line, e.Column, e.Text)
	}
	return b.String()
}

// ModuleRoot is the directory holding go.mod, found upwards from the
// working directory: node_modules and infra/check/parse.mjs are there.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Parse parses files (absolute paths) with parse.mjs in one node run. A
// missing node or parser is an error, never a skip: a green run must mean
// the templates were parsed.
func Parse(files ...string) ([]*File, error) {
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("node"); err != nil {
		return nil, errors.New("node is not installed: install Node.js 20 or later, then run the project's setup, scripts/setup")
	}
	for _, f := range []string{"node_modules/web-tree-sitter/package.json", "node_modules/tree-sitter-bicep/tree-sitter-bicep.wasm"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			return nil, fmt.Errorf("%s is missing; run the project's setup, scripts/setup (npm ci --ignore-scripts), before go test", f)
		}
	}
	cmd := exec.Command("node", append([]string{filepath.Join(root, "infra", "check", "parse.mjs"), "--json"}, files...)...)
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) { // 1: syntax errors, reported per file
		return nil, fmt.Errorf("node infra/check/parse.mjs: %v\n%s", err, stderr.String())
	}
	var out []*File
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return nil, fmt.Errorf("parse.mjs printed no JSON (%v); stderr:\n%s", err, stderr.String())
	}
	if len(out) != len(files) {
		return nil, fmt.Errorf("parse.mjs answered for %d of %d files", len(out), len(files))
	}
	return out, nil
}

// TemplateFiles lists every .bicep and .bicepparam file under dir, sorted,
// leaving out testdata and node_modules.
func TemplateFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules"):
			return filepath.SkipDir
		case !d.IsDir() && (strings.HasSuffix(path, ".bicep") || strings.HasSuffix(path, ".bicepparam")):
			files = append(files, path)
		}
		return nil
	})
	sort.Strings(files)
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no .bicep files under %s", dir)
	}
	return files, err
}
