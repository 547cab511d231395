package handlers

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
)

// kinds enumerates every auth.Kind: from 0 until String gives the
// fallback "Kind(n)", so a Kind added to auth/failure.go is tested (and must
// get copy) without editing this file.
func kinds(t *testing.T) []auth.Kind {
	t.Helper()
	var ks []auth.Kind
	for k := auth.Kind(0); k.String() != fmt.Sprintf("Kind(%d)", int(k)); k++ {
		if k.String() == "" {
			t.Errorf("auth.Kind %d has no name", int(k))
		}
		ks = append(ks, k)
	}
	if len(ks) == 0 || ks[0] != auth.Internal || ks[len(ks)-1] < auth.Misconfigured {
		t.Fatalf("kinds %v do not run from Internal to at least Misconfigured", ks)
	}
	// A constant added without a name would end the loop early: count
	// the constants declared in auth/failure.go too.
	if declared := declaredKinds(t); len(declared) != len(ks) {
		t.Fatalf("auth/failure.go declares %d Kinds %v, but only %d have a name", len(declared), declared, len(ks))
	}
	return ks
}

// declaredKinds lists the constants of the const block of type Kind in
// auth/failure.go.
func declaredKinds(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join("..", "auth", "failure.go"), nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST || len(g.Specs) == 0 {
			continue
		}
		if first, ok := g.Specs[0].(*ast.ValueSpec); !ok || first.Type == nil || fmt.Sprint(first.Type) != "Kind" {
			continue
		}
		for _, s := range g.Specs {
			for _, n := range s.(*ast.ValueSpec).Names {
				names = append(names, n.Name)
			}
		}
	}
	if len(names) == 0 {
		t.Fatal("no const block of type Kind in auth/failure.go")
	}
	return names
}

// renderFailure renders err with the app's ErrorHandler, as the auth
// package does.
func renderFailure(app *testApp, err error) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	app.web.RenderError(rec, httptest.NewRequest("GET", "/getAToken?state=x", nil), err)
	return rec
}

func TestRenderErrorEveryKind(t *testing.T) {
	app := newApp(t, appOptions{})
	all := kinds(t)
	for _, k := range all {
		t.Run(k.String(), func(t *testing.T) {
			want, ok := failureCopy[k]
			switch {
			case k == auth.Internal:
				if ok {
					t.Errorf("Internal has copy of its own %q; it is meant to read as the generic error", want.Title)
				}
				want = internalError
			case !ok:
				t.Fatalf("auth.%v has no copy in failureCopy", k)
			}
			if want.Title == "" || want.Detail == "" {
				t.Errorf("copy for %v lacks a title or a detail: %+v", k, want)
			}
			app.log.Reset()
			rec := renderFailure(app, &auth.Failure{Kind: k})
			body := rec.Body.String()

			if rec.Code != k.Status() {
				t.Errorf("status %d, want %d", rec.Code, k.Status())
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q, want an HTML page", ct)
			}
			if title, _ := textOf(body, "error-title"); title != want.Title {
				t.Errorf("error-title %q, want %q", title, want.Title)
			}
			if detail, _ := textOf(body, "error-detail"); detail != want.Detail {
				t.Errorf("error-detail %q, want %q", detail, want.Detail)
			}
			again, hasAgain := textOf(body, "sign-in-again")
			if hasAgain != want.SignInAgain {
				t.Errorf("sign-in-again link present = %v, want %v", hasAgain, want.SignInAgain)
			}
			if hasAgain && (again != "Sign in again" || !strings.Contains(body, `id="sign-in-again" href="/login"`)) {
				t.Errorf("sign-in-again link %q does not lead to /login:\n%s", again, body)
			}
			wantRetry := ""
			if rec.Code == http.StatusServiceUnavailable {
				wantRetry = "5"
			}
			if got := rec.Header().Get("Retry-After"); got != wantRetry {
				t.Errorf("Retry-After %q, want %q", got, wantRetry)
			}
			for _, id := range []string{"error-code", "error-description"} {
				if _, ok := textOf(body, id); ok {
					t.Errorf("a failure without Code and Description shows %s", id)
				}
			}
			// One log line, at error level for a server-side failure.
			lines := byMsg(app.log.Lines(t), "request failed")
			wantLevel := "INFO"
			if k.Status() >= 500 {
				wantLevel = "ERROR"
			}
			if len(lines) != 1 || lines[0]["level"] != wantLevel || lines[0]["status"] != float64(k.Status()) {
				t.Errorf("log lines %v, want one at %s with status %d", lines, wantLevel, k.Status())
			}
		})
	}
	// No copy for a Kind that does not exist: a stale entry hides a rename.
	for k := range failureCopy {
		if int(k) < 0 || int(k) >= len(all) {
			t.Errorf("failureCopy words %v, which is no auth.Kind", k)
		}
	}
}

