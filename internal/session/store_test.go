package session_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/b2c-functions-go/b2c-functions-go/internal/session"
	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// newStore returns a store over a table of the test's own, read through
// ReadPolicy as the app reads.
func newStore(t *testing.T) (*session.Store, *aztables.Client, *testenv.Clock) {
	t.Helper()
	_, table := testenv.SharedAzurite(t).NewTable(t, session.ReadPolicy{})
	clk := testenv.NewClock(time.Now().Truncate(time.Second))
	return session.NewStore(table, storeOptions(clk)), table, clk
}

// storeOptions are the options of the tests' stores, with a pending key of
// the test's own.
func storeOptions(clk *testenv.Clock) session.Options {
	return session.Options{IdleTimeout: time.Hour, AbsoluteTimeout: 12 * time.Hour, PendingKey: []byte(rand.Text()), Now: clk.Now}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestCreateLoadDelete(t *testing.T) {
	store, _, _ := newStore(t)
	sess, err := store.Create(ctx(t), []byte(`{"name":"Alice"}`), []byte(`{"cache":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(sess.ID) != 43 {
		t.Fatalf("session ID length = %d, want 43 (256 bits base64url)", len(sess.ID))
	}
	got, err := store.Load(ctx(t), sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Data) != `{"name":"Alice"}` {
		t.Errorf("Data = %q", got.Data)
	}
	if cache := tokenCache(t, store, got); string(cache) != `{"cache":1}` {
		t.Errorf("TokenCache = %q", cache)
	}
	if err := store.Delete(ctx(t), got); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Load(ctx(t), sess.ID); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Load after Delete: err = %v, want ErrNotFound", err)
	}
}

// The table must hold neither the cookie value nor the plaintext: a copy of
// the table alone can neither hijack a session nor read a token.
func TestTableHoldsNoSecrets(t *testing.T) {
	store, table, _ := newStore(t)
	secretData := []byte("refresh-token-VERY-SECRET")
	sess, err := store.Create(ctx(t), secretData, secretData)
	if err != nil {
		t.Fatal(err)
	}
	pager := table.NewListEntitiesPager(nil)
	var dump bytes.Buffer
	for pager.More() {
		page, err := pager.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Entities {
			dump.Write(e)
		}
	}
	if dump.Len() == 0 {
		t.Fatal("table is empty")
	}
	for _, needle := range []string{sess.ID, string(secretData), "VERY-SECRET"} {
		if strings.Contains(dump.String(), needle) {
			t.Errorf("table holds %q", needle)
		}
	}
}

func TestLoadRejects(t *testing.T) {
	store, table, clk := newStore(t)
	tests := []struct {
		name string
		id   func() string
	}{
		{"empty", func() string { return "" }},
		{"malformed", func() string { return "not base64 !!" }},
		{"short", func() string { return "AAAA" }},
		{"unknown", func() string {
			s, _ := store.Create(ctx(t), []byte("y"), nil)
			return strings.Repeat("A", 43) + s.ID[43:] // well-formed, never issued
		}},
		{"tampered", func() string {
			// Another session's row moved under a victim's partition cannot
			// be opened with the victim's key.
			clk.Add(time.Second) // rowOf tells rows apart by creation time
			victim, _ := store.Create(ctx(t), []byte("victim"), nil)
			clk.Add(time.Second)
			other, _ := store.Create(ctx(t), []byte("z"), nil)
			otherRaw := rowOf(t, table, other)
			victimRaw := rowOf(t, table, victim)
			otherRaw.PartitionKey = victimRaw.PartitionKey
			b, _ := json.Marshal(otherRaw)
			if _, err := table.UpsertEntity(ctx(t), b, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace}); err != nil {
				t.Fatal(err)
			}
			return victim.ID
		}},
		// Someone who can write the table moves a stolen session's
		// plaintext times to keep it alive: the row no longer opens.
		{"last seen moved", func() string { return movedTime(t, store, table, clk, "LastSeen") }},
		{"created moved", func() string { return movedTime(t, store, table, clk, "Created") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := store.Load(ctx(t), tt.id()); !errors.Is(err, session.ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
	}
}

// movedTime creates a session, moves one of its row's times an hour
// later, as a table writer extending it would, and returns its ID.
func movedTime(t *testing.T, store *session.Store, table *aztables.Client, clk *testenv.Clock, property string) string {
	t.Helper()
	clk.Add(time.Second) // rowOf tells rows apart by creation time
	sess, err := store.Create(ctx(t), []byte("stolen"), nil)
	if err != nil {
		t.Fatal(err)
	}
	row := rowOf(t, table, sess)
	if _, err := store.Load(ctx(t), sess.ID); err != nil {
		t.Fatalf("the untouched row: %v", err)
	}
	row.Properties[property] = aztables.EDMDateTime(time.Time(row.Properties[property].(aztables.EDMDateTime)).Add(time.Hour))
	b, _ := json.Marshal(row)
	if _, err := table.UpdateEntity(ctx(t), b, &aztables.UpdateEntityOptions{UpdateMode: aztables.UpdateModeMerge}); err != nil {
		t.Fatal(err)
	}
	return sess.ID
}

// rowOf finds the session row of sess by listing the table: tests may look,
// the store never stores what would let it find the row from outside.
func rowOf(t *testing.T, table *aztables.Client, sess *session.Session) *aztables.EDMEntity {
	t.Helper()
	pager := table.NewListEntitiesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range page.Entities {
			var e aztables.EDMEntity
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatal(err)
			}
			if e.RowKey == "session" && time.Time(e.Properties["Created"].(aztables.EDMDateTime)).Equal(sess.Created) {
				return &e
			}
		}
	}
	t.Fatal("row not found")
	return nil
}

func TestTimeouts(t *testing.T) {
	tests := []struct {
		name    string
		steps   []time.Duration // clock moves, a Load after each
		wantErr bool
	}{
		{"fresh", []time.Duration{time.Minute}, false},
		{"active for longer than idle", []time.Duration{50 * time.Minute, 50 * time.Minute, 50 * time.Minute}, false},
		{"idle", []time.Duration{61 * time.Minute}, true},
		{"absolute", repeat(40*time.Minute, 19), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, _, clk := newStore(t)
			sess := newSession(t, store)
			var err error
			for _, d := range tt.steps {
				clk.Add(d)
				_, err = store.Load(ctx(t), sess.ID)
				if err != nil {
					break
				}
			}
			if gotErr := errors.Is(err, session.ErrNotFound); gotErr != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = d
	}
	return s
}

// A pending sign-in's cookie opens only for its own state, unaltered and
// within its lifetime.
func TestPendingCookie(t *testing.T) {
	store, _, clk := newStore(t)
	state := session.NewState()
	value, err := store.SealPending(state, []byte("nonce+verifier"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(value, "nonce") {
		t.Fatalf("the cookie shows its data: %q", value)
	}
	data, err := store.OpenPending(state, value)
	if err != nil || string(data) != "nonce+verifier" {
		t.Fatalf("OpenPending = %q, %v", data, err)
	}
	flipped := []byte(value)
	flipped[len(flipped)/2] ^= 1
	for name, tc := range map[string]struct{ state, value string }{
		"another state":   {session.NewState(), value},
		"altered":         {state, string(flipped)},
		"malformed state": {"%00", value},
		"not base64":      {state, "!!"},
		"empty":           {state, ""},
	} {
		if _, err := store.OpenPending(tc.state, tc.value); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", name, err)
		}
	}
	clk.Add(session.PendingLifetime)
	if _, err := store.OpenPending(state, value); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("after %v: err = %v, want ErrNotFound", session.PendingLifetime, err)
	}
}

// The sign-in cookie is keyed by the server: a store with another key,
// which is all an attacker has, can neither open one nor make one that opens.
func TestPendingCookieNeedsServerKey(t *testing.T) {
	store, table, clk := newStore(t)
	attacker := session.NewStore(table, storeOptions(clk))
	state := session.NewState()
	forged, err := attacker.SealPending(state, []byte(`{"returnTo":"//evil.example"}`))
	if err != nil {
		t.Fatal(err)
	}
	if data, err := store.OpenPending(state, forged); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("a cookie sealed with another key opened: %q, %v", data, err)
	}
	keyless := session.NewStore(table, session.Options{Now: clk.Now})
	if _, err := keyless.SealPending(state, []byte("x")); err == nil {
		t.Fatal("a store without a PendingKey sealed a sign-in cookie")
	}
}

// A state is consumed once.
func TestConsumeOnce(t *testing.T) {
	store, _, _ := newStore(t)
	state := session.NewState()
	if err := store.Consume(ctx(t), state); err != nil {
		t.Fatal(err)
	}
	if err := store.Consume(ctx(t), state); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("second Consume: err = %v, want ErrNotFound", err)
	}
}

// Two callbacks racing with one state: exactly one wins.
func TestConsumeRace(t *testing.T) {
	store, _, _ := newStore(t)
	state := session.NewState()
	var wg sync.WaitGroup
	results := make(chan error, 8)
	for range 8 {
		wg.Go(func() { results <- store.Consume(ctx(t), state) })
	}
	wg.Wait()
	close(results)
	wins := 0
	for err := range results {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, session.ErrNotFound):
			t.Errorf("unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d callbacks won, want 1", wins)
	}
}

// tokenCache reads the session's token cache, failing the test on an error.
func tokenCache(t *testing.T, store *session.Store, sess *session.Session) []byte {
	t.Helper()
	b, err := store.TokenCache(ctx(t), sess)
	if err != nil {
		t.Fatalf("TokenCache: %v", err)
	}
	return b
}

// loadWithCache loads a session and reads its token cache, as a request
// that needs a token does.
func loadWithCache(t *testing.T, store *session.Store, id string) *session.Session {
	t.Helper()
	sess, err := store.Load(ctx(t), id)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	tokenCache(t, store, sess)
	return sess
}

func TestTokenCacheETag(t *testing.T) {
	store, _, _ := newStore(t)
	created := newSession(t, store)
	a, b := loadWithCache(t, store, created.ID), loadWithCache(t, store, created.ID)
	if err := store.SaveTokenCache(ctx(t), a, []byte("from a")); err != nil {
		t.Fatal(err)
	}
	if err := store.SaveTokenCache(ctx(t), b, []byte("from b")); !errors.Is(err, session.ErrStale) {
		t.Fatalf("racing insert: err = %v, want ErrStale", err)
	}
	// A first cache is added in a transaction, which reports no ETag: a
	// second write needs the session read again.
	if err := store.SaveTokenCache(ctx(t), a, []byte("a again")); !errors.Is(err, session.ErrStale) {
		t.Fatalf("second write without a reload: err = %v, want ErrStale", err)
	}
	a = loadWithCache(t, store, created.ID)
	if err := store.SaveTokenCache(ctx(t), a, []byte("a again")); err != nil {
		t.Fatalf("update with fresh ETag: %v", err)
	}
	b = loadWithCache(t, store, created.ID)
	if err := store.SaveTokenCache(ctx(t), a, []byte("a stale")); err != nil {
		t.Fatal(err)
	}
	if err := store.SaveTokenCache(ctx(t), b, []byte("b stale")); !errors.Is(err, session.ErrStale) {
		t.Fatalf("stale update: err = %v, want ErrStale", err)
	}
	got, _ := store.Load(ctx(t), created.ID)
	if cache := tokenCache(t, store, got); string(cache) != "a stale" {
		t.Fatalf("cache = %q, want the winner's write", cache)
	}
}

func TestTokenCacheSizes(t *testing.T) {
	store, _, _ := newStore(t)
	sess := newSession(t, store)
	for _, n := range []int{1, 64 << 10, 300 << 10} {
		data := bytes.Repeat([]byte{'q'}, n)
		if err := store.SaveTokenCache(ctx(t), sess, data); err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		got, err := store.Load(ctx(t), sess.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cache := tokenCache(t, store, got); !bytes.Equal(cache, data) {
			t.Fatalf("%d bytes: read back %d bytes", n, len(cache))
		}
		sess = got
	}
	if err := store.SaveTokenCache(ctx(t), sess, make([]byte, 1<<20)); !errors.Is(err, session.ErrTooLarge) {
		t.Fatalf("1 MiB cache: err = %v, want ErrTooLarge", err)
	}
}

func TestSweep(t *testing.T) {
	store, table, clk := newStore(t)
	old, _ := store.Create(ctx(t), []byte("old"), []byte("cache"))
	if err := store.Consume(ctx(t), session.NewState()); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Hour)
	fresh, err := store.Create(ctx(t), []byte("fresh"), []byte("cache"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := store.Sweep(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	// The old session's row with its token cache (in one transaction,
	// though the cache's own deadline is later: it serves no one without
	// its session) and the used state's mark.
	if n != 3 {
		t.Errorf("swept %d rows, want 3", n)
	}
	left := testenv.Rows(t, table)
	if left["session"] != 1 || left["tokencache"] != 1 || len(left) != 2 {
		t.Errorf("rows left %v, want the fresh session's two", left)
	}
	if _, err := store.Load(ctx(t), old.ID); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("old session: err = %v", err)
	}
	if _, err := store.Load(ctx(t), fresh.ID); err != nil {
		t.Errorf("fresh session: %v", err)
	}
}

func TestUnavailable(t *testing.T) {
	az := testenv.NewAzurite(t)
	_, table := az.NewTable(t)
	store := session.NewStore(table, session.Options{IdleTimeout: time.Hour, AbsoluteTimeout: 12 * time.Hour})
	sess := newSession(t, store)
	az.Stop()
	if _, err := store.Load(ctx(t), sess.ID); !errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("Load with Azurite down: err = %v, want ErrUnavailable", err)
	}
	if err := az.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Load(ctx(t), sess.ID); err != nil {
		t.Fatalf("Load after restart: %v", err)
	}
}

// The first sign-in on a fresh deployment creates the missing table.
func TestWritesCreateMissingTable(t *testing.T) {
	az := testenv.SharedAzurite(t)
	_, table := az.NewTable(t)
	if _, err := table.Delete(ctx(t), nil); err != nil {
		t.Fatal(err)
	}
	store := session.NewStore(table, session.Options{IdleTimeout: time.Hour, AbsoluteTimeout: 12 * time.Hour})
	if err := store.Consume(ctx(t), session.NewState()); err != nil {
		t.Fatalf("Consume without a table: %v", err)
	}
	if _, err := table.Delete(ctx(t), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Create(ctx(t), []byte("x"), []byte("cache")); err != nil {
		t.Fatalf("Create without a table: %v", err)
	}
}

// A refresh that finishes after a logout in another tab must not leave the
// refreshed tokens behind in a cache row of their own.
func TestTokenCacheAfterLogout(t *testing.T) {
	store, table, _ := newStore(t)
	created := newSession(t, store)
	refreshing, _ := store.Load(ctx(t), created.ID)
	loggingOut, _ := store.Load(ctx(t), created.ID)
	if err := store.Delete(ctx(t), loggingOut); err != nil {
		t.Fatal(err)
	}
	if err := store.SaveTokenCache(ctx(t), refreshing, []byte("tokens")); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("SaveTokenCache after logout: err = %v, want ErrNotFound", err)
	}
	pager := table.NewListEntitiesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Entities) != 0 {
			t.Fatalf("rows left after logout: %s", page.Entities)
		}
	}
}

// When the reply to the insert that consumes a state is lost, the SDK sends
// the insert again and gets 409: the mark is this call's own, so the
// sign-in goes on. Another call's mark is still a replay.
func TestConsumeRetriedAfterLostReply(t *testing.T) {
	proxy, table := testenv.SharedAzurite(t).NewProxiedTable(t, policy.RetryOptions{MaxRetries: 2, RetryDelay: 10 * time.Millisecond})
	store := session.NewStore(table, storeOptions(testenv.NewClock(time.Now())))
	state := session.NewState()
	proxy.SetMode(testenv.LoseReply, 0)
	if err := store.Consume(ctx(t), state); err != nil {
		t.Fatalf("Consume with its first reply lost: %v, want success", err)
	}
	if proxy.Accepted() < 2 {
		t.Fatalf("%d connections: the reply was not lost, so nothing was retried", proxy.Accepted())
	}
	if err := store.Consume(ctx(t), state); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("a second Consume: %v, want ErrNotFound", err)
	}
}

// A store reads the same rows with ReadPolicy as without it, and with it
// each row is decoded once: the SDK's decode into a map and encode back to
// JSON are gone, which shows as fewer allocations per read.
func TestReadPolicy(t *testing.T) {
	az := testenv.SharedAzurite(t)
	name, plain := az.NewTable(t)
	svc, err := aztables.NewServiceClientFromConnectionString(az.ConnectionString(), &aztables.ClientOptions{
		ClientOptions: azcore.ClientOptions{PerCallPolicies: []policy.Policy{session.ReadPolicy{}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	clk := testenv.NewClock(time.Now().Truncate(time.Second))
	opts := storeOptions(clk)
	withPolicy, without := session.NewStore(svc.NewClient(name), opts), session.NewStore(plain, opts)

	data, cache := []byte(`{"claims":"x"}`), bytes.Repeat([]byte("c"), 70<<10) // a cache in two chunks
	sess, err := withPolicy.Create(ctx(t), data, cache)
	if err != nil {
		t.Fatal(err)
	}
	allocs := map[string]float64{}
	for label, store := range map[string]*session.Store{"with ReadPolicy": withPolicy, "without": without} {
		got, err := store.Load(ctx(t), sess.ID)
		if err != nil {
			t.Fatalf("%s: Load: %v", label, err)
		}
		gotCache, err := store.TokenCache(ctx(t), got)
		if err != nil || !bytes.Equal(got.Data, data) || !bytes.Equal(gotCache, cache) || !got.Created.Equal(sess.Created) {
			t.Fatalf("%s: read %q (created %v) and a cache of %d bytes, %v; want what was written", label, got.Data, got.Created, len(gotCache), err)
		}
		// The ETag came with the row: a write guarded by it succeeds once,
		// and the same stale ETag is refused after.
		if err := store.SaveTokenCache(ctx(t), got, []byte("new")); err != nil {
			t.Fatalf("%s: SaveTokenCache with the read ETag: %v", label, err)
		}
		again, err := store.Load(ctx(t), sess.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.TokenCache(ctx(t), again); err != nil {
			t.Fatal(err)
		}
		stale := *again
		if err := store.SaveTokenCache(ctx(t), again, cache); err != nil {
			t.Fatal(err)
		}
		if err := store.SaveTokenCache(ctx(t), &stale, []byte("lost")); !errors.Is(err, session.ErrStale) {
			t.Fatalf("%s: a write with a stale ETag: %v, want ErrStale", label, err)
		}
		allocs[label] = testing.AllocsPerRun(20, func() {
			if _, err := store.Load(ctx(t), sess.ID); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Logf("allocations per Load: %v", allocs)
	if allocs["with ReadPolicy"] > allocs["without"]-20 {
		t.Errorf("allocations per Load: %v: ReadPolicy saves fewer than 20, so the SDK still decodes the row", allocs)
	}
}

// newSession creates a session with a one-byte payload and no token cache.
func newSession(t *testing.T, store *session.Store) *session.Session {
	t.Helper()
	sess, err := store.Create(ctx(t), []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

// TestLoadReadsWhatAPageNeeds: a session's point read asks Table Storage
// for just the properties Load decodes ("Query Entities": $select on a
// single entity's URI), so the sweep's Expires and the service's Timestamp
// do not travel with every page, and the ETag still guards the writes after.
func TestLoadReadsWhatAPageNeeds(t *testing.T) {
	wire := &readRecorder{}
	_, table := testenv.SharedAzurite(t).NewTable(t, session.ReadPolicy{}, wire)
	store := session.NewStore(table, storeOptions(testenv.NewClock(time.Now().Truncate(time.Second))))
	sess := newSession(t, store)
	wire.start()
	got, err := store.Load(ctx(t), sess.ID)
	if err != nil || string(got.Data) != "x" || !got.Created.Equal(sess.Created) || !got.LastSeen.Equal(sess.LastSeen) {
		t.Fatalf("Load: %+v, %v; want the session written", got, err)
	}
	reads := wire.stop()
	if len(reads) != 1 {
		t.Fatalf("Load made %d reads, want 1", len(reads))
	}
	if sel := reads[0].query.Get("$select"); sel != "Created,LastSeen,Data" {
		t.Errorf("the session read's $select is %q, want Created,LastSeen,Data", sel)
	}
	var props map[string]json.RawMessage
	if err := json.Unmarshal(reads[0].body, &props); err != nil {
		t.Fatalf("the response %q: %v", reads[0].body, err)
	}
	for _, name := range []string{"Expires", "Timestamp"} {
		if _, ok := props[name]; ok {
			t.Errorf("the session read returned %s: %s", name, reads[0].body)
		}
	}
	stale := *got
	if err := store.Update(ctx(t), got, []byte("y")); err != nil {
		t.Fatalf("Update with the ETag of that read: %v", err)
	}
	if err := store.Update(ctx(t), &stale, []byte("z")); !errors.Is(err, session.ErrStale) {
		t.Fatalf("Update with a stale ETag: %v, want ErrStale", err)
	}
}

// A point read that comes back without an ETag (Table Storage always
// sends one) is an error, not a row whose next write would go unguarded.
func TestReadWithoutETagFails(t *testing.T) {
	_, table := testenv.SharedAzurite(t).NewTable(t, session.ReadPolicy{}, dropETag{})
	store := session.NewStore(table, storeOptions(testenv.NewClock(time.Now().Truncate(time.Second))))
	sess := newSession(t, store)
	if _, err := store.Load(ctx(t), sess.ID); !errors.Is(err, session.ErrUnavailable) || !strings.Contains(err.Error(), "ETag") {
		t.Fatalf("Load of a row read without an ETag: %v, want ErrUnavailable naming the ETag", err)
	}
}

// dropETag is a pipeline policy that removes the ETag from every response.
type dropETag struct{}

func (dropETag) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	if err == nil {
		resp.Header.Del("ETag")
	}
	return resp, err
}

// readRecorder is a pipeline policy that keeps, while recording, the query
// and the body of each successful GET as Table Storage sent it.
type readRecorder struct {
	mu    sync.Mutex
	on    bool
	reads []recordedRead
}

type recordedRead struct {
	query url.Values
	body  []byte
}

func (r *readRecorder) start() { r.mu.Lock(); r.on, r.reads = true, nil; r.mu.Unlock() }

func (r *readRecorder) stop() []recordedRead {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = false
	return r.reads
}

func (r *readRecorder) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil || !r.on || req.Raw().Method != http.MethodGet || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	r.reads = append(r.reads, recordedRead{query: req.Raw().URL.Query(), body: body})
	return resp, nil
}
