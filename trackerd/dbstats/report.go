package dbstats

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
)

// The sections' formats are the original's printf formats, byte for byte
// (including the devices rows, which are narrower than their header).
const (
	devicesHead = "  %-10s %-15s %12s %10s\n"
	devicesRow  = "  %-10s %-10s %10s %10s\n"
	devicesRule = "  ---------- ---------------- ------------ ----------\n"
	filesRow    = "  %-20s %-10s %10s %11s %13s\n"
	filesRule   = "  -------------------- ----------- ---------- ----------- -------------\n"
	domainsRow  = "  %-20s %-10s %10s\n"
	domainsRule = "  -------------------- ----------- ----------\n"
	replRow     = "  %-20s %-10s %10s %10s\n"
	replRule    = "  -------------------- ----------- ---------- ----------\n"
	queueRow    = "  %-20s %12s\n"
	queueRule   = "  -------------------- ------------\n"
	generalRow  = "  %-15s %-20s %12s\n"
	generalRule = "  --------------- -------------------- ------------\n"
)

// write prints the sections asked for, in the original's order.
func (r *report) write(w io.Writer) {
	if r.want["devices"] {
		fmt.Fprint(w, "\nStatistics for devices...\n")
		fmt.Fprintf(w, devicesHead, "device", "host", "files", "status")
		fmt.Fprint(w, devicesRule)
		slices.SortFunc(r.devices, func(a, b deviceFiles) int { return cmp.Compare(a.devid, b.devid) })
		for _, d := range r.devices {
			fmt.Fprintf(w, devicesRow, "dev"+strconv.Itoa(d.devid), d.host, strconv.FormatInt(d.files, 10), d.status)
		}
		fmt.Fprint(w, devicesRule)
	}
	if r.want["fids"] {
		fmt.Fprint(w, "\nStatistics for file ids...\n")
		maxFID := "none"
		if r.maxFID > 0 {
			maxFID = strconv.FormatInt(r.maxFID, 10)
		}
		fmt.Fprintf(w, "  Max file id: %s\n", maxFID)
	}
	if r.want["files"] {
		fmt.Fprint(w, "\nStatistics for files...\n")
		fmt.Fprintf(w, filesRow, "domain", "class", "files", "size (m)", "fullsize (m)")
		fmt.Fprint(w, filesRule)
		for _, k := range sortedKeys(r.files) {
			f := r.files[k]
			fmt.Fprintf(w, filesRow, k.domain, k.class, itoa(f.Files), itoa(f.Bytes>>20), itoa(f.Stored>>20))
		}
		fmt.Fprint(w, filesRule)
	}
	if r.want["domains"] {
		fmt.Fprint(w, "\nStatistics for domains...\n")
		fmt.Fprintf(w, domainsRow, "domain", "class", "files")
		fmt.Fprint(w, domainsRule)
		for _, k := range sortedKeys(r.domains) {
			fmt.Fprintf(w, domainsRow, k.domain, k.class, itoa(r.domains[k]))
		}
		fmt.Fprint(w, domainsRule)
	}
	if r.want["replication"] {
		fmt.Fprint(w, "\nStatistics for replication...\n")
		fmt.Fprintf(w, replRow, "domain", "class", "devcount", "files")
		fmt.Fprint(w, replRule)
		for _, k := range sortedKeys(r.repl) {
			for _, dc := range slices.Sorted(maps.Keys(r.repl[k])) {
				fmt.Fprintf(w, replRow, k.domain, k.class, strconv.Itoa(dc), itoa(r.repl[k][dc]))
			}
		}
		fmt.Fprint(w, replRule)
	}
	if r.want["replication-queue"] {
		fmt.Fprint(w, "\nStatistics for replication queue...\n")
		writeQueue(w, r.replQ)
	}
	if r.want["delete-queue"] {
		fmt.Fprint(w, "\nStatistics for delete queue...\n")
		writeQueue(w, r.delQ)
	}
	if r.want["general-queues"] {
		fmt.Fprint(w, "\nStatistics for general queues...\n")
		fmt.Fprintf(w, generalRow, "queue", "status", "count")
		fmt.Fprint(w, generalRule)
		for _, q := range slices.Sorted(maps.Keys(r.general)) {
			for _, st := range slices.Sorted(maps.Keys(r.general[q])) {
				fmt.Fprintf(w, generalRow, q, st, itoa(r.general[q][st]))
			}
		}
		fmt.Fprint(w, generalRule)
	}
	fmt.Fprint(w, "\ndone\n")
}

func writeQueue(w io.Writer, byStatus map[string]int64) {
	fmt.Fprintf(w, queueRow, "status", "count")
	fmt.Fprint(w, queueRule)
	for _, st := range slices.Sorted(maps.Keys(byStatus)) {
		fmt.Fprintf(w, queueRow, st, itoa(byStatus[st]))
	}
	fmt.Fprint(w, queueRule)
}

// sortedKeys orders classes by domain name, then class name (Perl's sort:
// by bytes).
func sortedKeys[V any](m map[classKey]V) []classKey {
	return slices.SortedFunc(maps.Keys(m), func(a, b classKey) int {
		return cmp.Or(cmp.Compare(a.domain, b.domain), cmp.Compare(a.class, b.class))
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
