package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"

	"mogfs/client"
	"mogfs/protocol"
)

// admSpec is every option any mogadm subcommand takes; each command checks
// that it got only what it expects.
var admSpec = Spec{
	"status": false, "ip": false, "port": false, "getport": false, "altip": false, "altmask": false,
	"weight": false, "all": true, "mindevcount": false, "replpolicy": false, "hashtype": false,
	"policy_only": true, "hostname": false, "dsn": false, "username": false, "password": false,
	"options": false,
}

const admUsage = `Usage: mogadm [--trackers=HOST:PORT,...] <command> [args] [options]

  mogadm check                          Check the state of the MogileFS world.
  mogadm stats                          Show tracker counters (mogfs extension).
  mogadm host list
  mogadm host add <host> [--ip=IP] [--port=7500] [--getport=P] [--altip=IP] [--altmask=CIDR] [--status=down]
  mogadm host modify <host> [--ip=IP] [--port=P] [--getport=P] [--altip=IP] [--altmask=CIDR] [--status=S]
  mogadm host mark <host> <status>      status: alive, down, dead, readonly
  mogadm host delete <host>
  mogadm device list [--all] [--hostname=H]
  mogadm device summary [--status=alive,readonly,drain] [--hostname=H]
  mogadm device add <host> <devid> [--status=alive]
  mogadm device mark <host> <devid> <status>   status: alive, down, dead, readonly, drain
  mogadm device modify <host> <devid> [--status=S] [--weight=N]
  mogadm domain list
  mogadm domain add <domain>
  mogadm domain delete <domain>
  mogadm class list
  mogadm class add <domain> <class> [--mindevcount=2] [--replpolicy=P] [--hashtype=MD5|SHA-1|NONE]
  mogadm class modify <domain> <class> [--mindevcount=N] [--replpolicy=P] [--hashtype=H]
  mogadm class delete <domain> <class>
  mogadm settings list
  mogadm settings set <key> <value>
  mogadm fsck start|stop|status|reset [--policy-only]|clearlog|printlog
  mogadm slave list
  mogadm slave add <slave_key> --dsn=DSN --username=U --password=P
  mogadm slave modify <slave_key> [--dsn=DSN] [--username=U] [--password=P]
  mogadm slave delete <slave_key>
  mogadm rebalance policy --options="from_devices=1 to_hosts=2,3 limit_by=size limit=20g ..."
  mogadm rebalance start|stop|status|test|settings|reset`

// admCmd is one mogadm subcommand: its positional argument names and
// allowed options.
type admCmd struct {
	args []string
	opts []string
	run  func(a *adm, ctx context.Context) error
}

type adm struct {
	*tool
	args map[string]string // positional arguments by name
	out  io.Writer
}

