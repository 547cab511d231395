package check

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Set is the parsed files of one check: templates read the others through
// it (a module's template, a parameter file's target).
type Set struct {
	files map[string]*template // by absolute path
	order []string
}

// template is one .bicep or .bicepparam file, as the rules see it.
type template struct {
	Path     string // absolute
	Name     string // relative to the set's base directory when inside it
	Root     *Node
	Source   []string // lines, for comment checks
	IsParams bool

	Using       *Node // the using statement's string
	Params      []*param
	Vars        map[string]*Node
	Resources   []*resource
	Modules     []*module
	Outputs     []*output
	Assignments []*assignment // .bicepparam
}

// param is a parameter declaration.
type param struct {
	Name       string
	Type       string
	Default    *Node
	Decorators map[string]*Node // decorator name → its call_expression
	Line       int
}

func (p *param) secure() bool { return p.Decorators["secure"] != nil }

// resource is a resource declaration; nested ones have Parent set and a
// full Type.
type resource struct {
	Symbol      string
	Type        string // Microsoft.Storage/storageAccounts/blobServices
	Version     string
	Existing    bool
	Conditional bool
	Body        *Node // the object literal
	Line        int
	Parent      *resource
}

// module is a module declaration.
type module struct {
	Symbol string
	Path   string
	Body   *Node
	Line   int
}

// output is an output declaration.
type output struct {
	Name  string
	Value *Node
	Line  int
}

// assignment is `param NAME = value` in a .bicepparam file.
type assignment struct {
	Name  string
	Value *Node
	Line  int
}

// NewSet models parsed files; their names are relative to base.
func NewSet(base string, files []*File) *Set {
	s := &Set{files: map[string]*template{}}
	for _, f := range files {
		t := newTemplate(base, f)
		s.files[t.Path] = t
		s.order = append(s.order, t.Path)
	}
	return s
}

// Names lists the set's files by name, in the order given.
func (s *Set) Names() []string {
	var out []string
	for _, path := range s.order {
		out = append(out, s.files[path].Name)
	}
	return out
}

// resolve finds the template a module or using path names.
func (s *Set) resolve(from *template, rel string) *template {
	return s.files[filepath.Clean(filepath.Join(filepath.Dir(from.Path), filepath.FromSlash(rel)))]
}

var existingRE = regexp.MustCompile(`^resource\s+\w+\s+'[^']*'\s+existing\b`)

func newTemplate(base string, f *File) *template {
	t := &template{
		Path:     f.Path,
		Name:     f.Path,
		Root:     reassociate(f.Tree),
		IsParams: strings.HasSuffix(f.Path, ".bicepparam"),
		Vars:     map[string]*Node{},
	}
	if src, err := os.ReadFile(f.Path); err == nil {
		t.Source = strings.Split(string(src), "\n")
	}
	if rel, err := filepath.Rel(base, f.Path); err == nil && !strings.HasPrefix(rel, "..") {
		t.Name = filepath.ToSlash(rel)
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
		case "using_statement":
			t.Using = n.child("string")
		case "parameter_declaration":
			p := &param{Name: name, Decorators: decorators, Line: n.Line}
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
			t.Assignments = append(t.Assignments, &assignment{Name: name, Value: n.last(), Line: n.Line})
		case "resource_declaration":
			t.addResource(n, nil)
		case "module_declaration":
			path, _ := stringValue(n.child("string"))
			t.Modules = append(t.Modules, &module{Symbol: name, Path: path, Body: body(n.last()), Line: n.Line})
		case "output_declaration":
			t.Outputs = append(t.Outputs, &output{Name: name, Value: n.last(), Line: n.Line})
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

func (t *template) addResource(n *Node, parent *resource) {
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
	r := &resource{
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

func (t *template) param(name string) *param {
	for _, p := range t.Params {
		if p.Name == name {
			return p
		}
	}
	return nil
}

func (t *template) output(name string) *output {
	for _, o := range t.Outputs {
		if o.Name == name {
			return o
		}
	}
	return nil
}

// deployed lists the resources of one type (compared case-insensitively,
// as ARM does) that the template creates, not `existing` ones.
func (t *template) deployed(typ string) []*resource {
	var out []*resource
	for _, r := range t.Resources {
		if strings.EqualFold(r.Type, typ) && !r.Existing && r.Body != nil {
			out = append(out, r)
		}
	}
	return out
}

// resolveVar follows identifiers that name variables to their values.
func (t *template) resolveVar(n *Node) *Node {
	for i := 0; n != nil && n.Type == "identifier" && i < 10; i++ {
		v, ok := t.Vars[n.Text]
		if !ok {
			return n
		}
		n = v
	}
	return n
}

// expand is n and the values of the variables it reads, transitively.
func (t *template) expand(n *Node) []*Node {
	out := []*Node{n}
	seen := map[string]bool{}
	for i := 0; i < len(out); i++ {
		for _, ref := range references(out[i]) {
			if v, ok := t.Vars[ref]; ok && !seen[ref] {
				seen[ref] = true
				out = append(out, v)
			}
		}
	}
	return out
}

// StringVar is the literal value of variable name in the file named file
// (relative to the set's base), when it is a string without interpolation.
func (s *Set) StringVar(file, name string) (string, bool) {
	for _, path := range s.order {
		if t := s.files[path]; t.Name == file {
			return stringValue(t.Vars[name])
		}
	}
	return "", false
}

// Assignments are the parameters the parameter file named file assigns,
// by name, with their values.
func (s *Set) Assignments(file string) (map[string]*Node, bool) {
	for _, path := range s.order {
		if t := s.files[path]; t.Name == file && t.IsParams {
			out := map[string]*Node{}
			for _, a := range t.Assignments {
				out[a.Name] = a.Value
			}
			return out, true
		}
	}
	return nil, false
}

// Outputs are the outputs the template named file declares, by name, with
// their values.
func (s *Set) Outputs(file string) (map[string]*Node, bool) {
	for _, path := range s.order {
		if t := s.files[path]; t.Name == file && !t.IsParams {
			out := map[string]*Node{}
			for _, o := range t.Outputs {
				out[o.Name] = o.Value
			}
			return out, true
		}
	}
	return nil, false
}

// ModuleParams are the parameters module symbol of the file named file is
// passed, by name, with their values; ok reports whether the module exists.
// A module deployed on a condition (if (...)) is reported with its
// condition.
func (s *Set) ModuleParams(file, symbol string) (params map[string]*Node, condition *Node, ok bool) {
	for _, path := range s.order {
		t := s.files[path]
		if t.Name != file {
			continue
		}
		for _, n := range t.Root.Children {
			if n.Type != "module_declaration" || n.child("identifier") == nil || n.child("identifier").Text != symbol {
				continue
			}
			if v := n.last(); v != nil && v.Type == "if_statement" && len(v.Children) > 0 {
				condition = v.Children[0]
			}
			params = map[string]*Node{}
			for _, p := range props(prop(body(n.last()), "params")) {
				params[p.Key] = p.Value
			}
			return params, condition, true
		}
	}
	return nil, nil, false
}
