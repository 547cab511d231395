package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func TestAPI(t *testing.T) {
	s, clk := startServer(t)
	good := redeem(t, s, susi, "openid "+apiScope)["access_token"].(string)
	forAppItself := redeem(t, s, susi, "openid "+clientID)["access_token"].(string)
	now := clk.Now()
	claims := func(edit func(*accessTokenClaims)) accessTokenClaims {
		c := accessTokenClaims{Issuer: s.Issuer(), Audience: apiClientID, Subject: alice.ObjectID, ObjectID: alice.ObjectID,
			Scope: "tasks.read", AuthorizedParty: clientID, IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: now.Add(time.Hour).Unix(), Policy: susi, Version: "1.0"}
		edit(&c)
		return c
	}
	sign := func(c accessTokenClaims) string {
		tok, err := s.currentKey().sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	// A key that is not the emulator's, under the emulator's key ID.
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: other, KeyID: s.currentKey().id}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := jwt.Signed(signer).Claims(claims(func(*accessTokenClaims) {})).Serialize()
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name          string
		authorization string
		advance       time.Duration
		status        int
		error         string
	}{
		{"good token", "Bearer " + good, 0, 200, ""},
		{"scheme in lower case", "bearer " + good, 0, 200, ""},
		{"no token", "", 0, 401, ""},
		{"not a JWT", "Bearer abc", 0, 401, "invalid_token"},
		{"bad signature", "Bearer " + forged, 0, 401, "invalid_token"},
		{"audience is the app", "Bearer " + forAppItself, 0, 401, "invalid_token"},
		{"other issuer", "Bearer " + sign(claims(func(c *accessTokenClaims) { c.Issuer = "https://evil.example/" })), 0, 401, "invalid_token"},
		{"missing scope", "Bearer " + sign(claims(func(c *accessTokenClaims) { c.Scope = "tasks.write" })), 0, 403, "insufficient_scope"},
		{"not valid yet", "Bearer " + sign(claims(func(c *accessTokenClaims) { c.NotBefore = now.Add(time.Minute).Unix() })), 0, 401, "invalid_token"},
		{"expired", "Bearer " + good, time.Hour, 401, "invalid_token"}, // must stay last: it moves the clock
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Add(tt.advance)
			req, _ := http.NewRequest("GET", s.APIURL(), nil)
			if tt.authorization != "" {
				req.Header.Set("Authorization", tt.authorization)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			challenge := resp.Header.Get("WWW-Authenticate")
			if tt.status == http.StatusOK {
				var body apiResponse
				if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
					t.Fatal(err)
				}
				if body.Message != "Hello from the tasks API" || body.OID != alice.ObjectID || body.Name != alice.Name ||
					len(body.Scopes) != 1 || body.Scopes[0] != "tasks.read" || !body.Time.Equal(clk.Now()) {
					t.Errorf("body = %+v", body)
				}
				return
			}
			want := `Bearer realm="api"`
			if tt.error != "" {
				want += `, error="` + tt.error + `"`
			}
			if !strings.HasPrefix(challenge, want) {
				t.Errorf("WWW-Authenticate = %q, want it to start with %q", challenge, want)
			}
		})
	}
	if r := s.Requests()[len(s.Requests())-1]; r.Endpoint != "api" || r.Status != http.StatusUnauthorized {
		t.Errorf("last logged request = %+v", r)
	}
}