var admCmds = map[string]admCmd{
	"check":              {run: (*adm).check},
	"stats":              {run: (*adm).stats},
	"host list":          {run: (*adm).hostList},
	"host add":           {args: []string{"hostname"}, opts: []string{"ip", "port", "getport", "altip", "altmask", "status"}, run: (*adm).hostAdd},
	"host modify":        {args: []string{"hostname"}, opts: []string{"ip", "port", "getport", "altip", "altmask", "status"}, run: (*adm).hostModify},
	"host mark":          {args: []string{"hostname", "status"}, run: (*adm).hostMark},
	"host delete":        {args: []string{"hostname"}, run: (*adm).hostDelete},
	"device list":        {opts: []string{"all", "hostname"}, run: (*adm).deviceList},
	"device summary":     {opts: []string{"status", "hostname"}, run: (*adm).deviceSummary},
	"device add":         {args: []string{"hostname", "devid"}, opts: []string{"status"}, run: (*adm).deviceAdd},
	"device mark":        {args: []string{"hostname", "devid", "status"}, run: (*adm).deviceMark},
	"device modify":      {args: []string{"hostname", "devid"}, opts: []string{"status", "weight"}, run: (*adm).deviceModify},
	"domain list":        {run: (*adm).classList},
	"domain add":         {args: []string{"domain"}, run: (*adm).domainAdd},
	"domain delete":      {args: []string{"domain"}, run: (*adm).domainDelete},
	"class list":         {run: (*adm).classList},
	"class add":          {args: []string{"domain", "class"}, opts: []string{"mindevcount", "replpolicy", "hashtype"}, run: (*adm).classAdd},
	"class modify":       {args: []string{"domain", "class"}, opts: []string{"mindevcount", "replpolicy", "hashtype"}, run: (*adm).classModify},
	"class delete":       {args: []string{"domain", "class"}, run: (*adm).classDelete},
	"settings list":      {run: (*adm).settingsList},
	"settings set":       {args: []string{"key", "value"}, run: (*adm).settingsSet},
	"fsck start":         {run: func(a *adm, ctx context.Context) error { return a.c.FsckStart(ctx) }},
	"fsck stop":          {run: func(a *adm, ctx context.Context) error { return a.c.FsckStop(ctx) }},
	"fsck clearlog":      {run: func(a *adm, ctx context.Context) error { return a.c.FsckClearLog(ctx) }},
	"fsck reset":         {opts: []string{"policy_only"}, run: func(a *adm, ctx context.Context) error { return a.c.FsckReset(ctx, a.opts["policy_only"] == "1") }},
	"fsck status":        {run: (*adm).fsckStatus},
	"fsck printlog":      {run: (*adm).fsckPrintLog},
	"slave list":         {run: (*adm).slaveList},
	"slave add":          {args: []string{"slave_key"}, opts: []string{"dsn", "username", "password"}, run: (*adm).slaveAdd},
	"slave modify":       {args: []string{"slave_key"}, opts: []string{"dsn", "username", "password"}, run: (*adm).slaveModify},
	"slave delete":       {args: []string{"slave_key"}, run: (*adm).slaveDelete},
	"rebalance start":    {run: rebalanceDo("rebalance_start", "rebalance started")},
	"rebalance stop":     {run: rebalanceDo("rebalance_stop", "rebalance stopped")},
	"rebalance reset":    {run: rebalanceDo("rebalance_reset", "rebalance reset")},
	"rebalance policy":   {opts: []string{"options"}, run: (*adm).rebalancePolicy},
	"rebalance test":     {run: (*adm).rebalanceTest},
	"rebalance status":   {run: (*adm).rebalanceStatus},
	"rebalance settings": {run: (*adm).rebalanceSettings},
}

// Adm is mogadm.
func Adm(ctx context.Context, args []string, env Env) int {
	t, rc := start("mogadm", admUsage, args, env, admSpec)
	if t == nil {
		return rc
	}
	defer t.close()
	if len(t.pos) == 0 {
		return t.usageErr("no command")
	}
	name := t.pos[0]
	rest := t.pos[1:]
	cmd, ok := admCmds[name]
	if !ok && len(t.pos) > 1 {
		name = t.pos[0] + " " + t.pos[1]
		rest = t.pos[2:]
		cmd, ok = admCmds[name]
	}
	if !ok {
		return t.usageErr(fmt.Sprintf("unknown command %q", strings.Join(t.pos, " ")))
	}
	a := &adm{tool: t, args: map[string]string{}, out: env.Stdout}
	if len(rest) < len(cmd.args) {
		return t.usageErr(fmt.Sprintf("%s: missing argument <%s>", name, cmd.args[len(rest)]))
	}
	if len(rest) > len(cmd.args) {
		return t.usageErr(fmt.Sprintf("%s: unexpected argument %q", name, rest[len(cmd.args)]))
	}
	for i, n := range cmd.args {
		v := rest[i]
		if n == "devid" { // mogadm maps "dev5" to 5
			v = strings.TrimPrefix(v, "dev")
			if _, err := strconv.Atoi(v); err != nil {
				return t.usageErr("devid should be numeric")
			}
		}
		a.args[n] = v
	}
	for k := range t.opts {
		if _, isCommon := common[k]; !isCommon && !contains(cmd.opts, k) {
			return t.usageErr(fmt.Sprintf("%s: unexpected option --%s", name, k))
		}
	}
	if err := cmd.run(a, ctx); err != nil {
		return t.fail(err)
	}
	return 0
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (a *adm) intOpt(name string) (int, error) {
	v := a.opts[name]
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("--%s must be a non-negative integer, not %q", name, v)
	}
	return n, nil
}

