package check

import (
	"cmp"
	"slices"
	"strings"
)

// Rules about the function app: the site, Flex Consumption, its app settings and Application Insights.

func ruleHTTPSOnly(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Web/sites") {
		if !isBool(prop(r.Body, "properties", "httpsOnly"), true) {
			report(r.Line, "site %s must set properties.httpsOnly: true", r.Symbol)
		}
	}
}

func ruleSiteTLS(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Web/sites") {
		sc := prop(r.Body, "properties", "siteConfig")
		if !IsString(prop(sc, "minTlsVersion"), "1.2", "1.3") {
			report(r.Line, "site %s must set siteConfig.minTlsVersion: '1.2'", r.Symbol)
		}
		if v := prop(sc, "scmMinTlsVersion"); v != nil && !IsString(v, "1.2", "1.3") {
			report(r.Line, "site %s: siteConfig.scmMinTlsVersion below 1.2", r.Symbol)
		}
	}
}

func ruleFlexSiteProperties(_ *Set, t *template, report reporter) {
	check := func(obj *Node, where string) {
		for _, p := range props(obj) {
			for _, bad := range flexUnsupportedSiteProperties {
				if strings.EqualFold(p.Key, bad) {
					report(p.Line, "%s.%s: Flex Consumption does not support it (flexUnsupportedSiteProperties)", where, p.Key)
				}
			}
		}
	}
	for _, r := range t.deployed("Microsoft.Web/sites") {
		check(prop(r.Body, "properties"), "site "+r.Symbol+": properties")
		check(prop(r.Body, "properties", "siteConfig"), "site "+r.Symbol+": properties.siteConfig")
	}
	for _, r := range t.deployed("Microsoft.Web/sites/config") {
		if IsString(prop(r.Body, "name"), "web") {
			check(prop(r.Body, "properties"), "config "+r.Symbol+": properties")
		}
	}
}

func ruleFlexConsumption(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Web/serverfarms") {
		if !IsString(prop(r.Body, "sku", "name"), "FC1") || !IsString(prop(r.Body, "sku", "tier"), "FlexConsumption") {
			report(r.Line, "plan %s must be Flex Consumption: sku { name: 'FC1', tier: 'FlexConsumption' }", r.Symbol)
		}
		if !isBool(prop(r.Body, "properties", "reserved"), true) {
			report(r.Line, "plan %s must be Linux: properties.reserved: true", r.Symbol)
		}
	}
	for _, r := range t.deployed("Microsoft.Web/sites") {
		if !IsString(prop(r.Body, "kind"), "functionapp,linux") {
			report(r.Line, "site %s must be kind 'functionapp,linux'", r.Symbol)
		}
		cfg := prop(r.Body, "properties", "functionAppConfig")
		if !IsString(prop(cfg, "runtime", "name"), "custom") || !IsString(prop(cfg, "runtime", "version"), "1.0") {
			report(r.Line, "site %s must run a custom handler: functionAppConfig.runtime { name: 'custom', version: '1.0' }", r.Symbol)
		}
		st := prop(cfg, "deployment", "storage")
		if !IsString(prop(st, "type"), "blobContainer") || !IsString(prop(st, "authentication", "type"), "UserAssignedIdentity") || prop(st, "authentication", "userAssignedIdentityResourceId") == nil {
			report(r.Line, "site %s: deployment storage must be a blob container reached with the user-assigned identity", r.Symbol)
		}
		for _, k := range []string{"instanceMemoryMB", "maximumInstanceCount", "alwaysReady"} {
			v := prop(cfg, "scaleAndConcurrency", k)
			if v == nil || isLiteral(v) {
				report(r.Line, "site %s: functionAppConfig.scaleAndConcurrency.%s must come from a parameter", r.Symbol, k)
			}
		}
	}
}

func ruleFlexAppSettings(_ *Set, t *template, report reporter) {
	settings, _ := appSettings(t)
	for _, s := range settings {
		for _, bad := range flexRejectedSettings {
			if strings.EqualFold(s.Name, bad) {
				report(s.Line, "app setting %s is rejected or ignored on Flex Consumption", s.Name)
			}
		}
	}
}

func ruleHostStorageIdentity(_ *Set, t *template, report reporter) {
	settings, errs := appSettings(t)
	for _, err := range errs {
		report(0, "%v", err)
	}
	byName := map[string]AppSetting{}
	for _, s := range settings {
		byName[s.Name] = s
		if strings.EqualFold(s.Name, "AzureWebJobsStorage") {
			report(s.Line, "AzureWebJobsStorage is a connection string with an account key; use AzureWebJobsStorage__accountName/__credential/__clientId")
		}
	}
	if _, ok := byName["AzureWebJobsStorage__accountName"]; !ok {
		return
	}
	if s := byName["AzureWebJobsStorage__credential"]; !IsString(s.Value, "managedidentity") {
		report(s.Line, "AzureWebJobsStorage__credential must be 'managedidentity'")
	}
	if _, ok := byName["AzureWebJobsStorage__clientId"]; !ok {
		report(0, "AzureWebJobsStorage__clientId missing: the host would look for a system-assigned identity")
	}
}

func secretName(name string) bool {
	if _, ok := notSecretSettings[name]; ok {
		return false
	}
	words := strings.FieldsFunc(strings.ToUpper(name), func(r rune) bool { return r == '_' })
	n := len(words)
	return n > 0 && (secretWords[words[n-1]] || (n > 1 && words[n-2] == "CONNECTION" && words[n-1] == "STRING"))
}

