package cli

import (
	"errors"

	"github.com/google/uuid"

	"github.com/setu-cti/setu/internal/store"
)

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
func isExists(err error) bool   { return errors.Is(err, store.ErrExists) }
func newUUID() string           { return uuid.NewString() }
