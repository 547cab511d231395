package emulator

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// The values of the External ID examples in testdata/externalid/.
const (
	xTenantID    = "9122040d-6c67-4c5b-b112-36a304b66dad" // id-tokens.md, Sample v2.0 ID token
	xClientID    = "6cb04018-a3f5-46a7-b995-940c78f5aef3" // the same token's aud
	xRedirect    = "http://localhost/myapp/"              // v2-protocols-oidc.md's redirect_uri
	xLogoutURI   = "http://localhost/"                    // registered too, for sign-out
	xAPIClientID = "00001111-aaaa-2222-bbbb-3333cccc4444" // the docs' placeholder client ID
	xAPIURI      = "api://" + xAPIClientID                // add-api-scopes.md: api://{clientId}
	xAPIRead     = xAPIURI + "/ToDoList.Read"
	xAPIWrite    = xAPIURI + "/ToDoList.ReadWrite"
	xTenantPath  = "contoso.onmicrosoft.com"
)

// abe is the user of id-tokens.md's sample token.
var abe = User{ObjectID: "00000000-0000-0000-66f3-3332eca7ea81", Email: "AbeLi@microsoft.com", Name: "Abe Lincoln", GivenName: "Abe", FamilyName: "Lincoln", Password: "abe-pw"}

var xClient = Client{ID: xClientID, Secret: "doc-secret", RedirectURIs: []string{xRedirect, xLogoutURI}}

// startExternalID starts an External ID tenant with the names of the
// documented examples: contoso, the sample token's tenant ID, app and user,
// and an API exposing ToDoList.Read and ToDoList.ReadWrite (add-api-scopes.md).
// Its clock starts now.
func startExternalID(t *testing.T, edit ...func(*Config)) (*Server, *testenv.Clock, *flow) {
	t.Helper()
	clk := testenv.NewClock(time.Now().Truncate(time.Second))
	s := startWith(t, Config{
		Tenant:     "contoso",
		TenantID:   xTenantID,
		ExternalID: true,
		Clients:    []Client{xClient},
		Users:      []User{abe, alice},
		APIs:       []API{{AppIDURI: xAPIURI, ClientID: xAPIClientID, Scopes: []string{"ToDoList.Read", "ToDoList.ReadWrite"}}},
		Now:        clk.Now,
	}, edit...)
	return s, clk, newFlow(t, s, s.cfg.Clients[0])
}

// TestExternalIDShapes checks the External ID mode's answers against the
// shapes in testdata/externalid/, written from Microsoft's articles.
func TestExternalIDShapes(t *testing.T) {
	answers := map[string]func(t *testing.T) map[string]any{
		"discovery.json": func(t *testing.T) map[string]any {
			_, _, f := startExternalID(t)
			status, d := f.discovery("")
			if status != http.StatusOK {
				t.Fatalf("status %d", status)
			}
			return d
		},
		"id_token.json": func(t *testing.T) map[string]any {
			s, _, f := startExternalID(t)
			return claimsOf(t, s, f.redeem("", "openid profile", "123523", abe)["id_token"])
		},
		"token_response.json": func(t *testing.T) map[string]any {
			_, _, f := startExternalID(t, func(c *Config) { c.AccessTokenLifetime = 3599 * time.Second })
			return f.redeem("", "openid offline_access "+xAPIRead, "n", abe)
		},
		"token_error_response.json": func(t *testing.T) map[string]any {
			_, _, f := startExternalID(t)
			code, verifier := f.signIn("", "openid", "n", abe)
			form := f.codeForm(code, verifier)
			form.Set("client_secret", "wrong")
			_, body := f.post("", form)
			return body
		},
		"error_redirect_cancel.json": func(t *testing.T) map[string]any {
			_, _, f := startExternalID(t)
			_, page, _ := f.authorize("", "openid", "n", docState)
			resp, _ := f.click(page, "cancel", nil)
			return redirectQuery(f.back(resp))
		},
	}
	checkShapeFiles(t, "externalid", answers)
}

// externalIDError is a row of testdata/externalid/errors.json.
type externalIDError struct {
	Name          string `json:"name"`
	Endpoint      string `json:"endpoint"`
	Status        int    `json:"status"`
	Error         string `json:"error"`
	SubError      string `json:"suberror"`
	Code          int    `json:"code"`
	Message       string `json:"message"`
	CodeSource    string `json:"code_source"`
	MessageSource string `json:"message_source"`
	StatusSource  string `json:"status_source"`
	ErrorSource   string `json:"error_source"`
	RuleSource    string `json:"rule_source"`
}

