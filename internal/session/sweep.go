package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// Sweep deletes every row (session, token cache, the mark of a used
// sign-in state) whose expiry has passed, a page at a time, and returns how
// many it removed. An expired session goes with its token cache in one
// transaction (a cache without its session serves no one, and holds
// tokens). Each delete of a listed row carries the ETag it was listed with,
// so a session that was renewed in the meantime survives.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	filter := fmt.Sprintf("Expires lt datetime'%s'", s.now().UTC().Format(time.RFC3339))
	selected := "PartitionKey,RowKey,Expires" // not the sealed data
	top := int32(500)
	removed := 0
	cleared := map[string]bool{} // partitions whose session and cache went together
	err := s.list(ctx, "sweep", &aztables.ListEntitiesOptions{Filter: &filter, Select: &selected, Top: &top}, func(e aztables.EDMEntity) error {
		if cleared[e.PartitionKey] {
			return nil
		}
		etag := azcore.ETag(e.ETag)
		if e.RowKey == rowSession {
			any := azcore.ETagAny
			_, err := s.table.SubmitTransaction(ctx, []aztables.TransactionAction{
				{ActionType: aztables.TransactionTypeDelete, Entity: keyEntity(e.PartitionKey, rowSession), IfMatch: &etag},
				{ActionType: aztables.TransactionTypeDelete, Entity: keyEntity(e.PartitionKey, rowTokenCache), IfMatch: &any},
			}, nil)
			switch batchErrorCode(err) {
			case "":
				if err == nil {
					removed += 2
					cleared[e.PartitionKey] = true
					return nil
				}
			case "UpdateConditionNotSatisfied":
				return nil // renewed since it was listed
			}
			// No cache row (or a transaction refused): the session alone.
		}
		_, err := s.table.DeleteEntity(ctx, e.PartitionKey, e.RowKey, &aztables.DeleteEntityOptions{IfMatch: &etag})
		switch err := classify("sweep", err); {
		case err == nil:
			removed++
		case errors.Is(err, ErrNotFound), errors.Is(err, ErrStale):
			// Gone already, or renewed since it was listed.
		default:
			return err
		}
		return nil
	})
	return removed, err
}
