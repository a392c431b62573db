package postgres

import (
	"testing"

	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/storetest"
)

func TestPeers(t *testing.T) {
	storetest.RunPeers(t, func(t *testing.T, opts store.Options) store.Store {
		return openTest(t, testDSN(t), opts)
	})
}
