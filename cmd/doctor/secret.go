package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
)

// checkSecret redeems a made-up code: B2C authenticates the client before it
// looks at the code, so a wrong secret is invalid_client (AADB2C90081) and
// a right one gets invalid_grant for the code.
func (d *doctor) checkSecret(ctx context.Context, m *metadata) result {
	const name = "client secret"
	fixSecret := "create a client secret (az ad app credential reset --id " + d.cfg.ClientID + " --append --end-date <date>) and store its value in " + auth.EnvClientSecret + " (in Azure: the vault's secret, docs/operations.md, \"Rotating the B2C client secret\")"
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"client_id":     {d.cfg.ClientID},
		"client_secret": {d.cfg.ClientSecret},
		"code":          {"doctor-made-up-code"},
		"redirect_uri":  {d.cfg.RedirectURL},
		"code_verifier": {verifier()},
		"scope":         {"openid offline_access " + strings.Join(d.signInScopes(), " ")},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return failed(name, "check "+auth.EnvTenantHost, "token endpoint %s: %v", m.TokenEndpoint, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := d.noRedir.Do(req)
	if err != nil {
		return failed(name, "check "+auth.EnvTenantHost, "token endpoint unreachable: %v", transportCause(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	json.Unmarshal(body, &e)
	code := codeRE.FindString(e.Description)
	switch {
	case code == "AADB2C90018" || code == "AADSTS700016" || e.Error == "unauthorized_client":
		return failed(name, "set "+auth.EnvClientID+" to the app registration's Application (client) ID", "the tenant does not know client ID %s (%s)", d.cfg.ClientID, orWord(code, e.Error))
	case e.Error == "invalid_client" || code == "AADB2C90081" || code == "AADB2C90079" || code == "AADSTS7000215" || code == "AADSTS7000222":
		return failed(name, fixSecret, "the token endpoint refused it (%s): wrong or expired", orWord(code, e.Error))
	case e.Error == "invalid_grant":
		return ok(name, "accepted: the token endpoint refused only the made-up code (invalid_grant%s)", prefixed(code))
	case resp.StatusCode == http.StatusOK:
		return failed(name, "check "+auth.EnvTenantHost+": it must be the tenant's", "the token endpoint accepted a made-up code")
	}
	return failed(name, "check "+auth.EnvClientSecret+" and "+auth.EnvClientID, "the token endpoint answered %d %s%s", resp.StatusCode, e.Error, prefixed(code))
}

func orWord(code, word string) string {
	if code != "" {
		return code
	}
	return word
}

func prefixed(code string) string {
	if code == "" {
		return ""
	}
	return ", " + code
}

// verifier is a fresh PKCE verifier (RFC 7636 §4.1).
func verifier() string { return rand.Text() + rand.Text() }
