package service

import "github.com/nats-io/nats.go"

// Deliver hands m to the subscription as NATS would.
func (s *Subscription) Deliver(m *nats.Msg) { s.deliver(m) }
