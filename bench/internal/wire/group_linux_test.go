package wire

import (
	"reflect"
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