func (a *adm) hostOpts() (client.HostOpts, error) {
	o := client.HostOpts{IP: a.opts["ip"], Status: a.opts["status"], AltIP: a.opts["altip"], AltMask: a.opts["altmask"]}
	var err error
	if o.Port, err = a.intOpt("port"); err != nil {
		return o, err
	}
	o.GetPort, err = a.intOpt("getport")
	return o, err
}

func (a *adm) hostAdd(ctx context.Context) error {
	o, err := a.hostOpts()
	if err != nil {
		return err
	}
	if o.IP == "" { // as mogadm does: the host name's address
		addrs, err := net.DefaultResolver.LookupHost(ctx, a.args["hostname"])
		if err != nil || len(addrs) == 0 {
			return fmt.Errorf("hostname %s does not resolve to an IP and no --ip was given", a.args["hostname"])
		}
		o.IP = addrs[0]
	}
	if _, err := a.c.CreateHost(ctx, a.args["hostname"], o); err != nil {
		return fmt.Errorf("failure creating host: %w", err)
	}
	return nil
}

func (a *adm) hostModify(ctx context.Context) error {
	o, err := a.hostOpts()
	if err != nil {
		return err
	}
	if err := a.c.UpdateHost(ctx, a.args["hostname"], o); err != nil {
		return fmt.Errorf("failure modifying host: %w", err)
	}
	return nil
}

func (a *adm) hostMark(ctx context.Context) error {
	if err := a.c.UpdateHost(ctx, a.args["hostname"], client.HostOpts{Status: a.args["status"]}); err != nil {
		return fmt.Errorf("failure updating host status: %w", err)
	}
	return nil
}

func (a *adm) hostDelete(ctx context.Context) error {
	if err := a.c.DeleteHost(ctx, a.args["hostname"]); err != nil {
		return fmt.Errorf("failure deleting host: %w", err)
	}
	return nil
}

func (a *adm) hostList(ctx context.Context) error {
	hosts, err := a.c.Hosts(ctx)
	if err != nil {
		return err
	}
	for _, h := range hosts {
		if hn, ok := a.opts["hostname"]; ok && hn != h.Name {
			continue
		}
		fmt.Fprintf(a.out, "%s [%d]: %s\n", h.Name, h.ID, h.Status)
		for _, kv := range [][2]string{
			{"IP", h.IP + ":" + strconv.Itoa(h.HTTPPort)}, {"Alt IP", h.AltIP}, {"Alt Mask", h.AltMask},
			{"GET Port", zeroEmpty(h.HTTPGetPort)},
		} {
			if kv[1] != "" {
				fmt.Fprintf(a.out, "  %-10s%s\n", kv[0]+":", kv[1])
			}
		}
		fmt.Fprintln(a.out)
	}
	return nil
}

