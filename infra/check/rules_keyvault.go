package check

// Rules about Key Vault.

func rulePurgeProtection(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.KeyVault/vaults") {
		v := prop(r.Body, "properties", "enablePurgeProtection")
		ok := v == nil || isBool(v, true) || v.Type == "null"
		if v != nil && v.Type == "ternary_expression" && len(v.Children) == 3 {
			ok = true
			for _, branch := range v.Children[1:] {
				if !(isBool(branch, true) || branch.Type == "null") {
					ok = false
				}
			}
		}
		if !ok {
			report(r.Line, "vault %s: enablePurgeProtection %q can be false, which the service rejects; emit true or null (cond ? true : null)", r.Symbol, v.Text)
		}
	}
}

func ruleKeyVaultRBAC(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.KeyVault/vaults") {
		if !isBool(prop(r.Body, "properties", "enableRbacAuthorization"), true) {
			report(r.Line, "vault %s must set enableRbacAuthorization: true", r.Symbol)
		}
		if prop(r.Body, "properties", "accessPolicies") != nil {
			report(r.Line, "vault %s: access policies bypass RBAC; remove them", r.Symbol)
		}
		if !isBool(prop(r.Body, "properties", "enableSoftDelete"), true) {
			report(r.Line, "vault %s must set enableSoftDelete: true", r.Symbol)
		}
	}
}

func ruleVaultRecovery(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.KeyVault/vaults") {
		if v := prop(r.Body, "properties", "createMode"); v == nil || isLiteral(v) {
			report(r.Line, "vault %s: properties.createMode must come from a parameter ('default', or 'recover' to bring back a deleted vault of the same name)", r.Symbol)
		}
	}
}

func ruleGetSecret(_ *Set, t *template, report reporter) {
	t.Root.walk(func(n *Node) bool {
		if callName(n) == "getSecret" {
			report(n.Line, "getSecret() is circular on a vault this deployment creates, and passes a secret around; use a Key Vault reference in the app setting")
		}
		return true
	})
}
