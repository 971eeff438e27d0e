package trackerd

import (
	"cmp"
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"mogfs/nodeproto"
	"mogfs/protocol"
	"mogfs/trackerd/jobs"
	"mogfs/trackerd/meta"
	"mogfs/trackerd/zones"
)

var hostStates = map[string]bool{"alive": true, "dead": true, "down": true, "readonly": true}
var deviceStates = map[string]bool{"alive": true, "dead": true, "down": true, "readonly": true, "drain": true}

// refreshTopology makes this tracker's monitor see an admin change at once
// and then, as the original's cmd_clear_cache does after every mutating
// admin command, waits for a probe round: a device added a moment ago is
// then already observed writeable (or not) when the admin command answers,
// so the next create_open does not fail with no_devices. The wait is
// bounded; a slow round only delays the reply.
func (ac *adminCmds) refreshTopology(r *request) error {
	if err := ac.mon.Refresh(r.ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.ctx, adminRoundWait)
	defer cancel()
	ac.mon.WaitRound(ctx) // a timeout is not an error: the change is recorded
	return nil
}

// adminRoundWait bounds how long a mutating admin command waits for the
// monitor round that follows it (the Perl client's admin timeout is 15 s).
const adminRoundWait = 5 * time.Second

func (ac *adminCmds) hostByName(r *request, name string) (meta.Host, bool, error) {
	hosts, err := ac.store.Hosts(r.ctx)
	if err != nil {
		return meta.Host{}, false, dbErr("hosts", err)
	}
	for _, h := range hosts {
		if h.Name == name {
			return h, true, nil
		}
	}
	return meta.Host{}, false, nil
}

func (ac *adminCmds) cmdCreateHost(r *request) (reply, error) { return ac.createOrUpdateHost(r, false) }
func (ac *adminCmds) cmdUpdateHost(r *request) (reply, error) { return ac.createOrUpdateHost(r, true) }

// createOrUpdateHost is Query.pm::cmd_create_host (update_host sets update=1).
func (ac *adminCmds) createOrUpdateHost(r *request, update bool) (reply, error) {
	name := r.get("host")
	if name == "" {
		return nil, protocol.Err("no_host")
	}
	h, found, err := ac.hostByName(r, name)
	if err != nil {
		return nil, err
	}
	if update && !found {
		return nil, protocol.Err("host_not_found")
	}
	if !update && found {
		return nil, protocol.Err("host_exists")
	}
	if !update && r.get("ip") == "" {
		return nil, protocol.Err("no_ip")
	}
	if !update && !r.truthy("port") {
		return nil, protocol.Err("no_port")
	}
	status := r.get("status")
	if status == "" && !update {
		status = "down"
	}
	if status != "" && !hostStates[status] {
		return nil, protocol.Err("unknown_state")
	}
	h.Name = name
	if status != "" {
		h.Status = status
	}
	if v := r.get("ip"); v != "" {
		h.IP = v
	}
	if n, ok := r.int64Arg("port"); ok {
		h.HTTPPort = int(n)
	}
	if n, ok := r.int64Arg("getport"); ok || r.has("getport") {
		h.HTTPGetPort = int(n)
	}
	if r.has("altip") {
		h.AltIP = r.get("altip")
	}
	if r.has("altmask") {
		h.AltMask = r.get("altmask")
	}
	if update {
		err = ac.store.UpdateHost(r.ctx, h)
	} else {
		h, err = ac.store.CreateHost(r.ctx, h)
	}
	switch {
	case errors.Is(err, meta.ErrExists):
		return nil, protocol.Err("dup")
	case errors.Is(err, meta.ErrNotFound):
		return nil, protocol.Err("host_not_found")
	case err != nil:
		return nil, dbErr("host", err)
	}
	if err := ac.refreshTopology(r); err != nil {
		return nil, err
	}
	out := reply{"hostid": strconv.Itoa(h.ID), "hostname": h.Name}
	if update {
		// MogileFS::Admin::_mod_host compares a "host" key with the name.
		out["host"] = h.Name
	}
	return out, nil
}

func (ac *adminCmds) cmdDeleteHost(r *request) (reply, error) {
	h, found, err := ac.hostByName(r, r.get("host"))
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, protocol.Err("unknown_host")
	}
	switch err := ac.store.DeleteHost(r.ctx, h.ID); {
	case errors.Is(err, meta.ErrHostNotEmpty):
		return nil, protocol.Err("host_not_empty")
	case errors.Is(err, meta.ErrNotFound):
		return nil, protocol.Err("unknown_host")
	case err != nil:
		return nil, dbErr("delete host", err)
	}
	if err := ac.refreshTopology(r); err != nil {
		return nil, err
	}
	return reply{}, nil
}

