package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// newClient is a browser stand-in with its own cookies that does not follow
// redirects.
func newClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// do sends a request and checks its status; it returns the Location, made
// absolute.
func do(ctx context.Context, c *http.Client, method, u string, form url.Values, want ...int) (string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	if !slices.Contains(want, resp.StatusCode) {
		return "", fmt.Errorf("%s %s: status %d, want %v", method, req.URL.Redacted(), resp.StatusCode, want)
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		l, err := resp.Request.URL.Parse(loc)
		if err != nil {
			return "", err
		}
		return l.String(), nil
	}
	return string(page), nil
}

var (
	txField    = regexp.MustCompile(`name="tx" value="([^"]+)"`)
	formAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

// chooseUser opens the emulator's sign-in page at authorize, clicks the
// user, and returns where the emulator sends the browser back.
func chooseUser(ctx context.Context, c *http.Client, authorize, userID string) (string, error) {
	page, err := do(ctx, c, http.MethodGet, authorize, nil, http.StatusOK)
	if err != nil {
		return "", err
	}
	action, tx := formAction.FindStringSubmatch(page), txField.FindStringSubmatch(page)
	if action == nil || tx == nil {
		return "", errors.New("no sign-in form on the emulator's page")
	}
	au, err := url.Parse(authorize)
	if err != nil {
		return "", err
	}
	post, err := au.Parse(html.UnescapeString(action[1]))
	if err != nil {
		return "", err
	}
	return do(ctx, c, http.MethodPost, post.String(), url.Values{"tx": {tx[1]}, "action": {"user"}, "user": {userID}},
		http.StatusFound, http.StatusSeeOther)
}

// accessToken gets an access token for the API as the handler's client
// would: the code flow with PKCE against the emulator, redeemed at its
// token endpoint.
func accessToken(ctx context.Context, s *parts) (string, error) {
	var disco struct {
		Authorize string `json:"authorization_endpoint"`
		Token     string `json:"token_endpoint"`
	}
	resp, err := s.emuClient.Get(s.discoveryURL())
	if err != nil {
		return "", err
	}
	err = json.NewDecoder(resp.Body).Decode(&disco)
	resp.Body.Close()
	if err != nil {
		return "", err
	}
	verifier := rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	au, err := url.Parse(disco.Authorize)
	if err != nil {
		return "", err
	}
	redirect := s.base + "/getAToken" // never followed: the handler sees nothing
	scope := "openid offline_access " + apiScope
	q := au.Query()
	for k, v := range map[string]string{"client_id": clientID, "redirect_uri": redirect, "response_type": "code", "scope": scope,
		"state": rand.Text(), "nonce": rand.Text(), "code_challenge": base64.RawURLEncoding.EncodeToString(sum[:]), "code_challenge_method": "S256"} {
		q.Set(k, v)
	}
	au.RawQuery = q.Encode()
	back, err := chooseUser(ctx, newClient(), au.String(), aliceID)
	if err != nil {
		return "", err
	}
	bu, err := url.Parse(back)
	if err != nil {
		return "", err
	}
	code := bu.Query().Get("code")
	if code == "" {
		return "", errors.New("the emulator sent no code")
	}
	resp, err = s.emuClient.PostForm(disco.Token, url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID},
		"client_secret": {clientSecret}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}, "scope": {scope}})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("token endpoint: status %d, no access token", resp.StatusCode)
	}
	return tok.AccessToken, nil
}

// signIn runs a whole sign-in through the handler and the emulator's page,
// up to the callback's answer, which it does not follow.
func signIn(ctx context.Context, c *http.Client, base string) error {
	authorize, err := do(ctx, c, http.MethodGet, base+"/login", nil, http.StatusFound)
	if err != nil {
		return err
	}
	callback, err := chooseUser(ctx, c, authorize, aliceID)
	if err != nil {
		return err
	}
	_, err = do(ctx, c, http.MethodGet, callback, nil, http.StatusSeeOther)
	return err
}
