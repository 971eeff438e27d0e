package trackerd

import (
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"mogfs/nodeproto"
	"mogfs/protocol"
	"mogfs/trackerd/jobs"
	"mogfs/trackerd/meta"
	"mogfs/trackerd/monitor"
)

// The command handlers, grouped by concern. Each group holds only what
// its commands use; Start builds them, and the dispatch table from them.

// fileCmds answers the data commands (cmd_file.go, cmd_paths.go,
// placement.go): the namespace, placement of new files and their paths.
type fileCmds struct {
	log          *slog.Logger
	store        *meta.Store
	mon          *monitor.Monitor
	ns           *nsCache
	paths        *pathCache
	nodes        *nodeproto.Client // HEAD and MKCOL against storage nodes
	noExtensions bool
	mkcols       mkcolCache      // directories recently made by MKCOL
	bg           *sync.WaitGroup // MKCOLs run off the request path; Close waits for them
}

// adminCmds answers the topology commands (cmd_admin.go): hosts, devices,
// domains, classes and server settings.
type adminCmds struct {
	store *meta.Store
	mon   *monitor.Monitor
	ns    *nsCache
}

// maintCmds answers the maintenance commands (cmd_maint.go): replication
// now, cache and monitor control, fsck and rebalance.
type maintCmds struct {
	store *meta.Store
	mon   *monitor.Monitor
	ns    *nsCache
	paths *pathCache
	jobs  *jobs.Jobs
}

// extCmds answers the mogfs extension (cmd_ext.go): attributes, listings,
// lookups, links and stats.
type extCmds struct {
	store *meta.Store
	ns    *nsCache
	paths *pathCache
	jobs  *jobs.Jobs
}

// handler answers one command.
type handler func(r *request) (reply, error)

// newCommands builds the handler groups and the dispatch table; the
// monitor and the jobs must exist.
func (t *Tracker) newCommands() map[string]handler {
	fc := &fileCmds{log: t.log, store: t.store, mon: t.mon, ns: t.ns, paths: t.paths, nodes: t.nodes,
		noExtensions: t.cfg.NoExtensions, bg: &t.bg}
	ac := &adminCmds{store: t.store, mon: t.mon, ns: t.ns}
	mc := &maintCmds{store: t.store, mon: t.mon, ns: t.ns, paths: t.paths, jobs: t.jobs}
	xc := &extCmds{store: t.store, ns: t.ns, paths: t.paths, jobs: t.jobs}
	return map[string]handler{
		// data commands (cmd_file.go, cmd_paths.go)
		"create_open":  fc.cmdCreateOpen,
		"create_close": fc.cmdCreateClose,
		"get_paths":    fc.cmdGetPaths,
		"delete":       fc.cmdDelete,
		"rename":       fc.cmdRename,
		"list_keys":    fc.cmdListKeys,
		"list_fids":    fc.cmdListFIDs,
		"file_info":    fc.cmdFileInfo,
		"file_debug":   fc.cmdFileDebug,
		"updateclass":  fc.cmdUpdateClassOfFile,
		"edit_file":    fc.cmdEditFile,
		"sleep":        fc.cmdSleep,
		"test":         fc.cmdTest,
		"noop":         fc.cmdNoop,
		// admin (cmd_admin.go)
		"create_host":        ac.cmdCreateHost,
		"update_host":        ac.cmdUpdateHost,
		"delete_host":        ac.cmdDeleteHost,
		"get_hosts":          ac.cmdGetHosts,
		"create_device":      ac.cmdCreateDevice,
		"set_state":          ac.cmdSetState,
		"set_weight":         ac.cmdSetWeight,
		"get_devices":        ac.cmdGetDevices,
		"create_domain":      ac.cmdCreateDomain,
		"delete_domain":      ac.cmdDeleteDomain,
		"get_domains":        ac.cmdGetDomains,
		"create_class":       ac.cmdCreateClass,
		"update_class":       ac.cmdUpdateClass,
		"delete_class":       ac.cmdDeleteClass,
		"server_setting":     ac.cmdServerSetting,
		"server_settings":    ac.cmdServerSettings,
		"set_server_setting": ac.cmdSetServerSetting,
		// maintenance (cmd_maint.go)
		"replicate_now":        mc.cmdReplicateNow,
		"clear_cache":          mc.cmdClearCache,
		"do_monitor_round":     mc.cmdDoMonitorRound,
		"fsck_start":           mc.cmdFsckStart,
		"fsck_stop":            mc.cmdFsckStop,
		"fsck_reset":           mc.cmdFsckReset,
		"fsck_clearlog":        mc.cmdFsckClearLog,
		"fsck_getlog":          mc.cmdFsckGetLog,
		"fsck_status":          mc.cmdFsckStatus,
		"rebalance_set_policy": mc.cmdRebalanceSetPolicy,
		"rebalance_test":       mc.cmdRebalanceTest,
		"rebalance_start":      mc.cmdRebalanceStart,
		"rebalance_stop":       mc.cmdRebalanceStop,
		"rebalance_reset":      mc.cmdRebalanceReset,
		"rebalance_status":     mc.cmdRebalanceStatus,
		// mogfs extensions (cmd_ext.go)
		"mogfs_getattr":     xc.cmdGetAttr,
		"mogfs_setattr":     xc.cmdSetAttr,
		"mogfs_delattr":     xc.cmdDelAttr,
		"mogfs_renameattrs": xc.cmdRenameAttrs,
		"mogfs_list":        xc.cmdList,
		"mogfs_lookup":      xc.cmdLookup,
		"mogfs_link":        xc.cmdLink,
		"mogfs_unlink":      xc.cmdUnlink,
		"stats":             xc.cmdStats,
		"mogfs_caps":        xc.cmdCaps,
	}
}

// mutating are the commands Config.AdminAllow restricts: those that change
// files, the namespace's attributes, the topology, settings or background
// work (and, in mutatingConsole, the admin console's). Reads (get_paths,
// file_info, list_keys, mogfs_list, get_hosts, ...) stay open to all.
var mutating = map[string]bool{
	"create_open": true, "create_close": true, "delete": true, "rename": true, "updateclass": true, "edit_file": true,
	"create_host": true, "update_host": true, "delete_host": true, "create_device": true, "set_state": true,
	"set_weight": true, "create_domain": true, "delete_domain": true, "create_class": true, "update_class": true,
	"delete_class": true, "set_server_setting": true,
	"replicate_now": true, "clear_cache": true, "fsck_start": true, "fsck_stop": true, "fsck_reset": true,
	"fsck_clearlog": true, "rebalance_set_policy": true, "rebalance_start": true, "rebalance_stop": true,
	"rebalance_reset": true,
	"mogfs_setattr":   true, "mogfs_delattr": true, "mogfs_renameattrs": true, "mogfs_link": true, "mogfs_unlink": true,
}

// mutatingConsole are the admin console's commands AdminAllow restricts,
// matched as prefixes, as the console matches them.
var mutatingConsole = []string{"!shutdown", "!want", "!to"}

// allowed reports whether the client at ip may send cmd.
func (t *Tracker) allowed(cmd, ip string) bool {
	if len(t.cfg.AdminAllow) == 0 {
		return true
	}
	if !mutating[cmd] && !slices.ContainsFunc(mutatingConsole, func(p string) bool { return strings.HasPrefix(cmd, p) }) {
		return true
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range t.cfg.AdminAllow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// errUnauthorized is the reply to a command AdminAllow refuses.
func errUnauthorized(cmd, ip string) *protocol.Error {
	return protocol.Errf("unauthorized", "%s is not allowed from %s (admin_allow)", cmd, ip)
}
