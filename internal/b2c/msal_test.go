package b2c

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// MSAL Go does not support B2C officially (its issue #32) and has no B2C
// tests: the behaviours this package relies on are pinned here, so an
// upgrade that changes one fails with a message saying which.
func TestMSALBehavioursRelied(t *testing.T) {
	const policy = "B2C_1_susi"
	var (
		mu        sync.Mutex
		requested []string
		issuer    string
	)
	mux := http.NewServeMux()
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	base := srv.URL + "/contoso.onmicrosoft.com/b2c_1_susi"
	issuer = srv.URL + "/4a5e2c3d-0000-4000-8000-000000000001/v2.0/"
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requested = append(requested, r.Method+" "+r.URL.Path)
		iss := issuer
		mu.Unlock()
		switch strings.ToLower(r.URL.Path) { // B2C matches names in any case
		case "/contoso.onmicrosoft.com/b2c_1_susi/v2.0/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(map[string]any{
				"issuer": iss, "authorization_endpoint": base + "/oauth2/v2.0/authorize", "token_endpoint": base + "/oauth2/v2.0/token",
				"jwks_uri": base + "/discovery/v2.0/keys", "response_types_supported": []string{"code"},
			})
		case "/contoso.onmicrosoft.com/b2c_1_susi/oauth2/v2.0/token":
			claims, _ := json.Marshal(map[string]any{"iss": iss, "aud": "client-1", "sub": "oid-1", "oid": "oid-1", "tfp": policy,
				"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()})
			idToken := b64(`{"alg":"RS256","typ":"JWT"}`) + "." + base64.RawURLEncoding.EncodeToString(claims) + ".c2ln"
			json.NewEncoder(w).Encode(map[string]any{
				"access_token": "at", "token_type": "Bearer", "expires_in": "3600", "scope": "https://contoso.onmicrosoft.com/api/read",
				"id_token": idToken, "refresh_token": "rt", "client_info": b64(`{"uid":"oid-1-b2c_1_susi","utid":"4a5e2c3d-0000-4000-8000-000000000001"}`),
			})
		default:
			http.NotFound(w, r)
		}
	})
	cred, err := confidential.NewCredFromSecret("secret")
	if err != nil {
		t.Fatal(err)
	}
	// The path-form authority, instance discovery off: the only form that
	// works (the ?p= form does not).
	cl, err := confidential.New(srv.URL+"/contoso.onmicrosoft.com/"+policy, "client-1", cred,
		confidential.WithInstanceDiscovery(false), confidential.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatalf("MSAL refuses the path-form B2C authority: %v", err)
	}
	ctx := context.Background()

	raw, err := cl.AuthCodeURL(ctx, "client-1", "https://app.example/getAToken", []string{"openid", "offline_access"})
	if err != nil {
		t.Fatalf("AuthCodeURL: %v", err)
	}
	mu.Lock()
	first := requested[0]
	mu.Unlock()
	if want := "GET /contoso.onmicrosoft.com/" + policy + "/v2.0/.well-known/openid-configuration"; first != want {
		t.Errorf("MSAL's discovery request changed: %q, want %q (the authority with its policy segment + /v2.0/.well-known/openid-configuration)", first, want)
	}
	u, _ := url.Parse(raw)
	if u.Path != "/contoso.onmicrosoft.com/b2c_1_susi/oauth2/v2.0/authorize" {
		t.Errorf("MSAL no longer sends the browser to the discovery document's authorization_endpoint: %s", u.Path)
	}
	for _, p := range []string{"state", "nonce", "code_challenge"} {
		if u.Query().Has(p) {
			t.Errorf("MSAL now adds %s to AuthCodeURL itself: remove ours (b2c.AuthCodeURL) so they are not sent twice", p)
		}
	}

	res, err := cl.AcquireTokenByAuthCode(ctx, "code", "https://app.example/getAToken", []string{"https://contoso.onmicrosoft.com/api/read"})
	if err != nil {
		t.Fatalf("AcquireTokenByAuthCode with a B2C-shaped response (times as strings): %v", err)
	}
	if res.Account.HomeAccountID != "oid-1-b2c_1_susi.4a5e2c3d-0000-4000-8000-000000000001" {
		t.Errorf("the home account ID is no longer client_info's uid.utid: %q (sessions record it to find their account)", res.Account.HomeAccountID)
	}
	if res.IDToken.RawToken == "" {
		t.Error("MSAL no longer returns the raw ID token (b2c.Redeem verifies it)")
	}

	// The issuer must have the authority's host (ValidateIssuerMatchesAuthority):
	// what External ID's ciamlogin.com issuer breaks.
	mu.Lock()
	issuer = "https://elsewhere.example/4a5e2c3d-0000-4000-8000-000000000001/v2.0/"
	mu.Unlock()
	other, err := confidential.New(srv.URL+"/contoso.onmicrosoft.com/"+policy, "client-1", cred,
		confidential.WithInstanceDiscovery(false), confidential.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.AuthCodeURL(ctx, "client-1", "https://app.example/getAToken", []string{"openid"}); err == nil {
		t.Error("MSAL now accepts an issuer on another host than the authority's: the issuer-host rule changed")
	} else if !strings.Contains(err.Error(), "issuer") {
		t.Logf("issuer on another host refused with: %v", err)
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
