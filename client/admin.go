package client

import (
	"context"
	"fmt"
	"sort"
	"strconv"
)

// Admin commands, as MogileFS::Admin sends them (used by mogadm and tests).

// Class is one file class of a domain.
type Class struct {
	Name        string
	MinDevCount int
	ReplPolicy  string // e.g. "MultipleHosts()"
	HashType    string // "MD5", "SHA-1" or "NONE"
}

// Domain is a namespace with its classes (including the implicit default).
type Domain struct {
	Name    string
	Classes []Class
}

// Domains lists every domain with its classes, sorted by name.
func (c *Client) Domains(ctx context.Context) ([]Domain, error) {
	r, err := c.Do(ctx, "get_domains", nil)
	if err != nil {
		return nil, fmt.Errorf("get_domains: %w", err)
	}
	return parseDomains(r), nil
}

func parseDomains(r map[string]string) []Domain {
	n := count(r, "domains")
	out := make([]Domain, 0, n)
	for i := 1; i <= n; i++ {
		p := "domain" + strconv.Itoa(i)
		d := Domain{Name: r[p]}
		for j := 1; j <= count(r, p+"classes"); j++ {
			q := p + "class" + strconv.Itoa(j)
			d.Classes = append(d.Classes, Class{
				Name: r[q+"name"], MinDevCount: atoi(r[q+"mindevcount"]),
				ReplPolicy: r[q+"replpolicy"], HashType: r[q+"hashtype"],
			})
		}
		sort.Slice(d.Classes, func(a, b int) bool { return d.Classes[a].Name < d.Classes[b].Name })
		out = append(out, d)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// CreateDomain registers a domain.
func (c *Client) CreateDomain(ctx context.Context, domain string) error {
	return c.adminDo(ctx, "create_domain", map[string]string{"domain": domain})
}

// DeleteDomain removes an empty domain without classes.
func (c *Client) DeleteDomain(ctx context.Context, domain string) error {
	return c.adminDo(ctx, "delete_domain", map[string]string{"domain": domain})
}

// ClassOpts are the settable properties of a class. Zero MinDevCount means
// 2 (mogadm's default); empty ReplPolicy keeps the current one; empty
// HashType is not sent.
type ClassOpts struct {
	MinDevCount int
	ReplPolicy  string
	HashType    string
}

func (o ClassOpts) args(domain, class string) map[string]string {
	if o.MinDevCount <= 0 {
		o.MinDevCount = 2
	}
	a := map[string]string{"domain": domain, "class": class, "mindevcount": strconv.Itoa(o.MinDevCount),
		"replpolicy": o.ReplPolicy}
	if o.HashType != "" {
		a["hashtype"] = o.HashType
	}
	return a
}

// CreateClass adds a class to a domain.
func (c *Client) CreateClass(ctx context.Context, domain, class string, o ClassOpts) error {
	return c.adminDo(ctx, "create_class", o.args(domain, class))
}

// ModifyClass changes a class (the update_class command; named apart from
// UpdateClass, which moves a file to another class).
func (c *Client) ModifyClass(ctx context.Context, domain, class string, o ClassOpts) error {
	return c.adminDo(ctx, "update_class", o.args(domain, class))
}

// DeleteClass removes a class that holds no files.
func (c *Client) DeleteClass(ctx context.Context, domain, class string) error {
	return c.adminDo(ctx, "delete_class", map[string]string{"domain": domain, "class": class})
}

// Host is a storage node as the tracker knows it.
type Host struct {
	ID          int
	Name        string
	Status      string
	IP          string
	HTTPPort    int
	HTTPGetPort int // 0 when unset
	AltIP       string
	AltMask     string
}

// Hosts lists the hosts, sorted by ID.
func (c *Client) Hosts(ctx context.Context) ([]Host, error) {
	r, err := c.Do(ctx, "get_hosts", nil)
	if err != nil {
		return nil, fmt.Errorf("get_hosts: %w", err)
	}
	return parseHosts(r), nil
}

func parseHosts(r map[string]string) []Host {
	n := count(r, "hosts")
	out := make([]Host, 0, n)
	for i := 1; i <= n; i++ {
		p := "host" + strconv.Itoa(i) + "_"
		out = append(out, Host{
			ID: atoi(r[p+"hostid"]), Name: r[p+"hostname"], Status: r[p+"status"], IP: r[p+"hostip"],
			HTTPPort: atoi(r[p+"http_port"]), HTTPGetPort: atoi(r[p+"http_get_port"]),
			AltIP: r[p+"altip"], AltMask: r[p+"altmask"],
		})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out
}

// HostOpts are a host's settable properties; zero fields are not sent.
type HostOpts struct {
	IP      string
	Port    int
	GetPort int
	Status  string
	AltIP   string
	AltMask string
}

func (o HostOpts) args(name string) map[string]string {
	a := map[string]string{"host": name}
	set := func(k, v string) {
		if v != "" {
			a[k] = v
		}
	}
	set("ip", o.IP)
	set("status", o.Status)
	set("altip", o.AltIP)
	set("altmask", o.AltMask)
	if o.Port > 0 {
		a["port"] = strconv.Itoa(o.Port)
	}
	if o.GetPort > 0 {
		a["getport"] = strconv.Itoa(o.GetPort)
	}
	return a
}

// CreateHost registers a host and returns its hostid. Port defaults to 7500
// and Status to "down", as in mogadm.
func (c *Client) CreateHost(ctx context.Context, name string, o HostOpts) (int, error) {
	if o.Port == 0 {
		o.Port = 7500
	}
	if o.Status == "" {
		o.Status = "down"
	}
	r, err := c.Do(ctx, "create_host", o.args(name))
	if err != nil {
		return 0, fmt.Errorf("create_host %s: %w", name, err)
	}
	return atoi(r["hostid"]), nil
}

// UpdateHost changes the given properties of a host.
func (c *Client) UpdateHost(ctx context.Context, name string, o HostOpts) error {
	return c.adminDo(ctx, "update_host", o.args(name))
}

// DeleteHost removes a host that has no devices.
func (c *Client) DeleteHost(ctx context.Context, name string) error {
	return c.adminDo(ctx, "delete_host", map[string]string{"host": name})
}

// Device is a storage device as the tracker knows it. The MB fields are -1
// until the monitor has read the device's usage.
type Device struct {
	ID            int
	HostID        int
	Status        string
	Weight        int
	ObservedState string
	Utilization   string // latest %util as reported, "" when unknown
	MBTotal       int64
	MBUsed        int64
	MBFree        int64
}

// Devices lists the devices, sorted by ID.
func (c *Client) Devices(ctx context.Context) ([]Device, error) {
	r, err := c.Do(ctx, "get_devices", nil)
	if err != nil {
		return nil, fmt.Errorf("get_devices: %w", err)
	}
	return parseDevices(r), nil
}

func parseDevices(r map[string]string) []Device {
	mb := func(s string) int64 {
		if s == "" {
			return -1
		}
		return atoi64(s)
	}
	n := count(r, "devices")
	out := make([]Device, 0, n)
	for i := 1; i <= n; i++ {
		p := "dev" + strconv.Itoa(i) + "_"
		out = append(out, Device{
			ID: atoi(r[p+"devid"]), HostID: atoi(r[p+"hostid"]), Status: r[p+"status"], Weight: atoi(r[p+"weight"]),
			ObservedState: r[p+"observed_state"], Utilization: r[p+"utilization"],
			MBTotal: mb(r[p+"mb_total"]), MBUsed: mb(r[p+"mb_used"]), MBFree: mb(r[p+"mb_free"]),
		})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out
}

// CreateDevice adds device devid to host (a hostname). Empty state means
// "alive".
func (c *Client) CreateDevice(ctx context.Context, host string, devid int, state string) error {
	if state == "" {
		state = "alive"
	}
	return c.adminDo(ctx, "create_device", map[string]string{"hostname": host, "devid": strconv.Itoa(devid), "state": state})
}

// SetState changes a device's state (alive, down, readonly, drain, dead).
func (c *Client) SetState(ctx context.Context, host string, devid int, state string) error {
	return c.adminDo(ctx, "set_state", map[string]string{"host": host, "device": strconv.Itoa(devid), "state": state})
}

// SetWeight changes a device's weight.
func (c *Client) SetWeight(ctx context.Context, host string, devid, weight int) error {
	return c.adminDo(ctx, "set_weight", map[string]string{"host": host, "device": strconv.Itoa(devid), "weight": strconv.Itoa(weight)})
}

// ServerSettings returns the server settings (fsck progress keys excluded,
// as the tracker does).
func (c *Client) ServerSettings(ctx context.Context) (map[string]string, error) {
	r, err := c.Do(ctx, "server_settings", nil)
	if err != nil {
		return nil, fmt.Errorf("server_settings: %w", err)
	}
	out := map[string]string{}
	for i := 1; i <= count(r, "key_count"); i++ {
		if k := r["key_"+strconv.Itoa(i)]; k != "" {
			out[k] = r["value_"+strconv.Itoa(i)]
		}
	}
	return out, nil
}

// SetServerSetting sets a writable server setting.
func (c *Client) SetServerSetting(ctx context.Context, key, value string) error {
	return c.adminDo(ctx, "set_server_setting", map[string]string{"key": key, "value": value})
}

// ReplicateNow makes deferred replications due now and returns how many.
func (c *Client) ReplicateNow(ctx context.Context) (int, error) {
	r, err := c.Do(ctx, "replicate_now", nil)
	if err != nil {
		return 0, fmt.Errorf("replicate_now: %w", err)
	}
	return atoi(r["count"]), nil
}

// FsckStart starts (or resumes) the background fsck.
func (c *Client) FsckStart(ctx context.Context) error { return c.adminDo(ctx, "fsck_start", nil) }

// FsckStop pauses the background fsck.
func (c *Client) FsckStop(ctx context.Context) error { return c.adminDo(ctx, "fsck_stop", nil) }

// FsckClearLog empties the fsck log.
func (c *Client) FsckClearLog(ctx context.Context) error {
	return c.adminDo(ctx, "fsck_clearlog", nil)
}

// FsckReset moves the fsck position back to the start; policyOnly makes the
// next run check replication policy only.
func (c *Client) FsckReset(ctx context.Context, policyOnly bool) error {
	return c.adminDo(ctx, "fsck_reset", map[string]string{"policy_only": boolArg(policyOnly)})
}

// FsckStatus returns fsck_status's fields as sent.
func (c *Client) FsckStatus(ctx context.Context) (map[string]string, error) {
	r, err := c.Do(ctx, "fsck_status", nil)
	if err != nil {
		return nil, fmt.Errorf("fsck_status: %w", err)
	}
	return r, nil
}

// FsckLogRow is one fsck log entry.
type FsckLogRow struct {
	LogID  int64
	UTime  int64
	FID    int64
	EvCode string
	DevID  int // 0 when none
}

// FsckLog returns up to 100 fsck log rows after logid after.
func (c *Client) FsckLog(ctx context.Context, after int64) ([]FsckLogRow, error) {
	r, err := c.Do(ctx, "fsck_getlog", map[string]string{"after_logid": strconv.FormatInt(after, 10)})
	if err != nil {
		return nil, fmt.Errorf("fsck_getlog: %w", err)
	}
	n := count(r, "row_count")
	out := make([]FsckLogRow, 0, n)
	for i := 1; i <= n; i++ {
		p := "row_" + strconv.Itoa(i) + "_"
		out = append(out, FsckLogRow{LogID: atoi64(r[p+"logid"]), UTime: atoi64(r[p+"utime"]),
			FID: atoi64(r[p+"fid"]), EvCode: r[p+"evcode"], DevID: atoi(r[p+"devid"])})
	}
	return out, nil
}

func (c *Client) adminDo(ctx context.Context, cmd string, args map[string]string) error {
	if _, err := c.Do(ctx, cmd, args); err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	return nil
}
