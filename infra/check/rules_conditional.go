package check

import "strings"

// ruleConditionalAccess: a module or resource deployed under if (...) may
// be null, and Bicep warns (BCP318) on every plain access to it, even inside
// a condition that tests the same thing; the non-null assertion says the
// condition holds ("Bicep operators", Non-null assertion). Write it in the
// branch of a ternary on that same condition (vnetEnabled ? network!.outputs.x
// : an empty value): ARM's if() then never evaluates the reference. A !
// anywhere else is a promise nothing keeps, and fails the deployment when
// the condition is false. The safe-dereference form (network.?outputs.x with
// ?? a default) compiles to a reference() of a deployment that does not
// exist when the condition is false, which the non-symbolic template can
// fail on (Azure/bicep#3990).
func ruleConditionalAccess(_ *Set, t *template, report reporter) {
	conditions := map[string]string{} // symbol: its if condition
	for _, n := range t.Root.Children {
		if (n.Type == "module_declaration" || n.Type == "resource_declaration") && n.child("identifier") != nil {
			if v := n.last(); v != nil && v.Type == "if_statement" && len(v.Children) > 0 {
				conditions[n.child("identifier").Text] = condition(v.Children[0])
			}
		}
	}
	var visit func(n *Node, guards map[string]bool)
	visit = func(n *Node, guards map[string]bool) {
		switch {
		case n.Type == "ternary_expression" && len(n.Children) == 3:
			visit(n.Children[0], guards)
			visit(n.Children[1], with(guards, condition(n.Children[0])))
			visit(n.Children[2], with(guards, negated(n.Children[0])))
			return
		case n.Type == "if_statement" && len(n.Children) == 2:
			// The body of a module or resource deployed on the same
			// condition is evaluated only when it holds.
			visit(n.Children[0], guards)
			visit(n.Children[1], with(guards, condition(n.Children[0])))
			return
		}
		if n.Type == "object_property" && len(n.Children) == 2 && (n.Children[0].Text == "scope" || n.Children[0].Text == "parent") && n.Children[1].Type == "identifier" {
			// A resource scoped to, or the child of, one that may not
			// exist fails to deploy when it does not.
			if cond, ok := conditions[n.Children[1].Text]; ok && !guards[cond] {
				report(n.Line, "%s: %s is deployed only if %s: deploy this resource on the same condition", n.Children[0].Text, n.Children[1].Text, cond)
			}
			return
		}
		if n.Type == "member_expression" && len(n.Children) > 0 && n.Children[0].Type == "identifier" {
			sym := n.Children[0].Text
			if cond, ok := conditions[sym]; ok {
				rest := n.Text[len(sym):]
				switch {
				case !strings.HasPrefix(rest, "!"):
					report(n.Line, "%s is deployed on a condition and may be null (BCP318): write %s!%s inside a ternary on that condition (not %s.?, which still references a deployment that may not exist)", sym, sym, "."+strings.TrimPrefix(strings.TrimPrefix(rest, ".?"), "."), sym)
				case !guards[cond]:
					report(n.Line, "%s is deployed only if %s: %s holds only in the branch of a ternary on that condition (%s ? %s : an empty value)", sym, cond, n.Text, cond, n.Text)
				}
				return
			}
		}
		for _, c := range n.Children {
			visit(c, guards)
		}
	}
	visit(t.Root, nil)
}

// condition is an if or ternary condition's text without its parentheses
// and spaces, so that the same test written twice compares equal.
func condition(n *Node) string {
	return strings.Join(strings.Fields(unparen(n).Text), "")
}

// unparen is n inside any parentheses around it.
func unparen(n *Node) *Node {
	for n.Type == "parenthesized_expression" && len(n.Children) == 1 {
		n = n.Children[0]
	}
	return n
}

// negated is the condition that holds in a ternary's else branch: !c for
// c, c for !c; a compound condition is negated whole, so that !a && b
// never passes for a guard of a && b.
func negated(n *Node) string {
	n = unparen(n)
	switch n.Type {
	case "unary_expression":
		if strings.HasPrefix(n.Text, "!") && len(n.Children) == 1 {
			return condition(n.Children[0])
		}
	case "identifier", "call_expression", "member_expression":
		return "!" + condition(n)
	}
	return "!(" + condition(n) + ")"
}

func with(guards map[string]bool, cond string) map[string]bool {
	out := map[string]bool{cond: true}
	for k := range guards {
		out[k] = true
	}
	return out
}
