package emulator

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

func TestDiscovery(t *testing.T) {
	s, _ := startServer(t)
	tests := []struct {
		name, tenant, policy string
		status               int
	}{
		{"as configured", "contoso.onmicrosoft.com", susi, http.StatusOK},
		{"lower case, as MSAL sends", "contoso.onmicrosoft.com", "b2c_1_signupsignin1", http.StatusOK},
		{"upper case", "CONTOSO.onmicrosoft.com", "B2C_1_PROFILEEDITING1", http.StatusOK},
		{"reset policy", "contoso.onmicrosoft.com", resetFlow, http.StatusOK},
		{"unknown policy", "contoso.onmicrosoft.com", "B2C_1_nope", http.StatusNotFound},
		{"unknown tenant", "fabrikam.onmicrosoft.com", susi, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tlsClient(t, s).Get("https://" + s.TLSHost() + "/" + tt.tenant + "/" + tt.policy + "/v2.0/.well-known/openid-configuration")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q", ct)
			}
			if tt.status != http.StatusOK {
				var e oauthError
				if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Code == "" {
					t.Errorf("error body: %v %+v", err, e)
				}
				return
			}
			var d discoveryDocument
			if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
				t.Fatal(err)
			}
			base := "/contoso.onmicrosoft.com/" + strings.ToLower(tt.policy)
			tlsBase := "https://" + s.TLSHost() + base
			want := discoveryDocument{
				Issuer:                s.Issuer(),
				AuthorizationEndpoint: s.BrowserURL() + base + "/oauth2/v2.0/authorize",
				TokenEndpoint:         tlsBase + "/oauth2/v2.0/token",
				EndSessionEndpoint:    s.BrowserURL() + base + "/oauth2/v2.0/logout",
				JWKSURI:               tlsBase + "/discovery/v2.0/keys",
			}
			if d.Issuer != want.Issuer || d.AuthorizationEndpoint != want.AuthorizationEndpoint ||
				d.TokenEndpoint != want.TokenEndpoint || d.EndSessionEndpoint != want.EndSessionEndpoint || d.JWKSURI != want.JWKSURI {
				t.Errorf("discovery =\n%+v\nwant endpoints of\n%+v", d, want)
			}
			if want := "https://" + s.TLSHost() + "/" + s.TenantID() + "/v2.0/"; d.Issuer != want {
				t.Errorf("issuer = %q, want %q", d.Issuer, want)
			}
			if len(d.IDTokenSigningAlgValuesSupported) != 1 || d.IDTokenSigningAlgValuesSupported[0] != "RS256" {
				t.Errorf("id_token_signing_alg_values_supported = %v", d.IDTokenSigningAlgValuesSupported)
			}
		})
	}
}

func fetchKeys(t *testing.T, s *Server) []string {
	t.Helper()
	resp, err := tlsClient(t, s).Get("https://" + s.TLSHost() + "/contoso.onmicrosoft.com/" + susi + "/discovery/v2.0/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		if !k.IsPublic() || k.Algorithm != "RS256" || k.Use != "sig" {
			t.Errorf("key %q: public %v, alg %q, use %q", k.KeyID, k.IsPublic(), k.Algorithm, k.Use)
		}
		kids = append(kids, k.KeyID)
	}
	return kids
}

func TestRotateKey(t *testing.T) {
	s, _ := startServer(t)
	before := redeem(t, s, susi, "openid "+apiScope)
	first := fetchKeys(t, s)
	if len(first) != 1 {
		t.Fatalf("JWKS holds %d keys, want 1", len(first))
	}

	s.RotateKey()
	second := fetchKeys(t, s)
	if len(second) != 2 || second[1] != first[0] || second[0] == first[0] {
		t.Fatalf("after one rotation JWKS = %v, want a new key then %v", second, first)
	}
	claimsOf(t, s, before["id_token"]) // the old key still verifies
	after := redeem(t, s, susi, "openid "+apiScope)
	if kid := headerKeyID(t, after["access_token"]); kid != second[0] {
		t.Errorf("new token signed with %q, want the new key %q", kid, second[0])
	}

	s.RotateKey()
	third := fetchKeys(t, s)
	if len(third) != 2 || third[1] != second[0] {
		t.Errorf("after two rotations JWKS = %v, want a new key then %q", third, second[0])
	}
}

func headerKeyID(t *testing.T, token any) string {
	t.Helper()
	raw, _ := token.(string)
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Header.KeyID
}
