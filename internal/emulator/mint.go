package emulator

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// tokenResponse is B2C's token response: times are strings, and fields are
// present only for what was asked.
type tokenResponse struct {
	AccessToken           string `json:"access_token,omitempty"`
	TokenType             string `json:"token_type"`
	ExpiresIn             string `json:"expires_in,omitempty"`
	NotBefore             string `json:"not_before"`
	Scope                 string `json:"scope"`
	IDToken               string `json:"id_token,omitempty"`
	IDTokenExpiresIn      string `json:"id_token_expires_in,omitempty"`
	ProfileInfo           string `json:"profile_info"`
	RefreshToken          string `json:"refresh_token,omitempty"`
	RefreshTokenExpiresIn string `json:"refresh_token_expires_in,omitempty"`
	ClientInfo            string `json:"client_info"`
}

// idTokenClaims decodes an ID token. mint builds the claims as a map, as
// which claims a token carries depends on the policy.
type idTokenClaims struct {
	Issuer     string   `json:"iss"`
	Subject    string   `json:"sub"`
	Audience   string   `json:"aud"`
	Expiry     int64    `json:"exp"`
	NotBefore  int64    `json:"nbf"`
	IssuedAt   int64    `json:"iat"`
	AuthTime   int64    `json:"auth_time"`
	Nonce      string   `json:"nonce,omitempty"`
	Version    string   `json:"ver"`
	Policy     string   `json:"tfp,omitempty"`
	ACR        string   `json:"acr,omitempty"`
	ObjectID   string   `json:"oid,omitempty"`
	Name       string   `json:"name,omitempty"`
	GivenName  string   `json:"given_name,omitempty"`
	FamilyName string   `json:"family_name,omitempty"`
	Emails     []string `json:"emails,omitempty"`
	NewUser    bool     `json:"newUser,omitempty"`
}

// accessTokenClaims decodes an access token.
type accessTokenClaims struct {
	Issuer          string `json:"iss"`
	Audience        string `json:"aud"`
	Subject         string `json:"sub"`
	ObjectID        string `json:"oid,omitempty"`
	Name            string `json:"name,omitempty"`
	Scope           string `json:"scp,omitempty"`
	AuthorizedParty string `json:"azp"`
	IssuedAt        int64  `json:"iat"`
	NotBefore       int64  `json:"nbf"`
	Expiry          int64  `json:"exp"`
	Nonce           string `json:"nonce,omitempty"`
	Policy          string `json:"tfp,omitempty"`
	ACR             string `json:"acr,omitempty"`
	Version         string `json:"ver"`
}

// mint issues the tokens of a response: an access token when a resource was
// asked for, an ID token for openid, and a refresh token (joining family)
// for offline_access. host is where the token request came in, and so the
// host of the issuer.
func (s *Server) mint(g grant, sc scopes, family, host string) (tokenResponse, error) {
	now := s.now()
	u, ok := s.user(g.userID)
	if !ok {
		return tokenResponse{}, fmt.Errorf("emulator: user %q is gone", g.userID)
	}
	p := g.policy
	key := s.currentKey()
	iss := s.PolicyIssuer(host, p.Name)
	granted := slices.Clone(sc.resource)
	resp := tokenResponse{
		TokenType:   "Bearer",
		NotBefore:   unix(now),
		ProfileInfo: encodeJSON(map[string]any{"ver": "1.0", "tid": s.cfg.TenantID, "oid": u.ObjectID, "name": u.Name}),
		ClientInfo:  encodeJSON(map[string]string{"uid": u.ObjectID + "-" + strings.ToLower(p.Name), "utid": s.cfg.TenantID}),
	}
	sub := u.ObjectID
	if p.LegacySubject {
		sub = legacySubject
	}
	// The claims every token of the policy carries (tokens-overview.md, Claims).
	common := func(aud string, lifetime time.Duration) map[string]any {
		c := map[string]any{"iss": iss, "sub": sub, "aud": aud, "iat": now.Unix(), "nbf": now.Unix(),
			"exp": now.Add(lifetime).Unix(), "ver": "1.0"}
		if pc := p.policyClaim(); pc != "" {
			c[pc] = p.Name
		}
		if g.nonce != "" {
			c["nonce"] = g.nonce
		}
		if p.returns("oid") {
			c["oid"] = u.ObjectID
		}
		return c
	}
	var issued []string
	if sc.audience != "" {
		c := common(sc.audience, s.cfg.AccessTokenLifetime)
		c["azp"] = g.client
		if len(sc.scp) > 0 {
			c["scp"] = strings.Join(sc.scp, " ")
		}
		if p.returns("name") && u.Name != "" {
			c["name"] = u.Name
		}
		at, err := key.sign(c)
		if err != nil {
			return resp, fmt.Errorf("emulator: sign access token: %w", err)
		}
		resp.AccessToken, resp.ExpiresIn = at, seconds(s.cfg.AccessTokenLifetime)
		issued = append(issued, at)
	}
	if sc.openid {
		c := common(g.client, s.cfg.IDTokenLifetime)
		c["auth_time"] = g.authTime.Unix()
		if p.returns("name") {
			c["name"] = u.Name
		}
		if p.returns("given_name") && u.GivenName != "" {
			c["given_name"] = u.GivenName
		}
		if p.returns("family_name") && u.FamilyName != "" {
			c["family_name"] = u.FamilyName
		}
		if p.returns("emails") {
			var emails []string // null without an email, as before
			if u.Email != "" {
				emails = []string{u.Email}
			}
			c["emails"] = emails
		}
		if p.returns("newUser") && g.newUser {
			c["newUser"] = true
		}
		id, err := key.sign(c)
		if err != nil {
			return resp, fmt.Errorf("emulator: sign ID token: %w", err)
		}
		resp.IDToken, resp.IDTokenExpiresIn = id, seconds(s.cfg.IDTokenLifetime)
		granted = append(granted, "openid")
		issued = append(issued, id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sc.offline {
		// A refreshed ID token carries no nonce (OIDC Core §12.2) and the
		// user is no longer new.
		next := g
		next.nonce, next.newUser = "", false
		raw := rand.Text()
		s.refresh[raw] = &refreshToken{grant: next, family: family, expires: now.Add(s.cfg.RefreshTokenLifetime)}
		s.pruneLocked(now)
		resp.RefreshToken, resp.RefreshTokenExpiresIn = raw, seconds(s.cfg.RefreshTokenLifetime)
		granted = append(granted, "offline_access")
		issued = append(issued, raw)
	}
	s.recordLocked(issued...)
	resp.Scope = strings.Join(granted, " ")
	return resp, nil
}

func unix(t time.Time) string        { return strconv.FormatInt(t.Unix(), 10) }
func seconds(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }
func encodeJSON(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}
