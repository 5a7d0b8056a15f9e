package bench

import (
	"runtime"
	"testing"
)

func TestThreadsDefaultToOnePerCPU(t *testing.T) {
	cpus := runtime.NumCPU()
	for _, tt := range []struct {
		o    Options
		want int
	}{
		{Options{Clients: 1}, 1},
		{Options{Clients: 64}, min(64, cpus)},
		{Options{Clients: 4, Threads: 3}, 3},
		{Options{Clients: 2, Threads: 2}, 2},
	} {
		if got := tt.o.threads(); got != tt.want {
			t.Errorf("clients %d, threads %d: %d threads; want %d", tt.o.Clients, tt.o.Threads, got, tt.want)
		}
	}
}
