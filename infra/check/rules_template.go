package check

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Rules about any template: API versions, locations, tags, names, parameters, symbols, modules and parameter files.

func ruleAPIVersion(_ *Set, t *template, report reporter) {
	for _, r := range t.Resources {
		want := ""
		for typ, v := range pinnedAPIVersions {
			if strings.EqualFold(typ, r.Type) {
				want = v
			}
		}
		switch {
		case want == "":
			report(r.Line, "resource type %s is not in the pinned list (pinnedAPIVersions in infra/check/policy.go): add it with a reason", r.Type)
		case r.Version != want:
			report(r.Line, "%s@%s: pinned API version is %s", r.Type, r.Version, want)
		}
	}
}

func ruleLocation(_ *Set, t *template, report reporter) {
	check := func(obj *Node) {
		if v := prop(obj, "location"); v != nil && isLiteral(v) && !IsString(v, "global") {
			report(v.Line, "hard-coded location %s; pass the location parameter", v.Text)
		}
	}
	for _, r := range t.Resources {
		check(r.Body)
	}
	for _, m := range t.Modules {
		check(prop(m.Body, "params"))
	}
	for _, p := range t.Params {
		if strings.EqualFold(p.Name, "location") && p.Default != nil && isLiteral(p.Default) {
			report(p.Line, "parameter location defaults to %s; default to resourceGroup().location", p.Default.Text)
		}
	}
}

// taggable: top-level resource types other than role assignments.
// untaggable are top-level types that take no tags: extension resources
// that live on another resource.
var untaggable = []string{"Microsoft.Authorization/roleAssignments", "Microsoft.Authorization/locks", "Microsoft.Insights/diagnosticSettings"}

func taggable(r *resource) bool {
	return strings.Count(r.Type, "/") == 1 && !slices.ContainsFunc(untaggable, func(u string) bool { return strings.EqualFold(u, r.Type) })
}

func ruleTags(_ *Set, t *template, report reporter) {
	for _, r := range t.Resources {
		if !r.Existing && r.Body != nil && taggable(r) && prop(r.Body, "tags") == nil {
			report(r.Line, "resource %s has no tags", r.Symbol)
		}
	}
	if len(t.Modules) > 0 && !strings.Contains(strings.Join(t.Source, "\n"), "'azd-env-name'") {
		report(1, "the composing template must tag resources with 'azd-env-name'")
	}
}

var resourceTokenRE = regexp.MustCompile(`uniqueString\(\s*subscription\(\)\.id\s*,\s*resourceGroup\(\)\.id\s*,\s*location\s*\)`)

func ruleNaming(_ *Set, t *template, report reporter) {
	if len(t.Modules) == 0 || t.IsParams {
		return
	}
	found := false
	for _, v := range t.Vars {
		if resourceTokenRE.MatchString(v.Text) {
			found = true
		}
	}
	if !found {
		report(1, "the composing template must derive names from uniqueString(subscription().id, resourceGroup().id, location)")
	}
}

func ruleParamDescription(_ *Set, t *template, report reporter) {
	for _, p := range t.Params {
		if p.Decorators["description"] == nil {
			report(p.Line, "parameter %s has no @description", p.Name)
		}
	}
}

var secretParamRE = regexp.MustCompile(`(?i)(secret|password|token|key)(value)?$`)

func ruleSecureParam(_ *Set, t *template, report reporter) {
	for _, p := range t.Params {
		if secretParamRE.MatchString(p.Name) && !p.secure() {
			report(p.Line, "parameter %s looks like a secret: mark it @secure()", p.Name)
		}
		if p.secure() && p.Default != nil {
			if v, ok := stringValue(p.Default); !ok || v != "" {
				report(p.Line, "@secure() parameter %s has a non-empty default", p.Name)
			}
		}
	}
}

func ruleFirstDeploySecret(s *Set, t *template, report reporter) {
	for _, p := range t.Params {
		if !p.secure() || !IsString(p.Default, "") {
			continue
		}
		for _, m := range t.Modules {
			for _, arg := range props(prop(m.Body, "params")) {
				exprs := t.expand(arg.Value)
				if !slices.ContainsFunc(exprs, func(n *Node) bool { return slices.Contains(references(n), p.Name) }) {
					continue
				}
				var fails []string
				for _, n := range exprs {
					n.walk(func(c *Node) bool {
						if callName(c) == "fail" {
							for _, e := range t.expand(c) {
								fails = append(fails, e.Text)
							}
						}
						return true
					})
				}
				if len(fails) == 0 {
					report(arg.Line, "module %s: %s may be empty, and nothing stops a first deployment that has no secret to keep; guard it: cond ? %s : fail('... names the variable to set ...')", m.Symbol, p.Name, p.Name)
					continue
				}
				for _, env := range s.envNames(t, p.Name) {
					if !strings.Contains(strings.Join(fails, "\n"), env) {
						report(arg.Line, "module %s: the fail() for an empty %s does not name %s, the variable the parameter files read it from", m.Symbol, p.Name, env)
					}
				}
			}
		}
	}
}

