package sandbox

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
)

func (s *Sandbox) certFile() string { return filepath.Join(s.Dir, "server.crt") }
func (s *Sandbox) keyFile() string  { return filepath.Join(s.Dir, "server.key") }

// certValidity is how long EnableTLS's self-signed certificate is valid:
// a sandbox is a throwaway, and a test run is minutes.
const certValidity = 30 * 24 * time.Hour

// tlsWait bounds the wait for a reloaded server to accept TLS: the
// postmaster reloads its configuration after pg_ctl reload returns.
const tlsWait = 10 * time.Second

// EnableTLS makes the running sandbox accept TLS connections, with a
// self-signed certificate for 127.0.0.1 made here, without a restart (the
// server reloads its configuration); TLSDSN connects with it. The Unix
// socket and TCP without TLS still answer.
func (s *Sandbox) EnableTLS(ctx context.Context) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	st, err := s.LoadState()
	if err != nil {
		unlock()
		return err
	}
	if s.pid() == 0 {
		unlock()
		return ErrNotRunning
	}
	cert, key, err := selfSigned()
	if err != nil {
		unlock()
		return fmt.Errorf("sandbox: make a certificate: %w", err)
	}
	if err := s.writeOwned(s.certFile(), string(cert), 0o600); err != nil {
		unlock()
		return err
	}
	if err := s.writeOwned(s.keyFile(), string(key), 0o600); err != nil {
		unlock()
		return err
	}
	st.TLS = true
	if err := s.SaveState(st); err != nil {
		unlock()
		return err
	}
	if err := s.writeConf(st); err != nil {
		unlock()
		return err
	}
	err = s.run(ctx, filepath.Join(st.Binaries.BinDir, "pg_ctl"), "reload", "-D", s.dataDir())
	unlock()
	if err != nil {
		return fmt.Errorf("sandbox: reload: %w", err)
	}
	deadline := time.Now().Add(tlsWait)
	for {
		conn, err := pgx.Connect(ctx, s.TLSDSN(st, "postgres"))
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sandbox: the server does not accept TLS %s after the reload: %w%s", tlsWait, err, s.logTail())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TLSDSN is the connection string over loopback TCP with TLS required (the
// certificate is not verified: it is self-signed), with the password.
// Never print it: show it through pg.Redact.
func (s *Sandbox) TLSDSN(st State, database string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=require", Superuser, st.Password, st.Port, database)
}

// selfSigned makes a certificate for 127.0.0.1 and localhost and its key,
// both PEM.
func selfSigned() (cert, key []byte, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "localhost", Organization: []string{"hishamos-perf sandbox"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}
