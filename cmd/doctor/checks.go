package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
	"github.com/b2c-functions-go/b2c-functions-go/internal/config"
)

// Names of the checks, as -skip takes them.
const (
	checkUserFlow   = "user-flow"
	checkSecret     = "secret"
	checkRedirect   = "redirect-uri"
	checkPostLogout = "post-logout-uri"
	checkScopes     = "scopes"
	checkAPI        = "api"
	checkTableName  = "table"
)

var checkNames = []string{checkUserFlow, checkSecret, checkRedirect, checkPostLogout, checkScopes, checkAPI, checkTableName}

type mark string

const (
	pass mark = "✓"
	fail mark = "✗"
	// not checked, because a check it needs failed or -skip left it out
	skip mark = "-"
)

// A result is one line of the report.
type result struct {
	mark   mark
	name   string // what was checked, as a person reads it
	detail string // what was found
	fix    string // for a failure: what to do
}

func (r result) String() string {
	s := fmt.Sprintf("%s %s: %s", r.mark, r.name, r.detail)
	if r.mark == fail && r.fix != "" {
		s += ". Fix: " + r.fix
	}
	return s
}

func ok(name, format string, args ...any) result {
	return result{mark: pass, name: name, detail: fmt.Sprintf(format, args...)}
}

func failed(name, fix, format string, args ...any) result {
	return result{mark: fail, name: name, detail: fmt.Sprintf(format, args...), fix: fix}
}

func notChecked(name, format string, args ...any) result {
	return result{mark: skip, name: name, detail: "not checked: " + fmt.Sprintf(format, args...)}
}

// keyVaultReference starts an app setting that App Service could not
// resolve from Key Vault: the app sees the reference itself.
const keyVaultReference = "@Microsoft.KeyVault("

// placeholderSecret stands in for an unresolved Key Vault reference, so the
// checks that need no secret still run.
const placeholderSecret = "doctor-placeholder-for-an-unresolved-key-vault-reference"

// doctor holds what the checks share.
type doctor struct {
	cfg     auth.Config
	extID   bool
	host    string // the authority's host
	http    *http.Client
	noRedir *http.Client // the same, answering redirects instead of following them
	results []result
}

func (d *doctor) add(r result) result {
	d.results = append(d.results, r)
	return r
}

