package b2c

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

const externalTenantID = "5d1e0000-0000-4000-8000-00000000e1d0"

// externalIDTenant serves an External ID tenant whose discovery document
// names issuer, and returns a Client of it, its authority, and a signer of
// ID tokens with the tenant's key.
func externalIDTenant(t *testing.T, issuer string) (c *Client, authority string, token func(iss, tid string) string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	base := srv.URL + "/" + externalTenantID
	mux.HandleFunc("GET /"+externalTenantID+"/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": issuer, "authorization_endpoint": base + "/oauth2/v2.0/authorize", "token_endpoint": base + "/oauth2/v2.0/token",
			"jwks_uri": base + "/discovery/v2.0/keys", "end_session_endpoint": base + "/oauth2/v2.0/logout",
		})
	})
	mux.HandleFunc("GET /"+externalTenantID+"/discovery/v2.0/keys", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	c, err = New(Config{
		Tenant:       Tenant{Name: "contoso", Host: strings.TrimPrefix(srv.URL, "https://"), ID: externalTenantID, ExternalID: true},
		ClientID:     "client-1",
		ClientSecret: "secret",
		HTTPClient:   srv.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, base, func(iss, tid string) string {
		return sign(t, key, map[string]any{"iss": iss, "aud": "client-1", "sub": "s-1", "oid": "o-1", "tid": tid,
			"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(), "nonce": "n-1", "ver": "2.0"})
	}
}

// External ID's discovery document names an issuer on the tenant-ID host,
// not the authority's. MSAL gets the document with its issuer aligned, and
// accepts it; ID tokens are verified against the real issuer, and must name
// the configured tenant.
func TestExternalIDIssuerOnAnotherHost(t *testing.T) {
	const tenantID = externalTenantID
	issuer := "https://" + tenantID + ".ciamlogin.com/" + tenantID + "/v2.0"
	c, authority, token := externalIDTenant(t, issuer)
	if got, want := c.tenant.Authority(ExternalIDFlow), authority; got != want {
		t.Fatalf("authority %q, want %q: no policy in the path", got, want)
	}
	raw, err := c.AuthCodeURL(context.Background(), NewFlow(ExternalIDFlow), "state", "https://app.example/getAToken", []string{"api://api-1/read"})
	if err != nil {
		t.Fatalf("MSAL refused the document: %v", err)
	}
	u, _ := url.Parse(raw)
	if scope := u.Query().Get("scope"); !strings.Contains(scope, "profile") || !strings.Contains(scope, "email") {
		t.Errorf("scope %q: External ID gives name and email only for the profile and email scopes", scope)
	}
	m, err := c.Metadata(context.Background(), ExternalIDFlow)
	if err != nil || m.Issuer != issuer {
		t.Fatalf("the app's own view of the issuer: %v %v, want the real %q", m, err, issuer)
	}

	tests := []struct {
		name, iss, tid string
		ok             bool
	}{
		{"the real issuer and tenant", issuer, tenantID, true},
		{"the aligned issuer MSAL saw", authority + "/v2.0", tenantID, false},
		{"another tenant", issuer, "00000000-0000-4000-8000-000000000bad", false},
		{"no tenant", issuer, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, _, err := c.Verify(context.Background(), ExternalIDFlow, token(tt.iss, tt.tid), "n-1")
			if tt.ok {
				if err != nil || claims["tid"] != tenantID {
					t.Fatalf("Verify: %v, %v", claims, err)
				}
				return
			}
			if _, ok := errors.AsType[*RejectedError](err); !ok {
				t.Fatalf("err = %v, want a RejectedError", err)
			}
		})
	}
}

// The issuer host is pinned: a document naming any other host, with the
// tenant's path, is refused before it is cached, so no token of that issuer
// is ever accepted and no sign-in starts against it.
func TestExternalIDIssuerHostPinned(t *testing.T) {
	evil := "https://evil.example/" + externalTenantID + "/v2.0"
	c, _, token := externalIDTenant(t, evil)
	_, _, err := c.Verify(t.Context(), ExternalIDFlow, token(evil, externalTenantID), "n-1")
	if me, ok := errors.AsType[*MisconfiguredError](err); !ok || me.Setting != "TenantHost" {
		t.Fatalf("Verify of a token issued by %s: %v, want a MisconfiguredError naming TenantHost", evil, err)
	}
	if _, err := c.AuthCodeURL(t.Context(), NewFlow(ExternalIDFlow), "state", "https://app.example/getAToken", nil); !errors.Is(err, ErrMisconfigured) {
		t.Fatalf("AuthCodeURL with issuer %s: %v, want ErrMisconfigured", evil, err)
	}
}
