package emulator

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestLogout(t *testing.T) {
	s, clk := startServer(t)
	idToken := redeem(t, s, susi, "openid")["id_token"].(string)
	clk.Add(24 * time.Hour) // an expired hint is still accepted

	tests := []struct {
		name     string
		params   url.Values
		status   int
		location string
	}{
		{"redirect with state", url.Values{"post_logout_redirect_uri": {"http://localhost:7071/"}, "state": {"xyz"}, "id_token_hint": {idToken}}, 302, "http://localhost:7071/?state=xyz"},
		{"redirect without state", url.Values{"post_logout_redirect_uri": {"http://localhost:7071/signed-out?a=b"}}, 302, "http://localhost:7071/signed-out?a=b"},
		{"other origin", url.Values{"post_logout_redirect_uri": {"http://evil.example:7071/"}}, 200, ""},
		{"other port", url.Values{"post_logout_redirect_uri": {"http://localhost:7072/"}}, 200, ""},
		{"no redirect", nil, 200, ""},
		{"bad hint", url.Values{"post_logout_redirect_uri": {"http://localhost:7071/"}, "id_token_hint": {idToken + "x"}}, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, page := get(t, s.BrowserURL()+"/contoso.onmicrosoft.com/b2c_1_signupsignin1/oauth2/v2.0/logout?"+tt.params.Encode())
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("Location"); got != tt.location {
				t.Errorf("Location = %q, want %q", got, tt.location)
			}
			if tt.status == http.StatusOK && !strings.Contains(page, "You have signed out") {
				t.Errorf("page:\n%s", page)
			}
		})
	}
}
