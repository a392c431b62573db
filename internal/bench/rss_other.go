//go:build !unix

package bench

import (
	"os"
	"time"
)

// maxRSS is 0 (not measured) where the platform has no rusage.
func maxRSS(*os.ProcessState) int64 { return 0 }

// selfCPU is 0 (not measured) where the platform has no rusage.
func selfCPU() time.Duration { return 0 }
