package session

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

func pendingStore(now time.Time) *Store {
	return NewStore(nil, Options{PendingKey: []byte("the server's key"), Now: func() time.Time { return now }})
}

// A cookie minted as anyone can, keyed by the state alone (the scheme is
// public, the state is in the callback URL), is refused.
func TestPendingCookieMintedFromStateAloneRefused(t *testing.T) {
	now := time.Now()
	store := pendingStore(now)
	state := NewState()
	st, err := parseSecret(state)
	if err != nil {
		t.Fatal(err)
	}
	plain := binary.BigEndian.AppendUint64(nil, uint64(now.Add(PendingLifetime).Unix()))
	minted := base64.RawURLEncoding.EncodeToString(st.derive(rowPending).seal(rowPending, append(plain, `{"returnTo":"//evil.example"}`...)))
	if data, err := store.OpenPending(state, minted); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a cookie keyed by the state alone opened: %q, %v", data, err)
	}
}

// A pending sign-in lives PendingLifetime at most, whatever its cookie says.
func TestPendingLifetimeCapped(t *testing.T) {
	now := time.Now()
	store := pendingStore(now)
	for _, tc := range []struct {
		name    string
		expires time.Time
		opens   bool
	}{
		{"as sealed", now.Add(PendingLifetime), true},
		{"another instance's clock a little ahead", now.Add(PendingLifetime + clockSkew/2), true},
		{"a year away", now.AddDate(1, 0, 0), false},
		{"expired", now.Add(-time.Second), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := NewState()
			value, err := store.sealPending(state, []byte("data"), tc.expires)
			if err != nil {
				t.Fatal(err)
			}
			data, err := store.OpenPending(state, value)
			if tc.opens && (err != nil || string(data) != "data") {
				t.Fatalf("OpenPending = %q, %v; want it to open", data, err)
			}
			if !tc.opens && !errors.Is(err, ErrNotFound) {
				t.Fatalf("OpenPending = %q, %v; want ErrNotFound", data, err)
			}
		})
	}
}
