package main

import (
	"strconv"

	"github.com/switchboard-rt/switchboard/edge"
)

// installDemo registers the demo handlers (--demo-handlers) on the declared
// namespaces and on the dynamic namespace group (nil: none). They make `dev`
// useful before the NATS services gateway exists and implement the load
// tool's benchmark contract (internal/loadtest/doc.go).
func installDemo(srv *edge.Server, namespaces []string, group *edge.Namespace) {
	for _, ns := range namespaces {
		demoHandlers(srv.Of(ns))
	}
	if group != nil {
		demoHandlers(group)
	}
}

// demoHandlers registers echo, join and broadcast on namespace n, once for
// all its sockets. Events without a handler go to the services over NATS.
func demoHandlers(n *edge.Namespace) {
	// echo(...args): ack with the same arguments, raw (key order and binary
	// attachments kept); without an ack callback, emit them back.
	n.On("echo", func(e *edge.Event) {
		if e.WantsAck() {
			_ = e.Ack(e.Args)
			return
		}
		_ = e.Socket.Emit("echo", e.Args)
	})
	// join(room): join room, ack with the socket's rooms.
	n.On("join", func(e *edge.Event) {
		if room := roomArg(e.Args, 0); room != "" {
			e.Socket.Join(room)
		}
		_ = e.Ack(e.Socket.Rooms())
	})
	// broadcast(room, payload...): emit "msg"(payload...) to every socket in
	// room, the sender included if it joined; the payload is forwarded raw.
	n.On("broadcast", func(e *edge.Event) {
		room := roomArg(e.Args, 0)
		if room == "" {
			return
		}
		_ = e.Socket.Namespace().To(room).Emit("msg", e.Args.Slice(1))
	})
}

// roomArg returns argument i as a room name: a string, or a number's text
// (like String(room) in JavaScript); "" otherwise.
func roomArg(a edge.Args, i int) string {
	if s := a.String(i); s != "" {
		return s
	}
	raw := a.Raw(i)
	if len(raw) == 0 {
		return ""
	}
	if _, err := strconv.ParseFloat(string(raw), 64); err == nil {
		return string(raw)
	}
	return ""
}
