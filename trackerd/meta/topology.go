package meta

import (
	"context"
	"database/sql"
	"fmt"
)

// Hosts returns every host, by hostid.
func (s *Store) Hosts(ctx context.Context) ([]Host, error) {
	rows, err := s.read(ctx, `SELECT hostid, hostname, hostip, http_port, http_get_port, status, altip, altmask
		FROM host ORDER BY hostid`)
	if err != nil {
		return nil, fmt.Errorf("meta: hosts: %w", err)
	}
	defer rows.Close()
	var out []Host
	for rows.Next() {
		var h Host
		var name, ip, status, altip, altmask sql.NullString
		var port, getPort sql.NullInt64
		if err := rows.Scan(&h.ID, &name, &ip, &port, &getPort, &status, &altip, &altmask); err != nil {
			return nil, fmt.Errorf("meta: hosts: %w", err)
		}
		h.Name, h.IP, h.Status, h.AltIP, h.AltMask = name.String, ip.String, status.String, altip.String, altmask.String
		h.HTTPPort, h.HTTPGetPort = int(port.Int64), int(getPort.Int64)
		out = append(out, h)
	}
	return out, rows.Err()
}

// hostDefaults fills what create_host defaults: port 7500, status down.
func hostDefaults(h Host) Host {
	if h.HTTPPort == 0 {
		h.HTTPPort = 7500
	}
	if h.Status == "" {
		h.Status = "down"
	}
	return h
}

// CreateHost adds a host with hostid = MAX(hostid)+1 (HTTPPort 0 means 7500,
// Status "" means down); ErrExists when the name, IP or alternate IP is taken.
func (s *Store) CreateHost(ctx context.Context, h Host) (Host, error) {
	h = hostDefaults(h)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(hostid),0)+1 FROM host"+s.d.forUpdate()).Scan(&h.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO host (hostid, hostname, hostip, http_port, http_get_port, status, altip, altmask)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, h.ID, h.Name, h.IP, h.HTTPPort, nullInt(int64(h.HTTPGetPort)),
			h.Status, nullStr(h.AltIP), nullStr(h.AltMask))
		return s.mapErr(err)
	})
	if err != nil {
		return Host{}, fmt.Errorf("meta: create host %q: %w", h.Name, err)
	}
	return h, nil
}

// UpdateHost writes every field of the host h.ID (the caller merges the
// fields an update_host command left out).
func (s *Store) UpdateHost(ctx context.Context, h Host) error {
	h = hostDefaults(h)
	return s.execOne(ctx, fmt.Sprintf("update host %d", h.ID), `UPDATE host SET hostname = ?, hostip = ?, http_port = ?,
		http_get_port = ?, status = ?, altip = ?, altmask = ? WHERE hostid = ?`,
		h.Name, h.IP, h.HTTPPort, nullInt(int64(h.HTTPGetPort)), h.Status, nullStr(h.AltIP), nullStr(h.AltMask), h.ID)
}

// DeleteHost removes a host that no device row references.
func (s *Store) DeleteHost(ctx context.Context, hostid int) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if has, err := exists(ctx, tx, "SELECT 1 FROM device WHERE hostid = ? LIMIT 1", hostid); err != nil || has {
			return errOr(err, ErrHostNotEmpty)
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM host WHERE hostid = ?", hostid)
		if err != nil {
			return err
		}
		return mustAffect(res, "delete")
	})
	if err != nil {
		return fmt.Errorf("meta: delete host %d: %w", hostid, err)
	}
	return nil
}

// Devices returns every device, by devid.
func (s *Store) Devices(ctx context.Context) ([]Device, error) {
	rows, err := s.read(ctx, `SELECT devid, hostid, status, weight, mb_total, mb_used, mb_asof
		FROM device ORDER BY devid`)
	if err != nil {
		return nil, fmt.Errorf("meta: devices: %w", err)
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		var d Device
		var status sql.NullString
		var weight, total, used, asof sql.NullInt64
		if err := rows.Scan(&d.ID, &d.HostID, &status, &weight, &total, &used, &asof); err != nil {
			return nil, fmt.Errorf("meta: devices: %w", err)
		}
		d.Status, d.Weight = status.String, int(weight.Int64)
		if !weight.Valid {
			d.Weight = 100
		}
		d.HaveUsage, d.MBTotal, d.MBUsed, d.MBAsOf = total.Valid, total.Int64, used.Int64, unix(asof.Int64)
		out = append(out, d)
	}
	return out, rows.Err()
}

// CreateDevice adds device d.ID on host d.HostID (Status "" means alive,
// Weight 0 means 100). ErrExists when the devid is taken, ErrNotFound when
// the host does not exist.
func (s *Store) CreateDevice(ctx context.Context, d Device) error {
	if d.Status == "" {
		d.Status = "alive"
	}
	if d.Weight == 0 {
		d.Weight = 100
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if has, err := exists(ctx, tx, "SELECT 1 FROM host WHERE hostid = ?", d.HostID); err != nil || !has {
			return errOr(err, ErrNotFound)
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO device (devid, hostid, status, weight) VALUES (?, ?, ?, ?)",
			d.ID, d.HostID, d.Status, d.Weight)
		return s.mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("meta: create device %d: %w", d.ID, err)
	}
	return nil
}

// SetDeviceState writes the admin state; ErrNotFound for an unknown devid.
func (s *Store) SetDeviceState(ctx context.Context, devid int, state string) error {
	return s.execOne(ctx, fmt.Sprintf("set device %d state", devid), "UPDATE device SET status = ? WHERE devid = ?", state, devid)
}

// SetDeviceWeight writes the weight; ErrNotFound for an unknown devid.
func (s *Store) SetDeviceWeight(ctx context.Context, devid int, weight int) error {
	return s.execOne(ctx, fmt.Sprintf("set device %d weight", devid), "UPDATE device SET weight = ? WHERE devid = ?", weight, devid)
}

// UpdateDeviceUsage records mb_total, mb_used and mb_asof = the database's
// now; ErrNotFound for an unknown devid.
func (s *Store) UpdateDeviceUsage(ctx context.Context, devid int, mbTotal, mbUsed int64) error {
	return s.execOne(ctx, fmt.Sprintf("update device %d usage", devid),
		"UPDATE device SET mb_total = ?, mb_used = ?, mb_asof = ("+s.d.nowExpr()+") WHERE devid = ?", mbTotal, mbUsed, devid)
}
