// Command mogfs mounts a MogileFS cluster as a file system (FUSE).
//
//	mogfs TRACKERS MOUNTPOINT [-o opt,opt] [-f]
//
// TRACKERS is host:port[,host:port]. Without -f, mogfs detaches and returns
// once the mount is ready, so it works as a mount(8) helper: with
// scripts/mount.fuse.mogfs installed as /sbin/mount.fuse.mogfs (or through
// mount.fuse3), this fstab line mounts domain "photos" at boot:
//
//	127.0.0.1:7001,10.0.0.2:7001  /mnt/photos  fuse.mogfs  domain=photos,allow_other,_netdev  0 0
//
// SIGTERM, SIGINT and umount unmount cleanly after storing open files.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"mogfs/fusefs"
	"mogfs/fusefs/vfs"
)

// readyEnv names the fd on which a detached child reports readiness.
const readyEnv = "MOGFS_READY_FD"

func main() {
	opt, err := vfs.ParseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "%v\nusage: mogfs TRACKERS MOUNTPOINT [-o opt,opt] [-f]\noptions:\n%s", err, vfs.OptionHelp())
		os.Exit(2)
	}
	if !opt.Foreground && os.Getenv(readyEnv) == "" {
		os.Exit(detach(opt))
	}
	var ready *os.File
	if fd := os.Getenv(readyEnv); fd != "" {
		ready = os.NewFile(3, "ready")
	}
	level := slog.LevelInfo
	if opt.Debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer stop()
	if opt.PIDFile != "" {
		// Removed on every exit path below, so a stale file never names a reused PID.
		defer os.Remove(opt.PIDFile)
	}
	err = fusefs.Run(ctx, fusefs.Config{Options: opt, Logger: log, Ready: func() {
		if opt.PIDFile != "" {
			if err := os.WriteFile(opt.PIDFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
				log.Warn("pidfile", "path", opt.PIDFile, "err", err)
			}
		}
		if ready != nil {
			io.WriteString(ready, "ok\n")
			ready.Close()
		}
	}})
	if err != nil {
		if ready != nil {
			io.WriteString(ready, err.Error()+"\n")
		}
		fmt.Fprintln(os.Stderr, err)
		if opt.PIDFile != "" {
			os.Remove(opt.PIDFile)
		}
		os.Exit(1)
	}
}

// detach re-runs mogfs in a new session with stdio on the log file (or
// /dev/null) and waits until the child says the mount is ready or failed.
func detach(opt vfs.Options) int {
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mogfs:", err)
		return 1
	}
	out := os.DevNull
	if opt.LogFile != "" {
		out = opt.LogFile
	}
	logf, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mogfs: log:", err)
		return 1
	}
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Env = append(os.Environ(), readyEnv+"=3")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "mogfs:", err)
		return 1
	}
	w.Close()
	logf.Close()
	msg, _ := io.ReadAll(r) // EOF when the child closes it or dies
	line := strings.TrimSpace(string(msg))
	if line == "ok" {
		cmd.Process.Release()
		return 0
	}
	if line == "" {
		line = "mount process exited before the mount was ready"
		if opt.LogFile != "" {
			line += " (see " + opt.LogFile + ")"
		}
	}
	fmt.Fprintln(os.Stderr, line)
	cmd.Wait()
	return 1
}