func (ac *adminCmds) cmdGetHosts(r *request) (reply, error) {
	hosts, err := ac.store.Hosts(r.ctx)
	if err != nil {
		return nil, dbErr("hosts", err)
	}
	want, filter := r.int64Arg("hostid")
	out := reply{}
	n := 0
	for _, h := range hosts {
		if filter && int64(h.ID) != want {
			continue
		}
		n++
		p := "host" + strconv.Itoa(n) + "_"
		out[p+"hostid"] = strconv.Itoa(h.ID)
		out[p+"status"] = h.Status
		out[p+"hostname"] = h.Name
		out[p+"hostip"] = h.IP
		out[p+"http_port"] = intOrEmpty(h.HTTPPort)
		out[p+"http_get_port"] = intOrEmpty(h.HTTPGetPort)
		out[p+"altip"] = h.AltIP
		out[p+"altmask"] = h.AltMask
	}
	out["hosts"] = strconv.Itoa(n)
	return out, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (ac *adminCmds) cmdCreateDevice(r *request) (reply, error) {
	state := r.get("state")
	if state == "" {
		state = "alive"
	}
	if !deviceStates[state] {
		return nil, protocol.Err("invalid_state")
	}
	devid := r.get("devid")
	if !isDigits(devid) || perlInt(devid) == 0 {
		return nil, protocol.Err("invalid_devid")
	}
	hosts, err := ac.store.Hosts(r.ctx)
	if err != nil {
		return nil, dbErr("hosts", err)
	}
	hostid := 0
	switch {
	case isDigits(r.get("hostid")) && r.truthy("hostid"):
		want := int(perlInt(r.get("hostid")))
		for _, h := range hosts {
			if h.ID == want {
				hostid = h.ID
			}
		}
		if hostid == 0 {
			return nil, protocol.Err("unknown_hostid")
		}
	case r.get("hostname") != "":
		for _, h := range hosts {
			if h.Name == r.get("hostname") {
				hostid = h.ID
			}
		}
		if hostid == 0 {
			return nil, protocol.Err("unknown_host")
		}
	default:
		return nil, protocol.Errf("bad_args", "No hostid/hostname parameter")
	}
	err = ac.store.CreateDevice(r.ctx, meta.Device{ID: int(perlInt(devid)), HostID: hostid, Status: state, Weight: 100})
	switch {
	case errors.Is(err, meta.ErrExists):
		return nil, protocol.Err("existing_devid")
	case err != nil:
		return nil, dbErr("create device", err)
	}
	if err := ac.refreshTopology(r); err != nil {
		return nil, err
	}
	return reply{}, nil
}

// deviceOnHost finds device `device` and checks it belongs to host `host`
// (set_state, set_weight).
func (ac *adminCmds) deviceOnHost(r *request) (meta.Device, error) {
	devid := int(perlInt(r.get("device")))
	devs, err := ac.store.Devices(r.ctx)
	if err != nil {
		return meta.Device{}, dbErr("devices", err)
	}
	var dev meta.Device
	found := false
	for _, d := range devs {
		if d.ID == devid {
			dev, found = d, true
		}
	}
	if !found {
		return meta.Device{}, protocol.Err("no_device")
	}
	h, ok, err := ac.hostByName(r, r.get("host"))
	if err != nil {
		return meta.Device{}, err
	}
	if !ok || h.ID != dev.HostID {
		return meta.Device{}, protocol.Err("host_mismatch")
	}
	return dev, nil
}

func (ac *adminCmds) cmdSetState(r *request) (reply, error) {
	state := r.get("state")
	if r.get("host") == "" || !r.truthy("device") || !deviceStates[state] {
		return nil, protocol.Err("bad_params")
	}
	dev, err := ac.deviceOnHost(r)
	if err != nil {
		return nil, err
	}
	if dev.Status == "dead" && state == "alive" {
		return nil, protocol.Err("state_too_high")
	}
	if err := ac.store.SetDeviceState(r.ctx, dev.ID, state); err != nil {
		return nil, dbErr("set state", err)
	}
	if err := ac.refreshTopology(r); err != nil {
		return nil, err
	}
	return reply{}, nil
}

func (ac *adminCmds) cmdSetWeight(r *request) (reply, error) {
	w := r.get("weight")
	if r.get("host") == "" || !r.truthy("device") || !isDigits(w) {
		return nil, protocol.Err("bad_params")
	}
	dev, err := ac.deviceOnHost(r)
	if err != nil {
		return nil, err
	}
	if err := ac.store.SetDeviceWeight(r.ctx, dev.ID, int(perlInt(w))); err != nil {
		return nil, dbErr("set weight", err)
	}
	if err := ac.refreshTopology(r); err != nil {
		return nil, err
	}
	return reply{}, nil
}

func (ac *adminCmds) cmdGetDevices(r *request) (reply, error) {
	devs, err := ac.store.Devices(r.ctx)
	if err != nil {
		return nil, dbErr("devices", err)
	}
	want, filter := r.int64Arg("devid")
	snap := ac.mon.Snapshot()
	out := reply{}
	n := 0
	for _, d := range devs {
		if filter && int64(d.ID) != want {
			continue
		}
		if sd, ok := snap.Devices[d.ID]; ok && sd.HaveUsage && (!d.HaveUsage || sd.MBAsOf.After(d.MBAsOf)) {
			d.HaveUsage, d.MBTotal, d.MBUsed, d.MBAsOf = true, sd.MBTotal, sd.MBUsed, sd.MBAsOf
		}
		n++
		p := "dev" + strconv.Itoa(n) + "_"
		obs := snap.Dev[d.ID]
		out[p+"devid"] = strconv.Itoa(d.ID)
		out[p+"hostid"] = strconv.Itoa(d.HostID)
		out[p+"status"] = d.Status
		out[p+"weight"] = strconv.Itoa(d.Weight)
		out[p+"observed_state"] = obs.State
		out[p+"utilization"] = obs.Utilization
		out[p+"reject_bad_md5"] = boolStr(obs.RejectBadMD5)
		if d.HaveUsage {
			out[p+"mb_total"] = strconv.FormatInt(d.MBTotal, 10)
			out[p+"mb_used"] = strconv.FormatInt(d.MBUsed, 10)
			out[p+"mb_free"] = strconv.FormatInt(d.MBTotal-d.MBUsed, 10)
			out[p+"mb_asof"] = unixOrZero(d.MBAsOf)
		} else {
			out[p+"mb_total"], out[p+"mb_used"], out[p+"mb_free"], out[p+"mb_asof"] = "", "", "", ""
		}
	}
	out["devices"] = strconv.Itoa(n)
	return out, nil
}

func boolStr(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func (ac *adminCmds) cmdCreateDomain(r *request) (reply, error) {
	name := r.get("domain")
	if name == "" {
		return nil, protocol.Err("no_domain")
	}
	_, err := ac.store.CreateDomain(r.ctx, name)
	switch {
	case errors.Is(err, meta.ErrExists):
		return nil, protocol.Err("domain_exists")
	case err != nil:
		return nil, dbErr("create domain", err)
	}
	if err := ac.ns.reload(r.ctx); err != nil {
		return nil, dbErr("reload", err)
	}
	return reply{"domain": name}, nil
}

func (ac *adminCmds) cmdDeleteDomain(r *request) (reply, error) {
	name := r.get("domain")
	if name == "" {
		return nil, protocol.Err("no_domain")
	}
	switch err := ac.store.DeleteDomain(r.ctx, name); {
	case errors.Is(err, meta.ErrNotFound):
		return nil, protocol.Err("domain_not_found")
	case errors.Is(err, meta.ErrDomainHasFiles):
		return nil, protocol.Err("domain_has_files")
	case errors.Is(err, meta.ErrDomainHasClasses):
		return nil, protocol.Err("domain_has_classes")
	case err != nil:
		return nil, dbErr("delete domain", err)
	}
	if err := ac.ns.reload(r.ctx); err != nil {
		return nil, dbErr("reload", err)
	}
	return reply{"domain": name}, nil
}

func (ac *adminCmds) cmdCreateClass(r *request) (reply, error) {
	return ac.createOrUpdateClass(r, false)
}
func (ac *adminCmds) cmdUpdateClass(r *request) (reply, error) {
	return ac.createOrUpdateClass(r, true)
}

// createOrUpdateClass is Query.pm::cmd_create_class (update_class sets
// update=1), with its order of checks.
func (ac *adminCmds) createOrUpdateClass(r *request, update bool) (reply, error) {
	dname, cname := r.get("domain"), r.get("class")
	if dname == "" {
		return nil, protocol.Err("no_domain")
	}
	if cname == "" {
		return nil, protocol.Err("no_class")
	}
	policy := r.get("replpolicy")
	if policy != "" {
		if _, err := jobs.ParsePolicy(policy); err != nil {
			return nil, protocol.Errf("invalid_replpolicy", "%v", err)
		}
	}
	hashtype, hashGiven := 0, r.has("hashtype")
	if hashGiven {
		var ok bool
		if hashtype, ok = nodeproto.HashType(r.get("hashtype")); !ok {
			return nil, protocol.Err("invalid_hashtype")
		}
	}
	mdc := r.get("mindevcount")
	if !isDigits(mdc) || perlInt(mdc) < 1 {
		return nil, protocol.Err("invalid_mindevcount")
	}
	if err := ac.ns.reload(r.ctx); err != nil {
		return nil, dbErr("reload", err)
	}
	dom, ok := ac.ns.snap().domains[dname]
	if !ok {
		return nil, protocol.Err("domain_not_found")
	}
	cur, exists := dom.classes[cname]
	if cname == "default" {
		// The implicit default class always "exists" for update; create
		// is refused only when a row was stored.
		_, exists = dom.byID[0]
		if exists && cur.ID == 0 && !update {
			exists = ac.hasDefaultRow(r, dom.ID)
		}
	}
	c := meta.Class{DomainID: dom.ID, Name: cname, MinDevCount: int(perlInt(mdc)), ReplPolicy: cur.ReplPolicy, HashType: cur.HashType}
	if policy != "" {
		c.ReplPolicy = policy
	}
	if hashGiven {
		c.HashType = hashtype
	}
	var err error
	if update {
		if !exists {
			return nil, protocol.Err("class_not_found")
		}
		c.ID = cur.ID
		err = ac.store.UpdateClass(r.ctx, c)
	} else {
		if exists {
			return nil, protocol.Err("class_exists")
		}
		_, err = ac.store.CreateClass(r.ctx, c)
	}
	switch {
	case errors.Is(err, meta.ErrExists):
		return nil, protocol.Err("class_exists")
	case errors.Is(err, meta.ErrNotFound):
		return nil, protocol.Err("class_not_found")
	case err != nil:
		return nil, dbErr("class", err)
	}
	if err := ac.ns.reload(r.ctx); err != nil {
		return nil, dbErr("reload", err)
	}
	return reply{"class": cname, "mindevcount": mdc, "domain": dname}, nil
}

// hasDefaultRow reports whether the domain's default class has a stored row.
func (ac *adminCmds) hasDefaultRow(r *request, dmid int) bool {
	classes, err := ac.store.Classes(r.ctx)
	if err != nil {
		return false
	}
	for _, c := range classes {
		if c.DomainID == dmid && c.ID == 0 {
			return true
		}
	}
	return false
}

func (ac *adminCmds) cmdDeleteClass(r *request) (reply, error) {
	dname, cname := r.get("domain"), r.get("class")
	if dname == "" {
		return nil, protocol.Err("no_domain")
	}
	// Quirk kept: the original tests the domain's length a second time
	// instead of the class's, so an empty class goes on to class_not_found.
	if cname == "default" {
		return nil, protocol.Err("nodel_default_class")
	}
	dom, ok := ac.ns.snap().domains[dname]
	if !ok {
		return nil, protocol.Err("domain_not_found")
	}
	switch err := ac.store.DeleteClass(r.ctx, dom.ID, cname); {
	case errors.Is(err, meta.ErrNotFound):
		return nil, protocol.Err("class_not_found")
	case errors.Is(err, meta.ErrClassHasFiles):
		return nil, protocol.Err("class_has_files")
	case err != nil:
		return nil, dbErr("delete class", err)
	}
	if err := ac.ns.reload(r.ctx); err != nil {
		return nil, dbErr("reload", err)
	}
	return reply{"domain": dname, "class": cname}, nil
}

func (ac *adminCmds) cmdGetDomains(r *request) (reply, error) {
	s := ac.ns.snap()
	names := make([]string, 0, len(s.domains))
	for n := range s.domains {
		names = append(names, n)
	}
	sortStrings(names)
	out := reply{"domains": strconv.Itoa(len(names))}
	for i, n := range names {
		d := s.domains[n]
		p := "domain" + strconv.Itoa(i+1)
		out[p] = n
		out[p+"classes"] = strconv.Itoa(len(d.names))
		for j, cn := range d.names {
			c := d.classes[cn]
			q := p + "class" + strconv.Itoa(j+1)
			out[q+"name"] = cn
			out[q+"mindevcount"] = strconv.Itoa(c.MinDevCount)
			pol := c.ReplPolicy
			if pol == "" {
				pol = "MultipleHosts()"
			}
			out[q+"replpolicy"] = pol
			out[q+"hashtype"] = cmp.Or(nodeproto.HashName(c.HashType), "NONE")
		}
	}
	return out, nil
}

func (ac *adminCmds) cmdServerSetting(r *request) (reply, error) {
	key := r.get("key")
	if key == "" {
		return nil, protocol.Err("bad_params")
	}
	v, _, err := ac.store.Setting(r.ctx, key)
	if err != nil {
		return nil, dbErr("setting", err)
	}
	return reply{"key": key, "value": v}, nil
}

func (ac *adminCmds) cmdServerSettings(r *request) (reply, error) {
	all, err := ac.store.Settings(r.ctx)
	if err != nil {
		return nil, dbErr("settings", err)
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		if strings.HasPrefix(k, "fsck_") && k != "fsck_checksum" {
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return reply{}, nil
	}
	sortStrings(keys)
	out := reply{"key_count": strconv.Itoa(len(keys))}
	for i, k := range keys {
		out["key_"+strconv.Itoa(i+1)] = k
		out["value_"+strconv.Itoa(i+1)] = all[k]
	}
	return out, nil
}

// settingValue validates and normalises a writable server setting
// (Config.pm::server_setting_is_writable). ok=false means not writable.
func settingValue(key, v string) (norm string, ok bool, err *protocol.Error) {
	boolean := func() (string, bool, *protocol.Error) {
		lv := strings.ToLower(v)
		switch {
		case lv == "0" || strings.HasPrefix(lv, "f") || lv == "off" || strings.HasPrefix(lv, "n"):
			return "0", true, nil
		case lv == "1" || strings.HasPrefix(lv, "t") || lv == "on" || strings.HasPrefix(lv, "y"):
			return "1", true, nil
		}
		return "", true, protocol.Errf("invalid_format", "Expected a boolean value, got %q", v)
	}
	switch {
	case strings.HasPrefix(key, "slave_"):
		return v, true, nil
	case key == "skip_devcount", key == "skip_mkcol", key == "case_sensitive_list_keys":
		return boolean()
	case key == "memcache_servers", key == "network_zones", strings.HasPrefix(key, "queue_"):
		return v, true, nil
	case key == "memcache_ttl", key == "internal_queue_limit":
		if !isDigits(v) {
			return "", true, protocol.Errf("invalid_format", "Expected a number, got %q", v)
		}
		return v, true, nil
	case strings.HasPrefix(key, zones.NetsPrefix):
		// CIDRs or addresses (the plugin's Net::Netmask takes both).
		if _, err := zones.ParseNets(v); err != nil {
			return "", true, protocol.Errf("invalid_format", "Invalid netmask list %q: %v", v, err)
		}
		return v, true, nil
	case key == "fsck_checksum":
		switch v {
		case "off", "MD5", "SHA-1":
			return v, true, nil
		case "class":
			return "", true, nil // stored as a deletion
		}
		return "", true, protocol.Errf("invalid_format", "Expected off, class, MD5 or SHA-1, got %q", v)
	}
	return "", false, nil
}

func (ac *adminCmds) cmdSetServerSetting(r *request) (reply, error) {
	key := r.get("key")
	if key == "" {
		return nil, protocol.Err("bad_params")
	}
	v, ok, perr := settingValue(key, r.get("value"))
	if !ok {
		return nil, protocol.Err("not_writable")
	}
	if perr != nil {
		return nil, perr
	}
	if err := ac.store.SetSetting(r.ctx, key, v); err != nil {
		return nil, dbErr("set setting", err)
	}
	if strings.HasPrefix(key, "slave_") && key != "slave_version" {
		cur, _, err := ac.store.Setting(r.ctx, "slave_version")
		if err == nil {
			err = ac.store.SetSetting(r.ctx, "slave_version", strconv.FormatInt(perlInt(cur)+1, 10))
		}
		if err != nil {
			return nil, dbErr("slave_version", err)
		}
	}
	if err := ac.ns.reload(r.ctx); err != nil {
		return nil, dbErr("reload", err)
	}
	if key == zones.ZonesKey || strings.HasPrefix(key, zones.NetsPrefix) {
		// The zones live in the monitor's snapshot: show them at once.
		if err := ac.mon.Refresh(r.ctx); err != nil {
			return nil, dbErr("refresh", err)
		}
	}
	return reply{}, nil
}
