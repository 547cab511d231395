package emulator

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/coreos/go-oidc/v3/oidc"
)

// TestMSAL drives MSAL Go against the emulator the way the app does, which
// proves the emulator gives MSAL what it checks: the issuer's host, string
// times, client_info, the granted scopes.
func TestMSAL(t *testing.T) {
	// MSAL treats an access token that expires within 5 minutes as expired,
	// so 302 s leaves it good for 2 s.
	const lifetime = 302 * time.Second
	s, clk := startServer(t, func(c *Config) { c.AccessTokenLifetime = lifetime })
	ctx := t.Context()
	httpClient := tlsClient(t, s)

	cred, err := confidential.NewCredFromSecret(clientSecret)
	if err != nil {
		t.Fatal(err)
	}
	app, err := confidential.New(s.Authority(susi), clientID, cred,
		confidential.WithInstanceDiscovery(false), confidential.WithHTTPClient(httpClient))
	if err != nil {
		t.Fatal(err)
	}

	authURL, err := app.AuthCodeURL(ctx, clientID, redirectURI, []string{"openid", "offline_access", apiScope})
	if err != nil {
		t.Fatal(err)
	}
	// MSAL has no state, nonce or PKCE options for AuthCodeURL.
	verifier := rand.Text() + rand.Text()
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("state", "state-123")
	q.Set("nonce", "nonce-456")
	q.Set("code_challenge", s256(verifier))
	q.Set("code_challenge_method", "S256")
	u.RawQuery = q.Encode()

	resp, page := get(t, u.String())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize: %d %s", resp.StatusCode, page)
	}
	resp, _ = click(t, s, page, "user-"+alice.ObjectID, nil)
	code := redirectParams(t, resp).Get("code")

	res, err := app.AcquireTokenByAuthCode(ctx, code, redirectURI, []string{apiScope}, confidential.WithChallenge(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if want := alice.ObjectID + "-b2c_1_signupsignin1." + s.TenantID(); res.Account.HomeAccountID != want {
		t.Errorf("home account ID = %q, want %q", res.Account.HomeAccountID, want)
	}

	// MSAL does not check the ID token; the app checks it with go-oidc.
	keys := oidc.NewRemoteKeySet(oidc.ClientContext(ctx, httpClient), "https://"+s.TLSHost()+"/contoso.onmicrosoft.com/b2c_1_signupsignin1/discovery/v2.0/keys")
	idToken, err := oidc.NewVerifier(s.Issuer(), keys, &oidc.Config{ClientID: clientID, Now: clk.Now}).Verify(ctx, res.IDToken.RawToken)
	if err != nil {
		t.Fatal(err)
	}
	if idToken.Nonce != "nonce-456" || idToken.Subject != alice.ObjectID {
		t.Errorf("ID token nonce %q subject %q", idToken.Nonce, idToken.Subject)
	}

	s.ResetRequests()
	cached, err := app.AcquireTokenSilent(ctx, []string{apiScope}, confidential.WithSilentAccount(res.Account))
	if err != nil {
		t.Fatal(err)
	}
	if cached.AccessToken != res.AccessToken || len(s.Requests()) != 0 {
		t.Errorf("silent call made %d requests, want the cached token", len(s.Requests()))
	}

	// MSAL times expires_in with its own clock, so wait out the 2 s, and move
	// the emulator's clock as far.
	time.Sleep(time.Until(res.ExpiresOn.Add(-5*time.Minute)) + 100*time.Millisecond)
	clk.Add(lifetime)
	refreshed, err := app.AcquireTokenSilent(ctx, []string{apiScope}, confidential.WithSilentAccount(res.Account))
	if err != nil {
		t.Fatal(err)
	}
	if refreshed.AccessToken == res.AccessToken {
		t.Error("silent call after expiry returned the old access token")
	}
	reqs := s.Requests()
	if len(reqs) != 1 || reqs[0].Endpoint != "token" || reqs[0].GrantType != "refresh_token" || reqs[0].Policy != "b2c_1_signupsignin1" || reqs[0].Status != http.StatusOK {
		t.Errorf("requests = %+v, want one refresh at the token endpoint", reqs)
	}

	req, _ := http.NewRequest("GET", s.APIURL(), nil)
	req.Header.Set("Authorization", "Bearer "+refreshed.AccessToken)
	apiResp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	apiResp.Body.Close()
	if apiResp.StatusCode != http.StatusOK {
		t.Errorf("API status = %d", apiResp.StatusCode)
	}
}
