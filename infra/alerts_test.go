package infra_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
)

// TestSignInAlertReadsTheHandlersLog: the sign-in failure alert's query
// (infra/modules/alerts.bicep) matches what the handler logs: its "request
// failed" lines, counted by their kind field; the kinds the query names must
// be kinds of the auth package.
func TestSignInAlertReadsTheHandlersLog(t *testing.T) {
	query, ok := infra(t).StringVar("infra/modules/alerts.bicep", "signInFailureQuery")
	if !ok {
		t.Fatal("infra/modules/alerts.bicep has no literal signInFailureQuery")
	}
	src := readRepoFile(t, "handlers", "errors.go")
	const msg = `"request failed"`
	if !strings.Contains(string(src), `"request failed", attrs...`) || !strings.Contains(query, "tostring(line.msg) == "+msg) {
		t.Errorf("the query must select the handler's %s lines (handlers/errors.go renderError)", msg)
	}

	// The kind is a field of its own, as the handler logs it.
	if !strings.Contains(string(src), `"kind", f.Kind.String()`) || !strings.Contains(query, "kind = tostring(line.kind)") {
		t.Error("the query must read the kind from the line's kind field, which handlers/errors.go renderError logs as f.Kind.String()")
	}
	kinds := map[string]bool{}
	for k := auth.Kind(0); !strings.HasPrefix(k.String(), "Kind("); k++ {
		kinds[k.String()] = true
	}
	for _, named := range regexp.MustCompile(`kind == "([^"]+)"`).FindAllStringSubmatch(query, -1) {
		if !kinds[named[1]] {
			t.Errorf("the query names kind %q, which auth does not have", named[1])
		}
	}
	if !strings.Contains(query, `kind == "`+auth.Misconfigured.String()+`"`) {
		t.Errorf("a misconfiguration (%q) must page at the first failure", auth.Misconfigured.String())
	}
}

// TestMonitoringDocListsTheAlerts: the "Monitoring and alerts" table of
// docs/operations.md names exactly the alerts the templates deploy (metric and log
// alerts, and the Key Vault event subscription), with ${siteName} shown as
// <app> and the secret's name resolved.
func TestMonitoringDocListsTheAlerts(t *testing.T) {
	root := moduleRoot(t)
	read := func(rel string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// deployed maps each alert to what its signal column must say.
	deployed := map[string]string{}
	signal := map[string]string{"metricAlerts": "availability test", "scheduledQueryRules": "log query"}
	alertRE := regexp.MustCompile(`(?m)^resource \w+ 'Microsoft\.Insights/(metricAlerts|scheduledQueryRules)@[^']+' = \{\n\s+name: '([^']+)'`)
	for _, m := range alertRE.FindAllStringSubmatch(read("infra/modules/alerts.bicep"), -1) {
		deployed[strings.ReplaceAll(m[2], "${siteName}", "<app>")] = signal[m[1]]
	}
	secret, ok := infra(t).StringVar("infra/main.bicep", "clientSecretName")
	if !ok || !strings.Contains(read("infra/modules/keyvault.bicep"), "name: '${clientSecretName}-expiry'") {
		t.Fatal("keyvault.bicep no longer names its near-expiry subscription ${clientSecretName}-expiry from main.bicep's clientSecretName")
	}
	deployed[secret+"-expiry"] = "SecretNearExpiry"
	if len(deployed) < 4 {
		t.Fatalf("found only %v in the templates: the pattern no longer matches them", deployed)
	}

	doc := read("docs/operations.md")
	start := strings.Index(doc, "\n## Monitoring and alerts\n")
	if start < 0 {
		t.Fatal(`docs/operations.md has no "## Monitoring and alerts"`)
	}
	section := doc[start+1:]
	if end := strings.Index(section, "\n#"); end >= 0 {
		section = section[:end]
	}
	listed := map[string]string{} // alert → its signal column
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\| ([^|]+) \\|").FindAllStringSubmatch(section, -1) {
		listed[m[1]] = m[2]
	}
	for name, want := range deployed {
		got, ok := listed[name]
		switch {
		case !ok:
			t.Errorf("the templates deploy alert %s, which the monitoring table of docs/operations.md does not list", name)
		case !strings.Contains(got, want):
			t.Errorf("the monitoring table of docs/operations.md gives %s the signal %q, which does not say %q, as the template's alert is", name, got, want)
		}
	}
	for name := range listed {
		if _, ok := deployed[name]; !ok {
			t.Errorf("the monitoring table of docs/operations.md lists %s, which the templates do not deploy", name)
		}
	}
}
