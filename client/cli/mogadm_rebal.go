package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// The rebalance commands print what the original mogadm prints: status
// and settings as "%25s = %-s" lines, sorted by key, and test as sorted
// lists of devices (sorted as strings, as Perl's sort does).

// ok prints the original's success message, which it shows only with
// --verbose.
func (a *adm) ok(msg string) {
	if a.opts["verbose"] != "" {
		fmt.Fprintln(a.out, msg)
	}
}

// rebalanceDo sends a command without arguments.
func rebalanceDo(cmd, okMsg string) func(*adm, context.Context) error {
	return func(a *adm, ctx context.Context) error {
		if _, err := a.c.Do(ctx, cmd, nil); err != nil {
			return err
		}
		a.ok(okMsg)
		return nil
	}
}

func (a *adm) rebalancePolicy(ctx context.Context) error {
	if _, err := a.c.Do(ctx, "rebalance_set_policy", map[string]string{"policy": a.opts["options"]}); err != nil {
		return err
	}
	a.ok("changed policy setting")
	return nil
}

func (a *adm) rebalanceTest(ctx context.Context) error {
	res, err := a.c.Do(ctx, "rebalance_test", nil)
	if err != nil {
		return err
	}
	ss, err := a.c.ServerSettings(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.out, "Tested rebalance policy...\nPolicy: %s\n\n", ss["rebal_policy"])
	for _, l := range []struct{ title, key string }{{"Source devices", "sdevs"}, {"Destination devices", "ddevs"}} {
		fmt.Fprintf(a.out, "%s:\n", l.title)
		for _, d := range sortedFields(res[l.key], ",") {
			fmt.Fprintf(a.out, " - %s\n", d)
		}
	}
	return nil
}

func (a *adm) rebalanceStatus(ctx context.Context) error {
	ss, err := a.c.ServerSettings(ctx)
	if err != nil {
		return err
	}
	res, err := a.c.Do(ctx, "rebalance_status", nil)
	if err != nil {
		return err
	}
	if ss["rebal_host"] != "" {
		fmt.Fprintln(a.out, "Rebalance is running")
	} else {
		fmt.Fprintln(a.out, "Rebalance is stopped")
	}
	fmt.Fprintln(a.out, "Rebalance status:")
	for _, kv := range sortedFields(res["state"], " ") {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(a.out, "%25s = %s\n", k, v)
	}
	return nil
}

func (a *adm) rebalanceSettings(ctx context.Context) error {
	return a.printSettings(ctx, func(k string) bool { return strings.HasPrefix(k, "rebal_") && k != "rebal_state" })
}

// sortedFields splits s at sep, drops empty fields and sorts the rest as
// strings.
func sortedFields(s, sep string) []string {
	var out []string
	for _, f := range strings.Split(s, sep) {
		if f != "" {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}
