package infra_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
	"github.com/b2c-functions-go/b2c-functions-go/infra/check"
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
	root, err := check.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, "handlers", "errors.go"))
	if err != nil {
		t.Fatal(err)
	}
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
