package check

import (
	"regexp"
	"strings"
)

// Rules about role assignments.

var guidRE = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// roleID resolves a roleDefinitionId expression to the role's GUID:
// subscriptionResourceId('Microsoft.Authorization/roleDefinitions', X)
// where X is a literal, a variable or a property of an object variable.
func roleID(t *template, n *Node) (string, bool) {
	n = t.resolveVar(n)
	if n == nil {
		return "", false
	}
	if v, ok := stringValue(n); ok {
		return guidRE.FindString(v), guidRE.MatchString(v)
	}
	if n.Type == "call_expression" {
		switch callName(n) {
		case "subscriptionResourceId", "resourceId", "tenantResourceId":
			args := callArgs(n)
			if len(args) == 2 && IsString(args[0], "Microsoft.Authorization/roleDefinitions") {
				return roleID(t, args[1])
			}
		}
		return "", false
	}
	if n.Type == "member_expression" && len(n.Children) == 2 && n.Children[0].Type == "identifier" {
		if obj := t.resolveVar(n.Children[0]); obj != nil && obj.Type == "object" {
			return roleID(t, prop(obj, n.Children[1].Text))
		}
	}
	return "", false
}

func ruleRoleDefinition(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Authorization/roleAssignments") {
		def := prop(r.Body, "properties", "roleDefinitionId")
		id, ok := roleID(t, def)
		name, known := builtInRoles[strings.ToLower(id)]
		if !ok || !known {
			report(r.Line, "role assignment %s: roleDefinitionId %q is not one of the named built-in roles (builtInRoles in infra/check/policy.go)", r.Symbol, textOf(def))
			continue
		}
		// The role's ID must sit beside a comment naming it.
		named := false
		for _, line := range t.Source {
			if strings.Contains(strings.ToLower(line), id) && strings.Contains(line, "// "+name) {
				named = true
			}
		}
		if !named {
			report(r.Line, "role assignment %s: write the role's name beside its ID (// %s)", r.Symbol, name)
		}
	}
}

func ruleRolePrincipalType(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Authorization/roleAssignments") {
		if !IsString(prop(r.Body, "properties", "principalType"), "ServicePrincipal") {
			report(r.Line, "role assignment %s must set principalType: 'ServicePrincipal' (a new identity otherwise fails with PrincipalNotFound while it replicates)", r.Symbol)
		}
	}
}

var principalIDRE = regexp.MustCompile(`(?i)principalId`)

func ruleRoleName(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Authorization/roleAssignments") {
		name := prop(r.Body, "name")
		if callName(name) != "guid" {
			report(r.Line, "role assignment %s: name must be guid(scope.id, identity resource ID, role ID)", r.Symbol)
			continue
		}
		args := callArgs(name)
		if len(args) < 3 {
			report(r.Line, "role assignment %s: guid() needs the scope, the identity's resource ID and the role", r.Symbol)
		}
		for _, a := range args {
			if principalIDRE.MatchString(a.Text) {
				report(r.Line, "role assignment %s: guid() over a principalId (%s) is unknown at the start of the deployment (BCP120); use the identity's resource ID", r.Symbol, a.Text)
			}
		}
		if scope := prop(r.Body, "scope"); scope != nil && scope.Type == "identifier" {
			found := false
			for _, a := range args {
				if a.Text == scope.Text+".id" {
					found = true
				}
			}
			if !found {
				report(r.Line, "role assignment %s: guid() must include its scope's ID (%s.id)", r.Symbol, scope.Text)
			}
		}
	}
}

func ruleRolesBeforeApp(s *Set, t *template, report reporter) {
	var apps, grants []*module
	for _, m := range t.Modules {
		if mt := s.resolve(t, m.Path); mt != nil {
			if len(mt.deployed("Microsoft.Web/sites")) > 0 {
				apps = append(apps, m)
			}
			if len(mt.deployed("Microsoft.Authorization/roleAssignments")) > 0 {
				grants = append(grants, m)
			}
		}
	}
	for _, app := range apps {
		for _, g := range grants {
			if g != app && !readsOutputOf(prop(app.Body, "params"), g.Symbol) {
				report(app.Line, "module %s deploys a site but takes no output of module %s: it may start before its identity holds those roles (Key Vault reference, host storage); pass it %s.outputs.<the identity>", app.Symbol, g.Symbol, g.Symbol)
			}
		}
	}
}

// readsOutputOf reports whether n reads symbol.outputs.NAME.
func readsOutputOf(n *Node, symbol string) bool {
	found := false
	n.walk(func(c *Node) bool {
		if c.Type == "member_expression" && len(c.Children) == 2 && c.Children[1].Text == "outputs" &&
			c.Children[0].Type == "identifier" && c.Children[0].Text == symbol {
			found = true
		}
		return !found
	})
	return found
}
