package engine

// Metrics observes an Engine.IO server. Implementations must be safe for
// concurrent use and cheap: they are called on hot paths.
type Metrics interface {
	// SessionOpened and SessionClosed count sessions by transport.
	SessionOpened(transport string)
	SessionClosed(transport, reason string)
	// Upgraded counts successful upgrades; UpgradeFailed failed ones.
	Upgraded()
	UpgradeFailed(reason string)
	// PacketsIn and PacketsOut count Engine.IO packets and their bytes.
	PacketsIn(n, bytes int)
	PacketsOut(n, bytes int)
	// SlowConsumer counts sessions closed because their queue overflowed.
	SlowConsumer()
	// Error counts rejected requests and protocol errors by kind.
	Error(kind string)
}

type nopMetrics struct{}

func (nopMetrics) SessionOpened(string)         {}
func (nopMetrics) SessionClosed(string, string) {}
func (nopMetrics) Upgraded()                    {}
func (nopMetrics) UpgradeFailed(string)         {}
func (nopMetrics) PacketsIn(int, int)           {}
func (nopMetrics) PacketsOut(int, int)          {}
func (nopMetrics) SlowConsumer()                {}
func (nopMetrics) Error(string)                 {}