func ruleSecretAppSetting(_ *Set, t *template, report reporter) {
	settings, _ := appSettings(t)
	secure := map[string]bool{}
	for _, p := range t.Params {
		if p.secure() {
			secure[p.Name] = true
		}
	}
	for _, s := range settings {
		if secretName(s.Name) && !IsKeyVaultReference(s.Value) {
			report(s.Line, "app setting %s holds a secret: make it a Key Vault reference '@Microsoft.KeyVault(SecretUri=...)'", s.Name)
		}
		for _, ref := range references(s.Value) {
			if secure[ref] {
				report(s.Line, "app setting %s carries the @secure() parameter %s in plain text; store it in Key Vault and reference it", s.Name, ref)
			}
		}
	}
}

func ruleIdentityProvider(_ *Set, t *template, report reporter) {
	settings, _ := appSettings(t)
	var first, provider *AppSetting
	for i, s := range settings {
		if strings.HasPrefix(s.Name, "B2C_") && first == nil {
			first = &settings[i]
		}
		if s.Name == "IDENTITY_PROVIDER" {
			provider = &settings[i]
		}
	}
	if first == nil {
		return // not the handler's app settings
	}
	if provider == nil {
		report(first.Line, "the handler's app settings (%s, ...) lack IDENTITY_PROVIDER: the handler then takes the tenant for B2C whatever it is; set IDENTITY_PROVIDER to the template's identityProvider parameter", first.Name)
		return
	}
	if len(provider.When) > 0 {
		report(provider.Line, "IDENTITY_PROVIDER is set under a condition (%s): set it for every kind of tenant", provider.When[0].Test.Text)
	}
	// What IDENTITY_PROVIDER says: a parameter, or one kind for good.
	param := ""
	switch v := t.resolveVar(provider.Value); {
	case v != nil && v.Type == "identifier" && t.param(v.Text) != nil:
		param = v.Text
		allowed := t.param(param).Decorators["allowed"]
		var values []string
		for _, a := range callArgs(allowed) {
			for _, e := range a.Children {
				if v, ok := stringValue(e); ok {
					values = append(values, v)
				}
			}
		}
		slices.Sort(values)
		if !slices.Equal(values, []string{"b2c", "external-id"}) {
			report(provider.Line, "IDENTITY_PROVIDER comes from parameter %s, which must be @allowed(['b2c', 'external-id']): the handler refuses anything else at start-up", param)
		}
	case IsString(v, "b2c"):
		return // a B2C-only template: its user flows are its own
	case IsString(v, "external-id"):
		// param stays "": a user-flow setting under no condition is set.
	default:
		report(provider.Line, "IDENTITY_PROVIDER is %s: make it a parameter (@allowed b2c, external-id) or one of 'b2c', 'external-id'", textOf(provider.Value))
		return
	}
	for _, s := range settings {
		if !slices.Contains(externalIDRefusedSettings, s.Name) {
			continue
		}
		set, err := s.SetWhen(param, "external-id")
		switch {
		case err != nil:
			report(s.Line, "%s: %v; set it for b2c only, in %s == 'b2c' ? { ... } : {}", s.Name, err, cmp.Or(param, "identityProvider"))
		case set:
			report(s.Line, "%s is set when IDENTITY_PROVIDER is external-id, whose user flow is attached to the app registration: the handler refuses to start; set it for b2c only, in %s == 'b2c' ? { ... } : {}", s.Name, cmp.Or(param, "identityProvider"))
		}
	}
}

func ruleKeyVaultReferenceIdentity(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Web/sites") {
		idType, _ := stringValue(prop(r.Body, "identity", "type"))
		if strings.Contains(idType, "UserAssigned") && prop(r.Body, "properties", "keyVaultReferenceIdentity") == nil {
			report(r.Line, "site %s has a user-assigned identity but no keyVaultReferenceIdentity: Key Vault references would use a system-assigned identity", r.Symbol)
		}
	}
}

func ruleAppInsightsEntra(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Insights/components") {
		if !isBool(prop(r.Body, "properties", "DisableLocalAuth"), true) {
			report(r.Line, "Application Insights %s must set DisableLocalAuth: true (Entra ID ingestion only)", r.Symbol)
		}
		if prop(r.Body, "properties", "WorkspaceResourceId") == nil {
			report(r.Line, "Application Insights %s must be workspace-based (WorkspaceResourceId)", r.Symbol)
		}
	}
	settings, _ := appSettings(t)
	for _, s := range settings {
		if s.Name == "APPLICATIONINSIGHTS_AUTHENTICATION_STRING" && !strings.Contains(s.Value.Text, "Authorization=AAD") {
			report(s.Line, "APPLICATIONINSIGHTS_AUTHENTICATION_STRING must be 'ClientId=<id>;Authorization=AAD'")
		}
	}
}

// azdServiceTag is the tag azd deploys a service to. azd before 1.23.4
// refuses a service whose tag two resources carry ("expecting only '1'
// resource tagged"), and a plan tagged like its site is the usual second one.
const azdServiceTag = "'azd-service-name'"

func ruleAzdServiceTag(_ *Set, t *template, report reporter) {
	tagged := func(n *Node) bool {
		return slices.ContainsFunc(t.expand(n), func(n *Node) bool { return strings.Contains(textOf(n), azdServiceTag) })
	}
	for _, r := range t.Resources {
		if !strings.EqualFold(r.Type, "Microsoft.Web/sites") && tagged(prop(r.Body, "tags")) {
			report(r.Line, "resource %s (%s) carries the azd-service-name tag: only the site may, or azd finds two resources for the service", r.Symbol, r.Type)
		}
	}
	for _, m := range t.Modules {
		if tagged(prop(m.Body, "params", "tags")) {
			report(m.Line, "module %s is passed the azd-service-name tag in its tags, which it may put on every resource it deploys: pass the service's name on its own for the site alone", m.Symbol)
		}
	}
}