// diagnose runs every check not in skipped and returns their results in
// order.
func diagnose(ctx context.Context, getenv func(string) string, skipped map[string]bool) []result {
	unresolved := strings.HasPrefix(strings.TrimSpace(getenv(auth.EnvClientSecret)), keyVaultReference)
	env := getenv
	if unresolved {
		// ConfigFromEnv refuses the reference; the other checks need no
		// secret, so they run with a stand-in.
		env = func(name string) string {
			if name == auth.EnvClientSecret {
				return placeholderSecret
			}
			return getenv(name)
		}
	}
	cfg, err := auth.ConfigFromEnv(env)
	if err != nil {
		return []result{failed("settings", "set it in the app settings (local.settings.json locally); see README \"Configuration\"", "%v", err)}
	}
	own, err := config.Load(getenv, auth.EnvAPIScopes)
	if err != nil {
		return []result{failed("settings", "set it in the app settings (local.settings.json locally); see README \"Configuration\"", "%v", err)}
	}

	d := &doctor{cfg: cfg, extID: cfg.ExternalID, host: cfg.TenantHost, http: cfg.HTTPClient}
	if d.host == "" {
		d.host = cfg.TenantName + ".b2clogin.com"
		if d.extID {
			d.host = cfg.TenantName + ".ciamlogin.com"
		}
	}
	noRedir := *cfg.HTTPClient
	noRedir.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	d.noRedir = &noRedir

	// Each user flow's discovery document; the sign-up/sign-in flow's
	// endpoints serve the checks after it.
	var susi *metadata
	for i, f := range d.flows() {
		if skipped[checkUserFlow] {
			d.add(notChecked(f.title(d.extID), "-skip %s", checkUserFlow))
			continue
		}
		m, r := d.checkFlow(ctx, f)
		d.add(r)
		if i == 0 && r.mark == pass {
			susi = m
		}
	}
	needs := func(name, check string, run func() result) result {
		switch {
		case skipped[check]:
			return d.add(notChecked(name, "-skip %s", check))
		case susi == nil:
			return d.add(notChecked(name, "needs the sign-up/sign-in user flow's discovery document"))
		}
		return d.add(run())
	}

	if unresolved {
		// Known without asking anyone, and whatever else fails.
		d.add(failed("client secret",
			"grant the app's identity Key Vault Secrets User on the vault, check that the secret exists and that the site's keyVaultReferenceIdentity names that identity, then refresh the references (README \"Rotating the B2C client secret\", step 3)",
			"%s is an unresolved Key Vault reference (%s...): App Service could not read the secret", auth.EnvClientSecret, keyVaultReference))
	} else {
		needs("client secret", checkSecret, func() result { return d.checkSecret(ctx, susi) })
	}
	redirect := needs("redirect URI "+cfg.RedirectURL, checkRedirect, func() result {
		return d.checkRegistered(ctx, susi, "redirect URI "+cfg.RedirectURL, cfg.RedirectURL, auth.EnvPublicBaseURL)
	})
	postLogout := d.postLogoutURL()
	logout := needs("post-logout URI "+postLogout, checkPostLogout, func() result {
		r := d.checkRegistered(ctx, susi, "post-logout URI "+postLogout, postLogout, auth.EnvPostLogoutURL)
		if r.mark != pass {
			return r
		}
		return d.checkEndSession(ctx, susi, postLogout)
	})
	needs("API scopes", checkScopes, func() result {
		// An authorize request needs a registered redirect URI.
		via := ""
		switch {
		case redirect.mark == pass:
			via = cfg.RedirectURL
		case logout.mark == pass:
			via = postLogout
		default:
			return notChecked("API scopes", "needs a registered redirect URI")
		}
		return d.checkScopes(ctx, susi, via)
	})

	if skipped[checkAPI] {
		d.add(notChecked("API endpoint", "-skip %s", checkAPI))
	} else if own.APIEndpoint != "" {
		d.add(d.checkAPI(ctx, own.APIEndpoint))
	}
	if skipped[checkTableName] {
		d.add(notChecked("session table", "-skip %s", checkTableName))
	} else {
		d.add(checkTable(ctx, cfg.Table, getenv(auth.EnvTableName)))
	}
	return d.results
}

// A flow is a configured user flow and the setting that names it.
type flow struct {
	policy, setting string
}

func (f flow) title(extID bool) string {
	if extID {
		return "External ID authority"
	}
	return "user flow " + f.policy
}

func (d *doctor) flows() []flow {
	if d.extID {
		return []flow{{setting: auth.EnvTenantID}}
	}
	var fs []flow
	for _, f := range []flow{
		{d.cfg.SignUpSignInPolicy, auth.EnvSignUpSignInPolicy},
		{d.cfg.ProfileEditPolicy, auth.EnvProfileEditPolicy},
		{d.cfg.PasswordResetPolicy, auth.EnvPasswordResetPolicy},
	} {
		if f.policy != "" {
			fs = append(fs, f)
		}
	}
	return fs
}

// authority is the user flow's authority as the app builds it: B2C's path
// form https://{host}/{tenant}.onmicrosoft.com/{policy} (or the tenant-ID
// form), External ID's https://{host}/{tenant ID}.
func (d *doctor) authority(f flow) string {
	tenant := d.cfg.TenantName + ".onmicrosoft.com"
	if d.cfg.TenantID != "" {
		tenant = d.cfg.TenantID
	}
	if d.extID {
		return "https://" + d.host + "/" + d.cfg.TenantID
	}
	return "https://" + d.host + "/" + tenant + "/" + f.policy
}

func (d *doctor) postLogoutURL() string {
	if d.cfg.PostLogoutURL != "" {
		return d.cfg.PostLogoutURL
	}
	u, _ := url.Parse(d.cfg.RedirectURL) // validated by ConfigFromEnv
	home := d.cfg.HomePath
	if home == "" {
		home = "/"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: home}).String()
}

