// Package infra_test checks the Bicep templates under infra/ without a Bicep
// compiler (none can be installed on these machines): every file is parsed
// with tree-sitter-bicep through infra/check/parse.mjs, and the policy and
// consistency tests read the resulting syntax trees. This file holds the
// parser driver and a small model of a template; policy_test.go and
// consistency_test.go hold the rules.
package infra_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Node is one named node of a tree-sitter-bicep syntax tree, as parse.mjs
// prints it (comments are left out).
type Node struct {
	Type     string  `json:"type"`
	Text     string  `json:"text"`
	Line     int     `json:"line"`
	Children []*Node `json:"children"`
}

// parsedFile is parse.mjs's answer for one file.
type parsedFile struct {
	File   string `json:"file"`
	Errors []struct {
		Line   int    `json:"line"`
		Column int    `json:"column"`
		Text   string `json:"text"`
	} `json:"errors"`
	Tree *Node `json:"tree"`
}

func (p parsedFile) errorText() string {
	var b strings.Builder
	for _, e := range p.Errors {
		fmt.Fprintf(&b, "%s:%d:%d: %s\n", p.File, e.Line, e.Column, e.Text)
	}
	return b.String()
}

// repoRoot is the module root: the tests run in infra/.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// requireParser fails (never skips) when the parser's tools are missing:
// a green run must mean the templates were parsed.
func requireParser(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not installed: install Node.js 20 or later, then run the project's setup, scripts/setup")
	}
	root := repoRoot(t)
	for _, f := range []string{
		"node_modules/web-tree-sitter/package.json",
		"node_modules/tree-sitter-bicep/tree-sitter-bicep.wasm",
	} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Fatalf("%s is missing; run the project's setup, scripts/setup (npm ci --ignore-scripts), before go test", f)
		}
	}
}

// parseFiles parses files (absolute paths) with parse.mjs in one node run.
func parseFiles(t testing.TB, files ...string) []parsedFile {
	t.Helper()
	requireParser(t)
	root := repoRoot(t)
	cmd := exec.Command("node", append([]string{filepath.Join(root, "infra", "check", "parse.mjs"), "--json"}, files...)...)
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		t.Fatalf("node infra/check/parse.mjs: %v\n%s", err, stderr.String())
	}
	var out []parsedFile
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("parse.mjs printed no JSON (%v); stderr:\n%s", err, stderr.String())
	}
	if len(out) != len(files) {
		t.Fatalf("parse.mjs answered for %d of %d files", len(out), len(files))
	}
	return out
}

// infraFiles lists every .bicep and .bicepparam file under infra/.
func infraFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	dir := filepath.Join(repoRoot(t), "infra")
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".bicep") || strings.HasSuffix(path, ".bicepparam")) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) == 0 {
		t.Fatal("no .bicep files under infra/")
	}
	return files
}

var (
	infraOnce   sync.Once
	infraParsed []parsedFile
)

// infraSet parses infra/ once per test binary and fails on syntax errors.
func infraSet(t *testing.T) *Set {
	t.Helper()
	requireParser(t)
	infraOnce.Do(func() { infraParsed = parseFiles(t, infraFiles(t)...) })
	if len(infraParsed) == 0 {
		t.Fatal("parsing infra/ failed in an earlier test")
	}
	for _, p := range infraParsed {
		if len(p.Errors) > 0 {
			t.Fatalf("syntax errors:\n%s", p.errorText())
		}
	}
	return newSet(infraParsed)
}

// ---- Walking the tree ----

// walk visits n and its descendants, pre-order; f returns false to skip a
// node's children.
func (n *Node) walk(f func(*Node) bool) {
	if n == nil || !f(n) {
		return
	}
	for _, c := range n.Children {
		c.walk(f)
	}
}

// child is n's first child of one of the types.
func (n *Node) child(types ...string) *Node {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		for _, t := range types {
			if c.Type == t {
				return c
			}
		}
	}
	return nil
}

// last is n's last child.
func (n *Node) last() *Node {
	if n == nil || len(n.Children) == 0 {
		return nil
	}
	return n.Children[len(n.Children)-1]
}

// stringValue is the value of a string literal without interpolation.
func stringValue(n *Node) (string, bool) {
	if n == nil || n.Type != "string" {
		return "", false
	}
	if strings.HasPrefix(n.Text, "'''") {
		return strings.TrimSuffix(strings.TrimPrefix(n.Text, "'''"), "'''"), true
	}
	var b strings.Builder
	for _, c := range n.Children {
		switch c.Type {
		case "string_content":
			b.WriteString(c.Text)
		case "escape_sequence":
			b.WriteString(unescape(c.Text))
		default:
			return "", false
		}
	}
	return b.String(), true
}

