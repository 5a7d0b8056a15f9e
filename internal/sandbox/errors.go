package sandbox

import "fmt"

// DirFix is how a folder the sandbox cannot use should differ, as a
// DirError says it.
type DirFix int

// The fixes a DirError names.
const (
	// FixAnother: another folder (this one cannot be created or written).
	FixAnother DirFix = iota
	// FixShorter: a shorter path (the socket's would be too long).
	FixShorter
	// FixOutside: a folder outside the one the server's account cannot
	// enter.
	FixOutside
)

// DirError is ErrDir: what is wrong with the sandbox's folder (Problem)
// and how another should differ (Fix). Its Message names the setting that
// chooses the folder, which only the command knows: a flag (sandbox's
// --dir, the other commands' --sandbox-dir), an environment variable, or
// the temporary folder demo makes its sandbox in.
type DirError struct {
	Problem string
	Fix     DirFix
}

func (e *DirError) Error() string { return e.Message("folder") }

func (e *DirError) Unwrap() error { return ErrDir }

// Message says what is wrong and what to choose instead, naming the
// setting that chooses the folder with setting.
func (e *DirError) Message(setting string) string {
	switch e.Fix {
	case FixShorter:
		return fmt.Sprintf("%v: %s: choose a shorter %s", ErrDir, e.Problem, setting)
	case FixOutside:
		return fmt.Sprintf("%v: %s: choose a %s outside it, such as /var/tmp/hishamos-perf/sandbox", ErrDir, e.Problem, setting)
	}
	return fmt.Sprintf("%v: %s (choose another %s)", ErrDir, e.Problem, setting)
}

// NoCacheDirError is DefaultDir finding no user cache folder to put the
// sandbox under (Err says why): a folder must be given.
type NoCacheDirError struct {
	Err error
}

func (e *NoCacheDirError) Error() string { return e.Message("a folder") }

func (e *NoCacheDirError) Unwrap() error { return e.Err }

// Message says why there is no default folder, naming the setting that
// gives one with setting.
func (e *NoCacheDirError) Message(setting string) string {
	return fmt.Sprintf("sandbox: no cache folder (%v): pass %s", e.Err, setting)
}
