// Package sioclient is a minimal Socket.IO v5 client over WebSocket for the
// project's own tests: connect to namespaces, emit with or without acks,
// receive events, binary attachments included. It is not a product API.
package sioclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-rt/switchboard/protocol/socketio"
)

// Message is an event or an ack received from the server.
type Message struct {
	NS          string
	Event       string          // empty for acks
	Args        json.RawMessage // the arguments (event name excluded)
	Attachments [][]byte
	ID          uint64 // ack id the server wants answered, when HasID
	HasID       bool
}

// Decode unmarshals argument i (binary values into []byte fields).
func (m Message) Decode(i int, v any) error {
	elems, err := socketio.SplitArray(nil, m.Args)
	if err != nil || i >= len(elems) {
		return fmt.Errorf("sioclient: no argument %d in %s", i, m.Args)
	}
	raw := elems[i]
	if len(m.Attachments) > 0 {
		if raw, err = socketio.ResolvePlaceholders(raw, m.Attachments); err != nil {
			return err
		}
	}
	return json.Unmarshal(raw, v)
}

// Client is one Engine.IO session over WebSocket.
type Client struct {
	ws     *websocket.Conn
	wmu    sync.Mutex
	dec    socketio.Decoder
	events chan Message
	done   chan struct{}

	mu       sync.Mutex
	nextID   uint64
	acks     map[uint64]chan Message
	connects map[string]chan string // ns → CONNECT reply / error payload
	err      error
}

// Dial opens a session at url (http://host:port) on path /socket.io/.
func Dial(ctx context.Context, url string) (*Client, error) {
	wsURL := "ws" + strings.TrimPrefix(url, "http") + "/socket.io/?EIO=4&transport=websocket"
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, wsURL, nil)
	if err != nil {
		return nil, err
	}
	if _, open, err := ws.ReadMessage(); err != nil || len(open) == 0 || open[0] != '0' {
		ws.Close()
		return nil, fmt.Errorf("sioclient: no open packet: %v", err)
	}
	c := &Client{
		ws: ws, events: make(chan Message, 1024), done: make(chan struct{}),
		acks: map[uint64]chan Message{}, connects: map[string]chan string{},
	}
	go c.readLoop()
	return c, nil
}

// Close closes the session.
func (c *Client) Close() error { return c.ws.Close() }

// Done is closed when the connection ends.
func (c *Client) Done() <-chan struct{} { return c.done }

