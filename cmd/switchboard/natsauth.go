package main

import (
	"fmt"
	"os"

	"github.com/nats-io/nats.go"
	"github.com/urfave/cli/v2"
)

// NATS credentials and TLS, for the edge and the service-side commands. A
// user and password can also be given in the URL (nats://user:pass@host).
const (
	flagNATSCreds   = "nats-creds"
	flagNATSTLSCert = "nats-tls-cert"
	flagNATSTLSKey  = "nats-tls-key"
	flagNATSTLSCA   = "nats-tls-ca"
)

func natsAuthFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagNATSCreds, EnvVars: env(flagNATSCreds), Category: catNATS,
			Usage: "NATS credentials `file` (JWT and NKey seed)"},
		&cli.StringFlag{Name: flagNATSTLSCert, EnvVars: env(flagNATSTLSCert), Category: catNATS,
			Usage: "client certificate `file` for TLS to NATS (with --nats-tls-key)"},
		&cli.StringFlag{Name: flagNATSTLSKey, EnvVars: env(flagNATSTLSKey), Category: catNATS,
			Usage: "client key `file` for TLS to NATS (with --nats-tls-cert)"},
		&cli.StringFlag{Name: flagNATSTLSCA, EnvVars: env(flagNATSTLSCA), Category: catNATS,
			Usage: "CA certificate `file` that signs the NATS servers' certificates"},
	}
}

// natsAuthOptions turns the flags into nats.go options; missing files and
// half a key pair are configuration errors.
func natsAuthOptions(c *cli.Context) ([]nats.Option, error) {
	var opts []nats.Option
	var problems []string
	exists := func(flag string) string {
		f := c.String(flag)
		if f == "" {
			return ""
		}
		if _, err := os.Stat(f); err != nil {
			problems = append(problems, fmt.Sprintf("--%s: %v", flag, err))
			return ""
		}
		return f
	}
	if f := exists(flagNATSCreds); f != "" {
		opts = append(opts, nats.UserCredentials(f))
	}
	cert, key := exists(flagNATSTLSCert), exists(flagNATSTLSKey)
	switch {
	case cert != "" && key != "":
		opts = append(opts, nats.ClientCert(cert, key))
	case (c.String(flagNATSTLSCert) == "") != (c.String(flagNATSTLSKey) == ""):
		problems = append(problems, fmt.Sprintf("--%s and --%s go together", flagNATSTLSCert, flagNATSTLSKey))
	}
	if f := exists(flagNATSTLSCA); f != "" {
		opts = append(opts, nats.RootCAs(f))
	}
	if len(problems) > 0 {
		return nil, &configError{problems: problems}
	}
	return opts, nil
}
