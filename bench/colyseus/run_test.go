package colyseus

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestRunShRefusesBadArguments: run.sh checks its arguments before it builds or starts
// anything, with exit status 2 and the reason.
func TestRunShRefusesBadArguments(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	if _, err := os.ReadFile("run.sh"); err != nil { // lets go test's cache see edits to it
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-rounds", "0"}, "-rounds must be a positive integer, not 0"},
		{[]string{"-rounds", "two"}, "-rounds must be a positive integer, not two"},
		{[]string{"-rounds", "-1"}, "-rounds must be a positive integer, not -1"},
		{[]string{"-players", "0"}, "-players must be a positive integer, not 0"},
		{[]string{"-duration", "2"}, "-duration must be a whole number of seconds, at least 3, not 2"},
		{[]string{"-bogus"}, "unknown argument -bogus"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			out, err := exec.Command(bash, append([]string{"run.sh"}, c.args...)...).CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Fatalf("run.sh %v: %v, want exit status 2; output:\n%s", c.args, err, out)
			}
			if !strings.Contains(string(out), c.want) {
				t.Fatalf("run.sh %v said %q, want %q", c.args, out, c.want)
			}
		})
	}
}
