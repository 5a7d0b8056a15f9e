package dataset

import (
	"context"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"
)

// A staged load is a graph of steps (copy a table, build one of its
// indexes, vacuum and analyze it, add and check one foreign key) that the
// connections take as they become free. Breaking the load up this finely
// keeps every connection busy until the end: the biggest table no longer
// copies, indexes and analyzes on one connection while the others wait.

// task is one step of a staged load, run in its own transaction (or
// statement, for VACUUM) on whichever connection takes it.
type task struct {
	table string
	phase string // for progress
	// cost estimates the task's server time in microseconds; the
	// scheduler starts the tasks on the longest remaining path first.
	cost  float64
	locks []tableLock
	run   func(ctx context.Context, conn *pgx.Conn, worker int) error

	next  []*task // tasks that wait for this one
	deps  int     // unfinished tasks this one waits for
	chain float64 // cost of the longest path from this task to the end
}

// tableLock is a table a task locks. The server would make conflicting
// tasks wait for each other anyway; the scheduler keeps them apart so that
// no connection sits blocked while another task could run. Shared is for
// index builds (SHARE locks, which do not conflict with one another);
// everything else the load does to a table conflicts with everything else.
type tableLock struct {
	table  string
	shared bool
}

// after makes t wait for deps.
func (t *task) after(deps ...*task) *task {
	for _, d := range deps {
		if d != nil {
			d.next = append(d.next, t)
			t.deps++
		}
	}
	return t
}

// scheduler hands tasks to connections as their dependencies finish and
// their locks are free.
type scheduler struct {
	mu     sync.Mutex
	cond   *sync.Cond
	ready  []*task
	left   int            // tasks not finished
	held   map[string]int // per table: shared holders, or -1 when held exclusively
	failed bool
}

func newScheduler(tasks []*task) *scheduler {
	// Longest path to the end, computed in reverse topological order.
	var visit func(t *task) float64
	visit = func(t *task) float64 {
		if t.chain > 0 {
			return t.chain
		}
		var longest float64
		for _, n := range t.next {
			longest = max(longest, visit(n))
		}
		t.chain = t.cost + longest + 1
		return t.chain
	}
	s := &scheduler{left: len(tasks), held: map[string]int{}}
	s.cond = sync.NewCond(&s.mu)
	for _, t := range tasks {
		visit(t)
		if t.deps == 0 {
			s.ready = append(s.ready, t)
		}
	}
	return s
}

// free reports whether t's locks can be taken now.
func (s *scheduler) free(t *task) bool {
	for _, l := range t.locks {
		if h := s.held[l.table]; h < 0 || (h > 0 && !l.shared) {
			return false
		}
	}
	return true
}

// take returns the next task to run, waiting for one to become runnable;
// nil when all are done or the load failed.
func (s *scheduler) take() *task {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.failed || s.left == 0 {
			return nil
		}
		best := -1
		for i, t := range s.ready {
			if s.free(t) && (best < 0 || before(t, s.ready[best])) {
				best = i
			}
		}
		if best >= 0 {
			t := s.ready[best]
			s.ready = slices.Delete(s.ready, best, best+1)
			for _, l := range t.locks {
				if l.shared {
					s.held[l.table]++
				} else {
					s.held[l.table] = -1
				}
			}
			return t
		}
		s.cond.Wait()
	}
}

// done marks t finished, or the load failed when err is set.
func (s *scheduler) done(t *task, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.cond.Broadcast()
	for _, l := range t.locks {
		if l.shared {
			s.held[l.table]--
		} else {
			s.held[l.table] = 0
		}
	}
	if err != nil {
		s.failed = true
		return
	}
	s.left--
	for _, n := range t.next {
		if n.deps--; n.deps == 0 {
			s.ready = append(s.ready, n)
		}
	}
}

// before orders the runnable tasks: earlier phases first, so that a load
// on one connection goes through them in order (copies, indexes, VACUUM,
// foreign keys) and a load on several mostly does too; then the longest
// remaining path first, so that the biggest table starts copying at once.
func before(a, b *task) bool {
	pa, pb := slices.Index(phaseOrder, a.phase), slices.Index(phaseOrder, b.phase)
	if pa != pb {
		return pa < pb
	}
	return a.chain > b.chain
}

// run runs the tasks on conns and returns the first error.
func (s *scheduler) run(ctx context.Context, conns []*pgx.Conn, idle func(worker int)) error {
	return parallel(ctx, conns, func(ctx context.Context, conn *pgx.Conn, worker int) error {
		for {
			t := s.take()
			if t == nil {
				idle(worker)
				return nil
			}
			err := t.run(ctx, conn, worker)
			s.done(t, err)
			if err != nil {
				return err
			}
		}
	})
}