func (c *Client) write(frames ...[]byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for i, f := range frames {
		mt := websocket.TextMessage
		if i > 0 {
			mt = websocket.BinaryMessage
		}
		if err := c.ws.WriteMessage(mt, f); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) send(p *socketio.Packet) error {
	text := socketio.AppendPacket([]byte{'4'}, p)
	frames := append([][]byte{text}, p.Attachments...)
	return c.write(frames...)
}

// Connect joins namespace ns with auth (nil for none) and returns the socket
// id, or the CONNECT_ERROR payload as an error.
func (c *Client) Connect(ctx context.Context, ns string, auth any) (string, error) {
	ch := make(chan string, 1)
	c.mu.Lock()
	c.connects[ns] = ch
	c.mu.Unlock()
	p := &socketio.Packet{Type: socketio.Connect, Namespace: ns}
	if auth != nil {
		b, err := json.Marshal(auth)
		if err != nil {
			return "", err
		}
		p.Data = b
	}
	if err := c.send(p); err != nil {
		return "", err
	}
	select {
	case reply := <-ch:
		var ok struct {
			SID string `json:"sid"`
		}
		if strings.HasPrefix(reply, "ERR") {
			return "", errors.New(reply[3:])
		}
		_ = json.Unmarshal([]byte(reply), &ok)
		return ok.SID, nil
	case <-ctx.Done():
		return "", ctx.Err()
	case <-c.done:
		return "", c.closeErr()
	}
}

// Emit sends an event without ack.
func (c *Client) Emit(ns, event string, args ...any) error {
	data, atts, err := socketio.AppendEventData(nil, event, args)
	if err != nil {
		return err
	}
	return c.send(&socketio.Packet{Type: packetType(socketio.Event, atts), Namespace: ns, Data: data, Attachments: atts})
}

// EmitWithAck sends an event and waits for its ack.
func (c *Client) EmitWithAck(ctx context.Context, ns, event string, args ...any) (Message, error) {
	data, atts, err := socketio.AppendEventData(nil, event, args)
	if err != nil {
		return Message{}, err
	}
	ch := make(chan Message, 1)
	c.mu.Lock()
	id := c.nextID
	c.nextID++
	c.acks[id] = ch
	c.mu.Unlock()
	if err := c.send(&socketio.Packet{Type: packetType(socketio.Event, atts), Namespace: ns, ID: id, HasID: true, Data: data, Attachments: atts}); err != nil {
		return Message{}, err
	}
	select {
	case m := <-ch:
		return m, nil
	case <-ctx.Done():
		return Message{}, ctx.Err()
	case <-c.done:
		return Message{}, c.closeErr()
	}
}

// Ack answers an event the server sent with an ack id.
func (c *Client) Ack(m Message, args ...any) error {
	data, atts, err := socketio.AppendAckData(nil, args)
	if err != nil {
		return err
	}
	return c.send(&socketio.Packet{Type: packetType(socketio.Ack, atts), Namespace: m.NS, ID: m.ID, HasID: true, Data: data, Attachments: atts})
}

// Next returns the next event received, or an error after timeout.
func (c *Client) Next(timeout time.Duration) (Message, error) {
	select {
	case m := <-c.events:
		return m, nil
	case <-time.After(timeout):
		return Message{}, errors.New("sioclient: no event")
	case <-c.done:
		select {
		case m := <-c.events:
			return m, nil
		default:
		}
		return Message{}, c.closeErr()
	}
}

func (c *Client) closeErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	return errors.New("sioclient: closed")
}

func packetType(t socketio.Type, atts [][]byte) socketio.Type {
	if len(atts) == 0 {
		return t
	}
	if t == socketio.Event {
		return socketio.BinaryEvent
	}
	return socketio.BinaryAck
}

func (c *Client) readLoop() {
	defer close(c.done)
	for {
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
		var p socketio.Packet
		var ok bool
		if mt == websocket.BinaryMessage {
			p, ok, err = c.dec.Binary(data)
		} else {
			switch {
			case len(data) == 0:
				continue
			case data[0] == '2': // ping
				_ = c.write([]byte("3"))
				continue
			case data[0] != '4':
				continue
			}
			p, ok, err = c.dec.Text(data[1:])
		}
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			c.ws.Close()
			return
		}
		if ok {
			c.dispatch(p)
		}
	}
}

func (c *Client) dispatch(p socketio.Packet) {
	switch p.Type {
	case socketio.Connect, socketio.ConnectError:
		c.mu.Lock()
		ch := c.connects[p.Namespace]
		delete(c.connects, p.Namespace)
		c.mu.Unlock()
		if ch != nil {
			if p.Type == socketio.ConnectError {
				ch <- "ERR" + string(p.Data)
			} else {
				ch <- string(p.Data)
			}
		}
	case socketio.Event, socketio.BinaryEvent:
		elems, err := socketio.SplitArray(nil, p.Data)
		if err != nil || len(elems) == 0 {
			return
		}
		name, _ := socketio.EventName(p.Data)
		args := append([]byte{'['}, joinRaw(elems[1:])...)
		args = append(args, ']')
		c.events <- Message{NS: p.Namespace, Event: name, Args: args, Attachments: p.Attachments, ID: p.ID, HasID: p.HasID}
	case socketio.Ack, socketio.BinaryAck:
		c.mu.Lock()
		ch := c.acks[p.ID]
		delete(c.acks, p.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- Message{NS: p.Namespace, Args: append([]byte(nil), p.Data...), Attachments: p.Attachments}
		}
	case socketio.Disconnect:
		c.events <- Message{NS: p.Namespace, Event: "disconnect"}
	}
}

func joinRaw(elems [][]byte) []byte {
	var b []byte
	for i, e := range elems {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e...)
	}
	return b
}
