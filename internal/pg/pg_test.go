package pg

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name string
		flag string
		env  map[string]string
		want Target
	}{
		{"flag wins", "postgres://a@h/db", map[string]string{SourceEnv: "x", SourceDatabase: "y", "PGHOST": "z"}, Target{DSN: "postgres://a@h/db", Source: SourceFlag}},
		{"tool variable", "", map[string]string{SourceEnv: "host=a", SourceDatabase: "y"}, Target{DSN: "host=a", Source: SourceEnv}},
		{"DATABASE_URL", "", map[string]string{SourceDatabase: "postgres://y", "PGHOST": "z"}, Target{DSN: "postgres://y", Source: SourceDatabase}},
		{"PGHOST", "", map[string]string{"PGHOST": "z"}, Target{Source: SourceLibpq}},
		{"PGDATABASE", "", map[string]string{"PGDATABASE": "z"}, Target{Source: SourceLibpq}},
		{"PGUSER alone is not a target", "", map[string]string{"PGUSER": "z"}, Target{Source: SourceSandbox}},
		{"nothing", "", nil, Target{Source: SourceSandbox}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Resolve(tt.flag, env(tt.env))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Resolve (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://app:s3cret@db:5432/app?sslmode=disable", "postgres://app:xxxxx@db:5432/app?sslmode=disable"},
		{"postgresql://app:p%40ss@db/app", "postgresql://app:xxxxx@db/app"},
		{"postgres://app@db/app", "postgres://app@db/app"},
		{"postgres://db/app?password=s3cret&user=a", "postgres://db/app?password=xxxxx&user=a"},
		{"host=db user=app password=s3cret dbname=app", "host=db user=app password=xxxxx dbname=app"},
		{"host=db password='s3 cret' dbname=app", "host=db password=xxxxx dbname=app"},
		{"host=db password = s3cret", "host=db password = xxxxx"},
	}
	for _, tt := range tests {
		got := Redact(tt.in)
		if got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(got, "s3cret") || strings.Contains(got, "p%40ss") {
			t.Errorf("Redact(%q) leaks the password: %q", tt.in, got)
		}
	}
}

func TestRedactTextSecrets(t *testing.T) {
	msg := `failed to connect to user=app database=app: hunter2-pw is wrong; url postgres://app:hunter2-pw@db/app`
	got := RedactText(msg, "postgres://app:hunter2-pw@db/app", "envpass99")
	if strings.Contains(got, "hunter2-pw") {
		t.Errorf("RedactText leaks the DSN's password: %q", got)
	}
	got = RedactText("the password envpass99 failed", "envpass99")
	if strings.Contains(got, "envpass99") {
		t.Errorf("RedactText leaks a bare secret: %q", got)
	}
}

func TestParseConfigSession(t *testing.T) {
	cfg, err := ParseConfig(Target{DSN: "postgres://a@localhost/db", Source: SourceFlag}, DefaultSession)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"application_name":              ApplicationName,
		"statement_timeout":             "30000",
		"lock_timeout":                  "5000",
		"default_transaction_read_only": "on",
	}
	for k, v := range want {
		if cfg.RuntimeParams[k] != v {
			t.Errorf("RuntimeParams[%s] = %q, want %q", k, cfg.RuntimeParams[k], v)
		}
	}
}

func TestParseConfigBadDSN(t *testing.T) {
	_, err := ParseConfig(Target{DSN: "postgres://app:topsecret@db:notaport/app", Source: SourceFlag}, Session{})
	if err == nil {
		t.Fatal("want an error for a port that is not a number")
	}
	if strings.Contains(err.Error(), "topsecret") {
		t.Errorf("error leaks the password: %v", err)
	}
	if !strings.Contains(err.Error(), ErrBadDSN.Error()) {
		t.Errorf("error %q does not say the DSN is invalid", err)
	}
}
