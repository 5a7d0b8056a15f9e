//go:build linux

package wire

import (
	"fmt"
	"iter"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// runDirect runs loop(i) for every session when all of them are on the
// direct path, and reports whether it did: the sessions are split into
// threads groups (groups), each run by one goroutine (runGroup; a group of
// one calls loop itself), with GOMAXPROCS set to one P per group while
// they run.
//
// One P per group, none idle: with a P to spare, every yield (see
// yieldEvery) woke another thread to look for work, which could take the
// goroutine over: on another thread, often on another CPU than its
// backends, whose replies then cost an interrupt between CPUs (4 clients
// on two cores, runs side by side: median throughput about 6% lower that
// way). The rest of the program (progress, the cancellation of a phase,
// signals) runs when a group yields.
func runDirect(sessions []Session, threads int, loop func(i int)) bool {
	ds := make([]*direct, len(sessions))
	for i, s := range sessions {
		d, ok := s.(*direct)
		if !ok {
			return false
		}
		ds[i] = d
	}
	parts := groups(len(ds), threads)
	if prev, want := runtime.GOMAXPROCS(0), len(parts); prev != want {
		runtime.GOMAXPROCS(want)
		defer runtime.GOMAXPROCS(prev)
	}
	var wg sync.WaitGroup
	for _, ids := range parts {
		wg.Go(func() {
			if len(ids) == 1 {
				loop(ids[0])
				return
			}
			members := make([]*direct, len(ids))
			for j, i := range ids {
				members[j] = ds[i]
			}
			runGroup(members, func(j int) { loop(ids[j]) })
		})
	}
	wg.Wait()
	return true
}

// groups splits clients 0…n-1 into t contiguous groups whose sizes differ
// by one at most, as pgbench gives each of its -j threads its share of -c.
func groups(n, t int) [][]int {
	t = max(1, min(t, n))
	out := make([][]int, 0, t)
	next := 0
	for g := range t {
		size := n / t
		if g < n%t {
			size++
		}
		ids := make([]int, size)
		for j := range ids {
			ids[j] = next + j
		}
		out = append(out, ids)
		next += size
	}
	return out
}

// runGroup runs body(j) for each of sessions[j] on the calling goroutine,
// as one pgbench thread runs its share of the clients: each client's body
// is a coroutine (iter.Pull) that hands control back whenever its session
// would wait for the server (direct.park), and the group
// waits for all its clients' sockets at once in one poll(2), resuming
// each client whose socket is ready. A thread that finds a second reply
// waiting after handling a first one does not sleep in between: on a
// machine with fewer cores than clients, that saves the client side
// context switches that the server's backends would otherwise lose
// (make bench-harness).
//
// A reply that arrives while the group handles another client's waits for
// it: a call's latency includes the time the group takes over the replies
// ahead of it (microseconds each), alike for every statement and in every
// run with the same --clients and --threads, as with pgbench -j below -c;
// --threads equal to --clients gives every client a thread of its own.
func runGroup(sessions []*direct, body func(j int)) {
	type coroutine struct {
		s      *direct
		next   func() (int16, bool)
		stop   func()
		events int16 // what it waits for; 0 once its body has returned
	}
	var pollErr error
	cos := make([]coroutine, len(sessions))
	for i, s := range sessions {
		next, stop := iter.Pull(func(yield func(int16) bool) {
			s.park = func(events int16) error {
				if !yield(events) {
					return pollErr
				}
				return nil
			}
			defer func() { s.park = nil }()
			body(i)
		})
		defer stop()
		cos[i] = coroutine{s: s, next: next, stop: stop}
	}
	resume := func(co *coroutine) {
		if ev, ok := co.next(); ok {
			co.events = ev
		} else {
			co.events = 0
		}
	}
	for i := range cos {
		resume(&cos[i])
	}
	pfds := make([]unix.PollFd, 0, len(cos))
	waiting := make([]*coroutine, 0, len(cos))
	yielded := time.Now()
	for {
		pfds, waiting = pfds[:0], waiting[:0]
		for i := range cos {
			if co := &cos[i]; co.events != 0 {
				pfds = append(pfds, unix.PollFd{Fd: int32(co.s.fd), Events: co.events})
				waiting = append(waiting, co)
			}
		}
		if len(pfds) == 0 {
			return
		}
		if _, err := sysPoll(pfds); err != nil {
			if err == unix.EINTR {
				continue
			}
			// Every waiting client's wait fails with the error (stop
			// makes its yield return false): its session is lost and its
			// body returns.
			pollErr = lostBy(fmt.Errorf("wait for the server: %w", err))
			for _, co := range waiting {
				co.stop()
			}
			return
		}
		for j, co := range waiting {
			if pfds[j].Revents != 0 {
				resume(co)
			}
		}
		// See yieldEvery: the group's goroutine only makes system calls.
		if now := time.Now(); now.Sub(yielded) >= yieldEvery {
			runtime.Gosched()
			yielded = now
		}
	}
}
