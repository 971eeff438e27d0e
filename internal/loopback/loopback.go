// Package loopback hands out addresses in 127.0.0.0/8 for storage nodes that
// must listen on fixed ports (7500/7501, as MogileFS trackers expect): each
// node gets its own address instead of its own port.
package loopback

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
)

var (
	mu   sync.Mutex // guards used
	used = map[string]bool{}
)

// Pick returns an address 127.<second>.x.y, with second in [lo, lo+n), on
// which every port in ports was free a moment ago, and never returns the
// same address twice in a process. Callers running at the same time in other
// processes (test packages run in parallel) use disjoint ranges of second;
// the probe covers what is left.
func Pick(lo, n int, ports ...int) (string, error) {
	mu.Lock()
	defer mu.Unlock()
	for range 200 {
		ip := fmt.Sprintf("127.%d.%d.%d", lo+rand.IntN(n), rand.IntN(256), 1+rand.IntN(254))
		if used[ip] || !free(ip, ports) {
			continue
		}
		used[ip] = true
		return ip, nil
	}
	return "", fmt.Errorf("loopback: no free address in 127.%d-%d.x.x for ports %v", lo, lo+n-1, ports)
}

func free(ip string, ports []int) bool {
	for _, p := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(p)))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}