// metadata is the part of a discovery document the checks read.
type metadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
	EndSessionEndpoint    string `json:"end_session_endpoint"`
}

// checkFlow fetches a user flow's discovery document and key set.
func (d *doctor) checkFlow(ctx context.Context, f flow) (*metadata, result) {
	name := f.title(d.extID)
	fixName := fmt.Sprintf("create the user flow %q in the tenant (Azure portal: Azure AD B2C, User flows) or correct %s", f.policy, f.setting)
	if d.extID {
		fixName = "correct " + auth.EnvTenantName + ", " + auth.EnvTenantHost + " or " + auth.EnvTenantID
	}
	doc := d.authority(f) + "/v2.0/.well-known/openid-configuration"
	var m metadata
	status, body, err := d.get(ctx, doc, &m)
	switch {
	case err != nil && status == 0:
		return nil, failed(name, "check "+auth.EnvTenantHost+" (locally also "+auth.EnvCAFile+")", "%s unreachable: %v", doc, err)
	case status >= 400 && status < 500:
		what := "the tenant has no such user flow"
		if d.extID {
			what = "no such tenant"
		}
		return nil, failed(name, fixName, "the discovery document answered %d%s: %s", status, codeSuffix(body), what)
	case status != http.StatusOK:
		return nil, failed(name, "try again; if it persists, check the service health of the tenant", "the discovery document answered %d", status)
	case err != nil:
		return nil, failed(name, "check "+auth.EnvTenantHost+": it must serve the tenant's user flows", "the discovery document is not JSON: %v", err)
	case m.Issuer == "" || m.AuthorizationEndpoint == "" || m.TokenEndpoint == "" || m.JWKSURI == "":
		return nil, failed(name, "check "+auth.EnvTenantHost+": it must serve the tenant's user flows", "the discovery document lacks issuer, authorization_endpoint, token_endpoint or jwks_uri")
	}
	if !issuerAccepted(m.Issuer, d.host, d.cfg.TenantID, d.extID) {
		if d.extID {
			return nil, failed(name, "check "+auth.EnvTenantID+": it must be the tenant's ID",
				"issuer %s does not name tenant %s (https://{host}/{tenant ID}/v2.0)", m.Issuer, d.cfg.TenantID)
		}
		return nil, failed(name, "set "+auth.EnvTenantHost+" to the host the tenant's tokens name (a custom domain, or B2C_TENANT_ID for the tenant-ID form)",
			"issuer %s is not on %s, which MSAL refuses", m.Issuer, d.host)
	}
	if m.EndSessionEndpoint == "" {
		return nil, failed(name, "check "+auth.EnvTenantHost+": sign-out needs the user flow's end_session_endpoint", "the discovery document has no end_session_endpoint")
	}
	keys, err := d.rs256Keys(ctx, m.JWKSURI)
	if err != nil {
		return nil, failed(name, "check the tenant's policy keys (Identity Experience Framework, Policy keys) and "+auth.EnvTenantHost, "key set %s: %v", m.JWKSURI, err)
	}
	if keys == 0 {
		return nil, failed(name, "the app verifies ID tokens with RS256 only: give the user flow an RSA signing key", "key set %s holds no RS256 key", m.JWKSURI)
	}
	return &m, ok(name, "discovery document, issuer %s, %d RS256 key(s), end_session_endpoint", m.Issuer, keys)
}

// issuerAccepted reports whether an issuer has the form MSAL Go accepts for
// the authority's host, or, for External ID, the tenant-ID form its
// discovery documents name (https://{tenant ID}.ciamlogin.com/{tenant ID}/v2.0,
// which the app aligns for MSAL and verifies ID tokens against).
func issuerAccepted(issuer, host, tenantID string, extID bool) bool {
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme != "https" {
		return false
	}
	if !extID {
		return strings.EqualFold(u.Host, host)
	}
	// External ID names the tenant in the issuer's path, on a host of its
	// own (https://{tenant ID}.ciamlogin.com/{tenant ID}/v2.0): the app
	// shows MSAL the issuer on the authority's host and checks the real one.
	return tenantID != "" && strings.EqualFold(strings.TrimSuffix(u.Path, "/"), "/"+tenantID+"/v2.0")
}

