package meta

// mysqlTableOpts makes every new table InnoDB (transactions, row locks) in
// utf8mb4, like mogdbsetup's InnoDB requirement.
const mysqlTableOpts = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"

// schema is MogileFS 2.73's MySQL layout (Store.pm + Store/MySQL.pm) at
// schema version 17 as a new install makes it: fid columns BIGINT UNSIGNED,
// ENUMs with readonly and drain. dkey is VARBINARY(1024) (original:
// VARCHAR(255)) so that 1024-byte keys fit and ORDER BY dkey is byte order.
func (mysqlDialect) schema() []string {
	tables := []string{
		`CREATE TABLE IF NOT EXISTS domain (
			dmid SMALLINT UNSIGNED NOT NULL PRIMARY KEY,
			namespace VARCHAR(255),
			UNIQUE (namespace))`,
		`CREATE TABLE IF NOT EXISTS class (
			dmid SMALLINT UNSIGNED NOT NULL,
			classid TINYINT UNSIGNED NOT NULL,
			PRIMARY KEY (dmid,classid),
			classname VARCHAR(50),
			UNIQUE (dmid,classname),
			mindevcount TINYINT UNSIGNED NOT NULL,
			replpolicy VARCHAR(255),
			hashtype TINYINT UNSIGNED)`,
		`CREATE TABLE IF NOT EXISTS file (
			fid BIGINT UNSIGNED NOT NULL,
			PRIMARY KEY (fid),
			dmid SMALLINT UNSIGNED NOT NULL,
			dkey VARBINARY(1024),
			UNIQUE dkey (dmid, dkey),
			length BIGINT UNSIGNED,
			classid TINYINT UNSIGNED NOT NULL,
			devcount TINYINT UNSIGNED NOT NULL,
			INDEX devcount (dmid,classid,devcount))`,
		`CREATE TABLE IF NOT EXISTS tempfile (
			fid BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
			PRIMARY KEY (fid),
			createtime INT UNSIGNED NOT NULL,
			classid TINYINT UNSIGNED NOT NULL,
			dmid SMALLINT UNSIGNED NOT NULL,
			dkey VARBINARY(1024),
			devids VARCHAR(60))`,
		`CREATE TABLE IF NOT EXISTS file_on (
			fid BIGINT UNSIGNED NOT NULL,
			devid MEDIUMINT UNSIGNED NOT NULL,
			PRIMARY KEY (fid, devid),
			INDEX (devid))`,
		`CREATE TABLE IF NOT EXISTS file_on_corrupt (
			fid BIGINT UNSIGNED NOT NULL,
			devid MEDIUMINT UNSIGNED NOT NULL,
			PRIMARY KEY (fid, devid))`,
		`CREATE TABLE IF NOT EXISTS host (
			hostid MEDIUMINT UNSIGNED NOT NULL PRIMARY KEY,
			status ENUM('alive','dead','down','readonly'),
			http_port MEDIUMINT UNSIGNED DEFAULT 7500,
			http_get_port MEDIUMINT UNSIGNED,
			hostname VARCHAR(40),
			hostip VARCHAR(15),
			altip VARCHAR(15),
			altmask VARCHAR(18),
			UNIQUE (hostname),
			UNIQUE (hostip),
			UNIQUE (altip))`,
		`CREATE TABLE IF NOT EXISTS device (
			devid MEDIUMINT UNSIGNED NOT NULL,
			hostid MEDIUMINT UNSIGNED NOT NULL,
			status ENUM('alive','dead','down','readonly','drain'),
			weight MEDIUMINT DEFAULT 100,
			mb_total INT UNSIGNED,
			mb_used INT UNSIGNED,
			mb_asof INT UNSIGNED,
			PRIMARY KEY (devid),
			INDEX (status))`,
		`CREATE TABLE IF NOT EXISTS server_settings (
			field VARCHAR(50) PRIMARY KEY,
			value TEXT)`,
		`CREATE TABLE IF NOT EXISTS file_to_replicate (
			fid BIGINT UNSIGNED NOT NULL PRIMARY KEY,
			nexttry INT UNSIGNED NOT NULL,
			INDEX (nexttry),
			fromdevid INT UNSIGNED,
			failcount TINYINT UNSIGNED NOT NULL DEFAULT 0,
			flags SMALLINT UNSIGNED NOT NULL DEFAULT 0)`,
		`CREATE TABLE IF NOT EXISTS file_to_delete (
			fid BIGINT UNSIGNED NOT NULL,
			PRIMARY KEY (fid))`,
		`CREATE TABLE IF NOT EXISTS file_to_delete_later (
			fid BIGINT UNSIGNED NOT NULL PRIMARY KEY,
			delafter INT UNSIGNED NOT NULL,
			INDEX (delafter))`,
		`CREATE TABLE IF NOT EXISTS fsck_log (
			logid INT UNSIGNED NOT NULL AUTO_INCREMENT,
			PRIMARY KEY (logid),
			utime INT UNSIGNED NOT NULL,
			fid BIGINT UNSIGNED NULL,
			evcode CHAR(4),
			devid MEDIUMINT UNSIGNED,
			INDEX(utime))`,
		`CREATE TABLE IF NOT EXISTS file_to_queue (
			fid BIGINT UNSIGNED NOT NULL,
			devid INT UNSIGNED,
			type TINYINT UNSIGNED NOT NULL,
			nexttry INT UNSIGNED NOT NULL,
			failcount TINYINT UNSIGNED NOT NULL DEFAULT 0,
			flags SMALLINT UNSIGNED NOT NULL DEFAULT 0,
			arg TEXT,
			PRIMARY KEY (fid, type),
			INDEX type_nexttry (type,nexttry))`,
		`CREATE TABLE IF NOT EXISTS file_to_delete2 (
			fid BIGINT UNSIGNED NOT NULL PRIMARY KEY,
			nexttry INT UNSIGNED NOT NULL,
			failcount TINYINT UNSIGNED NOT NULL DEFAULT 0,
			INDEX nexttry (nexttry))`,
		`CREATE TABLE IF NOT EXISTS unreachable_fids (
			fid BIGINT UNSIGNED NOT NULL,
			lastupdate INT UNSIGNED NOT NULL,
			PRIMARY KEY (fid),
			INDEX (lastupdate))`,
		`CREATE TABLE IF NOT EXISTS checksum (
			fid BIGINT UNSIGNED NOT NULL PRIMARY KEY,
			hashtype TINYINT UNSIGNED NOT NULL,
			checksum VARBINARY(64) NOT NULL)`,
		// mogfs extension: POSIX attributes for the mount. Times are unix ns.
		`CREATE TABLE IF NOT EXISTS mogfs_attr (
			dmid SMALLINT UNSIGNED NOT NULL,
			path VARBINARY(1024) NOT NULL,
			isdir TINYINT UNSIGNED NOT NULL DEFAULT 0,
			mode INT UNSIGNED NOT NULL DEFAULT 0,
			uid INT UNSIGNED NOT NULL DEFAULT 0,
			gid INT UNSIGNED NOT NULL DEFAULT 0,
			mtime BIGINT NOT NULL DEFAULT 0,
			ctime BIGINT NOT NULL DEFAULT 0,
			atime BIGINT NOT NULL DEFAULT 0,
			target VARBINARY(4096),
			dirkey VARBINARY(1025),
			ino BIGINT NOT NULL DEFAULT 0,
			rdev BIGINT NOT NULL DEFAULT 0,
			linkkey VARBINARY(1024),
			PRIMARY KEY (dmid, path),
			INDEX mogfs_attr_dirkey (dmid, dirkey),
			INDEX mogfs_attr_linkkey (dmid, linkkey))`,
	}
	for i := range tables {
		tables[i] += mysqlTableOpts
	}
	return tables
}
