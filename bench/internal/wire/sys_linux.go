//go:build linux

package wire

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The system calls of a direct session's calls (sysRead, sysWrite,
// sysPoll) do not tell the Go scheduler that they are in the kernel (raw
// system calls). A goroutine in a system call the scheduler knows of
// gives its P up; with every P busy (runDirect runs one P per thread),
// the runtime's monitor takes that P back from any call that outlasts its
// 20 µs tick, wakes another thread to look for work on it, and wakes
// itself every 20 µs for the next millisecond. On two cores shared with
// the server, each of those wake-ups is a context switch taken from the
// server, and a thread woken on the other CPU pulls clients and backends
// apart (make bench-harness, 4 clients: 8.7% of bench's CPU samples were
// the monitor's sleeps and wake-ups). With raw calls a thread keeps its
// P; the rest of the program runs when the thread yields (yieldEvery) or,
// while a wait for the server outlasts 10 ms, when the runtime preempts
// it: the preemption's signal interrupts the poll (EINTR), and the
// goroutine gives its P up at its next function call.
//
// read and write never block: the socket is in non-blocking mode.

func sysRead(fd int, b []byte) (int, error)  { return sysIO(syscall.SYS_READ, fd, b) }
func sysWrite(fd int, b []byte) (int, error) { return sysIO(syscall.SYS_WRITE, fd, b) }

// sysIO is read(2) or write(2) (trap) of b on fd.
func sysIO(trap uintptr, fd int, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// sysPoll is poll(2) on fds, without a timeout: the number of fds with
// events.
func sysPoll(fds []unix.PollFd) (int, error) {
	n, _, e := syscall.RawSyscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(unsafe.SliceData(fds))), uintptr(len(fds)), 0, 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
