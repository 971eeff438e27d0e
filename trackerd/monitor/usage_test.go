package monitor

import (
	"errors"
	"testing"
)

func TestParseUsage(t *testing.T) {
	tests := []struct {
		name             string
		in               string
		wantErr          bool
		wantUsed, wantTo int64
	}{
		{"mogstored", "available: 480213276\ndevice: /dev/sdb1\ndisk: /var/mogdata/dev1\ntime: 1700000000\ntotal: 961301528\nuse: 51%\nused: 481088252\n", false, 481088252, 961301528},
		{"crlf", "used: 2048\r\ntotal: 4096\r\n", false, 2048, 4096},
		{"spaces around colon", "used  :  10\ntotal:20", false, 10, 20},
		{"junk lines ignored", "hello\n\nused: 1\n: x\ntotal: 3\n", false, 1, 3},
		{"missing total", "used: 1\n", true, 0, 0},
		{"zero used", "used: 0\ntotal: 10\n", true, 0, 0},
		{"non-numeric", "used: lots\ntotal: 10\n", true, 0, 0},
		{"empty", "", true, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := ParseUsage([]byte(tc.in))
			if tc.wantErr {
				if !errors.Is(err, ErrBadUsage) {
					t.Fatalf("ParseUsage(%q) err = %v, want ErrBadUsage", tc.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseUsage(%q) = %v", tc.in, err)
			}
			if u.UsedKB != tc.wantUsed || u.TotalKB != tc.wantTo {
				t.Errorf("ParseUsage(%q) = used %d total %d, want %d %d", tc.in, u.UsedKB, u.TotalKB, tc.wantUsed, tc.wantTo)
			}
		})
	}
	u, _ := ParseUsage([]byte("used: 481088252\ntotal: 961301528\n"))
	if u.MBUsed() != 469812 || u.MBTotal() != 938771 {
		t.Errorf("MB = %d/%d, want 469812/938771", u.MBUsed(), u.MBTotal())
	}
}

func FuzzParseUsage(f *testing.F) {
	f.Add([]byte("available: 480213276\ndevice: /dev/sdb1\ndisk: /var/mogdata/dev1\ntime: 1700000000\ntotal: 961301528\nuse: 51%\nused: 481088252\n"))
	f.Add([]byte("used:1\ntotal:2"))
	f.Add([]byte("used: -1\ntotal: 99999999999999999999\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := ParseUsage(b)
		if err != nil {
			if !errors.Is(err, ErrBadUsage) {
				t.Fatalf("error %v is not ErrBadUsage", err)
			}
			return
		}
		if u.UsedKB <= 0 || u.TotalKB <= 0 {
			t.Fatalf("accepted non-positive usage %+v", u)
		}
	})
}

func TestParseWatchLine(t *testing.T) {
	block := map[int]string{}
	lines := []string{"1\t3.50\n", "2 -\r\n", "garbage\n", "x 1\n", "0 5\n", ".\n"}
	var done bool
	for _, l := range lines {
		var isErr bool
		done, isErr = parseWatchLine(l, block)
		if isErr {
			t.Fatalf("parseWatchLine(%q) isErr", l)
		}
	}
	if !done {
		t.Fatal("block terminator not seen")
	}
	if len(block) != 2 || block[1] != "3.50" || block[2] != "-" {
		t.Errorf("block = %v, want {1:3.50 2:-}", block)
	}
	if _, isErr := parseWatchLine("ERR iostat unavailable\r\n", block); !isErr {
		t.Error("ERR line not reported")
	}
}

func FuzzParseWatchLine(f *testing.F) {
	f.Add("1\t3.50\n")
	f.Add(".\n")
	f.Add("ERR iostat unavailable\r\n")
	f.Fuzz(func(t *testing.T, line string) {
		block := map[int]string{}
		done, isErr := parseWatchLine(line, block)
		if done && (isErr || len(block) != 0) {
			t.Fatalf("parseWatchLine(%q) = done with err %v block %v", line, isErr, block)
		}
		for id := range block {
			if id <= 0 {
				t.Fatalf("parseWatchLine(%q) stored devid %d", line, id)
			}
		}
	})
}
