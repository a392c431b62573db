//go:build !linux

package sqlite_test

import "time"

// threadCPU is not measured here; the benchmark reports wall time.
func threadCPU() time.Duration { return 0 }

func processCPU() time.Duration { return 0 }