// stringPrefix is the literal text a string starts with, up to its first
// interpolation.
func stringPrefix(n *Node) string {
	if n == nil || n.Type != "string" {
		return ""
	}
	var b strings.Builder
	for _, c := range n.Children {
		switch c.Type {
		case "string_content":
			b.WriteString(c.Text)
		case "escape_sequence":
			b.WriteString(unescape(c.Text))
		default:
			return b.String()
		}
	}
	return b.String()
}

func unescape(s string) string {
	switch s {
	case `\n`:
		return "\n"
	case `\r`:
		return "\r"
	case `\t`:
		return "\t"
	}
	return strings.TrimPrefix(s, `\`)
}

// isBool reports whether n is the literal want.
func isBool(n *Node, want bool) bool {
	return n != nil && n.Type == "boolean" && n.Text == fmt.Sprint(want)
}

// isString reports whether n is a string literal equal to one of want.
func isString(n *Node, want ...string) bool {
	v, ok := stringValue(n)
	if !ok {
		return false
	}
	for _, w := range want {
		if v == w {
			return true
		}
	}
	return false
}

// isLiteral reports whether n is a literal (string without interpolation,
// number, boolean, null).
func isLiteral(n *Node) bool {
	if n == nil {
		return false
	}
	switch n.Type {
	case "number", "boolean", "null":
		return true
	case "string":
		_, ok := stringValue(n)
		return ok
	case "unary_expression":
		return len(n.Children) == 1 && n.Children[0].Type == "number"
	}
	return false
}

// Prop is one property of an object literal.
type Prop struct {
	Key   string
	Value *Node
	Line  int
}

// props lists an object's properties; nested resource declarations and
// decorators are left out.
func props(obj *Node) []Prop {
	if obj == nil || obj.Type != "object" {
		return nil
	}
	var out []Prop
	for _, c := range obj.Children {
		if c.Type != "object_property" || len(c.Children) < 2 {
			continue
		}
		k := c.Children[0]
		key := k.Text
		if k.Type == "string" {
			key, _ = stringValue(k)
		}
		out = append(out, Prop{Key: key, Value: c.last(), Line: c.Line})
	}
	return out
}

// prop follows a path of property names through nested object literals.
func prop(obj *Node, path ...string) *Node {
	n := obj
	for _, key := range path {
		var next *Node
		for _, p := range props(n) {
			if p.Key == key {
				next = p.Value
				break
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

// callName is the function a call_expression calls, without a namespace
// (sys.guid is guid; storage.listKeys is listKeys).
func callName(n *Node) string {
	if n == nil || n.Type != "call_expression" || len(n.Children) == 0 {
		return ""
	}
	f := n.Children[0]
	switch f.Type {
	case "identifier":
		return f.Text
	case "member_expression":
		if p := f.last(); p != nil {
			return p.Text
		}
	}
	return ""
}

// callArgs are a call_expression's arguments.
func callArgs(n *Node) []*Node {
	if a := n.child("arguments"); a != nil {
		return a.Children
	}
	return nil
}

// references lists the identifiers an expression reads (not object keys,
// not member names).
func references(n *Node) []string {
	var out []string
	n.walk(func(c *Node) bool {
		switch c.Type {
		case "identifier":
			out = append(out, c.Text)
		case "object_property":
			// Skip the key; visit the value.
			if len(c.Children) >= 2 {
				out = append(out, references(c.last())...)
				return false
			}
		}
		return true
	})
	return out
}

// ---- A template, as the rules see it ----

// Set is every parsed file of one check, by absolute path.
type Set struct {
	Files map[string]*Template
	Order []string
}

// Template is one .bicep or .bicepparam file.
type Template struct {
	Path     string // absolute
	Name     string // relative to the repository root when inside it
	Root     *Node
	Source   []string // lines, for comment checks
	IsParams bool

	TargetScope string
	Using       *Node // the using statement's string
	Params      []*Param
	Vars        map[string]*Node
	Resources   []*Resource
	Modules     []*Module
	Outputs     []*Output
	Assignments []*Assignment // .bicepparam
}

// Param is a parameter declaration.
type Param struct {
	Name       string
	Type       string
	Default    *Node
	Decorators map[string]*Node // decorator name → its call_expression
	Line       int
}

func (p *Param) secure() bool { return p.Decorators["secure"] != nil }

// Resource is a resource declaration; nested ones have Parent set and a
// full Type.
type Resource struct {
	Symbol      string
	Type        string // Microsoft.Storage/storageAccounts/blobServices
	Version     string
	Existing    bool
	Conditional bool
	Body        *Node // the object literal
	Line        int
	Parent      *Resource
}

// Module is a module declaration.
type Module struct {
	Symbol string
	Path   string
	Body   *Node
	Line   int
}

// Output is an output declaration.
type Output struct {
	Name  string
	Value *Node
	Line  int
}

// Assignment is `param NAME = value` in a .bicepparam file.
type Assignment struct {
	Name  string
	Value *Node
	Line  int
}

func newSet(files []parsedFile) *Set {
	s := &Set{Files: map[string]*Template{}}
	for _, f := range files {
		t := newTemplate(f)
		s.Files[t.Path] = t
		s.Order = append(s.Order, t.Path)
	}
	return s
}

// resolve finds the template a module or using path names.
func (s *Set) resolve(from *Template, rel string) *Template {
	return s.Files[filepath.Clean(filepath.Join(filepath.Dir(from.Path), filepath.FromSlash(rel)))]
}

var existingRE = regexp.MustCompile(`^resource\s+\w+\s+'[^']*'\s+existing\b`)

func newTemplate(f parsedFile) *Template {
	t := &Template{
		Path:     f.File,
		Name:     f.File,
		Root:     f.Tree,
		IsParams: strings.HasSuffix(f.File, ".bicepparam"),
		Vars:     map[string]*Node{},
	}
	if src, err := os.ReadFile(f.File); err == nil {
		t.Source = strings.Split(string(src), "\n")
	}
	if wd, err := filepath.Abs(".."); err == nil {
		if rel, err := filepath.Rel(wd, f.File); err == nil && !strings.HasPrefix(rel, "..") {
			t.Name = filepath.ToSlash(rel)
		}
	}
	if t.Root == nil {
		return t
	}
	var decorators map[string]*Node
	for _, n := range t.Root.Children {
		if n.Type == "decorators" {
			decorators = map[string]*Node{}
			for _, d := range n.Children {
				if call := d.child("call_expression"); call != nil {
					decorators[strings.TrimPrefix(call.Children[0].Text, "sys.")] = call
				}
			}
			continue
		}
		name := ""
		if id := n.child("identifier"); id != nil {
			name = id.Text
		}
		switch n.Type {
		case "target_scope_assignment":
			t.TargetScope, _ = stringValue(n.child("string"))
		case "using_statement":
			t.Using = n.child("string")
		case "parameter_declaration":
			p := &Param{Name: name, Decorators: decorators, Line: n.Line}
			if p.Decorators == nil {
				p.Decorators = map[string]*Node{}
			}
			if ty := n.child("type"); ty != nil {
				p.Type = ty.Text
			}
			if len(n.Children) >= 3 {
				p.Default = n.last()
			}
			t.Params = append(t.Params, p)
		case "variable_declaration":
			t.Vars[name] = n.last()
		case "param_assignment":
			t.Assignments = append(t.Assignments, &Assignment{Name: name, Value: n.last(), Line: n.Line})
		case "resource_declaration":
			t.addResource(n, nil)
		case "module_declaration":
			path, _ := stringValue(n.child("string"))
			t.Modules = append(t.Modules, &Module{Symbol: name, Path: path, Body: body(n.last()), Line: n.Line})
		case "output_declaration":
			t.Outputs = append(t.Outputs, &Output{Name: name, Value: n.last(), Line: n.Line})
		}
		decorators = nil
	}
	return t
}

// body is the object of a resource or module value: `{...}`,
// `if (cond) {...}` or `[for x in xs: {...}]`.
func body(n *Node) *Node {
	for n != nil {
		switch n.Type {
		case "object":
			return n
		case "if_statement", "for_statement":
			n = n.last()
		default:
			return nil
		}
	}
	return nil
}

func (t *Template) addResource(n *Node, parent *Resource) {
	typ, _ := stringValue(n.child("string"))
	version := ""
	if i := strings.IndexByte(typ, '@'); i >= 0 {
		typ, version = typ[:i], typ[i+1:]
	}
	if parent != nil {
		typ = parent.Type + "/" + typ
		if version == "" {
			version = parent.Version
		}
	}
	value := n.last()
	r := &Resource{
		Symbol:      n.child("identifier").Text,
		Type:        typ,
		Version:     version,
		Existing:    existingRE.MatchString(n.Text),
		Conditional: value != nil && (value.Type == "if_statement" || value.Type == "for_statement"),
		Body:        body(value),
		Line:        n.Line,
		Parent:      parent,
	}
	if parent != nil && parent.Conditional {
		r.Conditional = true
	}
	t.Resources = append(t.Resources, r)
	if r.Body == nil {
		return
	}
	for _, c := range r.Body.Children {
		if c.Type == "object_property" && len(c.Children) == 1 && c.Children[0].Type == "resource_declaration" {
			t.addResource(c.Children[0], r)
		}
	}
}

func (t *Template) param(name string) *Param {
	for _, p := range t.Params {
		if p.Name == name {
			return p
		}
	}
	return nil
}

func (t *Template) output(name string) *Output {
	for _, o := range t.Outputs {
		if o.Name == name {
			return o
		}
	}
	return nil
}

// resourcesOf lists the template's resources of one type (compared
// case-insensitively, as ARM does).
func (t *Template) resourcesOf(typ string) []*Resource {
	var out []*Resource
	for _, r := range t.Resources {
		if strings.EqualFold(r.Type, typ) {
			out = append(out, r)
		}
	}
	return out
}

// resolveVar follows identifiers that name variables to their values.
func (t *Template) resolveVar(n *Node) *Node {
	for i := 0; n != nil && n.Type == "identifier" && i < 10; i++ {
		v, ok := t.Vars[n.Text]
		if !ok {
			return n
		}
		n = v
	}
	return n
}

// ---- App settings ----

// AppSetting is one app setting a template sets on a function app.
type AppSetting struct {
	Name  string
	Value *Node
	Line  int
}

// appSettings reads the app settings a template sets: the properties of
// Microsoft.Web/sites/config 'appsettings' resources and the
// siteConfig.appSettings arrays of Microsoft.Web/sites. Settings that
// cannot be read statically are errors: the checks must see every name.
func appSettings(t *Template) ([]AppSetting, []error) {
	var out []AppSetting
	var errs []error
	var fromObject func(n *Node, where string)
	fromObject = func(n *Node, where string) {
		n = t.resolveVar(n)
		switch {
		case n == nil:
			errs = append(errs, fmt.Errorf("%s: app settings missing", where))
		case n.Type == "object":
			for _, p := range props(n) {
				out = append(out, AppSetting{Name: p.Key, Value: p.Value, Line: p.Line})
			}
		case n.Type == "call_expression" && callName(n) == "union":
			for _, a := range callArgs(n) {
				fromObject(a, where)
			}
		default:
			errs = append(errs, fmt.Errorf("%s:%d: app settings %q cannot be read statically; write them as an object literal", where, n.Line, n.Text))
		}
	}
	var fromArray func(n *Node, where string)
	fromArray = func(n *Node, where string) {
		n = t.resolveVar(n)
		switch {
		case n == nil:
		case n.Type == "array":
			for _, e := range n.Children {
				name, ok := stringValue(prop(e, "name"))
				if !ok {
					errs = append(errs, fmt.Errorf("%s:%d: app setting name %q is not a literal", where, e.Line, e.Text))
					continue
				}
				out = append(out, AppSetting{Name: name, Value: prop(e, "value"), Line: e.Line})
			}
		case n.Type == "call_expression" && (callName(n) == "concat" || callName(n) == "union"):
			for _, a := range callArgs(n) {
				fromArray(a, where)
			}
		default:
			errs = append(errs, fmt.Errorf("%s:%d: appSettings %q cannot be read statically; write them as an array literal", where, n.Line, n.Text))
		}
	}
	for _, r := range t.Resources {
		if r.Existing || r.Body == nil {
			continue
		}
		where := t.Name
		switch {
		case strings.EqualFold(r.Type, "Microsoft.Web/sites/config"):
			if name, _ := stringValue(prop(r.Body, "name")); strings.EqualFold(name, "appsettings") {
				fromObject(prop(r.Body, "properties"), where)
			}
		case strings.EqualFold(r.Type, "Microsoft.Web/sites"):
			if a := prop(r.Body, "properties", "siteConfig", "appSettings"); a != nil {
				fromArray(a, where)
			}
		}
	}
	return out, errs
}
