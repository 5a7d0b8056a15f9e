package migrate

import "fmt"

// Option names an option that a message of the package refers to. Its
// value is the field's name; a command words the message with the flag
// that sets the option instead (LockedError.Message, NoDjangoAppError.Message,
// LintOptions.OptionName, Rule.Text), so that no message here names a flag.
type Option string

// The options messages refer to.
const (
	// OptWait is ApplyOptions.Wait.
	OptWait Option = "Wait"
	// OptMaxBuild is LintOptions.MaxBuild.
	OptMaxBuild Option = "MaxBuild"
	// OptAppsDir is DjangoOptions.AppsDir.
	OptAppsDir Option = "AppsDir"
	// OptProject is DjangoOptions.Project: the project's folder.
	OptProject Option = "Project"
)

// optionField names an option by its field: the default wording.
func optionField(o Option) string { return string(o) }

// optionName is name, or optionField when nil.
func optionName(name func(Option) string) func(Option) string {
	if name != nil {
		return name
	}
	return optionField
}

// NoDjangoAppError is ErrNoDjangoApp for an app whose migrations folder
// Dir is not under the apps folder (OptAppsDir).
type NoDjangoAppError struct {
	App, Dir string
}

func (e *NoDjangoAppError) Error() string { return e.Message(optionField) }

func (e *NoDjangoAppError) Unwrap() error { return ErrNoDjangoApp }

// Message says which app's folder is missing, naming the option that
// points at the apps with name.
func (e *NoDjangoAppError) Message(name func(Option) string) string {
	return fmt.Sprintf("%v: %s: no %s (point %s at the folder holding the apps)", ErrNoDjangoApp, e.App, e.Dir, name(OptAppsDir))
}
