package client

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestStreamStalledNode: a node that takes the request and never reads the
// body fails the stream's writes after streamStall instead of hanging the
// writer; a node that reads gets every byte.
func TestStreamStalledNode(t *testing.T) {
	release := make(chan struct{})
	stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer stalled.Close()
	defer close(release)
	var got bytes.Buffer
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(&got, r.Body) }))
	defer ok.Close()
	old := streamStall
	streamStall = 300 * time.Millisecond
	defer func() { streamStall = old }()
	c, err := New(Config{Trackers: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	s, err := c.StartStream(OpenResult{FID: 1, Dests: []Dest{{DevID: 1, Path: stalled.URL + "/dev1/x.fid"}}})
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	start := time.Now()
	var werr error
	for i := 0; i < 64 && werr == nil; i++ {
		_, werr = s.Write(chunk)
	}
	if werr == nil {
		t.Fatal("64 MiB written to a node that reads nothing")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the stalled write failed after %v", d)
	}
	s.Abort()

	s, err = c.StartStream(OpenResult{FID: 2, Dests: []Dest{{DevID: 1, Path: ok.URL + "/dev1/y.fid"}}})
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if _, err := s.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	s.pw.Close()
	<-s.done
	if s.err != nil || got.Len() != 4<<20 || s.Written() != 4<<20 {
		t.Errorf("stream to a reading node: err %v, node got %d bytes, written %d", s.err, got.Len(), s.Written())
	}
}