// xAnswer is what a failing External ID request answered: a JSON body, the
// query of a redirect, or a page.
type xAnswer struct {
	status int
	body   map[string]any // JSON: the body; redirect: the query
	page   string
	kind   string // "json", "redirect" or "page"
	args   []string
}

func xJSON(status int, body map[string]any, args ...string) xAnswer {
	return xAnswer{status: status, body: body, kind: "json", args: args}
}

func xPage(resp *http.Response, page string, args ...string) xAnswer {
	return xAnswer{status: resp.StatusCode, page: page, kind: "page", args: args}
}

func xRedirected(f *flow, resp *http.Response, args ...string) xAnswer {
	return xAnswer{status: resp.StatusCode, body: redirectQuery(f.back(resp)), kind: "redirect", args: args}
}

// TestExternalIDDocumentedErrors produces each error of
// testdata/externalid/errors.json and checks its status, error value, code,
// text and the fields around them.
func TestExternalIDDocumentedErrors(t *testing.T) {
	var table struct {
		Source json.RawMessage   `json:"_source"`
		Note   string            `json:"_note"`
		Cases  []externalIDError `json:"cases"`
	}
	loadJSON(t, filepath.Join("externalid", "errors.json"), &table)

	const other = "11112222-bbbb-3333-cccc-4444dddd5555"
	stranger := Client{ID: other, Secret: "s", RedirectURIs: []string{xRedirect}}
	readOnly := func(c *Config) { c.Clients[0].GrantedScopes = []string{xAPIRead} }
	produce := map[string]func(t *testing.T) xAnswer{
		"wrong client secret": func(t *testing.T) xAnswer {
			_, _, f := startExternalID(t)
			code, verifier := f.signIn("", "openid", "n", abe)
			form := f.codeForm(code, verifier)
			form.Set("client_secret", "wrong")
			status, body := f.post("", form)
			return xJSON(status, body, xClientID)
		},
		"no client secret": func(t *testing.T) xAnswer {
			_, _, f := startExternalID(t)
			code, verifier := f.signIn("", "openid", "n", abe)
			form := f.codeForm(code, verifier)
			form.Del("client_secret")
			return xJSON(f.post("", form))
		},
		"redirect URI not registered, at the authorize endpoint": func(t *testing.T) xAnswer {
			_, _, f := startExternalID(t)
			f.redirect = xRedirect + "other"
			resp, page, _ := f.authorize("", "openid", "n", docState)
			return xPage(resp, page, xRedirect+"other", xClientID)
		},
		"unknown application, at the authorize endpoint": func(t *testing.T) xAnswer {
			s, _, _ := startExternalID(t)
			f := newFlow(t, s, stranger)
			resp, page, _ := f.authorize("", "openid", "n", docState)
			return xPage(resp, page, other, xTenantPath)
		},
		"unknown application, at the token endpoint": func(t *testing.T) xAnswer {
			s, _, _ := startExternalID(t)
			f := newFlow(t, s, stranger)
			f.tenant = xTenantID
			status, body := f.post("", f.codeForm("code", strings.Repeat("v", 43)))
			return xJSON(status, body, other, xTenantID)
		},
		"no consent for the API scope, at the authorize endpoint": func(t *testing.T) xAnswer {
			_, _, f := startExternalID(t, readOnly)
			resp, page, _ := f.authorize("", "openid offline_access "+xAPIWrite, "n", docState)
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("authorize: %d %s", resp.StatusCode, page)
			}
			return xRedirected(f, resp, xClientID)
		},
		"no consent for the API scope, at the token endpoint": func(t *testing.T) xAnswer {
			_, _, f := startExternalID(t, readOnly)
			rt := f.redeem("", "openid offline_access "+xAPIRead, "n", abe)["refresh_token"].(string)
			status, body := f.post("", f.refreshForm(rt, "openid offline_access "+xAPIWrite))
			return xJSON(status, body, xClientID)
		},
		"the app's own client ID as the scope": func(t *testing.T) xAnswer {
			_, _, f := startExternalID(t)
			resp, page, _ := f.authorize("", "openid offline_access "+xClientID, "n", docState)
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("authorize: %d %s", resp.StatusCode, page)
			}
			return xRedirected(f, resp, xClientID)
		},
		"authorization code redeemed twice": func(t *testing.T) xAnswer {
			_, _, f := startExternalID(t)
			code, verifier := f.signIn("", "openid", "n", abe)
			if status, body := f.post("", f.codeForm(code, verifier)); status != http.StatusOK {
				t.Fatalf("first redemption: %d %v", status, body)
			}
			return xJSON(f.post("", f.codeForm(code, verifier)))
		},
		"code verifier does not match": func(t *testing.T) xAnswer {
			_, _, f := startExternalID(t)
			code, _ := f.signIn("", "openid", "n", abe)
			return xJSON(f.post("", f.codeForm(code, strings.Repeat("w", 43))))
		},
		"unknown tenant, discovery": func(t *testing.T) xAnswer {
			_, _, f := startExternalID(t)
			f.tenant = "fabrikam.onmicrosoft.com"
			status, body := f.discovery("")
			return xJSON(status, body, "fabrikam.onmicrosoft.com")
		},
		"logout hint with a bad signature": func(t *testing.T) xAnswer {
			_, _, f := startExternalID(t)
			hint := f.redeem("", "openid", "n", abe)["id_token"].(string)
			v := url.Values{"id_token_hint": {hint + "x"}, "post_logout_redirect_uri": {xLogoutURI}}
			resp, page := f.get(f.pages + "/" + xTenantPath + "/oauth2/v2.0/logout?" + v.Encode())
			return xPage(resp, page)
		},
	}

	for _, c := range table.Cases {
		t.Run(c.Name, func(t *testing.T) {
			run, ok := produce[c.Name]
			if !ok {
				t.Fatalf("errors.json case %q has no request in TestExternalIDDocumentedErrors", c.Name)
			}
			if c.Code == 0 || c.Message == "" || c.Status == 0 || c.CodeSource == "" || c.StatusSource == "" {
				t.Fatalf("errors.json case %q lacks its code, message, status or their sources", c.Name)
			}
			if c.Error != "" && c.ErrorSource == "" {
				t.Fatalf("errors.json case %q gives no error_source", c.Name)
			}
			got := run(t)
			want := "AADSTS" + strconv.Itoa(c.Code) + ": " + documentedMessage(t, c.Message, got.args)
			if got.status != c.Status {
				t.Errorf("status = %d, want %d (%s)", got.status, c.Status, c.StatusSource)
			}
			if got.kind == "page" {
				if !strings.Contains(html.UnescapeString(got.page), want) {
					t.Errorf("page lacks %q:\n%s", want, got.page)
				}
				return
			}
			str := func(k string) string { v, _ := got.body[k].(string); return v }
			if str("error") != c.Error {
				t.Errorf("error = %q, want %q (%s)", str("error"), c.Error, c.ErrorSource)
			}
			desc := str("error_description")
			if !strings.HasPrefix(desc, want+"\r\nTrace ID: ") || !strings.Contains(desc, "\r\nCorrelation ID: ") || !strings.Contains(desc, "\r\nTimestamp: ") {
				t.Errorf("error_description = %q, want %q then a trace ID, a correlation ID and a timestamp", desc, want)
			}
			if wantURI := "https://login.microsoftonline.com/error?code=" + strconv.Itoa(c.Code); str("error_uri") != wantURI {
				t.Errorf("error_uri = %q, want %q", str("error_uri"), wantURI)
			}
			if got.kind == "redirect" {
				if str("state") != docState {
					t.Errorf("state = %q, want %q", str("state"), docState)
				}
				return
			}
			if codes, _ := got.body["error_codes"].([]any); !reflect.DeepEqual(codes, []any{float64(c.Code)}) {
				t.Errorf("error_codes = %v, want [%d]", got.body["error_codes"], c.Code)
			}
			for _, k := range []string{"trace_id", "correlation_id", "timestamp"} {
				if str(k) == "" || !strings.Contains(desc, str(k)) {
					t.Errorf("%s = %q, want the value the description names", k, str(k))
				}
			}
			if str("suberror") != c.SubError {
				t.Errorf("suberror = %q, want %q", str("suberror"), c.SubError)
			}
		})
	}
	for name := range produce {
		if !slices.ContainsFunc(table.Cases, func(c externalIDError) bool { return c.Name == name }) {
			t.Errorf("TestExternalIDDocumentedErrors produces %q, which errors.json lacks", name)
		}
	}
}
