package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// What OAuthAzurite checks in a bearer token, pinned so that an Azurite
// upgrade that changes it shows up here rather than as a puzzling failure
// elsewhere.
func TestOAuthAzuriteChecksTokens(t *testing.T) {
	az := NewOAuthAzurite(t)
	now := time.Now()
	valid := map[string]any{
		"aud": "https://storage.azure.com",
		"iss": "https://sts.windows.net/7e570000-0000-4000-8000-0000000000a0/",
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for k, v := range valid {
			c[k] = v
		}
		c[k] = v
		return c
	}
	tests := []struct {
		name   string
		claims map[string]any
		ok     bool
	}{
		// The signature is not checked: any bytes pass.
		{"valid, unverified signature", valid, true},
		{"account audience", with("aud", "https://devstoreaccount1.table.core.windows.net"), true},
		{"other audience", with("aud", "https://vault.azure.net"), false},
		{"other account", with("aud", "https://other.table.core.windows.net"), false},
		{"expired", with("exp", now.Add(-time.Minute).Unix()), false},
		{"not yet valid", with("nbf", now.Add(time.Hour).Unix()), false},
		{"other issuer", with("iss", "https://login.example.com/"), false},
		{"no credential", nil, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := az.createTable(t, fmt.Sprintf("oauth%d%d", i, now.UnixNano()%1e6), tt.claims)
			var re *azcore.ResponseError
			switch {
			case tt.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case !tt.ok && !(errors.As(err, &re) && re.StatusCode == http.StatusForbidden):
				t.Fatalf("err = %v, want a 403", err)
			}
		})
	}
	// The test's own reads sign with the account key: past
	// authentication, a missing table is a 404, not a 403.
	_, err := az.Table(t, "absent").NewListEntitiesPager(nil).NextPage(t.Context())
	if re := (*azcore.ResponseError)(nil); !errors.As(err, &re) || re.StatusCode != http.StatusNotFound {
		t.Fatalf("shared key read of a missing table: %v, want a 404", err)
	}
}

// createTable creates a table with a bearer token carrying claims, or with
// no credential when claims is nil.
func (a *OAuthAzurite) createTable(t *testing.T, name string, claims map[string]any) error {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(a.caPEM)
	opts := &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry:     policy.RetryOptions{MaxRetries: -1},
		Transport: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
	}}
	var svc *aztables.ServiceClient
	var err error
	if claims == nil {
		svc, err = aztables.NewServiceClientWithNoCredential(a.Endpoint(), opts)
	} else {
		svc, err = aztables.NewServiceClient(a.Endpoint(), staticToken(unsignedJWT(t, claims)), opts)
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err = svc.CreateTable(ctx, name, nil)
	return err
}

// unsignedJWT is a JWT whose signature is junk.
func unsignedJWT(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(payload) + "." + enc([]byte("not a signature"))
}

type staticToken string

func (s staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}