func zeroEmpty(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func (a *adm) devid() int { n, _ := strconv.Atoi(a.args["devid"]); return n }

func (a *adm) deviceAdd(ctx context.Context) error {
	if err := a.c.CreateDevice(ctx, a.args["hostname"], a.devid(), a.opts["status"]); err != nil {
		return fmt.Errorf("error adding device: %w", err)
	}
	return nil
}

func (a *adm) deviceMark(ctx context.Context) error {
	if err := a.c.SetState(ctx, a.args["hostname"], a.devid(), a.args["status"]); err != nil {
		return fmt.Errorf("error updating device: %w", err)
	}
	return nil
}

func (a *adm) deviceModify(ctx context.Context) error {
	if a.opts["status"] == "" && a.opts["weight"] == "" {
		return fmt.Errorf("device modify needs --status or --weight")
	}
	if s := a.opts["status"]; s != "" {
		if err := a.c.SetState(ctx, a.args["hostname"], a.devid(), s); err != nil {
			return fmt.Errorf("error updating device: %w", err)
		}
	}
	if a.opts["weight"] != "" {
		w, err := a.intOpt("weight")
		if err != nil {
			return err
		}
		if err := a.c.SetWeight(ctx, a.args["hostname"], a.devid(), w); err != nil {
			return fmt.Errorf("error updating device: %w", err)
		}
	}
	return nil
}

func (a *adm) deviceList(ctx context.Context) error {
	hosts, devs, err := a.topology(ctx)
	if err != nil {
		return err
	}
	for _, h := range hosts {
		if hn, ok := a.opts["hostname"]; ok && hn != h.Name {
			continue
		}
		fmt.Fprintf(a.out, "%s [%d]: %s\n", h.Name, h.ID, h.Status)
		fmt.Fprintf(a.out, "%6s  %-10s %10s %10s %10s %10s\n", "", "", "used(G)", "free(G)", "total(G)", "weight(%)")
		for _, d := range devs {
			if d.HostID != h.ID || (d.Status == "dead" && a.opts["all"] != "1") {
				continue
			}
			used, total := gib(d.MBUsed), gib(d.MBTotal)
			fmt.Fprintf(a.out, "%6s: %-10s %10.3f %10.3f %10.3f %10d\n", "dev"+strconv.Itoa(d.ID), d.Status, used, total-used, total, d.Weight)
		}
		fmt.Fprintln(a.out)
	}
	return nil
}

// deviceSummary is mogadm's "device summary": per host, the space of its
// devices in the given states, in the original's columns and host order
// (its hostids sorted as strings).
func (a *adm) deviceSummary(ctx context.Context) error {
	hosts, devs, err := a.topology(ctx)
	if err != nil {
		return err
	}
	show := map[string]bool{}
	for st := range strings.SplitSeq(cmp.Or(a.opts["status"], "alive,readonly,drain"), ",") {
		show[st] = true
	}
	sort.Slice(hosts, func(i, j int) bool { return strconv.Itoa(hosts[i].ID) < strconv.Itoa(hosts[j].ID) })
	fmt.Fprintf(a.out, "%-15s %6s %7s  %8s %8s %8s %8s\n", "Hostname", "HostID", "Status", "used(G)", "free(G)", "total(G)", "%Used")
	for _, h := range hosts {
		if hn, ok := a.opts["hostname"]; ok && hn != h.Name {
			continue
		}
		var used, total float64
		for _, d := range devs {
			if d.HostID == h.ID && show[d.Status] {
				used, total = used+gib(d.MBUsed), total+gib(d.MBTotal)
			}
		}
		fmt.Fprintf(a.out, "%-15s [%4d]: %6s  %8.3f %8.3f %8.3f ", h.Name, h.ID, h.Status, used, total-used, total)
		if total != 0 {
			fmt.Fprintf(a.out, "%8.2f", 100*used/total)
		}
		fmt.Fprintln(a.out)
	}
	return nil
}

// topology returns the hosts and the devices.
func (a *adm) topology(ctx context.Context) ([]client.Host, []client.Device, error) {
	hosts, err := a.c.Hosts(ctx)
	if err != nil {
		return nil, nil, err
	}
	devs, err := a.c.Devices(ctx)
	return hosts, devs, err
}

// gib converts MiB to GiB; unknown (-1) is 0.
func gib(mb int64) float64 { return float64(max(mb, 0)) / 1024 }

func (a *adm) domainAdd(ctx context.Context) error {
	if err := a.c.CreateDomain(ctx, a.args["domain"]); err != nil {
		if protocol.IsCode(err, "domain_exists") {
			return fmt.Errorf("domain already exists: %w", err)
		}
		return fmt.Errorf("error creating domain: %w", err)
	}
	return nil
}

func (a *adm) domainDelete(ctx context.Context) error {
	if err := a.c.DeleteDomain(ctx, a.args["domain"]); err != nil {
		return fmt.Errorf("error deleting domain: %w", err)
	}
	return nil
}

func (a *adm) classOpts() (client.ClassOpts, error) {
	n, err := a.intOpt("mindevcount")
	return client.ClassOpts{MinDevCount: n, ReplPolicy: a.opts["replpolicy"], HashType: a.opts["hashtype"]}, err
}

func (a *adm) classAdd(ctx context.Context) error {
	o, err := a.classOpts()
	if err != nil {
		return err
	}
	if err := a.c.CreateClass(ctx, a.args["domain"], a.args["class"], o); err != nil {
		return fmt.Errorf("error creating class: %w", err)
	}
	return nil
}

// classModify keeps the current mindevcount when none is given, as mogadm
// does (update_class requires it).
func (a *adm) classModify(ctx context.Context) error {
	o, err := a.classOpts()
	if err != nil {
		return err
	}
	if o.MinDevCount == 0 {
		doms, err := a.c.Domains(ctx)
		if err != nil {
			return err
		}
		for _, d := range doms {
			for _, cl := range d.Classes {
				if d.Name == a.args["domain"] && cl.Name == a.args["class"] {
					o.MinDevCount = cl.MinDevCount
				}
			}
		}
	}
	if err := a.c.ModifyClass(ctx, a.args["domain"], a.args["class"], o); err != nil {
		return fmt.Errorf("error updating class: %w", err)
	}
	return nil
}

func (a *adm) classDelete(ctx context.Context) error {
	if err := a.c.DeleteClass(ctx, a.args["domain"], a.args["class"]); err != nil {
		return fmt.Errorf("error deleting class: %w", err)
	}
	return nil
}

func (a *adm) classList(ctx context.Context) error {
	doms, err := a.c.Domains(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.out, " %-20s %-20s %-13s %-20s %-8s\n", "domain", "class", "mindevcount", "replpolicy", "hashtype")
	fmt.Fprintf(a.out, "%s %s %s %s %s\n", strings.Repeat("-", 21), strings.Repeat("-", 20), strings.Repeat("-", 13),
		strings.Repeat("-", 20), strings.Repeat("-", 8))
	for _, d := range doms {
		for _, cl := range d.Classes {
			fmt.Fprintf(a.out, " %-20s %-20s %13d %-20s %-8s\n", d.Name, cl.Name, cl.MinDevCount, cl.ReplPolicy, cl.HashType)
		}
		fmt.Fprintln(a.out)
	}
	return nil
}

func (a *adm) settingsList(ctx context.Context) error {
	// As the original: the rebal_* keys are rebalance settings'.
	return a.printSettings(ctx, func(k string) bool { return !strings.HasPrefix(k, "rebal") })
}

// printSettings prints the server settings keep selects as the original
// does, "%25s = %s" sorted by key.
func (a *adm) printSettings(ctx context.Context, keep func(string) bool) error {
	ss, err := a.c.ServerSettings(ctx)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(ss))
	for k := range ss {
		if keep(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(a.out, "%25s = %s\n", k, ss[k])
	}
	return nil
}

func (a *adm) settingsSet(ctx context.Context) error {
	return a.c.SetServerSetting(ctx, a.args["key"], a.args["value"])
}

func (a *adm) slaveList(ctx context.Context) error {
	ss, keys, err := a.slaveKeys(ctx)
	if err != nil {
		return err
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].name < keys[j].name })
	for _, k := range keys {
		v, ok := ss["slave_"+k.name]
		if !ok {
			continue // the original skips a key without its setting
		}
		dsn, rest, _ := strings.Cut(v, "|")
		user, pass, _ := strings.Cut(rest, "|")
		fmt.Fprintf(a.out, "%s --dsn=%s --username=%s --password=%s\n", k.name, dsn, user, pass)
	}
	return nil
}

