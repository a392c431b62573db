package postgres

import (
	"testing"

	"github.com/setu-cti/setu/internal/store"
	"github.com/setu-cti/setu/internal/store/storetest"
)

func TestSync(t *testing.T) {
	storetest.RunSync(t, func(t *testing.T, opts store.Options) store.Store {
		return openTest(t, testDSN(t), opts)
	})
}
