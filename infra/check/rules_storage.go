package check

import (
	"regexp"
	"strings"
)

// Rules about storage accounts and their keys.

func ruleStorageSharedKey(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Storage/storageAccounts") {
		if !isBool(prop(r.Body, "properties", "allowSharedKeyAccess"), false) {
			report(r.Line, "storage account %s must set properties.allowSharedKeyAccess: false (Entra ID only; account keys allow everything)", r.Symbol)
		}
	}
}

func ruleStorageHardening(_ *Set, t *template, report reporter) {
	for _, r := range t.deployed("Microsoft.Storage/storageAccounts") {
		if !isBool(prop(r.Body, "properties", "allowBlobPublicAccess"), false) {
			report(r.Line, "storage account %s must set properties.allowBlobPublicAccess: false", r.Symbol)
		}
		if !IsString(prop(r.Body, "properties", "minimumTlsVersion"), "TLS1_2", "TLS1_3") {
			report(r.Line, "storage account %s must set properties.minimumTlsVersion: 'TLS1_2'", r.Symbol)
		}
		if isBool(prop(r.Body, "properties", "supportsHttpsTrafficOnly"), false) {
			report(r.Line, "storage account %s allows plain HTTP", r.Symbol)
		}
	}
	for _, r := range t.deployed("Microsoft.Storage/storageAccounts/blobServices/containers") {
		if a := prop(r.Body, "properties", "publicAccess"); a != nil && !IsString(a, "None") {
			report(r.Line, "container %s must not allow public access", r.Symbol)
		}
	}
}

var keyInString = regexp.MustCompile(`(?i)(AccountKey|SharedAccessSignature|SharedAccessKey)=`)

func ruleListKeys(_ *Set, t *template, report reporter) {
	t.Root.walk(func(n *Node) bool {
		switch n.Type {
		case "call_expression":
			if name := callName(n); strings.HasPrefix(name, "list") {
				report(n.Line, "%s() reads keys or secrets into the deployment; use identities (and Key Vault references)", name)
			}
		case "string":
			if keyInString.MatchString(n.Text) {
				report(n.Line, "a connection string with a key or SAS: %s", n.Text)
			}
		}
		return true
	})
}
