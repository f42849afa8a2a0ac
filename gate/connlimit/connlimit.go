// Package connlimit bounds the connections a listener holds open: in total,
// and per source address, so that one client cannot take every connection
// from the rest.
//
// The total is golang.org/x/net/netutil's LimitListener: past it, Accept
// waits and new connections queue in the kernel until one closes. The share
// of one address is enforced after Accept: a connection that would exceed
// it is closed at once, so the address's own surplus is what waits, never
// everybody else. An IPv6 address counts by its /64 prefix, the block one
// host is usually given (counting whole addresses, one host could open a
// connection from each of 2^64 of them); IPv4 addresses count one by one.
//
// This package knows nothing of HTTP or metrics; the gate passes a hook.
package connlimit

import (
	"net"
	"net/netip"
	"sync"

	"golang.org/x/net/netutil"
)

// Options configure a Listener. A limit of zero or less is no limit.
type Options struct {
	Total      int
	PerAddress int
	// OnRefuse, if set, is called for each connection closed because its
	// address held its share, with the address key (Key).
	OnRefuse func(key string)
}

// Listen wraps inner with the limits in o.
func Listen(inner net.Listener, o Options) net.Listener {
	ln := inner
	if o.Total > 0 {
		ln = netutil.LimitListener(ln, o.Total)
	}
	if o.PerAddress <= 0 {
		return ln
	}
	return &listener{Listener: ln, per: o.PerAddress, onRefuse: o.OnRefuse, open: map[string]int{}}
}

type listener struct {
	net.Listener
	per      int
	onRefuse func(string)

	mu   sync.Mutex
	open map[string]int // address key -> connections open
}

// Accept returns the next connection whose address is within its share,
// closing those that are not.
func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := Key(c.RemoteAddr().String())
		l.mu.Lock()
		ok := l.open[key] < l.per
		if ok {
			l.open[key]++
		}
		l.mu.Unlock()
		if ok {
			return &conn{Conn: c, l: l, key: key}, nil
		}
		// Counted before the close, so that whoever sees the close (the
		// client, a test) finds it counted.
		if l.onRefuse != nil {
			l.onRefuse(key)
		}
		c.Close()
	}
}

func (l *listener) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key) // memory follows the addresses connected now
	}
}

type conn struct {
	net.Conn
	l    *listener
	key  string
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key) })
	return err
}

// Key is the address a connection from addr ("host:port", or a bare IP)
// counts against: the IP for IPv4 (an IPv4-mapped IPv6 address included),
// the /64 prefix for IPv6, addr itself for anything else. The gate keys
// its per-client limits on failed authentication the same way.
func Key(addr string) string {
	var ip netip.Addr
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		ip = ap.Addr()
	} else if ip, err = netip.ParseAddr(addr); err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, err := ip.Prefix(64)
	if err != nil {
		return ip.String()
	}
	return p.String()
}
