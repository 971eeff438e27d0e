package status

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"
)

// Source supplies the snapshot the page renders. The tracker implements it
// (or uses StoreSource); see the package doc for what each field must hold.
type Source interface {
	// StatusSnapshot returns the current state. It is called once per page
	// load with a context that ends after SourceTimeout.
	StatusSnapshot(ctx context.Context) (Snapshot, error)
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context) (Snapshot, error)

// StatusSnapshot implements Source.
func (f SourceFunc) StatusSnapshot(ctx context.Context) (Snapshot, error) { return f(ctx) }

// SourceTimeout bounds how long a page load waits for its Source.
const SourceTimeout = 5 * time.Second

// RefreshSeconds is the page's auto-refresh period.
const RefreshSeconds = 5

// Handler serves the status page of src: HTML at "/", "/status" and
// "/status/", the same snapshot as JSON at "/status.json", 404 for any other
// path, so it can be mounted at "/" next to /metrics. Only GET and HEAD are
// allowed.
func Handler(src Source) http.Handler {
	return &handler{src: src}
}

type handler struct {
	src Source
}

// ServeHTTP implements http.Handler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var asJSON bool
	switch r.URL.Path {
	case "/", "/status", "/status/":
	case "/status.json":
		asJSON = true
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), SourceTimeout)
	defer cancel()
	snap, err := h.src.StatusSnapshot(ctx)
	if err != nil {
		// The page is for operators of this tracker, so the reason is
		// shown; http.Error sends it as text/plain, so nothing in it can
		// run as markup.
		http.Error(w, "status: snapshot: "+err.Error(), http.StatusInternalServerError)
		return
	}
	normalize(&snap)
	var buf bytes.Buffer
	if asJSON {
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		err = enc.Encode(snap)
		w.Header().Set("Content-Type", "application/json")
	} else {
		err = render(&buf, snap)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	if err != nil {
		http.Error(w, "status: render: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(buf.Bytes())
}

// normalize fills the computed fields and puts everything in display order:
// hosts and devices by id, domains and classes by name, errors newest first
// and at most MaxJobErrors.
func normalize(s *Snapshot) {
	if s.Tracker.Now.IsZero() {
		s.Tracker.Now = time.Now()
	}
	if !s.Tracker.Started.IsZero() {
		s.Tracker.UptimeSeconds = s.Tracker.Now.Sub(s.Tracker.Started).Seconds()
	}
	slices.SortFunc(s.Hosts, func(a, b Host) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(s.Devices, func(a, b Device) int { return cmp.Compare(a.DevID, b.DevID) })
	slices.SortFunc(s.Domains, func(a, b Domain) int { return cmp.Compare(a.Name, b.Name) })
	for _, d := range s.Domains {
		slices.SortFunc(d.Classes, func(a, b Class) int { return cmp.Compare(a.Name, b.Name) })
	}
	slices.SortStableFunc(s.JobErrors, func(a, b JobError) int { return b.Time.Compare(a.Time) })
	if len(s.JobErrors) > MaxJobErrors {
		s.JobErrors = s.JobErrors[:MaxJobErrors]
	}
	// Empty lists encode as [] rather than null in /status.json.
	if s.Hosts == nil {
		s.Hosts = []Host{}
	}
	if s.Devices == nil {
		s.Devices = []Device{}
	}
	if s.JobErrors == nil {
		s.JobErrors = []JobError{}
	}
	if s.Domains == nil {
		s.Domains = []Domain{}
	}
	for i := range s.Domains {
		if s.Domains[i].Classes == nil {
			s.Domains[i].Classes = []Class{}
		}
	}
}
