package sqlite_test

import (
	"testing"

	"github.com/setu-cti/setu/internal/store/storetest"
)

func TestSync(t *testing.T) {
	storetest.RunSync(t, openTemp)
}
