package b2c

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// idp is the smallest B2C-shaped identity provider that Verify needs: a
// discovery document and a key set for one user flow, with keys generated
// per test.
type idp struct {
	srv    *httptest.Server
	key    *rsa.PrivateKey
	issuer string
	hits   map[string]int
}

func newIDP(t *testing.T) *idp {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &idp{key: key, hits: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /contoso.onmicrosoft.com/b2c_1_susi/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		p.hits["discovery"]++
		json.NewEncoder(w).Encode(map[string]string{
			"issuer":                 p.issuer,
			"authorization_endpoint": p.srv.URL + "/contoso.onmicrosoft.com/b2c_1_susi/oauth2/v2.0/authorize",
			"token_endpoint":         p.srv.URL + "/contoso.onmicrosoft.com/b2c_1_susi/oauth2/v2.0/token",
			"jwks_uri":               p.srv.URL + "/contoso.onmicrosoft.com/b2c_1_susi/discovery/v2.0/keys",
			"end_session_endpoint":   p.srv.URL + "/contoso.onmicrosoft.com/b2c_1_susi/oauth2/v2.0/logout",
		})
	})
	mux.HandleFunc("GET /contoso.onmicrosoft.com/b2c_1_susi/discovery/v2.0/keys", func(w http.ResponseWriter, r *http.Request) {
		p.hits["keys"]++
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	// B2C matches tenant and user flow names in any case.
	p.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = strings.ToLower(r.URL.Path)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	p.issuer = p.srv.URL + "/4a5e2c3d-0000-4000-8000-000000000001/v2.0/"
	return p
}

func (p *idp) client(t *testing.T, now func() time.Time) *Client {
	return p.clientClaiming(t, now, "")
}

// clientClaiming is a client whose tokens name the user flow in claim.
func (p *idp) clientClaiming(t *testing.T, now func() time.Time, claim string) *Client {
	t.Helper()
	c, err := New(Config{
		PolicyClaim:  claim,
		Tenant:       Tenant{Name: "contoso", Host: strings.TrimPrefix(p.srv.URL, "https://")},
		ClientID:     "client-1",
		ClientSecret: "secret",
		Policies:     []string{"B2C_1_susi"},
		HTTPClient:   p.srv.Client(),
		Now:          now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sign(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k1").WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestVerify(t *testing.T) {
	p := newIDP(t)
	now := time.Now().Truncate(time.Second)
	c := p.client(t, func() time.Time { return now })
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	good := func() map[string]any {
		return map[string]any{
			"iss": p.issuer, "aud": "client-1", "sub": "oid-1", "oid": "oid-1",
			"exp": now.Add(time.Hour).Unix(), "nbf": now.Add(-time.Minute).Unix(), "iat": now.Unix(),
			"nonce": "n-1", "tfp": "B2C_1_susi", "name": "Alice", "emails": []string{"alice@example.com"}, "newUser": true,
		}
	}
	tests := []struct {
		name        string
		policyClaim string // the app's setting; "" for either tfp or acr
		mutate      func(map[string]any)
		key         *rsa.PrivateKey
		raw         string
		wantErr     string
		// wantMisconfigured: the token is fine, the app's setting is not.
		wantMisconfigured bool
	}{
		{name: "valid"},
		{name: "bad signature", key: otherKey, wantErr: "not valid"},
		{name: "wrong issuer", mutate: func(m map[string]any) { m["iss"] = "https://evil.example/v2.0/" }, wantErr: "different provider"},
		{name: "wrong audience", mutate: func(m map[string]any) { m["aud"] = "client-2" }, wantErr: "audience"},
		{name: "wrong nonce", mutate: func(m map[string]any) { m["nonce"] = "n-2" }, wantErr: "nonce"},
		{name: "expired", mutate: func(m map[string]any) { m["exp"] = now.Add(-time.Second).Unix() }, wantErr: "expired"},
		{name: "not yet valid", mutate: func(m map[string]any) { m["nbf"] = now.Add(10 * time.Minute).Unix() }, wantErr: "nbf"},
		{name: "other user flow", mutate: func(m map[string]any) { m["tfp"] = "B2C_1_other" }, wantErr: "user flow"},
		{name: "no user flow claim", mutate: func(m map[string]any) { delete(m, "tfp") }, wantMisconfigured: true},
		{name: "acr instead of tfp", mutate: func(m map[string]any) { m["acr"] = m["tfp"]; delete(m, "tfp") }},
		{name: "acr only, acr expected", policyClaim: "acr", mutate: func(m map[string]any) { m["acr"] = m["tfp"]; delete(m, "tfp") }},
		{name: "tfp only, acr expected", policyClaim: "acr", wantMisconfigured: true},
		{name: "acr of another flow, acr expected", policyClaim: "acr", mutate: func(m map[string]any) { m["acr"] = "b2c_1_other" }, wantErr: "user flow"},
		{name: "custom policy emitting neither", policyClaim: "none", mutate: func(m map[string]any) { delete(m, "tfp") }},
		{name: "custom policy setting, a claim of another flow", policyClaim: "none", mutate: func(m map[string]any) { m["tfp"] = "B2C_1A_other" }, wantErr: "user flow"},
		{name: "custom policy setting, wrong nonce", policyClaim: "none", mutate: func(m map[string]any) { delete(m, "tfp"); m["nonce"] = "n-2" }, wantErr: "nonce"},
		{name: "no token", raw: "-", wantErr: "no ID token"},
		{name: "garbage", raw: "a.b.c", wantErr: "not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims := good()
			if tt.mutate != nil {
				tt.mutate(claims)
			}
			key := p.key
			if tt.key != nil {
				key = tt.key
			}
			raw := sign(t, key, claims)
			switch tt.raw {
			case "-":
				raw = ""
			case "":
			default:
				raw = tt.raw
			}
			client := c
			if tt.policyClaim != "" {
				client = p.clientClaiming(t, func() time.Time { return now }, tt.policyClaim)
			}
			got, gotRaw, err := client.Verify(context.Background(), "b2c_1_susi", raw, "n-1")
			if tt.wantMisconfigured {
				if me, ok := errors.AsType[*MisconfiguredError](err); !ok || me.Setting != "PolicyClaim" {
					t.Fatalf("err = %v, want a MisconfiguredError naming PolicyClaim", err)
				}
				return
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got["name"] != "Alice" || got["oid"] != "oid-1" || got["newUser"] != true {
					t.Fatalf("claims = %+v", got)
				}
				// The raw claims are the token's payload as issued, byte
				// for byte: the session stores the token cut against them.
				if segments := strings.Split(raw, "."); len(segments) != 3 || base64.RawURLEncoding.EncodeToString(gotRaw) != segments[1] {
					t.Fatalf("raw claims %s are not the token's payload segment", gotRaw)
				}
				return
			}
			if r, ok := errors.AsType[*RejectedError](err); !ok || !strings.Contains(r.Reason, tt.wantErr) {
				t.Fatalf("err = %v, want a RejectedError whose reason has %q", err, tt.wantErr)
			}
		})
	}
	// One fetch per client (the cases with a policy-claim setting of their
	// own build a client each), and one refetch for the failed
	// verifications of the shared client: the rest are rate-limited.
	if want := 1 + 6 + 1; p.hits["discovery"] != want {
		t.Errorf("discovery fetched %d times, want %d", p.hits["discovery"], want)
	}
}

// The tenant switches its issuer form ("Issuer (iss) claim") while the
// discovery document is cached: the first token of the new form refetches
// the document and verifies; a second switch within a minute does not
// refetch again.
func TestVerifyFollowsIssuerChange(t *testing.T) {
	p := newIDP(t)
	c := p.client(t, time.Now)
	claims := func(nonce string) map[string]any {
		return map[string]any{"iss": p.issuer, "aud": "client-1", "sub": "oid-1", "oid": "oid-1", "exp": time.Now().Add(time.Hour).Unix(),
			"iat": time.Now().Unix(), "nonce": nonce, "tfp": "B2C_1_susi"}
	}
	if _, _, err := c.Verify(context.Background(), "B2C_1_susi", sign(t, p.key, claims("n-1")), "n-1"); err != nil {
		t.Fatal(err)
	}
	p.issuer = p.srv.URL + "/tfp/4a5e2c3d-0000-4000-8000-000000000001/b2c_1_susi/v2.0/"
	if _, _, err := c.Verify(context.Background(), "B2C_1_susi", sign(t, p.key, claims("n-2")), "n-2"); err != nil {
		t.Fatalf("a token of the new issuer form: %v", err)
	}
	p.issuer = p.srv.URL + "/another/v2.0/"
	if _, _, err := c.Verify(context.Background(), "B2C_1_susi", sign(t, p.key, claims("n-3")), "n-3"); err == nil {
		t.Fatal("a second switch within a minute verified: discovery refetched without a limit")
	}
	if p.hits["discovery"] != 2 {
		t.Fatalf("discovery fetched %d times, want 2", p.hits["discovery"])
	}
}

func TestEndSessionURL(t *testing.T) {
	p := newIDP(t)
	c := p.client(t, time.Now)
	got, err := c.EndSessionURL(context.Background(), "B2C_1_SUSI", "https://app.example/", "tok")
	if err != nil {
		t.Fatal(err)
	}
	want := p.srv.URL + "/contoso.onmicrosoft.com/b2c_1_susi/oauth2/v2.0/logout?id_token_hint=tok&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2F"
	if got != want {
		t.Fatalf("EndSessionURL =\n %s\nwant\n %s", got, want)
	}
	// An unknown user flow is the app's configuration, not an outage.
	if _, err := c.EndSessionURL(context.Background(), "B2C_1_unknown", "https://app.example/", ""); !errors.Is(err, ErrMisconfigured) {
		t.Fatalf("unknown user flow: err = %v, want ErrMisconfigured", err)
	}
}

func TestFlowPKCE(t *testing.T) {
	// RFC 7636 Appendix B's example.
	f := Flow{Verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}
	if got, want := f.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"; got != want {
		t.Fatalf("challenge = %q, want %q", got, want)
	}
	a, b := NewFlow("p"), NewFlow("p")
	if a.Nonce == b.Nonce || a.Verifier == b.Verifier || len(a.Verifier) != 43 {
		t.Fatalf("flows not random: %+v %+v", a, b)
	}
}
