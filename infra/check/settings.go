package check

import (
	"fmt"
	"strings"
)

// AppSetting is one app setting a template sets on a function app.
type AppSetting struct {
	Name  string
	Value *Node
	Line  int
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
		switch {
		case strings.EqualFold(r.Type, "Microsoft.Web/sites/config"):
			if name, _ := stringValue(prop(r.Body, "name")); strings.EqualFold(name, "appsettings") {
				fromObject(prop(r.Body, "properties"), t.Name)
			}
		case strings.EqualFold(r.Type, "Microsoft.Web/sites"):
			if a := prop(r.Body, "properties", "siteConfig", "appSettings"); a != nil {
				fromArray(a, t.Name)
			}
		}
	}
	return out, errs
}
