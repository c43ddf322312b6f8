//go:build unix

package external

import "syscall"

// cpuNanos is the CPU time the process has used (user and system), so a
// benchmark on a shared machine can report the work it did rather than the
// time it waited for a core.
func cpuNanos() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
