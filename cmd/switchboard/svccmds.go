package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/urfave/cli/v2"

	"github.com/switchboard-rt/switchboard/contract"
)

// The service-side commands talk to a running cluster over NATS, like any
// service would: emit to sockets, tail events, list sockets.

const (
	flagNS      = "ns"
	flagRoom    = "room"
	flagSID     = "sid"
	flagExcept  = "except"
	flagTimeout = "timeout"
	flagAckWait = "ack-wait"
	flagCount   = "count"
)

func busFlags() []cli.Flag {
	return append(natsAuthFlags(),
		&cli.StringFlag{Name: flagNATSURL, Value: defaultNATSURL, EnvVars: env(flagNATSURL),
			Usage: "NATS server `URL`s (comma-separated)"},
		&cli.StringFlag{Name: flagSubjectPrefix, Value: defaultSubjectPrefix, EnvVars: env(flagSubjectPrefix),
			Usage: "subject `prefix` of the services API"},
		&cli.DurationFlag{Name: flagTimeout, Value: 5 * time.Second, Usage: "`duration` to wait for the cluster's answer"},
	)
}

func selectorFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagNS, Value: "/", Usage: "`namespace`"},
		&cli.StringSliceFlag{Name: flagRoom, Usage: "select the sockets in `room` (repeatable)"},
		&cli.StringSliceFlag{Name: flagSID, Usage: "select the socket with `id` (repeatable)"},
		&cli.StringSliceFlag{Name: flagExcept, Usage: "leave out the sockets in `room` (repeatable)"},
	}
}

func selector(c *cli.Context) (contract.Selector, error) {
	ns := c.String(flagNS)
	if err := checkNamespace(ns); err != nil {
		return contract.Selector{}, fmt.Errorf("--%s: %w", flagNS, err)
	}
	return contract.Selector{NS: ns, Rooms: c.StringSlice(flagRoom), SIDs: c.StringSlice(flagSID), Except: c.StringSlice(flagExcept)}, nil
}

// busConn connects for a one-off command: it fails fast when NATS is down.
func busConn(c *cli.Context) (*nats.Conn, contract.Subjects, error) {
	prefix := c.String(flagSubjectPrefix)
	if err := checkSubjectPrefix(prefix); err != nil {
		return nil, contract.Subjects{}, &configError{problems: []string{"--" + flagSubjectPrefix + ": " + err.Error()}}
	}
	opts, err := natsAuthOptions(c)
	if err != nil {
		return nil, contract.Subjects{}, err
	}
	opts = append(opts, nats.Name("switchboard "+c.Command.Name), nats.Timeout(c.Duration(flagTimeout)))
	nc, err := nats.Connect(c.String(flagNATSURL), opts...)
	if err != nil {
		return nil, contract.Subjects{}, fmt.Errorf("connect to NATS at %s: %w", redactURLs(c.String(flagNATSURL)), err)
	}
	return nc, contract.Subjects{Prefix: prefix}, nil
}

// request sends a command and prints the reply; an error reply is an error.
func request(c *cli.Context, nc *nats.Conn, subject string, body any, timeout time.Duration) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	m, err := nc.Request(subject, b, timeout)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return fmt.Errorf("no edge answers %s: is a Switchboard node connected to this NATS with this --subject-prefix?", subject)
	case err != nil:
		return fmt.Errorf("%s: %w", subject, err)
	}
	var e contract.ErrorReply
	if json.Unmarshal(m.Data, &e) == nil && e.Error != nil {
		return fmt.Errorf("%s: %w", subject, e.Error)
	}
	_, err = fmt.Fprintln(c.App.Writer, string(m.Data))
	return err
}

// jsonArgs turns command-line arguments into a JSON array: each is a JSON
// value, and a word that is not JSON is taken as a string.
func jsonArgs(args []string) json.RawMessage {
	out := make([]json.RawMessage, len(args))
	for i, a := range args {
		if json.Valid([]byte(a)) {
			out[i] = json.RawMessage(a)
		} else {
			out[i], _ = json.Marshal(a)
		}
	}
	b, _ := json.Marshal(out)
	return b
}

