package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"sort"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

type blockConn struct {
	fd     int
	la, ra net.Addr
}

func (c *blockConn) Read(b []byte) (int, error) {
	for {
		n, err := syscall.Read(c.fd, b)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, fmt.Errorf("EOF")
		}
		return n, nil
	}
}
func (c *blockConn) Write(b []byte) (int, error) {
	t := 0
	for t < len(b) {
		n, err := syscall.Write(c.fd, b[t:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return t, err
		}
		t += n
	}
	return t, nil
}
func (c *blockConn) Close() error {
	syscall.Shutdown(c.fd, syscall.SHUT_RDWR)
	return syscall.Close(c.fd)
}
func (c *blockConn) LocalAddr() net.Addr              { return c.la }
func (c *blockConn) RemoteAddr() net.Addr             { return c.ra }
func (c *blockConn) SetDeadline(time.Time) error      { return nil }
func (c *blockConn) SetReadDeadline(time.Time) error  { return nil }
func (c *blockConn) SetWriteDeadline(time.Time) error { return nil }

func dialBlocking(ctx context.Context, network, addr string) (net.Conn, error) {
	if network != "unix" {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: addr}); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	a := &net.UnixAddr{Name: addr, Net: "unix"}
	return &blockConn{fd: fd, la: a, ra: a}, nil
}

func measure(ctx context.Context, dsn string, blocking bool, d time.Duration) float64 {
	cfg, _ := pgx.ParseConfig(dsn)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		panic(err)
	}
	defer conn.Close(ctx)
	if blocking {
		rc, _ := conn.PgConn().Conn().(syscall.Conn).SyscallConn()
		rc.Control(func(fd uintptr) { syscall.SetNonblock(int(fd), false) })
	}
	sql := "SELECT id, agent_id, user_id, status, created_at FROM agents_agentexecution WHERE id = $1"
	if _, err := conn.Prepare(ctx, "p", sql); err != nil {
		panic(err)
	}
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		buf := []byte(fmt.Sprint(n%28000 + 1))
		rr := conn.PgConn().ExecPrepared(ctx, "p", [][]byte{buf}, nil, nil)
		for rr.NextRow() {
		}
		if _, err := rr.Close(); err != nil {
			panic(err)
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds()
}

func main() {
	ctx := context.Background()
	mode := os.Args[2]
	fmt.Printf("%s %.0f\n", mode, measure(ctx, os.Args[1], mode == "blocking", 3*time.Second))
	_ = sort.Float64s
	_ = pgconn.Timeout
}
