package auth_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
)

func TestLocalPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/private?tab=2", "/private?tab=2"},
		{"/a/b#frag", "/a/b"},
		{"", "/"},
		{"private", "/"},
		{"//evil.example/x", "/"},
		{"/\\evil.example", "/"},
		{"https://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"/ok\r\nSet-Cookie: x=y", "/"},
		{"/%2F%2Fevil.example", "/%2F%2Fevil.example"}, // a local path, not a host
		{"/%2F ", "/"},                                 // escaped anew it would be "//%20"
		{"/%2Fevil.example%20", "/%2Fevil.example%20"}, // kept escaped: still local
	}
	for _, tt := range tests {
		if got := auth.LocalPath(tt.in); got != tt.want {
			t.Errorf("LocalPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnv(t *testing.T) {
	if _, err := auth.FromEnv(env(nil), nil); err == nil || !strings.Contains(err.Error(), auth.EnvTenantName) {
		t.Fatalf("FromEnv with nothing set: %v", err)
	}
	svc, err := auth.FromEnv(env(map[string]string{
		"B2C_TENANT_NAME":          "contoso",
		"B2C_SIGNUP_SIGNIN_POLICY": "B2C_1_susi",
		"B2C_CLIENT_ID":            "client",
		"B2C_CLIENT_SECRET":        "secret",
		"PUBLIC_BASE_URL":          "https://app.example.com",
		"SESSION_TABLE_ENDPOINT":   "https://acct.table.core.windows.net/",
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	// A team's own page behind RequireSignIn: a signed-out visitor goes
	// through sign-in and back; no storage call happens without a cookie.
	mux := http.NewServeMux()
	mux.Handle("GET /reports", svc.RequireSignIn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := auth.UserFrom(r.Context())
		w.Write([]byte(user.Claims.Name))
	})))
	rec := httptest.NewRecorder()
	svc.Sessions(mux).ServeHTTP(rec, httptest.NewRequest("GET", "/reports?q=1", nil))
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != "/login?next=%2Freports%3Fq%3D1" {
		t.Fatalf("signed-out /reports: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	rec = httptest.NewRecorder()
	svc.Sessions(mux).ServeHTTP(rec, httptest.NewRequest("POST", "/reports", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST /reports: %d", rec.Code)
	}
}
