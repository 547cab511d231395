package emulator

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// shape is a B2C response shape recorded in testdata/ from Microsoft's
// articles; testdata/README.md describes its fields.
type shape struct {
	Source []struct {
		Article string `json:"article"`
		Section string `json:"section"`
		MSDate  string `json:"ms.date"` // of the version read
		Quote   string `json:"quote"`
	} `json:"_source"`
	Note             string            `json:"_note"`
	Example          map[string]any    `json:"example"`
	Vary             map[string]string `json:"_vary"`
	SamePath         map[string]string `json:"_same_path"`
	Prefix           map[string]string `json:"_prefix"`
	NumbersAsStrings map[string]string `json:"_numbers_as_strings"`
	NotReproduced    map[string]string `json:"_not_reproduced"`
	Absent           map[string]string `json:"_absent"`
	Extra            map[string]string `json:"_extra"`
}

func loadJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func loadShape(t *testing.T, name string) shape {
	t.Helper()
	var sh shape
	loadJSON(t, name, &sh)
	if len(sh.Source) == 0 || sh.Example == nil {
		t.Fatalf("%s: no _source or no example", name)
	}
	for _, src := range sh.Source {
		if src.Article == "" || src.Section == "" {
			t.Fatalf("%s: a _source names no article or section", name)
		}
	}
	// Every field the file says something about is in the example (or, for
	// _extra and _absent, is not), so the file cannot go stale unnoticed.
	for kind, m := range map[string]map[string]string{"_vary": sh.Vary, "_same_path": sh.SamePath, "_prefix": sh.Prefix,
		"_numbers_as_strings": sh.NumbersAsStrings, "_not_reproduced": sh.NotReproduced} {
		for path := range m {
			if _, ok := lookup(sh.Example, path); !ok {
				t.Fatalf("%s: %s names %q, which the example lacks", name, kind, path)
			}
		}
	}
	for kind, m := range map[string]map[string]string{"_extra": sh.Extra, "_absent": sh.Absent} {
		for path := range m {
			if _, ok := lookup(sh.Example, path); ok {
				t.Fatalf("%s: %s names %q, which the example has", name, kind, path)
			}
		}
	}
	return sh
}

