package stord

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mogfs/nodeproto"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// maxMgmtLine caps a side-channel request line. Longer lines are answered
// with an error and skipped; the connection stays usable.
const maxMgmtLine = 8 << 10

// mgmtWriteTimeout bounds each write to a side-channel client so a stuck
// tracker cannot pin a goroutine forever.
const mgmtWriteTimeout = 30 * time.Second

// mgmtServer is the management side channel (mogstored's port 7501).
type mgmtServer struct {
	docRoot string
	log     *slog.Logger
	hub     *watchHub // nil when iostat is disabled

	fsckMu   sync.Mutex             // guards fsckLock
	fsckLock map[string]*sync.Mutex // device dir -> lock serialising "fsck" digests

	connsMu sync.Mutex // guards conns
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup // running connection goroutines
}

func newMgmtServer(docRoot string, hub *watchHub, log *slog.Logger) *mgmtServer {
	return &mgmtServer{docRoot: docRoot, hub: hub, log: log,
		fsckLock: map[string]*sync.Mutex{}, conns: map[net.Conn]struct{}{}}
}

// serve accepts connections until ctx is done, then closes the listener and
// every connection and waits for their goroutines.
func (s *mgmtServer) serve(ctx context.Context, l net.Listener) {
	stop := context.AfterFunc(ctx, func() {
		l.Close()
		s.connsMu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.connsMu.Unlock()
	})
	defer stop()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("side channel accept", "err", err)
			}
			break
		}
		s.connsMu.Lock()
		if ctx.Err() != nil {
			s.connsMu.Unlock()
			c.Close()
			break
		}
		s.conns[c] = struct{}{}
		s.connsMu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.connsMu.Lock()
				delete(s.conns, c)
				s.connsMu.Unlock()
				c.Close()
			}()
			s.handleConn(ctx, c)
		}()
	}
	s.wg.Wait()
}

// mgmtConn serialises writes of replies and watch blocks on one connection.
type mgmtConn struct {
	c  net.Conn
	mu sync.Mutex // guards writes to c
}

func (m *mgmtConn) write(s string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.c.SetWriteDeadline(time.Now().Add(mgmtWriteTimeout))
	_, err := io.WriteString(m.c, s)
	return err
}

// handleConn answers requests in order until the client hangs up. A
// running digest stops reading, as in mogstored.
func (s *mgmtServer) handleConn(ctx context.Context, c net.Conn) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic on side channel", "remote", c.RemoteAddr().String(), "panic", v)
		}
	}()
	mc := &mgmtConn{c: c}
	br := bufio.NewReaderSize(c, maxMgmtLine)
	var stopWatch func()
	defer func() {
		if stopWatch != nil {
			stopWatch()
		}
	}()
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// Skip the rest of the over-long line, then report it.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil {
				return
			}
			if mc.write(fmt.Sprintf("ERROR: line longer than %d bytes\r\n", maxMgmtLine)) != nil {
				return
			}
			continue
		}
		if err != nil {
			return // EOF or closed; a partial last line is not a request
		}
		req, perr := nodeproto.ParseRequest(string(line[:len(line)-1]))
		var reply string
		switch {
		case perr != nil:
			reply = perr.Error() + "\r\n"
		case req.Cmd == nodeproto.CmdEmpty:
			continue
		case req.Cmd == nodeproto.CmdWatch:
			if s.hub == nil {
				reply = "ERR iostat unavailable\r\n"
				break
			}
			if stopWatch == nil {
				stopWatch = s.watch(ctx, mc)
			}
			continue
		case req.Cmd == nodeproto.CmdSize:
			reply = s.size(req.URI)
		case req.Cmd == nodeproto.CmdDigest:
			reply = s.digest(req)
		}
		s.log.Debug("side channel request", "remote", c.RemoteAddr().String(), "line", strings.TrimRight(string(line), "\r\n"))
		if mc.write(reply) != nil {
			return
		}
	}
}

// watch starts streaming utilisation blocks to mc; the returned function
// stops it.
func (s *mgmtServer) watch(ctx context.Context, mc *mgmtConn) func() {
	ch, cancel := s.hub.subscribe()
	ctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case block := <-ch:
				if mc.write(block) != nil {
					mc.c.Close()
					return
				}
			}
		}
	}()
	return func() {
		cancel()
		stop()
		<-done
	}
}

// open resolves a side-channel uri (a URL path) to a file inside its
// device directory; like the HTTP port, it cannot leave the device.
func (s *mgmtServer) open(uri string) (*os.File, error) {
	p, err := nodeproto.ParsePath(uri)
	if err != nil {
		return nil, err
	}
	if p.Rel == "" {
		return nil, ErrIsDir
	}
	root, err := os.OpenRoot(filepath.Join(s.docRoot, p.DevDir))
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return root.Open(p.Rel)
}

// size answers "size <uri>": "<uri> <bytes>", or -1 when it is not a
// readable regular file.
func (s *mgmtServer) size(uri string) string {
	f, err := s.open(uri)
	if err != nil {
		return nodeproto.SizeReply(uri, -1)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nodeproto.SizeReply(uri, -1)
	}
	return nodeproto.SizeReply(uri, fi.Size())
}

// digest answers "MD5 <uri>" / "SHA-1 <uri>". Digests with reason "fsck"
// run one at a time per device, so a tracker-wide fsck does not thrash a
// disk; others run at once.
func (s *mgmtServer) digest(req nodeproto.Request) string {
	f, err := s.open(req.URI)
	if err != nil {
		return nodeproto.DigestReply(req.URI, req.Alg, nil)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nodeproto.DigestReply(req.URI, req.Alg, nil)
	}
	if req.Reason == "fsck" {
		p, _ := nodeproto.ParsePath(req.URI) // valid: open succeeded
		mu := s.deviceLock(p.DevDir)
		mu.Lock()
		defer mu.Unlock()
	}
	ht, _ := nodeproto.HashType(req.Alg)
	h := nodeproto.NewHash(ht)
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	var off int64
	for {
		n, err := f.Read(*bp)
		h.Write((*bp)[:n])
		off += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			s.log.Warn("side channel digest read", "uri", req.URI, "offset", off, "err", err)
			return fmt.Sprintf("ERR read %s at %d failed\r\n", req.URI, off)
		}
	}
	return nodeproto.DigestReply(req.URI, req.Alg, h.Sum(nil))
}

func (s *mgmtServer) deviceLock(dev string) *sync.Mutex {
	s.fsckMu.Lock()
	defer s.fsckMu.Unlock()
	mu, ok := s.fsckLock[dev]
	if !ok {
		mu = &sync.Mutex{}
		s.fsckLock[dev] = mu
	}
	return mu
}