// slaveKey is one entry of the slave_keys setting: "name" or "name=weight".
type slaveKey struct{ name, weight string }

// slaveKeys reads the server settings and, from them, slave_keys as
// MogileFS::Admin does (none when unset).
func (a *adm) slaveKeys(ctx context.Context) (map[string]string, []slaveKey, error) {
	ss, err := a.c.ServerSettings(ctx)
	if err != nil {
		return nil, nil, err
	}
	var out []slaveKey
	for e := range strings.SplitSeq(ss["slave_keys"], ",") {
		if name, w, _ := strings.Cut(e, "="); name != "" {
			out = append(out, slaveKey{name, w})
		}
	}
	return ss, out, nil
}

func (a *adm) setSlaveKeys(ctx context.Context, keys []slaveKey) error {
	var parts []string
	for _, k := range keys {
		if k.weight != "" && k.weight != "1" {
			parts = append(parts, k.name+"="+k.weight)
		} else {
			parts = append(parts, k.name)
		}
	}
	return a.c.SetServerSetting(ctx, "slave_keys", strings.Join(parts, ","))
}

func slaveIndex(keys []slaveKey, name string) int {
	for i, k := range keys {
		if k.name == name {
			return i
		}
	}
	return -1
}

// slaveAdd records a slave database (MogileFS::Admin::slave_add):
// slave_<key> = dsn|username|password, and the key in slave_keys.
func (a *adm) slaveAdd(ctx context.Context) error {
	key := a.args["slave_key"]
	_, keys, err := a.slaveKeys(ctx)
	if err != nil {
		return err
	}
	if slaveIndex(keys, key) >= 0 {
		return errors.New("slave failed to be added")
	}
	if err := a.c.SetServerSetting(ctx, "slave_"+key, a.opts["dsn"]+"|"+a.opts["username"]+"|"+a.opts["password"]); err != nil {
		return fmt.Errorf("slave failed to be added: %w", err)
	}
	return a.setSlaveKeys(ctx, append(keys, slaveKey{name: key}))
}

