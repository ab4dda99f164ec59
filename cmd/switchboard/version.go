package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// version is set at link time: go build -ldflags "-X main.version=v1.2.3".
var version string

// buildVersion returns the link-time version, else the module version the
// binary was built from, else "devel".
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:      "version",
		Usage:     "print the version and build details",
		UsageText: "switchboard version",
		Action: func(c *cli.Context) error {
			fmt.Fprintf(c.App.Writer, "switchboard %s\n", buildVersion())
			fmt.Fprintf(c.App.Writer, "%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
						fmt.Fprintf(c.App.Writer, "%s %s\n", s.Key, s.Value)
					}
				}
			}
			return nil
		},
	}
}
