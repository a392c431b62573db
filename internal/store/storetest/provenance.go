package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/setu-cti/setu/internal/store"
)

// LegacyProvenanceVersions are the versions a backend's test of the
// migration that keyed provenance by version stores first: version times
// with and without fractions, one before the epoch, a marking definition
// (created only) and an SCO (no version time).
func LegacyProvenanceVersions(t testing.TB) []store.Version {
	sdo := func(n int, modified string) store.Version {
		return NewVersion(t, fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-%012d","created":"1969-01-01T00:00:00Z","modified":%q}`, n, modified))
	}
	return []store.Version{
		sdo(1, "2016-05-12T08:17:27.123Z"),
		sdo(2, "2016-05-12T08:17:27Z"),
		sdo(3, "2016-05-12T08:17:27.000000001Z"),
		sdo(4, "1969-12-31T23:59:59.5Z"), // a negative version time
		NewVersion(t, `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--00000000-0000-4000-8000-000000000005","created":"2017-01-20T00:00:00.000Z","definition_type":"statement","definition":{"statement":"x"}}`),
		NewVersion(t, `{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--00000000-0000-4000-8000-000000000006","value":"192.0.2.1"}`),
	}
}

// LegacyProvenanceKey is the text key provenance was kept under before it
// was kept by version: the object id, "@", and the version time in RFC
// 3339 (UTC, trailing zeros of the fraction dropped), or for an SCO
// "@sha256:" and its content hash.
func LegacyProvenanceKey(v store.Version) string {
	switch {
	case !v.Modified.IsZero():
		return v.ID + "@" + v.Modified.UTC().Format(time.RFC3339Nano)
	case !v.Created.IsZero():
		return v.ID + "@" + v.Created.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%s@sha256:%x", v.ID, v.Hash)
}

// LegacyProvenanceStrays are old keys that name no stored version of
// LegacyProvenanceVersions (an absent object; a time close to a stored
// one but not equal): their records prove nothing and are dropped.
func LegacyProvenanceStrays(vs []store.Version) []string {
	return []string{
		"indicator--00000000-0000-4000-8000-000000000009@2016-05-12T08:17:27Z",
		strings.Replace(LegacyProvenanceKey(vs[0]), ".123Z", ".12Z", 1),
	}
}