// envNames lists the environment variables that the set's parameter files
// for t read parameter name from (readEnvironmentVariable('NAME', ...)).
func (s *Set) envNames(t *template, name string) []string {
	var out []string
	for _, path := range s.order {
		pf := s.files[path]
		using, ok := stringValue(pf.Using)
		if !pf.IsParams || !ok || s.resolve(pf, using) != t {
			continue
		}
		for _, a := range pf.Assignments {
			if args := callArgs(a.Value); a.Name == name && callName(a.Value) == "readEnvironmentVariable" && len(args) > 0 {
				if env, ok := stringValue(args[0]); ok && !slices.Contains(out, env) {
					out = append(out, env)
				}
			}
		}
	}
	return out
}

func ruleSecureOutput(_ *Set, t *template, report reporter) {
	for _, o := range t.Outputs {
		for _, ref := range references(o.Value) {
			if p := t.param(ref); p != nil && p.secure() {
				report(o.Line, "output %s exposes the @secure() parameter %s", o.Name, ref)
			}
		}
	}
}

func ruleDependsOn(_ *Set, t *template, report reporter) {
	t.Root.walk(func(n *Node) bool {
		if n.Type == "object_property" && len(n.Children) > 1 && n.Children[0].Text == "dependsOn" {
			report(n.Line, "dependsOn: reference the resource symbolically instead")
		}
		return true
	})
}

func ruleUnused(_ *Set, t *template, report reporter) {
	if t.IsParams {
		return
	}
	used := map[string]bool{}
	for _, n := range t.Root.Children {
		children := n.Children
		switch n.Type {
		case "parameter_declaration", "variable_declaration", "output_declaration":
			if len(children) > 0 {
				children = children[1:] // not the declared name itself
			}
		}
		for _, c := range children {
			for _, r := range references(c) {
				used[r] = true
			}
		}
	}
	for _, p := range t.Params {
		if !used[p.Name] {
			report(p.Line, "parameter %s is never used", p.Name)
		}
	}
	for name, v := range t.Vars {
		if !used[name] {
			report(v.Line, "variable %s is never used", name)
		}
	}
}

func ruleCycle(_ *Set, t *template, report reporter) {
	line := map[string]int{}
	body := map[string]*Node{}
	for _, r := range t.Resources {
		if r.Parent == nil {
			line[r.Symbol], body[r.Symbol] = r.Line, r.Body
		}
	}
	for _, m := range t.Modules {
		line[m.Symbol], body[m.Symbol] = m.Line, m.Body
	}
	for name, v := range t.Vars {
		line[name], body[name] = v.Line, v
	}
	deps := map[string][]string{}
	var read func(sym string, n *Node)
	read = func(sym string, n *Node) {
		switch {
		case n == nil || n.Type == "resource_declaration": // a nested resource may name its parent
		case n.Type == "object_property" && len(n.Children) >= 2: // the value, not the key
			read(sym, n.last())
		case n.Type == "identifier":
			if body[n.Text] != nil && !slices.Contains(deps[sym], n.Text) {
				deps[sym] = append(deps[sym], n.Text)
			}
		default:
			for _, c := range n.Children {
				read(sym, c)
			}
		}
	}
	for sym, b := range body {
		read(sym, b)
	}
	// Depth-first; a symbol met again on the current path closes a cycle.
	state := map[string]int{} // 1: on the path, 2: done
	var path []string
	var visit func(sym string)
	visit = func(sym string) {
		state[sym] = 1
		path = append(path, sym)
		for _, d := range deps[sym] {
			switch state[d] {
			case 0:
				visit(d)
			case 1:
				cycle := append(slices.Clone(path[slices.Index(path, d):]), d)
				report(line[d], "%s: a cycle, which Bicep rejects (BCP080)", strings.Join(cycle, " -> "))
			}
		}
		path = path[:len(path)-1]
		state[sym] = 2
	}
	syms := make([]string, 0, len(body))
	for sym := range body {
		syms = append(syms, sym)
	}
	slices.Sort(syms)
	for _, sym := range syms {
		if state[sym] == 0 {
			visit(sym)
		}
	}
}

