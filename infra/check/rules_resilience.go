package check

import "slices"

// Rules about locks and zone redundancy.

// locked are the types that hold what a deletion would lose.
var locked = []string{"Microsoft.KeyVault/vaults", "Microsoft.Storage/storageAccounts"}

func ruleResourceLock(s *Set, t *template, report reporter) {
	mods, templates := s.composed(t)
	for i, mt := range templates {
		for _, typ := range locked {
			for _, r := range mt.deployed(typ) {
				if !slices.ContainsFunc(mt.scopedTo("Microsoft.Authorization/locks", r), func(l *resource) bool {
					return IsString(prop(l.Body, "properties", "level"), "CanNotDelete")
				}) {
					report(mods[i].Line, "module %s: %s (%s) can be deleted with everything in it: add a Microsoft.Authorization/locks with scope: %s and level 'CanNotDelete' (conditional on a parameter for production)", mods[i].Symbol, r.ref(), r.Type, r.ref())
				}
			}
		}
	}
}

func ruleZoneRedundancy(_ *Set, t *template, report reporter) {
	if !t.IsParams {
		return
	}
	values := map[string]*assignment{}
	for _, a := range t.Assignments {
		values[a.Name] = a
	}
	zr, ok := values["zoneRedundant"]
	if !ok || !isBool(zr.Value, true) {
		return
	}
	if sku, ok := values["storageSku"]; !ok || !IsString(sku.Value, "Standard_ZRS") {
		report(zr.Line, "zoneRedundant = true needs storageSku = 'Standard_ZRS': Flex Consumption zone redundancy requires zone-redundant storage")
	}
	if n, ok := values["alwaysReadyInstances"]; !ok || !atLeast(n.Value, 2) {
		report(zr.Line, "zoneRedundant = true keeps at least 2 always-ready instances, billed: set alwaysReadyInstances = 2 or more so the file says what it costs")
	}
}
