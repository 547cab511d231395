package handlers

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
)

// styleHash is the CSP source of templates/style.css, computed here from
// the file on disk.
func styleHash(t *testing.T) string {
	t.Helper()
	css, err := os.ReadFile("templates/style.css")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(css)
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// directives splits a Content-Security-Policy into its directives.
func directives(csp string) map[string]string {
	d := map[string]string{}
	for part := range strings.SplitSeq(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(part), " ")
		if name != "" {
			d[name] = strings.TrimSpace(value)
		}
	}
	return d
}

var inlineStyle = regexp.MustCompile(`(?s)<style>(.*?)</style>`)

// Every answer, page or not, error or not, carries the security headers.
// Strict-Transport-Security goes with an https origin only: on
// http://localhost it would pin a developer's browser to https.
func TestStrictTransportSecurity(t *testing.T) {
	for _, https := range []bool{true, false} {
		app := newApp(t, appOptions{https: https})
		for _, path := range []string{"/", "/healthz", "/no-such-page"} {
			got := app.serve(httptest.NewRequest("GET", path, nil)).Header().Get("Strict-Transport-Security")
			if want := map[bool]string{true: "max-age=31536000", false: ""}[https]; got != want {
				t.Errorf("https origin %v, GET %s: Strict-Transport-Security %q, want %q", https, path, got, want)
			}
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	app := newApp(t, appOptions{})
	hash := styleHash(t)
	crossSite := func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }
	visitor := func(r *http.Request) { r.Host = "app.example.com" }
	tests := []struct {
		method, path string
		prepare      func(*http.Request)
		wantStatus   int
		html         bool
	}{
		{"GET", "/", nil, 200, true},
		{"GET", "/anonymous", nil, 200, true},
		{"GET", "/logout", nil, 200, true},
		{"GET", "/healthz", nil, 200, false},
		{"GET", "/readyz", nil, 503, false},
		{"GET", "/no-such-page", nil, 404, true},
		{"GET", "/graphcall", nil, 302, false},
		{"GET", "/private", nil, 302, false},
		{"GET", "/getAToken", nil, 400, true},
		{"GET", "/login", nil, 502, true}, // B2C unreachable
		{"POST", "/logout", crossSite, 403, false},
		{"POST", "/sweep", visitor, 404, true},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.prepare != nil {
				tt.prepare(req)
			}
			rec := app.serve(req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d\n%s", rec.Code, tt.wantStatus, rec.Body)
			}
			h := rec.Header()
			for name, want := range map[string]string{
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "no-referrer",
				"Cache-Control":          "no-store",
			} {
				if got := h.Values(name); len(got) != 1 || got[0] != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			csp := directives(h.Get("Content-Security-Policy"))
			for name, want := range map[string]string{
				"default-src":     "'none'",
				"style-src":       hash,
				"frame-ancestors": "'none'",
				"base-uri":        "'none'",
			} {
				if csp[name] != want {
					t.Errorf("CSP %s = %q, want %q (CSP %q)", name, csp[name], want, h.Get("Content-Security-Policy"))
				}
			}
			if _, ok := csp["script-src"]; ok {
				t.Errorf("CSP allows scripts: %q", h.Get("Content-Security-Policy"))
			}
			if !tt.html {
				return
			}
			// The browser hashes the style block as served: it must be
			// the file, byte for byte, or the page shows unstyled.
			m := inlineStyle.FindAllStringSubmatch(rec.Body.String(), -1)
			if len(m) != 1 {
				t.Fatalf("%d <style> blocks, want 1", len(m))
			}
			sum := sha256.Sum256([]byte(m[0][1]))
			if got := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; got != hash {
				t.Errorf("the served <style> block hashes to %s, the CSP allows %s", got, hash)
			}
			if strings.Contains(rec.Body.String(), "<script") || strings.Contains(rec.Body.String(), " style=") {
				t.Error("page has a script or an inline style attribute the CSP blocks")
			}
		})
	}
}

// One JSON line per request: method, path, status, the host's invocation
// ID; never the query string, which holds codes and state.
func TestRequestLog(t *testing.T) {
	app := newApp(t, appOptions{})
	tests := []struct {
		name         string
		method, url  string
		invocationID string
		header       map[string]string
		wantPath     string
		wantStatus   int
		mustNotLog   []string
	}{
		{name: "query", method: "GET", url: "/?code=SECRET&state=X", wantPath: "/", wantStatus: 200, mustNotLog: []string{"SECRET", "state=X", "code="}},
		{name: "callback query", method: "GET", url: "/getAToken?code=SECRETCODE&state=STATEVALUE", wantPath: "/getAToken", wantStatus: 400, mustNotLog: []string{"SECRETCODE", "STATEVALUE"}},
		{name: "invocation", method: "GET", url: "/healthz", invocationID: "0d3c2a52-5e0e-4d6b-9a39-3c1f0a3b8a1e", wantPath: "/healthz", wantStatus: 200},
		{name: "error page with invocation", method: "GET", url: "/no-such-page?token=TOPSECRET", invocationID: "inv-404", wantPath: "/no-such-page", wantStatus: 404, mustNotLog: []string{"TOPSECRET"}},
		{name: "redirect", method: "GET", url: "/graphcall", wantPath: "/graphcall", wantStatus: 302},
		{name: "cross-site refused", method: "POST", url: "/logout", header: map[string]string{"Sec-Fetch-Site": "cross-site"}, invocationID: "inv-403", wantPath: "/logout", wantStatus: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app.log.Reset()
			req := httptest.NewRequest(tt.method, tt.url, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			if tt.invocationID != "" {
				req.Header.Set("X-Azure-Functions-InvocationId", tt.invocationID)
			}
			if rec := app.serve(req); rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			all := app.log.Lines(t)
			lines := byMsg(all, "request")
			if len(lines) != 1 {
				t.Fatalf("%d request lines, want 1:\n%s", len(lines), app.log.String())
			}
			l := lines[0]
			if l["method"] != tt.method || l["path"] != tt.wantPath || l["status"] != float64(tt.wantStatus) || l["level"] != "INFO" {
				t.Errorf("request line %v, want method %s path %s status %d at INFO", l, tt.method, tt.wantPath, tt.wantStatus)
			}
			if _, ok := l["ms"].(float64); !ok {
				t.Errorf("request line %v has no duration", l)
			}
			// Every line of the request, not only the last, joins the
			// host's telemetry.
			for _, line := range all {
				id, has := line["invocationId"]
				if tt.invocationID == "" && has {
					t.Errorf("line %v has an invocationId the request did not carry", line)
				}
				if tt.invocationID != "" && id != tt.invocationID {
					t.Errorf("line %v: invocationId %v, want %q", line, id, tt.invocationID)
				}
			}
			for _, s := range tt.mustNotLog {
				if strings.Contains(app.log.String(), s) {
					t.Errorf("the log holds %q:\n%s", s, app.log.String())
				}
			}
		})
	}
}
