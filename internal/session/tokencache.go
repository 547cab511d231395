package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// TokenCache returns the session's serialized token cache, read with one
// point read the first time it is asked for; nil when the session has none.
// A cache that cannot be opened is as good as none: the user signs in again
// rather than seeing an error.
func (s *Store) TokenCache(ctx context.Context, sess *Session) ([]byte, error) {
	if !sess.cacheRead {
		body, etag, err := s.read(ctx, sess.keys.partition, rowTokenCache, "")
		switch err := classify("load token cache", err); {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return nil, err
		default:
			chunks := map[string]json.RawMessage{}
			if err := json.Unmarshal(body, &chunks); err != nil {
				return nil, fmt.Errorf("session: load token cache: decoding row: %w", err)
			}
			sess.cache, sess.cacheETag = joinChunks(chunks), etag
		}
		sess.cacheRead = true
	}
	if sess.cache == nil {
		return nil, nil
	}
	b, err := sess.keys.open(rowTokenCache, bytes.Clone(sess.cache)) // sess.cache stays sealed for the next call
	if err != nil {
		return nil, nil
	}
	return b, nil
}

// SaveTokenCache writes the session's token cache, guarded by the ETag it
// was loaded with. A concurrent writer makes it fail with ErrStale; the
// caller reloads the session and retries.
func (s *Store) SaveTokenCache(ctx context.Context, sess *Session, data []byte) error {
	row, sealed, err := s.tokenCacheEntity(sess, data)
	if err != nil {
		return err
	}
	var etag azcore.ETag
	if sess.cacheETag == "" {
		// The first cache of a session is added together with a no-op
		// merge of the session row, so a session deleted meanwhile (a
		// logout in another tab) gets no orphan cache holding live tokens.
		exists := azcore.ETagAny
		_, err := s.table.SubmitTransaction(ctx, []aztables.TransactionAction{
			{ActionType: aztables.TransactionTypeAdd, Entity: row},
			{ActionType: aztables.TransactionTypeUpdateMerge, Entity: keyEntity(sess.keys.partition, rowSession), IfMatch: &exists},
		}, nil)
		switch code := batchErrorCode(err); {
		case code == "EntityAlreadyExists":
			return ErrStale // another request created it first
		case code == "ResourceNotFound":
			return ErrNotFound
		case err != nil:
			return classify("save token cache", err)
		}
		// A transaction returns no ETags: a later write in this request
		// adds again and loses as stale, which re-reads the session.
	} else {
		resp, err := s.table.UpdateEntity(ctx, row, &aztables.UpdateEntityOptions{IfMatch: &sess.cacheETag, UpdateMode: aztables.UpdateModeReplace})
		if err != nil {
			return classify("save token cache", err)
		}
		etag = resp.ETag
	}
	sess.cache, sess.cacheETag, sess.cacheRead = sealed, etag, true
	return nil
}

// Table Storage limits (learn.microsoft.com, "Understanding the Table
// service data model"): a binary property holds 64 KiB; an entity 1 MiB of
// JSON, in which binary grows by a third as base64.
const (
	chunkSize = 64 << 10
	maxChunks = 10
)

// tokenCacheEntity splits the sealed cache across binary properties of one
// entity, so one ETag guards it and one write replaces it whole.
func (s *Store) tokenCacheEntity(sess *Session, data []byte) (row, sealed []byte, err error) {
	sealed = sess.keys.seal(rowTokenCache, data)
	if len(sealed) > chunkSize*maxChunks {
		return nil, nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(sealed), chunkSize*maxChunks)
	}
	props := map[string]any{
		"Expires": aztables.EDMDateTime(sess.Created.Add(s.absolute)),
	}
	for i, rest := 0, sealed; len(rest) > 0; i++ {
		n := min(chunkSize, len(rest))
		props[fmt.Sprintf("D%d", i)] = aztables.EDMBinary(rest[:n])
		rest = rest[n:]
	}
	row, err = marshalEntity(sess.keys.partition, rowTokenCache, props)
	return row, sealed, err
}

func joinChunks(props map[string]json.RawMessage) []byte {
	var b []byte
	for i := range maxChunks {
		raw, ok := props[fmt.Sprintf("D%d", i)]
		if !ok {
			break
		}
		var chunk []byte
		if json.Unmarshal(raw, &chunk) != nil {
			return nil
		}
		b = append(b, chunk...)
	}
	return b
}
