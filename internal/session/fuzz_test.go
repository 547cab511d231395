package session

// Fuzz targets for what reaches this package from outside: the session
// cookie (Load), the cookie of a pending sign-in (OpenPending) and the
// token-cache entity Table Storage answers with (joinChunks, TokenCache).
// Their seeds are in testdata/fuzz/<target>/ and run with every go test;
// scripts/fuzz runs each target for a while.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// fuzzNow is the clock of the fuzz stores, so sealed seeds never expire.
var fuzzNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fuzzSecret is the secret of the seeds that open: the state of the sealed
// pending cookie and the session ID of the sealed token cache
// (AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8).
func fuzzSecret() secret {
	var s secret
	for i := range s {
		s[i] = byte(i)
	}
	return s
}

// What the seeds that open were sealed with: nothing else can open.
var (
	fuzzPendingData = []byte(`{"policy":"B2C_1_signupsignin1","returnTo":"/private"}`)
	fuzzCacheData   = []byte(`{"AccessToken":{},"RefreshToken":{}}`)
)

func fuzzStore(table *aztables.Client) *Store {
	return NewStore(table, Options{IdleTimeout: time.Hour, AbsoluteTimeout: 12 * time.Hour, PendingKey: []byte("fuzz pending key"), Now: func() time.Time { return fuzzNow }})
}

// FuzzLoad: any cookie value gives ErrNotFound or a session, never a panic.
// A value that is not a 256-bit secret is refused before any I/O; a
// well-formed one is looked up, which fails with ErrUnavailable since the
// table cannot be reached, and the error never quotes the cookie.
func FuzzLoad(f *testing.F) {
	store := fuzzStore(testenv.UnreachableTable(f))
	f.Fuzz(func(t *testing.T, id string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		sess, err := store.Load(ctx, id)
		if sess != nil {
			t.Fatalf("Load(%q) gave a session with the table unreachable", id)
		}
		s, perr := parseSecret(id)
		if perr != nil {
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("Load(%q) of a malformed ID: err = %v, want ErrNotFound", id, err)
			}
			return
		}
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Load(%q) of a well-formed ID: err = %v, want ErrUnavailable", id, err)
		}
		if strings.Contains(err.Error(), id) {
			t.Fatalf("Load's error quotes the cookie: %v", err)
		}
		if back, err := parseSecret(s.String()); err != nil || back != s {
			t.Fatalf("parseSecret(%q).String() = %q does not parse back: %v", id, s.String(), err)
		}
	})
}

// FuzzOpenPending: any state and cookie value give the sealed data or
// ErrNotFound, never a panic; only the seed sealed for fuzzSecret opens.
func FuzzOpenPending(f *testing.F) {
	store := fuzzStore(nil) // OpenPending does no I/O
	f.Fuzz(func(t *testing.T, state, value string) {
		data, err := store.OpenPending(state, value)
		switch {
		case err == nil:
			if !bytes.Equal(data, fuzzPendingData) {
				t.Fatalf("OpenPending(%q, %q) opened data nobody sealed: %q", state, value, data)
			}
		case !errors.Is(err, ErrNotFound) || data != nil:
			t.Fatalf("OpenPending(%q, %q) = %q, %v; want ErrNotFound", state, value, data, err)
		}
	})
}

// FuzzJoinChunks: any JSON property map joins into its D0, D1, ...
// chunks or into nil, never a panic.
func FuzzJoinChunks(f *testing.F) {
	f.Fuzz(func(t *testing.T, entity []byte) {
		var props map[string]json.RawMessage
		if json.Unmarshal(entity, &props) != nil {
			return
		}
		got := joinChunks(props)
		if _, ok := props["D0"]; !ok && got != nil {
			t.Fatalf("joinChunks without D0 = %q, want nil", got)
		}
		if len(got) > len(entity) {
			t.Fatalf("joinChunks made %d bytes out of a %d-byte entity", len(got), len(entity))
		}
	})
}

// entityTransport answers every request with the entity in body, as Table
// Storage answers a point read.
type entityTransport struct{ body []byte }

func (tr *entityTransport) Do(req *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: http.StatusOK,
		Header: http.Header{
			"Content-Type": {"application/json;odata=minimalmetadata;streaming=true;charset=utf-8"},
			"Etag":         {`W/"datetime'2026-01-01T00%3A00%3A00.0000000Z'"`},
		},
		Body:    io.NopCloser(bytes.NewReader(tr.body)),
		Request: req,
	}, nil
}

// FuzzTokenCache: whatever token-cache entity the table returns, reading
// it never panics, and a cache that does not open is nil, not an error.
// An answer that is not a JSON object is the table's failure
// (ErrUnavailable); only the seed sealed for fuzzSecret opens.
func FuzzTokenCache(f *testing.F) {
	tr := &entityTransport{}
	table, err := aztables.NewClientWithNoCredential("http://127.0.0.1/devstoreaccount1/sessions",
		&aztables.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: tr, Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		f.Fatal(err)
	}
	store := fuzzStore(table)
	f.Fuzz(func(t *testing.T, entity []byte) {
		tr.body = entity // the fuzz function runs one input at a time
		sess := &Session{Created: fuzzNow, LastSeen: fuzzNow, keys: fuzzSecret().derive(rowSession)}
		cache, err := store.TokenCache(context.Background(), sess)
		var object map[string]any
		switch {
		case err == nil:
			if cache != nil && !bytes.Equal(cache, fuzzCacheData) {
				t.Fatalf("TokenCache opened data nobody sealed: %q", cache)
			}
		case len(entity) > 0 && json.Unmarshal(entity, &object) == nil:
			t.Fatalf("TokenCache of a JSON object: err = %v, want a nil cache", err)
		case !errors.Is(err, ErrUnavailable) || cache != nil:
			t.Fatalf("TokenCache of an unreadable answer = %q, %v; want ErrUnavailable", cache, err)
		}
	})
}