func ruleModuleContract(s *Set, t *template, report reporter) {
	mods := map[string]*template{}
	for _, m := range t.Modules {
		mt := s.resolve(t, m.Path)
		if mt == nil {
			report(m.Line, "module %s: %s was not found among the parsed files", m.Symbol, m.Path)
			continue
		}
		mods[m.Symbol] = mt
		passed := map[string]bool{}
		for _, p := range props(prop(m.Body, "params")) {
			passed[p.Key] = true
			if mt.param(p.Key) == nil {
				report(p.Line, "module %s: %s declares no parameter %s", m.Symbol, m.Path, p.Key)
			}
		}
		for _, p := range mt.Params {
			if p.Default == nil && !strings.HasSuffix(p.Type, "?") && !passed[p.Name] {
				report(m.Line, "module %s: required parameter %s of %s is not passed", m.Symbol, p.Name, m.Path)
			}
		}
	}
	// mod.outputs.NAME must be an output of the module.
	t.Root.walk(func(n *Node) bool {
		if n.Type != "member_expression" || len(n.Children) != 2 {
			return true
		}
		inner := n.Children[0]
		if inner.Type == "member_expression" && len(inner.Children) == 2 && inner.Children[1].Text == "outputs" && inner.Children[0].Type == "identifier" {
			if mt := mods[inner.Children[0].Text]; mt != nil && mt.output(n.Children[1].Text) == nil {
				report(n.Line, "%s: %s has no output %s", n.Text, mt.Name, n.Children[1].Text)
			}
		}
		return true
	})
}

func ruleParamFile(s *Set, t *template, report reporter) {
	if !t.IsParams {
		return
	}
	path, ok := stringValue(t.Using)
	if !ok {
		report(1, "a .bicepparam file must start with using '<template>.bicep'")
		return
	}
	target := s.resolve(t, path)
	if target == nil {
		report(t.Using.Line, "using %s: template not found among the parsed files", path)
		return
	}
	assigned := map[string]bool{}
	for _, a := range t.Assignments {
		assigned[a.Name] = true
		p := target.param(a.Name)
		if p == nil {
			report(a.Line, "%s declares no parameter %s", target.Name, a.Name)
			continue
		}
		if p.secure() {
			// Secrets come from the environment, never from the file.
			args := callArgs(a.Value)
			if callName(a.Value) != "readEnvironmentVariable" || len(args) == 0 || (len(args) > 1 && !IsString(args[1], "")) {
				report(a.Line, "@secure() parameter %s must be read with readEnvironmentVariable('NAME'[, '']), never written here", a.Name)
			}
			continue
		}
		checkAllowed(p, a, report)
	}
	for _, p := range target.Params {
		if p.Default == nil && !strings.HasSuffix(p.Type, "?") && !assigned[p.Name] {
			report(1, "required parameter %s of %s is not assigned", p.Name, target.Name)
		}
	}
}

// checkAllowed checks a literal assignment against the parameter's
// @allowed, @minValue and @maxValue.
func checkAllowed(p *param, a *assignment, report reporter) {
	if !isLiteral(a.Value) {
		return
	}
	if call := p.Decorators["allowed"]; call != nil {
		ok := false
		for _, args := range callArgs(call) {
			for _, e := range args.Children {
				if e.Text == a.Value.Text {
					ok = true
				}
			}
		}
		if !ok {
			report(a.Line, "%s = %s is not one of %s", a.Name, a.Value.Text, strings.Join(strings.Fields(callArgs(call)[0].Text), " "))
		}
	}
	v, err := strconv.Atoi(a.Value.Text)
	if err != nil {
		return
	}
	for _, bound := range []string{"minValue", "maxValue"} {
		call := p.Decorators[bound]
		if call == nil || len(callArgs(call)) != 1 {
			continue
		}
		b, err := strconv.Atoi(callArgs(call)[0].Text)
		if err == nil && ((bound == "minValue" && v < b) || (bound == "maxValue" && v > b)) {
			report(a.Line, "%s = %d is outside @%s(%d)", a.Name, v, bound, b)
		}
	}
}

// ref is how the template names r in an expression: its symbol, with its
// parents' for a nested resource (storage::tableService).
func (r *resource) ref() string {
	if r.Parent == nil {
		return r.Symbol
	}
	return r.Parent.ref() + "::" + r.Symbol
}

// scopedTo lists the deployed resources of type typ whose scope is r.
func (t *template) scopedTo(typ string, r *resource) []*resource {
	var out []*resource
	for _, e := range t.deployed(typ) {
		if scope := prop(e.Body, "scope"); scope != nil && scope.Text == r.ref() {
			out = append(out, e)
		}
	}
	return out
}

// composed lists the templates t's modules deploy, with the module.
func (s *Set) composed(t *template) (mods []*module, templates []*template) {
	for _, m := range t.Modules {
		if mt := s.resolve(t, m.Path); mt != nil {
			mods, templates = append(mods, m), append(templates, mt)
		}
	}
	return mods, templates
}
