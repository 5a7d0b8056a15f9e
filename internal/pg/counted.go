package pg

import (
	"net"
	"sync/atomic"
)

// countedConn is a connection's socket that counts the bytes it reads
// from the server: what bench reports as a request's bytes received on
// the pgconn path, where it cannot read the socket itself. Under TLS it
// sits below the encryption and counts the bytes on the wire. The direct
// path takes the socket under it over (NetConn) and counts on its own.
type countedConn struct {
	net.Conn
	received atomic.Int64
}

func (c *countedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.received.Add(int64(n))
	return n, err
}

// NetConn is the socket it wraps, as tls.Conn's NetConn is.
func (c *countedConn) NetConn() net.Conn { return c.Conn }

// Received is how many bytes have been read from the server so far.
func (c *countedConn) Received() int64 { return c.received.Load() }
