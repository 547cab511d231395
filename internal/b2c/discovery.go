package b2c

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
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
//
// A document is validated before it is kept, so a bad answer never sticks;
// one fetch at a time per document, whoever asks; and after a failed fetch
// the last good document is served while fetches back off, so no number of
// callers makes B2C see more than one request per back-off step. B2C limits
// requests per client IP, and every instance of the app shares a few.
type discoveryCache struct {
	next http.RoundTripper
	ttl  time.Duration
	// timeout bounds a fetch: the app's own reads reach the transport
	// without the client's timeout, and a hung B2C must not hold them.
	timeout time.Duration
	now     func() time.Time
	// validate refuses a document the app cannot sign anyone in with.
	validate func(*Metadata) error

	// alignIssuer serves MSAL documents whose issuer has the authority's
	// host: External ID's issuer is on the tenant-ID host, which MSAL Go's
	// ValidateIssuerMatchesAuthority refuses. The app's own reads keep the
	// real issuer, and ID tokens are verified against it.
	alignIssuer bool

	mu   sync.Mutex
	docs map[string]*docEntry
}

// Back-off of a document's fetches after a failure: doubling from the
// first step up to the last.
const (
	firstBackoff = time.Second
	lastBackoff  = time.Minute
)

// docEntry is what the cache knows of one document; the cache's mutex
// guards it.
type docEntry struct {
	good     *cachedDoc    // the last document that passed validation
	err      error         // the last fetch's failure, until one succeeds
	backoff  time.Duration // the current back-off step
	retryAt  time.Time     // no fetch before this, after a failure
	fetching chan struct{} // closed when the fetch under way ends
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
	doc, err := d.get(req, false)
	if err != nil {
		return nil, err
	}
	return doc.response(req), nil
}

// get returns the document req asks for: the cached one while it is fresh
// (or, when fresh, only if a fetch is not allowed yet), else one fetched by
// this caller or by the one already fetching it. When a fetch fails, the last
// good document stands in for it.
func (d *discoveryCache) get(req *http.Request, fresh bool) (*cachedDoc, error) {
	key := strings.ToLower(req.URL.String())
	for {
		d.mu.Lock()
		e := d.docs[key]
		if e == nil {
			e = &docEntry{}
			d.docs[key] = e
		}
		now, good, wait := d.now(), e.good, e.fetching
		switch {
		case good != nil && !fresh && now.Before(good.expires),
			good != nil && (wait != nil || now.Before(e.retryAt)):
			d.mu.Unlock()
			return good, nil
		case now.Before(e.retryAt):
			err := e.err
			d.mu.Unlock()
			return nil, err
		case wait != nil:
			d.mu.Unlock()
			select {
			case <-wait:
				fresh = false // what that fetch got will do
				continue
			case <-req.Context().Done():
				return nil, req.Context().Err()
			}
		}
		e.fetching = make(chan struct{})
		d.mu.Unlock()
		return d.fetchFor(req, e)
	}
}

// fetchFor fetches the document of e and records the outcome: the document,
// or the failure and the next back-off step. It always ends the fetch under
// way, even if the transport panics, so that no caller waits for it forever.
func (d *discoveryCache) fetchFor(req *http.Request, e *docEntry) (doc *cachedDoc, err error) {
	err = errFetchPanicked
	defer func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		close(e.fetching)
		e.fetching = nil
		if err == nil {
			e.good, e.err, e.backoff, e.retryAt = doc, nil, 0, time.Time{}
			return
		}
		e.err, e.backoff = err, min(max(2*e.backoff, firstBackoff), lastBackoff)
		if se, ok := errors.AsType[*statusError](err); ok {
			// B2C's own word on when to come back (RFC 9110 §10.2.3).
			e.backoff = min(max(e.backoff, se.retryAfter), lastBackoff)
		}
		e.retryAt = d.now().Add(e.backoff)
		if e.good != nil {
			doc, err = e.good, nil
		}
	}()
	return d.fetch(req)
}

