package b2c

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Metadata is the part of a user flow's discovery document the app uses
// (OpenID Connect Discovery 1.0 §3).
type Metadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
	EndSessionEndpoint    string `json:"end_session_endpoint"`
}

// discoveryCache is the one cache of discovery documents. It serves MSAL Go,
// which fetches the document for every new client (and the app builds a
// client per request), as an http.RoundTripper, and the app's own reads of
// the same documents, parsed once per fetch. Key sets are NOT cached here:
// go-oidc refetches them on an unknown key ID to follow key rotation.
type discoveryCache struct {
	next http.RoundTripper
	ttl  time.Duration
	// timeout bounds a fetch: the app's own reads reach the transport
	// without the client's timeout, and a hung B2C must not hold them.
	timeout time.Duration
	now     func() time.Time

	// alignIssuer serves MSAL documents whose issuer has the authority's
	// host: External ID's issuer is on the tenant-ID host, which MSAL Go's
	// ValidateIssuerMatchesAuthority refuses. The app's own reads keep the
	// real issuer, and ID tokens are verified against it.
	alignIssuer bool

	mu   sync.Mutex
	docs map[string]*cachedDoc
}

type cachedDoc struct {
	body    []byte
	forMSAL []byte // body, with the issuer aligned when alignIssuer
	header  http.Header
	meta    Metadata
	expires time.Time
}

func isDiscovery(req *http.Request) bool {
	return req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/.well-known/openid-configuration")
}

func (d *discoveryCache) RoundTrip(req *http.Request) (*http.Response, error) {
	if !isDiscovery(req) {
		return d.next.RoundTrip(req)
	}
	doc, resp, err := d.get(req, false)
	if doc == nil {
		return resp, err
	}
	return doc.response(req), nil
}

// get returns the cached document for req, fetching it when it is missing
// or expired, or always when fresh. When the fetch does not give a usable
// document, it returns the response (for MSAL) or the error instead.
func (d *discoveryCache) get(req *http.Request, fresh bool) (*cachedDoc, *http.Response, error) {
	key := strings.ToLower(req.URL.String())
	d.mu.Lock()
	doc, ok := d.docs[key]
	d.mu.Unlock()
	if ok && !fresh && d.now().Before(doc.expires) {
		return doc, nil, nil
	}
	if d.timeout > 0 {
		ctx, cancel := context.WithTimeout(req.Context(), d.timeout)
		defer cancel()
		req = req.WithContext(ctx)
	}
	resp, err := d.next.RoundTrip(req)
	if err != nil {
		return nil, nil, err
	}
	// Read whole before the timeout's context ends.
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return nil, resp, nil
	}
	doc = &cachedDoc{body: body, forMSAL: body, header: resp.Header.Clone(), expires: d.now().Add(d.ttl)}
	if err := json.Unmarshal(body, &doc.meta); err != nil {
		return nil, nil, fmt.Errorf("b2c: discovery document %s: %w", req.URL.Redacted(), err)
	}
	if d.alignIssuer {
		if doc.forMSAL, err = alignedIssuer(body, doc.meta.Issuer, req.URL.Host); err != nil {
			return nil, nil, fmt.Errorf("b2c: discovery document %s: %w", req.URL.Redacted(), err)
		}
	}
	d.mu.Lock()
	d.docs[key] = doc
	d.mu.Unlock()
	return doc, nil, nil
}

// metadata returns the parsed discovery document that req asks for, from
// the network when fresh.
func (d *discoveryCache) metadata(req *http.Request, fresh bool) (*Metadata, error) {
	doc, resp, err := d.get(req, fresh)
	switch {
	case err != nil && transportFailure(err):
		return nil, fmt.Errorf("%w: discovery: %v", ErrUnreachable, transportCause(err))
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrMisconfigured, err)
	case doc == nil:
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			return nil, fmt.Errorf("%w: discovery answered %d", ErrUnreachable, resp.StatusCode)
		}
		// B2C answers 4xx for a user flow the tenant does not have.
		return nil, &MisconfiguredError{Setting: "TenantHost", Reason: fmt.Sprintf("discovery document %s answered %d: no such tenant or user flow", req.URL.Redacted(), resp.StatusCode)}
	}
	m := doc.meta
	if m.Issuer == "" || m.JWKSURI == "" || m.AuthorizationEndpoint == "" {
		return nil, fmt.Errorf("%w: discovery document %s lacks issuer, jwks_uri or authorization_endpoint", ErrMisconfigured, req.URL.Redacted())
	}
	return &m, nil
}

// alignedIssuer is the document with its issuer moved to host, the
// authority's: only MSAL sees it, and MSAL uses the issuer for nothing but
// that check (it validates no ID token).
func alignedIssuer(body []byte, issuer, host string) ([]byte, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == host {
		return body, err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	u.Host = host
	if doc["issuer"], err = json.Marshal(u.String()); err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}

func (doc *cachedDoc) response(req *http.Request) *http.Response {
	return &http.Response{
		Status:        "200 OK",
		StatusCode:    http.StatusOK,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        doc.header.Clone(),
		Body:          io.NopCloser(bytes.NewReader(doc.forMSAL)),
		ContentLength: int64(len(doc.forMSAL)),
		Request:       req,
	}
}

// keyFetchErrors turns a key set answered with a status other than 200 into
// a Go error, so go-oidc's key set returns it wrapped (and a 503 from B2C
// reads as "unreachable", not as a bad token).
type keyFetchErrors struct{ next http.RoundTripper }

func (k keyFetchErrors) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := k.next.RoundTrip(req)
	if err == nil && resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("b2c: key set answered %d", resp.StatusCode)
	}
	return resp, err
}

// tokenReply records, for one MSAL call, the scope a successful token
// response granted: MSAL Go turns a response without some requested scopes
// into an error whose only account of them is text.
type tokenReply struct {
	seen  bool
	scope string
}

type tokenReplyKey struct{}

// withTokenReply returns a context whose token responses are recorded.
func withTokenReply(ctx context.Context) (context.Context, *tokenReply) {
	r := &tokenReply{}
	return context.WithValue(ctx, tokenReplyKey{}, r), r
}

// declined are the requested scopes that a recorded response did not grant.
func (r *tokenReply) declined(requested []string) []string {
	if r == nil || !r.seen {
		return nil
	}
	granted := strings.Fields(r.scope)
	var out []string
	for _, s := range requested {
		if !slices.ContainsFunc(granted, func(g string) bool { return strings.EqualFold(g, s) }) {
			out = append(out, s)
		}
	}
	return out
}

// tokenObserver records the scope of token responses for calls made with
// withTokenReply; it reads only the scope field, never a token.
type tokenObserver struct{ next http.RoundTripper }

func (o tokenObserver) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := o.next.RoundTrip(req)
	reply, ok := req.Context().Value(tokenReplyKey{}).(*tokenReply)
	if !ok || err != nil || req.Method != http.MethodPost || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var granted struct {
		Scope string `json:"scope"`
	}
	if json.Unmarshal(body, &granted) == nil {
		reply.seen, reply.scope = true, granted.Scope
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}
