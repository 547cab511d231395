package auth

import (
	"fmt"
	"testing"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/internal/b2c"
)

// The memo holds at most memoEntries tokens, drops those MSAL would refresh
// before any other, replaces a session's token without dropping another,
// and serves or keeps none past its refresh time.
func TestTokenMemoIsBounded(t *testing.T) {
	now := time.Now()
	var m tokenMemo
	stale := memoKey{session: "stale"}
	m.put(stale, b2c.AccessToken{Token: "old", RefreshAt: now.Add(time.Minute)}, now)
	if _, ok := m.get(stale, now.Add(time.Minute)); ok {
		t.Fatal("a token was served at its refresh time")
	}
	kept := memoKey{session: "kept"}
	m.put(kept, b2c.AccessToken{Token: "kept", RefreshAt: now.Add(2 * time.Hour)}, now)
	later := now.Add(time.Hour)
	for i := range memoEntries + 100 {
		m.put(memoKey{session: fmt.Sprint(i)}, b2c.AccessToken{Token: "t", RefreshAt: later.Add(time.Hour)}, later)
		if i == memoEntries-2 { // the first put into a full memo
			if _, ok := m.entries[stale]; ok {
				t.Fatal("a full memo kept a token past its refresh time")
			}
			if tok, ok := m.get(kept, later); !ok || tok != "kept" {
				t.Fatal("a full memo dropped a live token while it held a stale one")
			}
		}
	}
	if n := len(m.entries); n > memoEntries {
		t.Fatalf("%d entries, bound %d", n, memoEntries)
	}
	m.put(kept, b2c.AccessToken{Token: "kept again", RefreshAt: now.Add(2 * time.Hour)}, later)
	if n := len(m.entries); n != memoEntries {
		t.Fatalf("replacing a token in a full memo left %d entries, want %d", n, memoEntries)
	}
	short := memoKey{session: "short"}
	m.put(short, b2c.AccessToken{Token: "short", RefreshAt: later}, later)
	if _, ok := m.entries[short]; ok {
		t.Fatal("a token already due for refresh was kept")
	}
	m.forget("0")
	if _, ok := m.get(memoKey{session: "0"}, later); ok {
		t.Fatal("forget left the session's token")
	}
}
