package session

import (
	"context"
	"encoding/json"
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
	pager := s.table.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Select: &selected, Top: &top})
	removed := 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return removed, classify("sweep", err)
		}
		for _, raw := range page.Entities {
			var e aztables.EDMEntity
			if err := json.Unmarshal(raw, &e); err != nil {
				return removed, fmt.Errorf("session: decoding row: %w", err)
			}
			etag := azcore.ETag(e.ETag)
			_, err := s.table.DeleteEntity(ctx, e.PartitionKey, e.RowKey, &aztables.DeleteEntityOptions{IfMatch: &etag})
			switch err := classify("sweep", err); {
			case err == nil:
				removed++
			case errors.Is(err, ErrNotFound), errors.Is(err, ErrStale):
				// Gone already, or renewed since it was listed.
			default:
				return removed, err
			}
		}
	}
	return removed, nil
}
