// Package contract is the public NATS API between Switchboard edges and the
// services behind them: subject names, the escaping of their tokens, and the
// JSON bodies of every message (see docs/nats-api.md). It is plain data and
// pure functions — the standard library and protocol/socketio only — so both sides and services in any
// language agree on one definition.
package contract
