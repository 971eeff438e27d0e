package jobs_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"mogfs/trackerd/jobs"
	"mogfs/trackerd/meta"
)

// zoneCluster is four single-device nodes, devices 1 and 2 in zone "a",
// 3 and 4 in zone "b".
func zoneCluster(t *testing.T) *cluster {
	t.Helper()
	c := newCluster(t, 1, 1, 1, 1)
	ctx := t.Context()
	for k, v := range map[string]string{
		"zone_a":        c.devNode[1].IP + " " + c.devNode[2].IP,
		"zone_b":        c.devNode[3].IP + "/32, " + c.devNode[4].IP + "/32",
		"network_zones": "a,b",
	} {
		if err := c.st.SetSetting(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.mon.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *cluster) class(name string, mindevcount int, policy string) int {
	c.t.Helper()
	cls, err := c.st.CreateClass(c.t.Context(), meta.Class{DomainID: c.dmid, Name: name, MinDevCount: mindevcount, ReplPolicy: policy})
	if err != nil {
		c.t.Fatal(err)
	}
	return cls.ID
}

// placed waits until each fid is on exactly the devices want accepts.
func (c *cluster) placed(fids []int64, what string, want func([]int) bool) {
	c.t.Helper()
	c.waitFor(15*time.Second, what, func() (bool, string) {
		for _, fid := range fids {
			devs := c.devids(fid)
			slices.Sort(devs)
			if !want(devs) {
				return false, fmt.Sprintf("fid %d on devices %v", fid, devs)
			}
		}
		return true, ""
	})
	// And it stays so: nothing more to copy or trim.
	c.waitFor(5*time.Second, "empty replicate queue", func() (bool, string) {
		n := c.queueDepth(meta.QueueReplicate)
		return n == 0, fmt.Sprintf("depth %d", n)
	})
	for _, fid := range fids {
		if devs := c.devids(fid); !want(slices.Sorted(slices.Values(devs))) {
			c.t.Errorf("fid %d on devices %v after the queue emptied", fid, devs)
		}
	}
}

func (c *cluster) uploadN(prefix string, classid, count, devid int) []int64 {
	var fids []int64
	for i := range count {
		fids = append(fids, c.upload(fmt.Sprintf("%s/%d", prefix, i), classid, bytes.Repeat([]byte(prefix), 100+i), devid))
	}
	return fids
}

// zoneCounts counts the copies in each zone.
func zoneCounts(devs []int) (a, b int) {
	for _, d := range devs {
		if d <= 2 {
			a++
		} else {
			b++
		}
	}
	return a, b
}

// TestReplicateMultipleNetworks: every file's first copy is in zone a, so
// the second must go to zone b (MultipleHosts would pick device 2 a third
// of the time).
func TestReplicateMultipleNetworks(t *testing.T) {
	c := zoneCluster(t)
	cls := c.class("net", 2, "MultipleNetworks()")
	fids := c.uploadN("mn", cls, 8, 1)
	c.startJobs("t1", nil)
	c.placed(fids, "one copy in each zone", func(devs []int) bool {
		a, b := zoneCounts(devs)
		return len(devs) == 2 && a == 1 && b == 1
	})
}

// TestReplicateHostsPerNetwork: HostsPerNetwork(a=1,b=2) wants three copies
// whatever the mindevcount: the upload's in zone a and both hosts of zone b.
func TestReplicateHostsPerNetwork(t *testing.T) {
	c := zoneCluster(t)
	cls := c.class("perzone", 1, "HostsPerNetwork(a=1,b=2)")
	fids := c.uploadN("hpn", cls, 4, 2)
	c.startJobs("t1", nil)
	c.placed(fids, "devices 2, 3 and 4", func(devs []int) bool { return slices.Equal(devs, []int{2, 3, 4}) })
}

// TestTrimKeepsNetworks: three copies, two in zone a and one in zone b,
// trimmed to MultipleNetworks(2)'s two: the one in zone b stays.
func TestTrimKeepsNetworks(t *testing.T) {
	c := zoneCluster(t)
	cls := c.class("net", 2, "MultipleNetworks()")
	data := []byte("three copies")
	fid := c.upload("trim", cls, data, 1)
	for _, d := range []int{2, 3} {
		c.put(d, fid, data)
		if err := c.st.AddFileOn(t.Context(), fid, d); err != nil {
			t.Fatal(err)
		}
	}
	c.startJobs("t1", nil)
	c.placed([]int64{fid}, "one copy of zone a trimmed", func(devs []int) bool {
		return len(devs) == 2 && devs[1] == 3
	})
}

// TestReplicateLocalNetworkFirst: with local_network in zone b, the
// MultipleHosts copy of a file uploaded in zone a goes to zone b (the
// policy offers devices 2, 3 and 4 alike).
func TestReplicateLocalNetworkFirst(t *testing.T) {
	c := zoneCluster(t)
	fids := c.uploadN("local", 0, 8, 1)
	local := netip.MustParsePrefix(c.devNode[4].IP + "/32")
	c.startJobs("t1", func(cfg *jobs.Config) { cfg.LocalNetwork = local })
	c.placed(fids, "the second copy in zone b", func(devs []int) bool {
		a, b := zoneCounts(devs)
		return len(devs) == 2 && a == 1 && b == 1
	})
}
