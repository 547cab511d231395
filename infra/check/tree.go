package check

import (
	"fmt"
	"slices"
	"strings"
)

// Node is one named node of a tree-sitter-bicep syntax tree, as parse.mjs
// prints it (comments are left out).
type Node struct {
	Type     string  `json:"type"`
	Text     string  `json:"text"`
	Line     int     `json:"line"`
	Children []*Node `json:"children"`
}

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
	if prefix, whole := literalPrefix(n); whole {
		return prefix, true
	}
	return "", false
}

// stringPrefix is the literal text a string starts with, up to its first
// interpolation.
func stringPrefix(n *Node) string {
	if n == nil || n.Type != "string" {
		return ""
	}
	prefix, _ := literalPrefix(n)
	return prefix
}

// literalPrefix is a string's text up to its first interpolation, and
// whether that is all of it.
func literalPrefix(n *Node) (string, bool) {
	var b strings.Builder
	for _, c := range n.Children {
		switch c.Type {
		case "string_content":
			b.WriteString(c.Text)
		case "escape_sequence":
			b.WriteString(unescape(c.Text))
		default:
			return b.String(), false
		}
	}
	return b.String(), true
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

// IsString reports whether n is a string literal equal to one of want.
func IsString(n *Node, want ...string) bool {
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

// IsKeyVaultReference reports whether n is a string starting
// '@Microsoft.KeyVault(' (an app setting resolved from Key Vault).
func IsKeyVaultReference(n *Node) bool {
	return strings.HasPrefix(stringPrefix(n), "@Microsoft.KeyVault(")
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

// textOf is n's source text, or "(missing)".
func textOf(n *Node) string {
	if n == nil {
		return "(missing)"
	}
	return n.Text
}

// property is one property of an object literal.
type property struct {
	Key   string
	Value *Node
	Line  int
}

// props lists an object's properties; nested resource declarations and
// decorators are left out.
func props(obj *Node) []property {
	if obj == nil || obj.Type != "object" {
		return nil
	}
	var out []property
	for _, c := range obj.Children {
		if c.Type != "object_property" || len(c.Children) < 2 {
			continue
		}
		k := c.Children[0]
		key := k.Text
		if k.Type == "string" {
			key, _ = stringValue(k)
		}
		out = append(out, property{Key: key, Value: c.last(), Line: c.Line})
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

// reassociate undoes how tree-sitter-bicep parses an access on the last
// operand of a ternary, binary or unary expression: c ? a : b.x, d && r.x,
// k ?? f().y and !x.y come out as (c ? a : b).x, (d && r).x, (k ?? f)().y
// and (!x).y. It rewrites n's subtree as Bicep reads them, c ? a : (b.x) and
// so on, so that rules see which symbol is accessed or called.
func reassociate(n *Node) *Node {
	if n == nil {
		return nil
	}
	for i, c := range n.Children {
		n.Children[i] = reassociate(c)
	}
	switch n.Type {
	case "member_expression", "call_expression", "subscript_expression":
	default:
		return n
	}
	if len(n.Children) == 0 {
		return n
	}
	inner := n.Children[0]
	switch inner.Type {
	case "ternary_expression", "binary_expression", "unary_expression":
	default:
		return n
	}
	if len(inner.Children) == 0 || !strings.HasPrefix(n.Text, inner.Text) {
		return n
	}
	ops := inner.Children
	last := ops[len(ops)-1]
	access := reassociate(&Node{Type: n.Type, Text: last.Text + n.Text[len(inner.Text):], Line: last.Line, Children: append([]*Node{last}, n.Children[1:]...)})
	return &Node{Type: inner.Type, Text: n.Text, Line: n.Line, Children: append(slices.Clone(ops[:len(ops)-1]), access)}
}
