package check

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// AppSetting is one app setting a template sets on a function app.
type AppSetting struct {
	Name  string
	Value *Node
	Line  int
	// When are the conditions the setting is set under: it sits in a
	// branch of cond ? {...} : {...} (the app settings a union() of
	// objects, some of them conditional), one Condition per ternary.
	When []Condition

	vars map[string]*Node // the template's, to read a condition's variables
}

// Condition is the test of a ternary expression an app setting is set
// under, and the branch the setting is in.
type Condition struct {
	Test  *Node
	Holds bool // the setting is in the true branch
}

// AppSettings reads the app settings every file of the set sets.
func (s *Set) AppSettings() ([]AppSetting, []error) {
	var out []AppSetting
	var errs []error
	for _, path := range s.order {
		settings, e := appSettings(s.files[path])
		out, errs = append(out, settings...), append(errs, e...)
	}
	return out, errs
}

// appSettings reads the app settings a template sets: the properties of
// Microsoft.Web/sites/config 'appsettings' resources and the
// siteConfig.appSettings arrays of Microsoft.Web/sites. Settings that
// cannot be read statically are errors: the checks must see every name.
func appSettings(t *template) ([]AppSetting, []error) {
	var out []AppSetting
	var errs []error
	var fromObject func(n *Node, where string, when []Condition)
	fromObject = func(n *Node, where string, when []Condition) {
		n = t.resolveVar(n)
		switch {
		case n == nil:
			errs = append(errs, fmt.Errorf("%s: app settings missing", where))
		case n.Type == "object":
			for _, p := range props(n) {
				out = append(out, AppSetting{Name: p.Key, Value: p.Value, Line: p.Line, When: when, vars: t.Vars})
			}
		case n.Type == "call_expression" && callName(n) == "union":
			for _, a := range callArgs(n) {
				fromObject(a, where, when)
			}
		case n.Type == "parenthesized_expression" && len(n.Children) == 1:
			fromObject(n.Children[0], where, when)
		case n.Type == "ternary_expression" && len(n.Children) == 3:
			fromObject(n.Children[1], where, append(slices.Clip(when), Condition{Test: n.Children[0], Holds: true}))
			fromObject(n.Children[2], where, append(slices.Clip(when), Condition{Test: n.Children[0], Holds: false}))
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
		switch {
		case strings.EqualFold(r.Type, "Microsoft.Web/sites/config"):
			if name, _ := stringValue(prop(r.Body, "name")); strings.EqualFold(name, "appsettings") {
				fromObject(prop(r.Body, "properties"), t.Name, nil)
			}
		case strings.EqualFold(r.Type, "Microsoft.Web/sites"):
			if a := prop(r.Body, "properties", "siteConfig", "appSettings"); a != nil {
				fromArray(a, t.Name)
			}
		}
	}
	return out, errs
}

// SetWhen reports whether the setting is set when the template's parameter
// param has the string value value: each of its conditions is evaluated
// with that value. A condition that reads anything but param, string and
// boolean literals, and variables made of them (==, !=, =~, !~, &&, ||, !)
// is an error: the checks cannot tell.
func (s AppSetting) SetWhen(param, value string) (bool, error) {
	for _, c := range s.When {
		v, err := evalCondition(c.Test, param, value, s.vars, 0)
		if err != nil {
			return false, fmt.Errorf("app setting %s: condition %s: %w", s.Name, c.Test.Text, err)
		}
		b, ok := v.(bool)
		if !ok {
			return false, fmt.Errorf("app setting %s: condition %s is not a boolean", s.Name, c.Test.Text)
		}
		if b != c.Holds {
			return false, nil
		}
	}
	return true, nil
}

var errUnknown = errors.New("cannot be evaluated from the parameter alone")

// evalCondition evaluates n to a string or a bool, param having value.
func evalCondition(n *Node, param, value string, vars map[string]*Node, depth int) (any, error) {
	if n == nil || depth > 20 {
		return nil, errUnknown
	}
	eval := func(c *Node) (any, error) { return evalCondition(c, param, value, vars, depth+1) }
	switch n.Type {
	case "parenthesized_expression":
		if len(n.Children) == 1 {
			return eval(n.Children[0])
		}
	case "string":
		if v, ok := stringValue(n); ok {
			return v, nil
		}
	case "boolean":
		return n.Text == "true", nil
	case "identifier":
		if n.Text == param {
			return value, nil
		}
		if v, ok := vars[n.Text]; ok {
			return eval(v)
		}
	case "unary_expression":
		if len(n.Children) == 1 && strings.HasPrefix(n.Text, "!") {
			v, err := eval(n.Children[0])
			if b, ok := v.(bool); ok && err == nil {
				return !b, nil
			}
			return nil, errUnknown
		}
	case "binary_expression":
		if len(n.Children) != 2 || len(n.Children[0].Text)+len(n.Children[1].Text) > len(n.Text) {
			break
		}
		l, r := n.Children[0], n.Children[1]
		op := strings.TrimSpace(n.Text[len(l.Text) : len(n.Text)-len(r.Text)])
		lv, err := eval(l)
		if err != nil {
			return nil, err
		}
		rv, err := eval(r)
		if err != nil {
			return nil, err
		}
		ls, lok := lv.(string)
		rs, rok := rv.(string)
		lb, lbok := lv.(bool)
		rb, rbok := rv.(bool)
		switch {
		case op == "==" && lok && rok:
			return ls == rs, nil
		case op == "!=" && lok && rok:
			return ls != rs, nil
		case op == "=~" && lok && rok:
			return strings.EqualFold(ls, rs), nil
		case op == "!~" && lok && rok:
			return !strings.EqualFold(ls, rs), nil
		case op == "&&" && lbok && rbok:
			return lb && rb, nil
		case op == "||" && lbok && rbok:
			return lb || rb, nil
		}
	}
	return nil, errUnknown
}
