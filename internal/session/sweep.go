package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// Sweep deletes every row (session, token cache, pending sign-in) whose
// expiry has passed, a page at a time, and returns how many it removed. Each
// delete carries the ETag it was listed with, so a session that was renewed
// in the meantime survives.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	filter := fmt.Sprintf("Expires lt datetime'%s'", s.now().UTC().Format(time.RFC3339))
	selected := "PartitionKey,RowKey,Expires" // not the sealed data
	top := int32(500)
	removed := 0
	err := s.list(ctx, "sweep", &aztables.ListEntitiesOptions{Filter: &filter, Select: &selected, Top: &top}, func(e aztables.EDMEntity) error {
		etag := azcore.ETag(e.ETag)
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
	if err != nil {
		return removed, err
	}
	return removed, nil
}
