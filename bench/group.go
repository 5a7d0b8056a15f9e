package bench

import (
	"fmt"
	"iter"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultThreads is how many OS threads clients are spread over when
// Options.Threads is 0: one per CPU, at most one per client.
func DefaultThreads(clients int) int { return max(1, min(clients, runtime.NumCPU())) }

// threads is how many OS threads a run's clients are spread over:
// Options.Threads, or DefaultThreads.
func (o *Options) threads() int {
	if o.Threads > 0 {
		return min(o.Threads, o.Clients)
	}
	return DefaultThreads(o.Clients)
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

// runGroup runs body(j) for each of clients[j], all of them on wires, on the
// calling goroutine, as one pgbench thread runs its share of the clients:
// each client's body is a coroutine (iter.Pull) that hands control back
// whenever its wire would wait for the server (wire.park), and the group
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
func runGroup(clients []*client, body func(j int)) {
	type coroutine struct {
		c      *client
		next   func() (int16, bool)
		stop   func()
		events int16 // what it waits for; 0 once its body has returned
	}
	var pollErr error
	cos := make([]coroutine, len(clients))
	for i, c := range clients {
		next, stop := iter.Pull(func(yield func(int16) bool) {
			c.wire.park = func(events int16) error {
				if !yield(events) {
					return pollErr
				}
				return nil
			}
			defer func() { c.wire.park = nil }()
			body(i)
		})
		defer stop()
		cos[i] = coroutine{c: c, next: next, stop: stop}
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
				pfds = append(pfds, unix.PollFd{Fd: int32(co.c.wire.fd), Events: co.events})
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
			// makes its yield return false): its wire is lost and its
			// body returns.
			pollErr = &lostError{fmt.Errorf("%w: wait for the server: %w", errLost, err)}
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