// slaveModify changes the fields given of a recorded slave.
func (a *adm) slaveModify(ctx context.Context) error {
	key := a.args["slave_key"]
	ss, keys, err := a.slaveKeys(ctx)
	if err != nil {
		return err
	}
	if slaveIndex(keys, key) < 0 {
		return errors.New("slave modify failure: no such slave")
	}
	f := strings.SplitN(ss["slave_"+key], "|", 3)
	for len(f) < 3 {
		f = append(f, "")
	}
	for i, name := range []string{"dsn", "username", "password"} {
		if o, ok := a.opts[name]; ok {
			f[i] = o
		}
	}
	if err := a.c.SetServerSetting(ctx, "slave_"+key, strings.Join(f, "|")); err != nil {
		return fmt.Errorf("slave modify failure: %w", err)
	}
	return nil
}

// slaveDelete forgets a slave: its setting is emptied, as the original's
// undef value is, and the key leaves slave_keys.
func (a *adm) slaveDelete(ctx context.Context) error {
	key := a.args["slave_key"]
	_, keys, err := a.slaveKeys(ctx)
	if err != nil {
		return err
	}
	i := slaveIndex(keys, key)
	if i < 0 {
		return errors.New("slave delete failed")
	}
	if err := a.c.SetServerSetting(ctx, "slave_"+key, ""); err != nil {
		return fmt.Errorf("slave delete failed: %w", err)
	}
	return a.setSlaveKeys(ctx, append(keys[:i], keys[i+1:]...))
}
