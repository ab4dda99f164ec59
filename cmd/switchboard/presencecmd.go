package main

import (
	"github.com/urfave/cli/v2"

	"github.com/switchboard-rt/switchboard/contract"
	"github.com/switchboard-rt/switchboard/presence"
)

const (
	flagPresenceRoom   = "room"
	flagPresenceUser   = "user"
	flagPresenceLimit  = "limit"
	flagPresenceCursor = "cursor"
)

func presenceCommand() *cli.Command {
	return &cli.Command{
		Name:      "presence",
		Usage:     "who is in a namespace or room, or which sockets a user has, across a running cluster (through NATS)",
		UsageText: "switchboard presence --ns /chat [--room general] [--user 42] [--limit 100] [--cursor C]",
		Description: `Prints the P.cmd.presence reply as JSON: {"count","users","members":[...],"next"?}.
The counts cover the whole selection; members is one page. Pass the reply's
"next" as --cursor for the following page.`,
		Flags: append(busFlags(),
			&cli.StringFlag{Name: flagNS, Value: "/", Usage: "`namespace`"},
			&cli.StringFlag{Name: flagPresenceRoom, Usage: "only this `room` (default: the whole namespace)"},
			&cli.StringFlag{Name: flagPresenceUser, Usage: "only the sockets of this `user`"},
			&cli.IntFlag{Name: flagPresenceLimit, Usage: "page size, at most 1000 (0: 100)"},
			&cli.StringFlag{Name: flagPresenceCursor, Usage: "continue from a previous reply's next `cursor`"},
		),
		Action: func(c *cli.Context) error {
			q := contract.PresenceQuery{
				NS: c.String(flagNS), Room: c.String(flagPresenceRoom), User: c.String(flagPresenceUser),
				Limit: c.Int(flagPresenceLimit), Cursor: c.String(flagPresenceCursor),
			}
			var problems []string
			if err := checkNamespace(q.NS); err != nil {
				problems = append(problems, "--"+flagNS+": "+err.Error())
			}
			if q.Limit < 0 || q.Limit > presence.MaxLimit {
				problems = append(problems, "--"+flagPresenceLimit+": must be between 0 and 1000")
			}
			if len(problems) > 0 {
				return &configError{problems: problems}
			}
			nc, subj, err := busConn(c)
			if err != nil {
				return err
			}
			defer nc.Close()
			return request(c, nc, subj.Command("presence"), q, c.Duration(flagTimeout))
		},
	}
}
