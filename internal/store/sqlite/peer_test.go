package sqlite_test

import (
	"testing"

	"github.com/setu-cti/setu/internal/store/storetest"
)

func TestPeers(t *testing.T) {
	storetest.RunPeers(t, openTemp)
}