func TestRenderErrorProviderError(t *testing.T) {
	app := newApp(t, appOptions{})
	tests := []struct {
		name, code, description string
		wantEscaped             string
	}{
		{"markup in the description", "AADB2C90080", "AADB2C90080: The provided grant has expired. <b>x</b>", "&lt;b&gt;x&lt;/b&gt;"},
		{"markup in the code", `<i>y</i>`, "access_denied", "&lt;i&gt;y&lt;/i&gt;"},
		{"script in the description", "server_error", `<script>alert("x")</script>`, "&lt;script&gt;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := renderFailure(app, &auth.Failure{Kind: auth.ProviderError, Code: tt.code, Description: tt.description})
			body := rec.Body.String()
			if rec.Code != http.StatusBadRequest {
				t.Errorf("status %d, want 400", rec.Code)
			}
			if title, _ := textOf(body, "error-title"); title != failureCopy[auth.ProviderError].Title {
				t.Errorf("error-title %q", title)
			}
			if code, _ := textOf(body, "error-code"); code != tt.code {
				t.Errorf("error-code %q, want %q", code, tt.code)
			}
			if d, _ := textOf(body, "error-description"); d != tt.description {
				t.Errorf("error-description %q, want %q", d, tt.description)
			}
			if !strings.Contains(body, tt.wantEscaped) {
				t.Errorf("page lacks the escaped markup %q:\n%s", tt.wantEscaped, body)
			}
			for _, raw := range []string{"<b>", "<i>", "<script"} {
				if strings.Contains(body, raw) {
					t.Errorf("page holds raw markup %q from B2C:\n%s", raw, body)
				}
			}
			if _, ok := textOf(body, "sign-in-again"); !ok {
				t.Error("no sign-in-again link")
			}
		})
	}
}

// The operator's mistake is in the log, never on the page; so is any cause.
func TestRenderErrorHidesCause(t *testing.T) {
	const secret = "s3cr3t-Cl1ent-Secr3t~value"
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantTitle  string
	}{
		{"misconfigured", &auth.Failure{Kind: auth.Misconfigured, Err: fmt.Errorf("Config.ClientSecret %s was refused", secret)}, 500, "This site is misconfigured"},
		{"wrapped misconfigured", fmt.Errorf("calling B2C: %w", &auth.Failure{Kind: auth.Misconfigured, Err: errors.New(secret)}), 500, "This site is misconfigured"},
		{"plain error", errors.New("database password " + secret), 500, "Something went wrong"},
		{"wrapped auth failure", fmt.Errorf("saving: %w", &auth.Failure{Kind: auth.StorageBusy, Err: errors.New(secret)}), 503, "Busy"},
		{"page error with a cause", apiFailed(errors.New("API said " + secret)), 502, "API call failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newApp(t, appOptions{})
			rec := renderFailure(app, tt.err)
			body := rec.Body.String()
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if title, _ := textOf(body, "error-title"); title != tt.wantTitle {
				t.Errorf("error-title %q, want %q", title, tt.wantTitle)
			}
			for _, leak := range []string{secret, "ClientSecret", "database", "API said"} {
				if strings.Contains(body, leak) {
					t.Errorf("the page shows the cause's %q:\n%s", leak, body)
				}
			}
			lines := byMsg(app.log.Lines(t), "request failed")
			if len(lines) != 1 {
				t.Fatalf("log lines %v, want one \"request failed\"", lines)
			}
			if cause, _ := lines[0]["err"].(string); !strings.Contains(cause, secret) {
				t.Errorf("the log line's err %q lacks the cause", cause)
			}
			if lines[0]["level"] != "ERROR" {
				t.Errorf("level %v, want ERROR", lines[0]["level"])
			}
		})
	}
}

// Safari's Secure-cookie trouble on http://localhost is advice for a
// developer only.
func TestRenderErrorBindingMissingAdvice(t *testing.T) {
	tests := []struct {
		localhost  bool
		wantAdvice bool
	}{
		{localhost: false, wantAdvice: false},
		{localhost: true, wantAdvice: true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("localhost=%v", tt.localhost), func(t *testing.T) {
			app := newApp(t, appOptions{localhost: tt.localhost})
			rec := renderFailure(app, &auth.Failure{Kind: auth.BindingMissing})
			detail, _ := textOf(rec.Body.String(), "error-detail")
			want := failureCopy[auth.BindingMissing].Detail
			if tt.wantAdvice {
				want += localDevelopment
			}
			if detail != want {
				t.Errorf("error-detail %q, want %q", detail, want)
			}
			if got := strings.Contains(detail, "Safari"); got != tt.wantAdvice {
				t.Errorf("Safari advice shown = %v, want %v", got, tt.wantAdvice)
			}
			if rec.Code != http.StatusBadRequest {
				t.Errorf("status %d, want 400", rec.Code)
			}
		})
	}
	// The advice is added to a copy: the shared copy stays as it was.
	if strings.Contains(failureCopy[auth.BindingMissing].Detail, "Safari") {
		t.Error("rendering changed failureCopy")
	}
}

// New's Server renders errors before Handler gives it a sign-in service,
// and a Deps without a logger or an API client gets working defaults.
func TestRenderErrorBeforeHandler(t *testing.T) {
	web, err := New(Deps{})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	web.RenderError(rec, httptest.NewRequest("GET", "/", nil), &auth.Failure{Kind: auth.Misconfigured})
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	if title, _ := textOf(rec.Body.String(), "error-title"); title != "This site is misconfigured" {
		t.Fatalf("error-title %q", title)
	}
}