// signInScopes are the resource scopes a sign-in-only app asks for, as the
// app does: B2C's convention, its client ID; External ID takes the OpenID
// Connect scopes, and refuses a bare client ID (AADSTS70011).
func (d *doctor) signInScopes() []string {
	if d.extID {
		return []string{"openid", "profile"}
	}
	return []string{d.cfg.ClientID}
}

// rs256Keys counts the RSA signing keys of a key set usable with RS256.
func (d *doctor) rs256Keys(ctx context.Context, jwksURI string) (int, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Alg string `json:"alg"`
			Use string `json:"use"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	status, _, err := d.get(ctx, jwksURI, &set)
	if status != 0 && status != http.StatusOK {
		return 0, fmt.Errorf("answered %d", status)
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range set.Keys {
		if k.Kty == "RSA" && (k.Alg == "" || k.Alg == "RS256") && (k.Use == "" || k.Use == "sig") && k.N != "" && k.E != "" {
			n++
		}
	}
	return n, nil
}

// get fetches a JSON document into v. status is 0 when nothing answered;
// body is what answered (up to 1 MiB).
func (d *doctor) get(ctx context.Context, rawURL string, v any) (status int, body []byte, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return 0, nil, transportCause(err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, nil, err
	}
	if resp.StatusCode == http.StatusOK {
		err = json.Unmarshal(body, v)
	}
	return resp.StatusCode, body, err
}

// transportCause drops the URL that *url.Error repeats.
func transportCause(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}

// codeRE finds B2C's and Entra ID's error codes in a description or a page.
var codeRE = regexp.MustCompile(`AADB2C\d{5}|AADSTS\d{4,}`)

func codeSuffix(body []byte) string {
	if c := codeRE.Find(body); c != nil {
		return " (" + string(c) + ")"
	}
	return ""
}

// checkSecret redeems a made-up code: B2C authenticates the client before it
// looks at the code, so a wrong secret is invalid_client (AADB2C90081) and
// a right one gets invalid_grant for the code.
func (d *doctor) checkSecret(ctx context.Context, m *metadata) result {
	const name = "client secret"
	fixSecret := "create a client secret (az ad app credential reset --id " + d.cfg.ClientID + " --append --end-date <date>) and store its value in " + auth.EnvClientSecret + " (in Azure: the vault's secret, README \"Rotating the B2C client secret\")"
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

// authorizeAnswer is what an authorize request got, without following the
// sign-in page: the B2C code of an error page or of an error redirect.
type authorizeAnswer struct {
	status      int
	code        string // AADB2C… or AADSTS…
	error       string // the OAuth error of a redirect
	description string // its first line
}

// authorize sends an authorization request as the app does (code flow,
// PKCE S256, state and nonce) and reads the answer without following it.
func (d *doctor) authorize(ctx context.Context, m *metadata, redirectURI string, scopes []string) (authorizeAnswer, error) {
	sum := sha256.Sum256([]byte(verifier()))
	scope := append([]string{"openid", "offline_access"}, scopes...)
	if d.extID {
		scope = append(scope, "profile", "email")
	}
	q := url.Values{
		"client_id":             {d.cfg.ClientID},
		"response_type":         {"code"},
		"response_mode":         {"query"},
		"redirect_uri":          {redirectURI},
		"scope":                 {strings.Join(scope, " ")},
		"state":                 {rand.Text()},
		"nonce":                 {rand.Text()},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	u, err := url.Parse(m.AuthorizationEndpoint)
	if err != nil {
		return authorizeAnswer{}, err
	}
	v := u.Query()
	for k, vs := range q {
		v[k] = vs
	}
	u.RawQuery = v.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return authorizeAnswer{}, err
	}
	resp, err := d.noRedir.Do(req)
	if err != nil {
		return authorizeAnswer{}, transportCause(err)
	}
	defer resp.Body.Close()
	a := authorizeAnswer{status: resp.StatusCode}
	if loc, err := resp.Location(); err == nil {
		// An error sent back to the redirect URI, in the query or, for
		// some flows, the fragment.
		for _, raw := range []string{loc.RawQuery, loc.Fragment} {
			if p, err := url.ParseQuery(raw); err == nil && p.Get("error") != "" {
				a.error, a.description = p.Get("error"), firstLine(p.Get("error_description"))
				a.code = codeRE.FindString(a.description)
			}
		}
		return a, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if c := codeRE.Find(body); c != nil {
		a.code = string(c)
	}
	return a, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}

// checkRegistered checks that uri is a registered redirect URI of the app:
// an authorize request with it gets the sign-in page, not AADB2C90006. For
// the post-logout URI this is the rule B2C applies to a sign-out with
// id_token_hint, which the app sends: post_logout_redirect_uri must match
// one of the app's redirect URIs.
func (d *doctor) checkRegistered(ctx context.Context, m *metadata, name, uri, setting string) result {
	fix := "add " + uri + " to the app registration's Web redirect URIs (az ad app update --id " + d.cfg.ClientID +
		" --web-redirect-uris <every URI the app uses>: the list replaces the registered one), or correct " + setting
	a, err := d.authorize(ctx, m, uri, d.signInScopes())
	if err != nil {
		return failed(name, "check "+auth.EnvTenantHost, "authorize endpoint unreachable: %v", err)
	}
	switch {
	case a.code == "AADB2C90006" || a.code == "AADB2C90007" || a.code == "AADSTS50011" || a.error == "redirect_uri_mismatch":
		return failed(name, fix, "not registered for client ID %s (%s)", d.cfg.ClientID, orWord(a.code, a.error))
	case a.code == "AADB2C90018" || a.code == "AADSTS700016":
		return failed(name, "set "+auth.EnvClientID+" to the app registration's Application (client) ID", "the tenant does not know client ID %s (%s)", d.cfg.ClientID, a.code)
	case a.code != "" || a.error != "":
		return failed(name, "see the code in B2C's error codes reference", "the authorize endpoint answered %s %s", orWord(a.code, a.error), a.description)
	case a.status >= 400:
		return failed(name, "check "+auth.EnvTenantHost, "the authorize endpoint answered %d", a.status)
	}
	return ok(name, "registered (the authorize endpoint shows its sign-in page)")
}

// checkEndSession sends the browser's sign-out request without a hint: B2C
// then redirects whatever the registration says (the hint's rule is the
// authorize check above), so this only shows that the endpoint takes the
// URI.
func (d *doctor) checkEndSession(ctx context.Context, m *metadata, uri string) result {
	name := "post-logout URI " + uri
	u, err := url.Parse(m.EndSessionEndpoint)
	if err != nil {
		return failed(name, "check "+auth.EnvTenantHost, "end_session_endpoint %q: %v", m.EndSessionEndpoint, err)
	}
	q := u.Query()
	q.Set("post_logout_redirect_uri", uri)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return failed(name, "check "+auth.EnvTenantHost, "%v", err)
	}
	resp, err := d.noRedir.Do(req)
	if err != nil {
		return failed(name, "check "+auth.EnvTenantHost, "end-session endpoint unreachable: %v", transportCause(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if code := codeRE.Find(body); code != nil || resp.StatusCode >= 400 {
		return failed(name, "correct "+auth.EnvPostLogoutURL+": an https URL (http only on localhost) registered as a redirect URI",
			"the end-session endpoint answered %d%s", resp.StatusCode, codeSuffix(body))
	}
	return ok(name, "registered as a redirect URI, and the end-session endpoint takes it")
}

// checkScopes asks the authorize endpoint for the API scopes: an unknown
// one is AADB2C90117, one the app was not granted AADB2C90205.
func (d *doctor) checkScopes(ctx context.Context, m *metadata, redirectURI string) result {
	const name = "API scopes"
	if len(d.cfg.Scopes) == 0 {
		return ok(name, "none configured (%s): sign-in asks for the client ID", auth.EnvAPIScopes)
	}
	scopes := strings.Join(d.cfg.Scopes, " ")
	a, err := d.authorize(ctx, m, redirectURI, d.cfg.Scopes)
	if err != nil {
		return failed(name, "check "+auth.EnvTenantHost, "authorize endpoint unreachable: %v", err)
	}
	switch {
	case a.code == "AADB2C90117" || a.code == "AADB2C90012" || a.code == "AADB2C90055" || a.code == "AADB2C90146" || a.code == "AADSTS70011" || a.error == "invalid_scope":
		return failed(name, "set "+auth.EnvAPIScopes+" to full scopes the API exposes (https://{tenant}.onmicrosoft.com/{api}/{scope}, all of one API: App registrations, the API, Expose an API)",
			"%s: not a scope the tenant knows (%s)", scopes, orWord(a.code, a.error))
	case a.code == "AADB2C90205" || a.code == "AADSTS65001":
		return failed(name, "grant them: az ad app permission add --id "+d.cfg.ClientID+" --api <API application ID> --api-permissions <scope ID>=Scope, then az ad app permission admin-consent --id "+d.cfg.ClientID,
			"%s: not granted to the app (%s)", scopes, a.code)
	case a.code != "" || a.error != "":
		return failed(name, "see the code in B2C's error codes reference", "the authorize endpoint answered %s %s", orWord(a.code, a.error), a.description)
	case a.status >= 400:
		return failed(name, "check "+auth.EnvAPIScopes, "the authorize endpoint answered %d", a.status)
	}
	return ok(name, "%s: known, and at least one granted (a scope granted only partly shows at the first call to the API)", scopes)
}

// checkAPI calls the API without a token: any answer but a 5xx shows that
// API_ENDPOINT is reachable; a protected API says 401.
func (d *doctor) checkAPI(ctx context.Context, endpoint string) result {
	const name = "API endpoint"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return failed(name, "correct "+config.APIEndpoint, "%v", err)
	}
	resp, err := d.noRedir.Do(req)
	if err != nil {
		return failed(name, "correct "+config.APIEndpoint+", or start the API", "%s unreachable: %v", endpoint, transportCause(err))
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return failed(name, "check the API's own health and logs", "%s answered %d", endpoint, resp.StatusCode)
	}
	return ok(name, "%s answers (%d without a token)", endpoint, resp.StatusCode)
}

// checkTable reads a row that does not exist with the configured identity:
// ResourceNotFound means the table exists and the identity may read it.
func checkTable(ctx context.Context, table *aztables.Client, name string) result {
	if name == "" {
		name = "sessions"
	}
	title := "session table " + name
	_, err := table.GetEntity(ctx, "doctor", "doctor", nil)
	var re *azcore.ResponseError
	switch {
	case err == nil:
		return ok(title, "reachable with the configured identity")
	case errors.As(err, &re) && re.ErrorCode == string(aztables.ResourceNotFound):
		return ok(title, "exists, and the configured identity reads it")
	case errors.As(err, &re) && re.ErrorCode == string(aztables.TableNotFound):
		return failed(title, "deploy infra/ (storage.bicep creates it), or start the handler once, which creates it; or correct "+auth.EnvTableName,
			"the table does not exist (TableNotFound)")
	case errors.As(err, &re) && (re.StatusCode == http.StatusForbidden || re.StatusCode == http.StatusUnauthorized):
		return failed(title, "assign the identity Storage Table Data Contributor on the storage account (infra/modules/roles.bicep), and check "+auth.EnvManagedIdentityID,
			"the identity may not read it (%d %s)", re.StatusCode, re.ErrorCode)
	case errors.As(err, &re):
		return failed(title, "check "+auth.EnvTableEndpoint, "Table Storage answered %d %s", re.StatusCode, re.ErrorCode)
	}
	return failed(title, "check "+auth.EnvTableEndpoint+" and the managed identity ("+auth.EnvManagedIdentityID+"): run doctor where the app's identity is, or -skip table",
		"unreachable: %s", firstLine(err.Error()))
}
