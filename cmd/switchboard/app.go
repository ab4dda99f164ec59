package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
)

const appDescription = `Switchboard is a Socket.IO-compatible realtime server: browsers and apps
use the official socket.io-client; edge nodes hold the sessions; backend
services talk to the cluster through NATS.

Start with 'switchboard dev': one process with an embedded NATS server.
Run 'switchboard help <command>' for a command's options. Every option can
also be set with SWITCHBOARD_<OPTION> (upper case, dashes as underscores).

Exit status: 0 after a clean stop (SIGTERM, SIGINT), 2 for invalid flags
or settings (nothing has started then), 1 for any other failure.`

// usageError is a command line that could not be parsed; exit status 2.
type usageError struct {
	err error
	cmd string
}

func (e *usageError) Error() string {
	return fmt.Sprintf("%v (see 'switchboard %s--help')", e.err, e.cmd)
}

func (e *usageError) Unwrap() error { return e.err }

// newApp returns the command-line application writing its output to stdout
// and its logs and errors to stderr. Run it with RunContext: the context's
// end is the stop signal. It never exits the process.
func newApp(stdout, stderr io.Writer) *cli.App {
	onUsageError := func(c *cli.Context, err error, isSubcommand bool) error {
		cmd := ""
		if isSubcommand && c.Command != nil {
			cmd = c.Command.Name + " "
		}
		return &usageError{err: err, cmd: cmd}
	}
	cmds := []*cli.Command{devCommand(), edgeCommand(), emitCommand(), subCommand(), socketsCommand(), presenceCommand(), versionCommand()}
	for _, c := range cmds {
		c.OnUsageError = onUsageError
	}
	return &cli.App{
		Name:                   "switchboard",
		Usage:                  "a Socket.IO-compatible realtime server",
		UsageText:              "switchboard <command> [options]",
		Description:            appDescription,
		Version:                buildVersion(),
		Commands:               cmds,
		Writer:                 stdout,
		ErrWriter:              stderr,
		OnUsageError:           onUsageError,
		ExitErrHandler:         func(*cli.Context, error) {}, // main chooses the exit status
		Suggest:                true,
		UseShortOptionHandling: false,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return &usageError{err: fmt.Errorf("unknown command %q", c.Args().First())}
			}
			return cli.ShowAppHelp(c)
		},
	}
}

// exitStatus maps Run's error to the process exit status, printing it.
func exitStatus(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "switchboard:", err)
	var ue *usageError
	var ce *configError
	if errors.As(err, &ue) || errors.As(err, &ce) {
		return 2
	}
	return 1
}
