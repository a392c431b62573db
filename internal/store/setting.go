package store

import "context"

// Settings keeps node settings that every instance must agree on, such as
// the default TLP of objects that carry none. Values are plain strings; the
// owner of a setting validates it.
type Settings interface {
	// Setting returns the value of name; ErrNotFound if it was never set.
	Setting(ctx context.Context, name string) (string, error)
	// SetSetting creates or replaces the value of name.
	SetSetting(ctx context.Context, name, value string) error
}
