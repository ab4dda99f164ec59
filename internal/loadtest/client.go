package loadtest

import (
	"encoding/json"
	"errors"
	"fmt"
)

var (
	errServerClosed = errors.New("loadtest: server closed the session")
	errDisconnected = errors.New("loadtest: server disconnected the namespace")
	errHandshake    = errors.New("loadtest: bad handshake")
)

// handler receives the Socket.IO packets of one client on its read goroutine.
type handler interface {
	onPacket(c *client, p packet)
}

// nopHandler ignores every packet (pings are answered by the read loop).
type nopHandler struct{}

func (nopHandler) onPacket(*client, packet) {}

// client is one simulated Socket.IO client over a raw WebSocket. Its read
// goroutine is the only reader; writes are serialised by ws.wmu, since the
// read goroutine answers pings while a scenario may emit from another
// goroutine.
type client struct {
	ws   *wsConn
	nsp  string
	done chan struct{} // closed when the read loop has ended

	// seq is scenario state owned by the read goroutine (Broadcast: the
	// next expected sequence number).
	seq int64

	nextID int64 // next ack id, guarded by ws.wmu
}

func newClient(ws *wsConn, nsp string) *client {
	return &client{ws: ws, nsp: nsp, done: make(chan struct{})}
}

// write sends one text frame.
func (c *client) write(b []byte) error {
	return c.ws.writeText(b)
}

// emit builds a frame with build, which appends it to the buffer it receives
// and gets, if withAck, a fresh ack id (else -1), and sends it. The packet is
// built straight into the connection's write buffer, behind the room kept
// for the frame header, so it goes out without being copied.
func (c *client) emit(withAck bool, build func(b []byte, id int64) []byte) error {
	w := c.ws
	w.wmu.Lock()
	defer w.wmu.Unlock()
	id := int64(-1)
	if withAck {
		id = c.nextID
		c.nextID++
	}
	w.wbuf = build(w.wbuf[:wsHeadroom], id)
	return w.writeFrameLocked(opText, w.wbuf)
}

// next returns the next non-empty text message; the result is valid until
// the following call. Binary messages are skipped: the benchmark contract
// carries no binary attachments.
func (c *client) next() ([]byte, error) {
	for {
		b, err := c.ws.next()
		if err != nil || len(b) > 0 {
			return b, err
		}
	}
}

// nextPacket returns the next Socket.IO packet for the client's namespace,
// answering Engine.IO pings on the way. Packets for other namespaces and
// malformed ones are skipped.
func (c *client) nextPacket() (packet, error) {
	for {
		b, err := c.next()
		if err != nil {
			return packet{}, err
		}
		switch b[0] {
		case eioPing:
			if err := c.write(pongFrame); err != nil {
				return packet{}, err
			}
		case eioClose:
			return packet{}, errServerClosed
		case eioMessage:
			if p, ok := decodePacket(b[1:], c.nsp); ok {
				return p, nil
			}
		}
	}
}

// readLoop hands packets to h until the connection fails or is closed.
func (c *client) readLoop(h handler) error {
	for {
		p, err := c.nextPacket()
		if err != nil {
			return err
		}
		if p.typ == sioDisconnect {
			return errDisconnected
		}
		h.onPacket(c, p)
	}
}

// openPacket is the part of the Engine.IO open packet the client checks.
type openPacket struct {
	SID string `json:"sid"`
}

// handshake reads the Engine.IO open packet and connects the namespace. The
// caller has set a read deadline.
func (c *client) handshake() error {
	b, err := c.next()
	if err != nil {
		return fmt.Errorf("loadtest: read open packet: %w", err)
	}
	var op openPacket
	if b[0] != eioOpen || json.Unmarshal(b[1:], &op) != nil || op.SID == "" {
		return fmt.Errorf("%w: open packet %.80q", errHandshake, b)
	}
	if err := c.write(appendConnect(nil, c.nsp)); err != nil {
		return fmt.Errorf("loadtest: send connect: %w", err)
	}
	for {
		p, err := c.nextPacket()
		if err != nil {
			return fmt.Errorf("loadtest: await connect: %w", err)
		}
		switch p.typ {
		case sioConnect:
			return nil
		case sioConnectError:
			return fmt.Errorf("%w: connect_error %.200s", errHandshake, p.data)
		}
	}
}

// join emits "join"(room) with an ack and waits for the ack. roomJSON is the
// room name as a JSON string. The caller has set a read deadline.
func (c *client) join(roomJSON []byte) error {
	var want int64
	err := c.emit(true, func(b []byte, id int64) []byte {
		want = id
		b = appendEventHead(b, c.nsp, id, "join")
		b = append(b, ',')
		b = append(b, roomJSON...)
		return append(b, ']')
	})
	if err != nil {
		return fmt.Errorf("loadtest: send join: %w", err)
	}
	for {
		p, err := c.nextPacket()
		if err != nil {
			return fmt.Errorf("loadtest: await join ack: %w", err)
		}
		if p.typ == sioAck && p.id == want {
			return nil
		}
	}
}

// quoteJSON returns s as a JSON string.
func quoteJSON(s string) []byte {
	b, _ := json.Marshal(s) // cannot fail for a string
	return b
}
