package check

import (
	"regexp"
	"slices"
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

// ruleRoleName: a role assignment's name is guid(scope, principal, role)
// ("Create Azure RBAC resources by using Bicep", Name: the scope, principal
// ID and role definition ID). With the principal in the name, an identity
// deleted and created again under the same resource ID gets new
// assignments; named over the resource ID, the old name now carries
// another principal, and ARM refuses the update
// (RoleAssignmentUpdateNotPermitted). The principal must be known when the
// deployment starts (BCP120): a parameter, or an existing identity's
// principalId, never the principalId of an identity this file creates.
func ruleRoleName(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Authorization/roleAssignments") {
		name := prop(r.Body, "name")
		if callName(name) != "guid" {
			report(r.Line, "role assignment %s: name must be guid(scope.id, principal ID, role ID)", r.Symbol)
			continue
		}
		args := callArgs(name)
		has := func(n *Node) bool {
			return n != nil && slices.ContainsFunc(args, func(a *Node) bool { return a.Text == n.Text })
		}
		if scope := prop(r.Body, "scope"); scope != nil && scope.Type == "identifier" {
			if !slices.ContainsFunc(args, func(a *Node) bool { return a.Text == scope.Text+".id" }) {
				report(r.Line, "role assignment %s: guid() must include its scope's ID (%s.id)", r.Symbol, scope.Text)
			}
		}
		principal := prop(r.Body, "properties", "principalId")
		if !has(principal) {
			report(r.Line, "role assignment %s: guid() must include the principal it grants (%s): an identity created again under the same resource ID keeps a name that now carries another principal, and ARM refuses the update", r.Symbol, textOf(principal))
		} else if created := t.createdPrincipal(principal); created != "" {
			report(r.Line, "role assignment %s: guid() over %s, whose principalId is unknown at the start of the deployment (BCP120): pass the principal ID in as a module parameter", r.Symbol, created)
		}
		def := prop(r.Body, "properties", "roleDefinitionId")
		role := def
		if callName(def) != "" && len(callArgs(def)) > 0 {
			role = callArgs(def)[len(callArgs(def))-1]
		}
		if !has(def) && !has(role) {
			report(r.Line, "role assignment %s: guid() must include the role (%s)", r.Symbol, textOf(role))
		}
	}
}

// createdPrincipal names the resource or module this file deploys whose
// principal n reads (identity.properties.principalId, m.outputs.…), or "".
func (t *template) createdPrincipal(n *Node) string {
	for _, ref := range references(n) {
		for _, r := range t.Resources {
			if r.Symbol == ref && !r.Existing {
				return ref
			}
		}
		for _, m := range t.Modules {
			if m.Symbol == ref {
				return ref
			}
		}
	}
	return ""
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
