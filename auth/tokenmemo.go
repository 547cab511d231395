package auth

import (
	"sync"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/internal/b2c"
)

// tokenMemo keeps, for the process, the access tokens AccessToken returned,
// until MSAL would refresh them. A page calling an API with a fresh token
// then reads neither the token cache nor builds an MSAL client: the session
// read that made the request signed in is its only storage call.
//
// An entry is found only through its session, by a request that read the
// session row and found it live moments before (memoTrust), so a session
// signed out, expired or deleted on another instance gets nothing from here.
type tokenMemo struct {
	mu      sync.Mutex
	entries map[memoKey]b2c.AccessToken
}

// memoKey names one session's token for one account and set of scopes. The
// session is its hash, as the cookie value is a credential.
type memoKey struct {
	session, account, scopes string
}

// memoEntries bounds the memo: a few MB of tokens at most.
const memoEntries = 4096

func (m *tokenMemo) get(k memoKey, now time.Time) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	at, ok := m.entries[k]
	if !ok || !now.Before(at.RefreshAt) {
		return "", false
	}
	return at.Token, true
}

func (m *tokenMemo) put(k memoKey, at b2c.AccessToken, now time.Time) {
	if !now.Before(at.RefreshAt) {
		return // a token of 5 minutes or less: MSAL refreshes it every time
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil {
		m.entries = make(map[memoKey]b2c.AccessToken)
	}
	if _, ok := m.entries[k]; !ok && len(m.entries) >= memoEntries {
		for k, e := range m.entries {
			if !now.Before(e.RefreshAt) {
				delete(m.entries, k)
			}
		}
		// Still full: drop any one. A dropped token costs one cache read.
		for k := range m.entries {
			if len(m.entries) < memoEntries {
				break
			}
			delete(m.entries, k)
		}
	}
	m.entries[k] = at
}

// forget drops a session's tokens, when it signs out here.
func (m *tokenMemo) forget(session string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.entries {
		if k.session == session {
			delete(m.entries, k)
		}
	}
}
