package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/setu-cti/setu/internal/stix"
	"github.com/setu-cti/setu/internal/store"
)

// SettingDefaultTLP names the node setting that holds the default TLP of
// objects without a TLP marking.
const SettingDefaultTLP = "policy.default_tlp"

// ParseTLP reads a TLP 2.0 level by name: clear, green, amber, amber+strict
// or red (case-insensitive, with or without the "TLP:" prefix).
func ParseTLP(s string) (stix.TLP, error) {
	name := strings.ToLower(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "TLP:"))
	for _, t := range []stix.TLP{stix.TLPLevelClear, stix.TLPLevelGreen, stix.TLPLevelAmber, stix.TLPLevelAmberStrict, stix.TLPLevelRed} {
		if name == strings.ToLower(strings.TrimPrefix(t.String(), "TLP:")) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown TLP level %q: want clear, green, amber, amber+strict or red", s)
}

// LoadConfig reads the node's policy configuration from its settings. An
// unset default TLP is AMBER. Audience keys do not depend on the default
// (see Config.Audience), so it can change while objects are stored; every
// instance reads it when it starts.
func LoadConfig(ctx context.Context, s store.Settings) (Config, error) {
	v, err := s.Setting(ctx, SettingDefaultTLP)
	if errors.Is(err, store.ErrNotFound) {
		return Config{}, nil
	}
	if err != nil {
		return Config{}, err
	}
	t, err := ParseTLP(v)
	if err != nil {
		return Config{}, fmt.Errorf("node setting %s: %w", SettingDefaultTLP, err)
	}
	return Config{DefaultTLP: t}, nil
}

// SaveDefaultTLP stores the node's default TLP.
func SaveDefaultTLP(ctx context.Context, s store.Settings, t stix.TLP) error {
	return s.SetSetting(ctx, SettingDefaultTLP, strings.ToLower(strings.TrimPrefix(t.String(), "TLP:")))
}

// DefaultLevel is the level applied to objects without a TLP marking.
func (c Config) DefaultLevel() stix.TLP {
	return c.effectiveTLP(Facts{})
}
