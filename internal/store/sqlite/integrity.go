package sqlite

import (
	"context"
	"fmt"
	"strings"
)

// IntegrityCheck runs SQLite's own consistency check over the whole file
// (b-trees, indexes against tables, free lists). nil means SQLite reported
// "ok"; otherwise the error lists what it found. It reads every page, so it
// is for tests and operators, not for request paths.
func (db *DB) IntegrityCheck(ctx context.Context) error {
	rows, err := db.r.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("integrity check: %w", err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity check found %d problems: %s", len(problems), strings.Join(problems, "; "))
	}
	return nil
}
