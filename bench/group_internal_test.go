package bench

import (
	"reflect"
	"runtime"
	"testing"
)

func TestGroupsSplitClientsEvenly(t *testing.T) {
	for _, tt := range []struct {
		n, t int
		want [][]int
	}{
		{1, 1, [][]int{{0}}},
		{4, 2, [][]int{{0, 1}, {2, 3}}},
		{5, 2, [][]int{{0, 1, 2}, {3, 4}}},
		{3, 8, [][]int{{0}, {1}, {2}}},
		{4, 0, [][]int{{0, 1, 2, 3}}},
	} {
		if got := groups(tt.n, tt.t); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("groups(%d, %d) = %v; want %v", tt.n, tt.t, got, tt.want)
		}
	}
}

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
