package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

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
			"grant the app's identity Key Vault Secrets User on the vault, check that the secret exists and that the site's keyVaultReferenceIdentity names that identity, then refresh the references (docs/operations.md, \"Rotating the B2C client secret\", step 3)",
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