func emitCommand() *cli.Command {
	return &cli.Command{
		Name:      "emit",
		Usage:     "emit an event to sockets of a running cluster (through NATS)",
		UsageText: "switchboard emit [--ns /chat] [--room general] EVENT [ARG...]\n\nEach ARG is a JSON value; a word that is not JSON is sent as a string.",
		Flags: append(append(busFlags(), selectorFlags()...),
			&cli.DurationFlag{Name: flagAckWait, Usage: "wait this `duration` for the clients' acknowledgements and print them"},
			&cli.BoolFlag{Name: "volatile", Usage: "drop the event for clients that cannot take it at once"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return &usageError{err: errors.New("missing EVENT"), cmd: "emit "}
			}
			sel, err := selector(c)
			if err != nil {
				return &configError{problems: []string{err.Error()}}
			}
			nc, subj, err := busConn(c)
			if err != nil {
				return err
			}
			defer nc.Close()
			cmd := contract.EmitCommand{Selector: sel, Event: c.Args().First(), Args: jsonArgs(c.Args().Tail()),
				Volatile: c.Bool("volatile"), AckTimeoutMS: int(c.Duration(flagAckWait).Milliseconds())}
			return request(c, nc, subj.Command("emit"), cmd, c.Duration(flagTimeout)+c.Duration(flagAckWait))
		},
	}
}

func socketsCommand() *cli.Command {
	return &cli.Command{
		Name:      "sockets",
		Usage:     "list the sockets of a running cluster (through NATS)",
		UsageText: "switchboard sockets [--ns /chat] [--room general]",
		Flags:     append(busFlags(), selectorFlags()...),
		Action: func(c *cli.Context) error {
			sel, err := selector(c)
			if err != nil {
				return &configError{problems: []string{err.Error()}}
			}
			nc, subj, err := busConn(c)
			if err != nil {
				return err
			}
			defer nc.Close()
			return request(c, nc, subj.Command("sockets"), sel, c.Duration(flagTimeout))
		},
	}
}

func subCommand() *cli.Command {
	return &cli.Command{
		Name:      "sub",
		Usage:     "print the events and lifecycle messages of a running cluster as JSON lines",
		UsageText: "switchboard sub [--ns /chat] [--count N]",
		Flags: append(busFlags(),
			&cli.StringFlag{Name: flagNS, Usage: "only this `namespace` (default: all)"},
			&cli.IntFlag{Name: flagCount, Usage: "exit after `N` messages (0: run until interrupted)"},
		),
		Action: func(c *cli.Context) error {
			nc, subj, err := busConn(c)
			if err != nil {
				return err
			}
			defer nc.Close()
			ns := "*"
			if v := c.String(flagNS); v != "" {
				if err := checkNamespace(v); err != nil {
					return &configError{problems: []string{"--" + flagNS + ": " + err.Error()}}
				}
				ns = contract.NamespaceToken(v)
			}
			p := subj.Prefix
			msgs := make(chan *nats.Msg, 1024)
			for _, s := range []string{p + ".ev." + ns + ".*", p + ".conn." + ns, p + ".disc." + ns, p + ".presence." + ns + ".*", p + ".user." + ns} {
				sub, err := nc.ChanSubscribe(s, msgs)
				if err != nil {
					return err
				}
				defer sub.Unsubscribe()
			}
			if err := nc.Flush(); err != nil {
				return err
			}
			enc := json.NewEncoder(c.App.Writer)
			for n := 0; c.Int(flagCount) == 0 || n < c.Int(flagCount); n++ {
				select {
				case <-c.Context.Done():
					return nil
				case m := <-msgs:
					line := struct {
						Subject string          `json:"subject"`
						Reply   string          `json:"reply,omitempty"`
						Data    json.RawMessage `json:"data"`
					}{Subject: m.Subject, Reply: m.Reply, Data: m.Data}
					if !json.Valid(m.Data) {
						line.Data, _ = json.Marshal(string(m.Data))
					}
					if err := enc.Encode(line); err != nil {
						return err
					}
				}
			}
			return nil
		},
	}
}