var errFetchPanicked = errors.New("b2c: discovery fetch panicked")

// fetch gets the document from B2C and validates it. The caller's
// cancellation does not end it: others may be waiting for it.
func (d *discoveryCache) fetch(req *http.Request) (*cachedDoc, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(req.Context()), d.timeout)
	defer cancel()
	resp, err := d.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	// Read whole before the timeout's context ends.
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		se := &statusError{url: req.URL.Redacted(), status: resp.StatusCode}
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			se.retryAfter = time.Duration(secs) * time.Second
		}
		return nil, se
	}
	doc := &cachedDoc{body: body, forMSAL: body, header: resp.Header.Clone(), expires: d.now().Add(d.ttl)}
	if err := json.Unmarshal(body, &doc.meta); err != nil {
		return nil, fmt.Errorf("%w: discovery document %s: %v", ErrMisconfigured, req.URL.Redacted(), err)
	}
	if err := d.validate(&doc.meta); err != nil {
		return nil, fmt.Errorf("discovery document %s: %w", req.URL.Redacted(), err)
	}
	if d.alignIssuer {
		if doc.forMSAL, err = alignedIssuer(body, doc.meta.Issuer, req.URL.Host); err != nil {
			return nil, fmt.Errorf("%w: discovery document %s: %v", ErrMisconfigured, req.URL.Redacted(), err)
		}
	}
	return doc, nil
}

// statusError is a discovery document answered with a status other than 200.
type statusError struct {
	url        string
	status     int
	retryAfter time.Duration // its Retry-After, in seconds, if any
}

func (e *statusError) Error() string {
	return fmt.Sprintf("b2c: discovery document %s answered %d", e.url, e.status)
}

// metadata returns the parsed discovery document that req asks for,
// refetched when fresh (see get).
func (d *discoveryCache) metadata(req *http.Request, fresh bool) (*Metadata, error) {
	doc, err := d.get(req, fresh)
	se, isStatus := errors.AsType[*statusError](err)
	switch {
	case err == nil:
		m := doc.meta
		return &m, nil
	case isStatus && (se.status >= 500 || se.status == http.StatusTooManyRequests || se.status == http.StatusRequestTimeout):
		// Down, or limiting this app's requests: not the site's settings.
		return nil, fmt.Errorf("%w: discovery answered %d", ErrUnreachable, se.status)
	case isStatus:
		// B2C answers 4xx for a user flow the tenant does not have.
		return nil, &MisconfiguredError{Setting: "TenantHost", Reason: fmt.Sprintf("discovery document %s answered %d: no such tenant or user flow", se.url, se.status)}
	case transportFailure(err), errors.Is(err, context.Canceled):
		return nil, fmt.Errorf("%w: discovery: %v", ErrUnreachable, transportCause(err))
	case errors.Is(err, ErrMisconfigured):
		return nil, err
	}
	return nil, fmt.Errorf("%w: %w", ErrMisconfigured, err)
}

// requireEndpoints refuses a document without what a sign-in needs: the
// issuer, the token endpoint and the key set the app itself relies on, as
// https URLs (OpenID Connect Discovery 1.0 §3), and the authorization
// endpoint the browser is sent to, as an absolute URL.
func requireEndpoints(m *Metadata) error {
	for _, f := range []struct {
		name, value string
		schemes     []string
	}{
		{"issuer", m.Issuer, []string{"https"}},
		{"token_endpoint", m.TokenEndpoint, []string{"https"}},
		{"jwks_uri", m.JWKSURI, []string{"https"}},
		{"authorization_endpoint", m.AuthorizationEndpoint, []string{"https", "http"}},
	} {
		if u, err := url.Parse(f.value); err != nil || !slices.Contains(f.schemes, u.Scheme) || u.Host == "" {
			return fmt.Errorf("%w: %s %q is not an absolute %s URL", ErrMisconfigured, f.name, f.value, f.schemes[0])
		}
	}
	return nil
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
