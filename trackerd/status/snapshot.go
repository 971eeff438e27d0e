package status

import "time"

// Snapshot is everything the status page shows, as one consistent value.
// It is also the /status.json document; field names there are the json
// tags. Slices may come in any order: the handler sorts them.
type Snapshot struct {
	Tracker   Tracker    `json:"tracker"`
	Hosts     []Host     `json:"hosts"`
	Devices   []Device   `json:"devices"`
	Queues    Queues     `json:"queues"`
	JobErrors []JobError `json:"job_errors"` // the handler keeps the newest MaxJobErrors
	Domains   []Domain   `json:"domains"`
}

// Tracker describes the tracker serving the page.
type Tracker struct {
	Version string    `json:"version"`
	Started time.Time `json:"started"`
	// Now is when the snapshot was taken; the handler fills it when zero.
	Now time.Time `json:"now"`
	// UptimeSeconds is Now - Started; the handler computes it.
	UptimeSeconds float64 `json:"uptime_seconds"`
	// MonitorRound counts the monitor's completed probe rounds (0: no
	// observation yet, so every device shows no observed state).
	MonitorRound uint64 `json:"monitor_round"`
}

// Host is a storage node.
type Host struct {
	ID       int    `json:"hostid"`
	Name     string `json:"name"`
	IP       string `json:"ip"`
	HTTPPort int    `json:"http_port"`
	Status   string `json:"status"` // admin state: alive, down, dead, readonly
	// Reachable reports that the monitor reached the host in its last round.
	Reachable bool `json:"reachable"`
}

// Device is one device of a host.
type Device struct {
	DevID  int    `json:"devid"`
	HostID int    `json:"hostid"`
	Host   string `json:"host"`   // host name
	Status string `json:"status"` // admin state: alive, down, dead, readonly, drain
	// State is the observed state: writeable, readable, unreachable, or ""
	// when the device was not probed.
	State  string `json:"observed_state"`
	Weight int    `json:"weight"`
	// HaveUsage reports that MBTotal and MBUsed are known.
	HaveUsage bool  `json:"have_usage"`
	MBTotal   int64 `json:"mb_total"`
	MBUsed    int64 `json:"mb_used"`
	// Utilization is iostat %util (0-100); nil when unknown.
	Utilization *float64 `json:"utilization"`
	// Files is the number of file copies on the device; nil when not
	// counted.
	Files *int64 `json:"files"`
}

// UsedPercent is MBUsed/MBTotal in percent, 0 when unknown.
func (d Device) UsedPercent() float64 {
	if !d.HaveUsage || d.MBTotal <= 0 {
		return 0
	}
	return 100 * float64(d.MBUsed) / float64(d.MBTotal)
}

// Queues are the work queue depths (rows, due or not).
type Queues struct {
	Replicate int64 `json:"replicate"`
	Delete    int64 `json:"delete"`
	FSCK      int64 `json:"fsck"`
	Rebalance int64 `json:"rebalance"`
}

// JobError is one failure of a background job.
type JobError struct {
	Time    time.Time `json:"time"`
	Job     string    `json:"job"`   // replicate, delete, fsck, rebalance, reaper, monitor...
	FID     int64     `json:"fid"`   // 0 when the error concerns no file
	DevID   int       `json:"devid"` // 0 when the error concerns no device
	Message string    `json:"message"`
}

// Domain is a namespace with its classes.
type Domain struct {
	Name    string  `json:"name"`
	Files   *int64  `json:"files"` // nil when not counted
	Classes []Class `json:"classes"`
}

// Class is a replication class of a domain.
type Class struct {
	Name        string `json:"name"`
	MinDevCount int    `json:"mindevcount"`
	ReplPolicy  string `json:"replpolicy"`
	HashType    string `json:"hashtype"` // "", "MD5" or "SHA-1"
	Files       *int64 `json:"files"`    // nil when not counted
}
