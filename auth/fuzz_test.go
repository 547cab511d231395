package auth

// Fuzz targets for what reaches this package from outside: the callback's
// query and sign-in cookies, the ID token's claims, the return path and
// the configuration. Their seeds are in testdata/fuzz/<target>/ and run with
// every go test; scripts/fuzz runs each target for a while.

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// fuzzNow is the service's clock, so the sealed cookie among the seeds
// never expires.
var fuzzNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const fuzzClientSecret = "fuzz-client-secret-4q9Zt"

// FuzzCallback: whatever code, state, error, error_description and sign-in
// cookie a callback carries, the answer is a 4xx or 3xx through
// ErrorHandler with a *Failure, never a panic or a 5xx, with B2C and the
// table unreachable. The one 5xx is the table's: a state that is a
// well-formed 256-bit value gets past the cookie check to the table, which
// answers 503 (StorageUnavailable). Nothing answered or reported quotes
// the client secret, the code or the state. cookie "" sends no sign-in
// cookie; bound names it after the state, else after another sign-in.
func FuzzCallback(f *testing.F) {
	table := testenv.UnreachableTable(f)
	var failure error // what ErrorHandler got for the current input
	svc, err := New(Config{
		TenantName:          "contoso",
		TenantHost:          testenv.ClosedAddr(f),
		ClientID:            testenv.ClientID,
		ClientSecret:        fuzzClientSecret,
		SignUpSignInPolicy:  "B2C_1_signupsignin1",
		PasswordResetPolicy: "B2C_1_passwordreset1",
		RedirectURL:         "https://app.example.com" + RedirectPath,
		Table:               table,
		HTTPClient:          &http.Client{Timeout: 2 * time.Second},
		Now:                 func() time.Time { return fuzzNow },
		Logger:              slog.New(slog.DiscardHandler),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			failure = err
			plainError(w, r, err)
		},
	})
	if err != nil {
		f.Fatal(err)
	}
	h := svc.CallbackHandler()
	f.Fuzz(func(t *testing.T, code, state, errCode, errDescription, cookie string, bound bool) {
		failure = nil
		q := url.Values{}
		for k, v := range map[string]string{"code": code, "state": state, "error": errCode, "error_description": errDescription} {
			if v != "" {
				q.Set(k, v)
			}
		}
		req := httptest.NewRequest("GET", RedirectPath+"?"+q.Encode(), nil)
		if cookie != "" {
			name := PendingCookiePrefix + "AAAAAAAAAAAAAAAA" // another sign-in's
			if bound {
				name = pendingCookie(state)
			}
			req.Header.Set("Cookie", name+"="+cookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		status := rec.Code
		fail, isFailure := errors.AsType[*Failure](failure)
		switch {
		case failure == nil && (status < 300 || status >= 400):
			t.Fatalf("status %d without a failure", status)
		case failure == nil:
		case !isFailure:
			t.Fatalf("ErrorHandler got %T %v, want a *Failure", failure, failure)
		case fail.Kind == Internal || status != fail.Kind.Status():
			t.Fatalf("status %d for %v", status, fail)
		case status >= 500 && !(fail.Kind == StorageUnavailable && wellFormedState(state)):
			t.Fatalf("status %d for %v", status, fail)
		}
		answered := []string{rec.Body.String()}
		for _, v := range rec.Header() {
			answered = append(answered, v...)
		}
		if failure != nil {
			answered = append(answered, failure.Error())
		}
		for what, v := range map[string]string{"client secret": fuzzClientSecret, "code": code, "state": state} {
			if len(v) >= 16 && strings.Contains(strings.Join(answered, "\n"), v) {
				t.Fatalf("the answer quotes the %s: %q", what, answered)
			}
		}
	})
}

// wellFormedState tells a state that parses as a 256-bit secret, as the
// session store does: only those reach the table.
func wellFormedState(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == 32
}

// FuzzClaims: the accessors of any claim set decoded from JSON never
// panic, and emails holds no empty or repeated address.
func FuzzClaims(f *testing.F) {
	f.Fuzz(func(t *testing.T, claims []byte) {
		var raw map[string]any
		if json.Unmarshal(claims, &raw) != nil {
			return
		}
		c := claimsFrom(claims)
		_, _, _ = c.UserID(), c.DisplayName(), c.Email()
		for i, e := range c.Emails {
			if e == "" || slices.Contains(c.Emails[:i], e) {
				t.Fatalf("Emails %q: an empty or repeated address", c.Emails)
			}
		}
		if oid, _ := raw["oid"].(string); oid != "" && c.UserID() != oid {
			t.Fatalf("UserID %q, want the oid %q", c.UserID(), oid)
		}
	})
}

// FuzzLocalPath: a return path is "/" or a path on this site: it starts
// with "/" but not "//" or "/\", holds no control character, parses with
// no scheme, host or user, and stays itself when checked again.
func FuzzLocalPath(f *testing.F) {
	f.Fuzz(func(t *testing.T, p string) {
		got := LocalPath(p)
		if got == "/" {
			return
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.HasPrefix(got, "/\\") {
			t.Fatalf("LocalPath(%q) = %q: not a local path", p, got)
		}
		if i := strings.IndexFunc(got, func(r rune) bool { return r < 0x20 || r == 0x7f }); i >= 0 {
			t.Fatalf("LocalPath(%q) = %q holds a control character at %d", p, got, i)
		}
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
			t.Fatalf("LocalPath(%q) = %q parses as %#v, %v", p, got, u, err)
		}
		if again := LocalPath(got); again != got {
			t.Fatalf("LocalPath(%q) = %q, but LocalPath(%q) = %q", p, got, got, again)
		}
	})
}

// FuzzConfigFromEnv: any values of the settings give a Config that New
// accepts, or an error naming one of EnvSettings; never a panic, and the
// error never quotes the client secret or a connection string's
// AccountKey. B2C_CA_FILE is a path: the fuzzed value is the file's
// content instead, so no input reads the machine's files.
func FuzzConfigFromEnv(f *testing.F) {
	caFile := filepath.Join(f.TempDir(), "ca.pem")
	f.Fuzz(func(t *testing.T, provider, tenant, host, susi, profileEdit, passwordReset, policyClaim, tenantID,
		clientID, secret, caPEM, baseURL, postLogout, scopes, conn, endpoint, tableName, identity, idle, absolute string) {
		env := map[string]string{
			EnvIdentityProvider: provider, EnvTenantName: tenant, EnvTenantHost: host, EnvSignUpSignInPolicy: susi,
			EnvProfileEditPolicy: profileEdit, EnvPasswordResetPolicy: passwordReset, EnvPolicyClaim: policyClaim,
			EnvTenantID: tenantID, EnvClientID: clientID, EnvClientSecret: secret, EnvPublicBaseURL: baseURL,
			EnvPostLogoutURL: postLogout, EnvAPIScopes: scopes, EnvTableConnection: conn, EnvTableEndpoint: endpoint,
			EnvTableName: tableName, EnvManagedIdentityID: identity, EnvIdleTimeout: idle, EnvAbsoluteTimeout: absolute,
		}
		if caPEM != "" {
			if err := os.WriteFile(caFile, []byte(caPEM), 0o600); err != nil {
				t.Fatal(err)
			}
			env[EnvCAFile] = caFile
		}
		fromEnv := func(env map[string]string) error {
			cfg, err := ConfigFromEnv(func(k string) string { return env[k] })
			if err == nil {
				if _, err := New(cfg); err != nil {
					t.Fatalf("ConfigFromEnv accepted a Config that New refuses: %v", err)
				}
			}
			return err
		}
		err := fromEnv(env)
		if err == nil {
			return
		}
		msg := err.Error()
		if !slices.ContainsFunc(EnvSettings, func(s EnvSetting) bool { return strings.Contains(msg, s.Name) }) {
			t.Fatalf("error names no setting: %v", err)
		}

		// The same settings with canaries for the secrets, alike in what
		// the checks look at: the canaries must not show.
		const canarySecret, canaryKey = "canary-client-secret-7f3a9c", "Y2FuYXJ5LWFjY291bnQta2V5LTdmM2E5Yw=="
		canaries := maps.Clone(env)
		switch s := strings.TrimSpace(secret); {
		case strings.HasPrefix(s, keyVaultReference):
			canaries[EnvClientSecret] = keyVaultReference + canarySecret + ")"
		case s != "":
			canaries[EnvClientSecret] = canarySecret
		}
		keys, canaryConn := accountKeys(conn, canaryKey)
		canaries[EnvTableConnection] = canaryConn
		canaryMsg := ""
		if err := fromEnv(canaries); err != nil {
			canaryMsg = err.Error()
		}
		for _, c := range []string{canarySecret, canaryKey} {
			if strings.Contains(canaryMsg, c) {
				t.Fatalf("the error quotes a secret: %s", canaryMsg)
			}
		}
		// And the fuzzed secrets themselves, unless another setting or the
		// error's own words hold them too.
		others := maps.Clone(env)
		delete(others, EnvClientSecret)
		delete(others, EnvTableConnection)
		for _, v := range append(keys, strings.TrimSpace(secret)) {
			if len(v) < 8 || !strings.Contains(msg, v) || strings.Contains(canaryMsg, v) {
				continue
			}
			if !slices.ContainsFunc(slices.Collect(maps.Values(others)), func(o string) bool { return strings.Contains(o, v) }) {
				t.Fatalf("the error quotes a secret %q: %s", v, msg)
			}
		}
	})
}

// accountKeys returns the AccountKey values of a connection string, and
// the connection string with canary in their place.
func accountKeys(conn, canary string) (keys []string, replaced string) {
	parts := strings.Split(conn, ";")
	for i, p := range parts {
		if k, v, ok := strings.Cut(p, "="); ok && strings.EqualFold(strings.TrimSpace(k), "AccountKey") {
			keys = append(keys, strings.TrimSpace(v))
			parts[i] = k + "=" + canary
		}
	}
	return keys, strings.Join(parts, ";")
}

// FuzzSessionPayload: any payload a session row could hold decodes or
// fails, never panics; what one decodes to, encoded and decoded again, is
// the same, so nothing is lost between sign-in and the next page.
func FuzzSessionPayload(f *testing.F) {
	d := sessionData{Claims: json.RawMessage(`{"oid":"o1"}`), Policy: "B2C_1_susi", AccountID: "acc", APIPolicy: "B2C_1_susi", IDToken: "tok", IDTokenExpires: 1900000000,
		Profile: &Claims{ObjectID: "o1", Name: "Alice", Emails: []string{"a@x", "b@x"}, NewUser: true, Policy: "B2C_1_susi"}}
	f.Add(d.marshal())
	d.IDToken = "h." + base64.RawURLEncoding.EncodeToString(d.Claims) + ".s" // stored without its payload
	f.Add(d.marshal())
	f.Add([]byte(`{"claims":{"oid":"o1"},"policy":"p"}`))
	f.Add([]byte(`{"profile":{}}`)) // no claims at all
	f.Add([]byte{payloadV1})
	f.Add([]byte{payloadV2})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeSessionData(b)
		if err != nil {
			return
		}
		again, err := decodeSessionData(got.marshal())
		if err != nil || !reflect.DeepEqual(again.claims(), got.claims()) || again.idToken() != got.idToken() ||
			again.IDTokenExpires != got.IDTokenExpires || again.Policy != got.Policy || again.AccountID != got.AccountID || again.APIPolicy != got.APIPolicy {
			t.Fatalf("decoded %+v, then %+v after encoding: %v", got, again, err)
		}
	})
}