// lookup finds a field by path: "name", or "keys[].kid" for a field of the
// first element of an array of objects.
func lookup(m map[string]any, path string) (any, bool) {
	head, rest, nested := strings.Cut(path, "[].")
	v, ok := m[head]
	if !ok || !nested {
		return v, ok
	}
	arr, _ := v.([]any)
	if len(arr) == 0 {
		return nil, false
	}
	obj, _ := arr[0].(map[string]any)
	return lookup(obj, rest)
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// urlPath is the path of an absolute URL, which may have a placeholder such
// as {tenant} in its host.
func urlPath(s string) string {
	_, rest, _ := strings.Cut(s, "://")
	if i := strings.Index(rest, "/"); i >= 0 {
		return rest[i:]
	}
	return ""
}

// checkShape compares got with the shape field for field.
func checkShape(t *testing.T, sh shape, got map[string]any) {
	t.Helper()
	// Round-trip through JSON, so got has JSON's types whatever built it.
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var norm map[string]any
	if err := json.Unmarshal(b, &norm); err != nil {
		t.Fatal(err)
	}
	sh.checkObject(t, "", sh.Example, norm)
	for path, why := range sh.Absent {
		if v, ok := lookup(norm, path); ok {
			t.Errorf("%s = %v, want none: %s", path, v, why)
		}
	}
}

func (sh shape) checkObject(t *testing.T, prefix string, want, got map[string]any) {
	t.Helper()
	for _, k := range sortedKeys(want) {
		path := prefix + k
		w := want[k]
		g, has := got[k]
		if why, ok := sh.NotReproduced[path]; ok {
			if has {
				t.Errorf("%s is sent now (%v): the shape says it is not reproduced (%s); update testdata", path, g, why)
			}
			continue
		}
		if !has {
			t.Errorf("%s is missing, want a %s like %v", path, jsonType(w), w)
			continue
		}
		if _, ok := sh.NumbersAsStrings[path]; ok {
			s, isString := g.(string)
			n, err := strconv.ParseFloat(s, 64)
			if !isString || err != nil {
				t.Errorf("%s = %#v, want a number as a decimal string (legacy format)", path, g)
				continue
			}
			g = n
		}
		if jsonType(g) != jsonType(w) {
			t.Errorf("%s is a JSON %s (%v), want a %s like %v", path, jsonType(g), g, jsonType(w), w)
			continue
		}
		switch wv := w.(type) {
		case map[string]any:
			sh.checkObject(t, path+".", wv, g.(map[string]any))
			continue
		case []any:
			gv := g.([]any)
			if len(wv) > 0 && len(gv) == 0 {
				t.Errorf("%s is empty, want elements like %v", path, wv[0])
				continue
			}
			if len(wv) > 0 {
				if wo, ok := wv[0].(map[string]any); ok {
					go0, ok := gv[0].(map[string]any)
					if !ok {
						t.Errorf("%s[0] is a %s, want an object", path, jsonType(gv[0]))
						continue
					}
					sh.checkObject(t, path+"[].", wo, go0)
					continue
				}
				if jsonType(gv[0]) != jsonType(wv[0]) {
					t.Errorf("%s holds %ss, want %ss", path, jsonType(gv[0]), jsonType(wv[0]))
					continue
				}
			}
		}
		switch {
		case sh.Vary[path] != "":
		case sh.SamePath[path] != "":
			if urlPath(g.(string)) != urlPath(w.(string)) {
				t.Errorf("%s = %q, want the path of %q", path, g, w)
			}
		case sh.Prefix[path] != "":
			p := sh.Prefix[path]
			if !strings.HasPrefix(w.(string), p) {
				t.Fatalf("%s: the example does not start with its _prefix %q", path, p)
			}
			if !strings.HasPrefix(g.(string), p) {
				t.Errorf("%s = %q, want it to start with %q", path, g, p)
			}
		case !reflect.DeepEqual(g, w):
			t.Errorf("%s = %#v, want %#v", path, g, w)
		}
	}
	for _, k := range sortedKeys(got) {
		if _, ok := want[k]; ok {
			continue
		}
		if _, ok := sh.Extra[prefix+k]; !ok {
			t.Errorf("%s (= %v) is sent but neither documented in the example nor listed in _extra", prefix+k, got[k])
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// The values of the examples in testdata/.
const (
	docClientID = "90c0fe63-bcf2-44d5-8fb7-b8bbc0b29dc6" // tokens-overview.md, openid-connect.md
	docTenantID = "775527ff-9a37-4307-8b3d-cc311f58d925" // tokens-overview.md
	docRedirect = "https://aadb2cplayground.azurewebsites.net/"
	docState    = "arbitrary_data_you_can_receive_in_the_response" // openid-connect.md
	docAPI      = "https://fabrikamb2c.onmicrosoft.com/tasks"
)

var docClient = Client{ID: docClientID, Secret: "doc-secret", RedirectURIs: []string{docRedirect},
	GrantedScopes: []string{docAPI + "/read"}}

// startDocTenant starts a tenant with the names of the documented examples:
// fabrikamb2c, the documented tenant ID and client ID, and a policy for each
// example. Its clock starts now.
func startDocTenant(t *testing.T, edit ...func(*Config)) (*Server, *testenv.Clock, *flow) {
	t.Helper()
	clk := testenv.NewClock(time.Now().Truncate(time.Second))
	s := startWith(t, Config{
		Tenant:   "fabrikamb2c",
		TenantID: docTenantID,
		Policies: []Policy{
			{Name: "b2c_1_sign_in"},
			{Name: "b2c_1_signupsignin1"},
			{Name: "b2c_1_sign_in_stock", PolicyClaim: "acr", LegacySubject: true, ApplicationClaims: []string{}},
			{Name: "B2C_1A_signup_signin", PolicyClaim: "none"},
		},
		Clients:      []Client{docClient},
		Users:        []User{alice},
		APIs:         []API{{AppIDURI: docAPI, ClientID: "f2a76e08-93f2-4350-833c-965c02483b11", Scopes: []string{"read", "write"}}},
		StrictLogout: true,
		Now:          clk.Now,
	}, edit...)
	return s, clk, newFlow(t, s, docClient)
}

// The tenant of access-tokens.md's example: user David asks for
// https://contoso.onmicrosoft.com/api/read in B2C_1_signupsignin1.
var david = User{ObjectID: "1558f87f-452b-4757-bcd1-883000000001", Email: "david@example.com", Name: "David", GivenName: "David"}

func startAccessTokenTenant(t *testing.T) *flow {
	t.Helper()
	c := Client{ID: "38307aee-303c-4fff-8087-d8d200000001", Secret: "doc-secret", RedirectURIs: []string{"https://jwt.ms"}}
	s := startWith(t, Config{
		Tenant:   "contoso",
		Policies: []Policy{{Name: "B2C_1_signupsignin1"}},
		Clients:  []Client{c},
		Users:    []User{david},
		APIs:     []API{{AppIDURI: "https://contoso.onmicrosoft.com/api", ClientID: "f2a76e08-93f2-4350-833c-965c02483b11", Scopes: []string{"read"}}},
	})
	return newFlow(t, s, c)
}

// redirectQuery is the query of a redirect as a JSON object of strings.
func redirectQuery(q url.Values) map[string]any {
	m := make(map[string]any)
	for k := range q {
		m[k] = q.Get(k)
	}
	return m
}

// TestShapes checks the emulator's answers against the B2C response shapes in
// testdata/, written from Microsoft's articles.
func TestShapes(t *testing.T) {
	answers := map[string]func(t *testing.T) map[string]any{
		"discovery.json": func(t *testing.T) map[string]any {
			_, _, f := startDocTenant(t)
			status, d := f.discovery("b2c_1_sign_in")
			if status != http.StatusOK {
				t.Fatalf("status %d", status)
			}
			return d
		},
		"jwks.json": func(t *testing.T) map[string]any {
			_, _, f := startDocTenant(t)
			_, d := f.discovery("b2c_1_sign_in")
			_, keys := f.getJSON(d["jwks_uri"].(string))
			return keys
		},
		"token_response.json": func(t *testing.T) map[string]any {
			_, _, f := startDocTenant(t)
			rt := f.redeem("b2c_1_signupsignin1", "openid offline_access", "12345", alice)["refresh_token"].(string)
			status, body := f.post("b2c_1_signupsignin1", f.refreshForm(rt, docClientID+" offline_access"))
			if status != http.StatusOK {
				t.Fatalf("refresh: %d %v", status, body)
			}
			return body
		},
		"token_response_json_numbers.json": func(t *testing.T) map[string]any {
			f := startAccessTokenTenant(t)
			rt := f.redeem("B2C_1_signupsignin1", "openid offline_access https://contoso.onmicrosoft.com/api/read", "anyRandomValue", david)["refresh_token"].(string)
			status, body := f.post("B2C_1_signupsignin1", f.refreshForm(rt, "https://contoso.onmicrosoft.com/api/read"))
			if status != http.StatusOK {
				t.Fatalf("refresh: %d %v", status, body)
			}
			return body
		},
		"access_token_claims.json": func(t *testing.T) map[string]any {
			f := startAccessTokenTenant(t)
			body := f.redeem("B2C_1_signupsignin1", "openid offline_access https://contoso.onmicrosoft.com/api/read", "anyRandomValue", david)
			return claimsOf(t, f.s, body["access_token"])
		},
		"token_error_response.json": func(t *testing.T) map[string]any {
			_, _, f := startDocTenant(t)
			code, verifier := f.signIn("b2c_1_signupsignin1", "openid", "12345", alice)
			form := f.codeForm(code, verifier)
			form.Set("client_secret", "wrong")
			_, body := f.post("b2c_1_signupsignin1", form)
			return body
		},
		"error_redirect_AADB2C90118.json": func(t *testing.T) map[string]any {
			_, _, f := startDocTenant(t)
			_, page, _ := f.authorize("b2c_1_sign_in", "openid", "12345", docState)
			resp, _ := f.click(page, "forgot-password", nil)
			return redirectQuery(f.back(resp))
		},
		"error_redirect_AADB2C90091.json": func(t *testing.T) map[string]any {
			_, _, f := startDocTenant(t)
			_, page, _ := f.authorize("b2c_1_sign_in", "openid", "12345", docState)
			resp, _ := f.click(page, "cancel", nil)
			return redirectQuery(f.back(resp))
		},
		"id_token_user_flow_tfp.json": func(t *testing.T) map[string]any {
			s, _, f := startDocTenant(t)
			return claimsOf(t, s, f.redeem("b2c_1_signupsignin1", "openid", "12345", alice)["id_token"])
		},
		"id_token_acr_legacy.json": func(t *testing.T) map[string]any {
			s, _, f := startDocTenant(t)
			return claimsOf(t, s, f.redeem("b2c_1_sign_in_stock", "openid", "12345", alice)["id_token"])
		},
		"id_token_custom_policy_no_policy_claim.json": func(t *testing.T) map[string]any {
			s, _, f := startDocTenant(t)
			return claimsOf(t, s, f.redeem("B2C_1A_signup_signin", "openid", "12345", alice)["id_token"])
		},
	}

	checkShapeFiles(t, "", answers)
}

// documentedError is a row of testdata/errors.json.
type documentedError struct {
	Name         string `json:"name"`
	Endpoint     string `json:"endpoint"`
	Status       int    `json:"status"`
	Error        string `json:"error"`
	Code         string `json:"code"`
	Message      string `json:"message"`
	StatusSource string `json:"status_source"`
	ErrorSource  string `json:"error_source"`
	RuleSource   string `json:"rule_source"`
	CodeSource   string `json:"code_source"`
}

// errorAnswer is what a request that fails answered: the status, the error
// value (none for a page), the description or the page text, and the
// values of the request that fill the message's {0}, {1}, ...
type errorAnswer struct {
	status      int
	err, desc   string
	args        []string
	description bool // desc is an error_description, not a page
}

func tokenAnswer(status int, body map[string]any, args ...string) errorAnswer {
	e, _ := body["error"].(string)
	d, _ := body["error_description"].(string)
	return errorAnswer{status: status, err: e, desc: d, args: args, description: true}
}

func pageAnswer(resp *http.Response, page string, args ...string) errorAnswer {
	return errorAnswer{status: resp.StatusCode, desc: html.UnescapeString(page), args: args}
}

// TestDocumentedErrors produces each error of testdata/errors.json and checks
// its status, error value, code and text.
func TestDocumentedErrors(t *testing.T) {
	var table struct {
		Source json.RawMessage   `json:"_source"`
		Note   string            `json:"_note"`
		Cases  []documentedError `json:"cases"`
	}
	loadJSON(t, "errors.json", &table)

	logout := func(f *flow, policy string, v url.Values) (*http.Response, string) {
		return f.get(f.pages + "/" + f.tenant + "/" + policy + "/oauth2/v2.0/logout?" + v.Encode())
	}
	produce := map[string]func(t *testing.T) errorAnswer{
		"wrong client secret": func(t *testing.T) errorAnswer {
			_, _, f := startDocTenant(t)
			code, verifier := f.signIn("b2c_1_signupsignin1", "openid", "n", alice)
			form := f.codeForm(code, verifier)
			form.Set("client_secret", "wrong")
			return tokenAnswer(f.post("b2c_1_signupsignin1", form))
		},
		"no client secret": func(t *testing.T) errorAnswer {
			_, _, f := startDocTenant(t)
			code, verifier := f.signIn("b2c_1_signupsignin1", "openid", "n", alice)
			form := f.codeForm(code, verifier)
			form.Del("client_secret")
			return tokenAnswer(f.post("b2c_1_signupsignin1", form))
		},
		"redirect URI not registered, at the token endpoint": func(t *testing.T) errorAnswer {
			_, _, f := startDocTenant(t)
			code, verifier := f.signIn("b2c_1_signupsignin1", "openid", "n", alice)
			form := f.codeForm(code, verifier)
			form.Set("redirect_uri", docRedirect+"other")
			status, body := f.post("b2c_1_signupsignin1", form)
			return tokenAnswer(status, body, docRedirect+"other", docClientID)
		},
		"expired grant": func(t *testing.T) errorAnswer {
			_, clk, f := startDocTenant(t)
			issued := clk.Now()
			code, verifier := f.signIn("b2c_1_signupsignin1", "openid", "n", alice)
			clk.Add(codeLifetime)
			status, body := f.post("b2c_1_signupsignin1", f.codeForm(code, verifier))
			unix := func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
			return tokenAnswer(status, body, unix(clk.Now()), unix(issued), unix(issued.Add(codeLifetime)))
		},
		"no requested scope granted, at the authorize endpoint": func(t *testing.T) errorAnswer {
			_, _, f := startDocTenant(t)
			resp, page, _ := f.authorize("b2c_1_signupsignin1", "openid "+docAPI+"/write", "n", docState)
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("authorize: %d %s", resp.StatusCode, page)
			}
			q := f.back(resp)
			return errorAnswer{status: resp.StatusCode, err: q.Get("error"), desc: q.Get("error_description"), description: true}
		},
		"no requested scope granted, at the token endpoint": func(t *testing.T) errorAnswer {
			_, _, f := startDocTenant(t)
			rt := f.redeem("b2c_1_signupsignin1", "openid offline_access "+docAPI+"/read", "n", alice)["refresh_token"].(string)
			return tokenAnswer(f.post("b2c_1_signupsignin1", f.refreshForm(rt, docAPI+"/write")))
		},
		"unknown policy, discovery": func(t *testing.T) errorAnswer {
			_, _, f := startDocTenant(t)
			status, body := f.discovery("B2C_1_nope")
			return tokenAnswer(status, body, "B2C_1_nope", "fabrikamb2c.onmicrosoft.com")
		},
		"logout hint with a bad signature": func(t *testing.T) errorAnswer {
			_, _, f := startDocTenant(t)
			hint := f.redeem("b2c_1_signupsignin1", "openid", "n", alice)["id_token"].(string)
			return pageAnswer(logout(f, "b2c_1_signupsignin1", url.Values{"id_token_hint": {hint + "x"}, "post_logout_redirect_uri": {docRedirect}}))
		},
		"expired logout hint, StrictLogout": func(t *testing.T) errorAnswer {
			_, clk, f := startDocTenant(t)
			hint := f.redeem("b2c_1_signupsignin1", "openid", "n", alice)["id_token"].(string)
			clk.Add(time.Hour)
			return pageAnswer(logout(f, "b2c_1_signupsignin1", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {docRedirect}}))
		},
		"logout redirect not registered for the hint's application, StrictLogout": func(t *testing.T) errorAnswer {
			_, _, f := startDocTenant(t)
			hint := f.redeem("b2c_1_signupsignin1", "openid", "n", alice)["id_token"].(string)
			resp, page := logout(f, "b2c_1_signupsignin1", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {docRedirect + "elsewhere"}})
			return pageAnswer(resp, page, docRedirect+"elsewhere", docClientID)
		},
	}

	for _, c := range table.Cases {
		t.Run(c.Name, func(t *testing.T) {
			run, ok := produce[c.Name]
			if !ok {
				t.Fatalf("errors.json case %q has no request in TestDocumentedErrors", c.Name)
			}
			if c.Code == "" || c.Message == "" || c.Status == 0 || c.StatusSource == "" && c.Endpoint != "authorize" {
				t.Fatalf("errors.json case %q lacks its code, message, status or status_source", c.Name)
			}
			got := run(t)
			want := c.Code + ": " + documentedMessage(t, c.Message, got.args)
			if got.status != c.Status {
				t.Errorf("status = %d, want %d (%s)", got.status, c.Status, c.StatusSource)
			}
			if got.err != c.Error {
				t.Errorf("error = %q, want %q (%s)", got.err, c.Error, c.ErrorSource)
			}
			if got.description {
				if !strings.HasPrefix(got.desc, want) || !strings.Contains(got.desc, "\r\nCorrelation ID: ") || !strings.Contains(got.desc, "\r\nTimestamp: ") {
					t.Errorf("error_description = %q, want %q then a correlation ID and a timestamp", got.desc, want)
				}
			} else if !strings.Contains(got.desc, want) {
				t.Errorf("page lacks %q:\n%s", want, got.desc)
			}
		})
	}
	for name := range produce {
		if !slices.ContainsFunc(table.Cases, func(c documentedError) bool { return c.Name == name }) {
			t.Errorf("TestDocumentedErrors produces %q, which errors.json lacks", name)
		}
	}
}
