package emulator

import (
	"net/http"
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
	f := newFlow(t, s, s.cfg.Clients[0])
	res, app := msalSignIn(t, f, s.Authority(susi))
	if want := alice.ObjectID + "-b2c_1_signupsignin1." + s.TenantID(); res.Account.HomeAccountID != want {
		t.Errorf("home account ID = %q, want %q", res.Account.HomeAccountID, want)
	}

	// MSAL does not check the ID token; the app checks it with go-oidc.
	keys := oidc.NewRemoteKeySet(oidc.ClientContext(ctx, f.http), "https://"+s.TLSHost()+"/contoso.onmicrosoft.com/b2c_1_signupsignin1/discovery/v2.0/keys")
	idToken, err := oidc.NewVerifier(s.Issuer(), keys, &oidc.Config{ClientID: clientID, Now: clk.Now}).Verify(ctx, res.IDToken.RawToken)
	if err != nil {
		t.Fatal(err)
	}
	if idToken.Nonce != "n" || idToken.Subject != alice.ObjectID {
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

	if status, _ := callAPIJSON(t, s, refreshed.AccessToken); status != http.StatusOK {
		t.Errorf("API status = %d", status)
	}
}
