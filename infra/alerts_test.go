package infra_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
	"github.com/b2c-functions-go/b2c-functions-go/infra/check"
)

// TestSignInAlertReadsTheHandlersLog: the sign-in failure alert's query
// (infra/modules/alerts.bicep) matches what the handler logs. KQL's
// extract() takes RE2, Go's syntax, so the query's own pattern is run here
// over every kind of auth.Failure as the handler logs it; the kinds the
// query names must be kinds of the auth package.
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
	if !strings.Contains(string(src), `"request failed", "status"`) || !strings.Contains(query, "tostring(line.msg) == "+msg) {
		t.Errorf("the query must select the handler's %s lines (handlers/errors.go renderError)", msg)
	}

	m := regexp.MustCompile(`extract\(@"((?:[^"]|"")*)", 1, tostring\(line\.err\)\)`).FindStringSubmatch(query)
	if m == nil {
		t.Fatal(`the query extracts no kind: want extract(@"...", 1, tostring(line.err))`)
	}
	kindRE, err := regexp.Compile(m[1])
	if err != nil {
		t.Fatalf("the query's pattern %q is not RE2: %v", m[1], err)
	}
	kinds := map[string]bool{}
	for k := auth.Kind(0); !strings.HasPrefix(k.String(), "Kind("); k++ {
		kinds[k.String()] = true
		for _, f := range []*auth.Failure{
			{Kind: k},
			{Kind: k, Err: errors.New("cause: with a colon")},
			{Kind: k, Code: "AADB2C90091", Err: errors.New("cause")},
		} {
			got := kindRE.FindStringSubmatch(f.Error())
			if got == nil || strings.TrimSpace(got[1]) != k.String() {
				t.Errorf("%q: the query reads kind %q, want %q", f.Error(), got, k.String())
			}
		}
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
