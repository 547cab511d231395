package b2c

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// discoveryCache memoises OpenID Connect discovery documents. MSAL Go
// fetches the document for every new client, and the app builds a client
// per request. Key sets are NOT cached here: go-oidc refetches them on an
// unknown key ID to follow key rotation.
type discoveryCache struct {
	next http.RoundTripper
	ttl  time.Duration
	now  func() time.Time

	mu   sync.Mutex
	docs map[string]cachedDoc
}

type cachedDoc struct {
	body    []byte
	header  http.Header
	expires time.Time
}

func (d *discoveryCache) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || !strings.HasSuffix(req.URL.Path, "/.well-known/openid-configuration") {
		return d.next.RoundTrip(req)
	}
	key := strings.ToLower(req.URL.String())
	d.mu.Lock()
	doc, ok := d.docs[key]
	d.mu.Unlock()
	if ok && d.now().Before(doc.expires) {
		return doc.response(req), nil
	}
	resp, err := d.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	doc = cachedDoc{body: body, header: resp.Header.Clone(), expires: d.now().Add(d.ttl)}
	d.mu.Lock()
	d.docs[key] = doc
	d.mu.Unlock()
	return doc.response(req), nil
}

func (doc cachedDoc) response(req *http.Request) *http.Response {
	return &http.Response{
		Status:        "200 OK",
		StatusCode:    http.StatusOK,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        doc.header.Clone(),
		Body:          io.NopCloser(bytes.NewReader(doc.body)),
		ContentLength: int64(len(doc.body)),
		Request:       req,
	}
}
