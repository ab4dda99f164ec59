package loadtest

import (
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/contract"
)

// natsTrigger broadcasts as a backend service does: P.cmd.emit on NATS,
// handled by one edge and fanned out to the others by the cluster adapter.
type natsTrigger struct {
	nc      *nats.Conn
	subject string
	head    []byte // {"ns":…,"rooms":[…],"event":"msg","args":[
	buf     []byte
	lost    chan struct{}
}

func newNATSTrigger(url, prefix, nsp, room string) (*natsTrigger, error) {
	t := &natsTrigger{lost: make(chan struct{})}
	nc, err := nats.Connect(url, nats.Name("switchboard loadtest trigger"), nats.NoReconnect(),
		nats.ClosedHandler(func(*nats.Conn) { close(t.lost) }))
	if err != nil {
		return nil, fmt.Errorf("loadtest: trigger NATS %s: %w", url, err)
	}
	t.nc = nc
	t.subject = contract.Subjects{Prefix: prefix}.Command("emit")
	ns, _ := json.Marshal(nsp)
	r, _ := json.Marshal(room)
	t.head = fmt.Appendf(nil, `{"ns":%s,"rooms":[%s],"event":"msg","args":[`, ns, r)
	return t, nil
}

func (t *natsTrigger) done() <-chan struct{} { return t.lost }

func (t *natsTrigger) send(payload func([]byte) []byte) error {
	b := append(t.buf[:0], t.head...)
	b = payload(b)
	b = append(b, "]}"...)
	t.buf = b
	return t.nc.Publish(t.subject, b) // copies b into the connection's buffer
}

func (t *natsTrigger) close() {
	_ = t.nc.Flush()
	t.nc.Close()
}
