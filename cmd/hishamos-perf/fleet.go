package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/fleet"
	"github.com/hishamos/hishamos-perf/internal/pg"
)

// A fleet on the command line: the primary is the one server the command
// always had (--dsn, the environment, else the sandbox), unchanged, and
// each --replica [NAME=]DSN adds one of its streaming standbys. Repeating
// --dsn was the other way: it would change a flag every command shares
// (its type and help) and leave which node to write to for apply (issue
// 23 item 3) and which to measure for bench --replica (item 4) to
// guesswork; --replica says each node's role, and the fleet checks it.

// replicaName is a node name: a letter, then letters, digits, _ or -.
var replicaName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,62}$`)

// libpqKeywords are the connection parameters a keyword=value DSN starts
// with: a NAME= prefix is never one of them, so "host=db1 port=5432"
// stays a DSN and "r1=host=db1" names it r1.
var libpqKeywords = map[string]bool{
	"host": true, "hostaddr": true, "port": true, "dbname": true, "user": true, "password": true, "passfile": true,
	"require_auth": true, "channel_binding": true, "connect_timeout": true, "client_encoding": true, "options": true,
	"application_name": true, "fallback_application_name": true, "keepalives": true, "keepalives_idle": true,
	"keepalives_interval": true, "keepalives_count": true, "tcp_user_timeout": true, "replication": true,
	"gssencmode": true, "sslmode": true, "requiressl": true, "sslnegotiation": true, "sslcompression": true,
	"sslcert": true, "sslkey": true, "sslpassword": true, "sslcertmode": true, "sslrootcert": true, "sslcrl": true,
	"sslcrldir": true, "sslsni": true, "requirepeer": true, "ssl_min_protocol_version": true,
	"ssl_max_protocol_version": true, "krbsrvname": true, "gsslib": true, "gssdelegation": true, "service": true,
	"target_session_attrs": true, "load_balance_hosts": true, "min_read_buffer_size": true,
}

// replicaSpec is one --replica: its node name and DSN.
type replicaSpec struct{ name, dsn string }

// parseReplicas reads the --replica values: NAME=DSN, or a DSN alone
// named replica1, replica2, … by its place.
func parseReplicas(values []string) ([]replicaSpec, error) {
	var out []replicaSpec
	seen := map[string]bool{fleet.PrimaryName: true}
	for i, v := range values {
		spec := replicaSpec{name: fmt.Sprintf("%s%d", fleet.ReplicaName, i+1), dsn: v}
		if name, rest, ok := strings.Cut(v, "="); ok && replicaName.MatchString(name) && !libpqKeywords[strings.ToLower(name)] {
			spec.name, spec.dsn = name, rest
		}
		if seen[spec.name] {
			return nil, fmt.Errorf("--%s %s=…: two nodes are named %s: name each node once (%s is the --%s server)", flagReplica, spec.name, spec.name, fleet.PrimaryName, flagDSN)
		}
		seen[spec.name] = true
		if strings.TrimSpace(spec.dsn) == "" {
			return nil, fmt.Errorf("--%s %s: no connection string: give [NAME=]DSN, such as --%s replica1=postgres://app@db2/app", flagReplica, spec.name, flagReplica)
		}
		if _, err := pg.ParseConfig(pg.Target{DSN: spec.dsn, Source: "--" + flagReplica}, pg.DefaultSession); err != nil {
			return nil, fmt.Errorf("--%s %s: %w", flagReplica, spec.name, err)
		}
		out = append(out, spec)
	}
	return out, nil
}

// openFleet opens a read-only session on each replica beside primary (a
// session on the command's own server) and inspects the fleet: each
// --replica must be a standby of the primary's cluster. The sessions
// close with the returned func.
func (a *app) openFleet(ctx context.Context, primary *pgx.Conn, specs []replicaSpec, s pg.Session) (*fleet.Fleet, []*pgx.Conn, func(), error) {
	var conns []*pgx.Conn
	closeAll := func() {
		for _, c := range conns {
			c.Close(context.Background())
		}
	}
	members := []fleet.Member{{Name: fleet.PrimaryName, Q: primary}}
	for _, spec := range specs {
		conn, err := a.connect(ctx, pg.Target{DSN: spec.dsn, Source: "--" + flagReplica}, s)
		if err != nil {
			closeAll()
			return nil, nil, nil, fmt.Errorf("node %s: %w", spec.name, err)
		}
		conns = append(conns, conn)
		members = append(members, fleet.Member{Name: spec.name, Q: conn, Want: fleet.Standby})
	}
	f, err := fleet.Inspect(ctx, members)
	if err != nil {
		closeAll()
		var ue *fleet.UnrelatedError
		var re *fleet.RoleError
		var de *fleet.DatabaseError
		switch {
		case errors.As(err, &de):
			return nil, nil, nil, &usageError{err: fmt.Errorf("--%s: %w: point every node at the same database", flagReplica, err)}
		case errors.As(err, &ue):
			return nil, nil, nil, &usageError{err: fmt.Errorf("--%s: %w: give only standbys of the --%s server", flagReplica, err, flagDSN)}
		case errors.As(err, &re):
			return nil, nil, nil, &usageError{err: fmt.Errorf("--%s: %w: give the primary with --%s and only its standbys with --%s", flagReplica, err, flagDSN, flagReplica)}
		}
		return nil, nil, nil, &dbError{err}
	}
	return f, conns, closeAll, nil
}
