-- A MogileFS database as mogdbsetup made it for an older release (schema
-- version 15: INT fids, VARCHAR(255) keys in latin1, host status without
-- 'readonly'), with a few rows. Open must upgrade it to 17 in place.
-- Statements are separated by ";" at the end of a line.
CREATE TABLE domain (
   dmid         SMALLINT UNSIGNED NOT NULL PRIMARY KEY,
   namespace    VARCHAR(255),
   UNIQUE (namespace)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE class (
      dmid          SMALLINT UNSIGNED NOT NULL,
      classid       TINYINT UNSIGNED NOT NULL,
      PRIMARY KEY (dmid,classid),
      classname     VARCHAR(50),
      UNIQUE      (dmid,classname),
      mindevcount   TINYINT UNSIGNED NOT NULL,
      hashtype  TINYINT UNSIGNED) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE file (
   fid          INT UNSIGNED NOT NULL,
   PRIMARY KEY  (fid),
   dmid          SMALLINT UNSIGNED NOT NULL,
   dkey           VARCHAR(255),
   UNIQUE dkey  (dmid, dkey),
   length        BIGINT UNSIGNED,
   classid       TINYINT UNSIGNED NOT NULL,
   devcount      TINYINT UNSIGNED NOT NULL,
   INDEX devcount (dmid,classid,devcount)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE tempfile (
   fid          INT UNSIGNED NOT NULL AUTO_INCREMENT,
   PRIMARY KEY  (fid),
   createtime   INT UNSIGNED NOT NULL,
   classid      TINYINT UNSIGNED NOT NULL,
   dmid          SMALLINT UNSIGNED NOT NULL,
   dkey           VARCHAR(255),
   devids       VARCHAR(60)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE file_on (
   fid          INT UNSIGNED NOT NULL,
   devid        MEDIUMINT UNSIGNED NOT NULL,
   PRIMARY KEY (fid, devid),
   INDEX (devid)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE host (
   hostid     MEDIUMINT UNSIGNED NOT NULL PRIMARY KEY,
   status     ENUM('alive','dead','down'),
   http_port  MEDIUMINT UNSIGNED DEFAULT 7500,
   http_get_port MEDIUMINT UNSIGNED,
   hostname   VARCHAR(40),
   hostip     VARCHAR(15),
   altip      VARCHAR(15),
   altmask    VARCHAR(18),
   UNIQUE     (hostname),
   UNIQUE     (hostip),
   UNIQUE     (altip)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE device (
   devid   MEDIUMINT UNSIGNED NOT NULL,
   hostid     MEDIUMINT UNSIGNED NOT NULL,
   status  ENUM('alive','dead','down','readonly','drain'),
   weight  MEDIUMINT DEFAULT 100,
   mb_total   MEDIUMINT UNSIGNED,
   mb_used    MEDIUMINT UNSIGNED,
   mb_asof    INT UNSIGNED,
   PRIMARY KEY (devid),
   INDEX   (status)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE server_settings (
   field   VARCHAR(50) PRIMARY KEY,
   value   VARCHAR(255)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE file_to_replicate (
   fid        INT UNSIGNED NOT NULL PRIMARY KEY,
   nexttry    INT UNSIGNED NOT NULL,
   INDEX (nexttry),
   fromdevid  INT UNSIGNED,
   failcount  TINYINT UNSIGNED NOT NULL DEFAULT 0,
   flags      SMALLINT UNSIGNED NOT NULL DEFAULT 0) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE file_to_queue (
   fid       INT UNSIGNED NOT NULL,
   devid     INT UNSIGNED,
   type      TINYINT UNSIGNED NOT NULL,
   nexttry   INT UNSIGNED NOT NULL,
   failcount TINYINT UNSIGNED NOT NULL default '0',
   flags     SMALLINT UNSIGNED NOT NULL default '0',
   PRIMARY KEY (fid, type),
   INDEX type_nexttry (type,nexttry)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE file_to_delete2 (
   fid INT UNSIGNED NOT NULL PRIMARY KEY,
   nexttry INT UNSIGNED NOT NULL,
   failcount TINYINT UNSIGNED NOT NULL default '0',
   INDEX nexttry (nexttry)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE checksum (
   fid INT UNSIGNED NOT NULL PRIMARY KEY,
   hashtype TINYINT UNSIGNED NOT NULL,
   checksum VARBINARY(64) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=latin1;
INSERT INTO server_settings (field, value) VALUES ('schema_version', '15');
INSERT INTO domain (dmid, namespace) VALUES (1, 'photos');
INSERT INTO class (dmid, classid, classname, mindevcount, hashtype) VALUES (1, 1, 'thumbs', 3, 1);
INSERT INTO host (hostid, status, http_port, hostname, hostip) VALUES (1, 'alive', 7500, 'stor1', '10.0.0.1');
INSERT INTO device (devid, hostid, status, weight, mb_total, mb_used, mb_asof) VALUES (1, 1, 'alive', 100, 1000, 10, 1700000000);
INSERT INTO device (devid, hostid, status, weight) VALUES (2, 1, 'drain', 100);
INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES (41, 1, 'cat.jpg', 5, 1, 2);
INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES (42, 1, 'dog.jpg', 7, 0, 1);
INSERT INTO file_on (fid, devid) VALUES (41, 1);
INSERT INTO file_on (fid, devid) VALUES (41, 2);
INSERT INTO file_on (fid, devid) VALUES (42, 2);
INSERT INTO checksum (fid, hashtype, checksum) VALUES (41, 1, X'0123456789abcdef0123456789abcdef');
INSERT INTO file_to_replicate (fid, nexttry, fromdevid, failcount) VALUES (42, 0, 2, 1);
INSERT INTO tempfile (fid, createtime, classid, dmid, dkey, devids) VALUES (43, 1700000000, 0, 1, 'half.jpg', '1,2');
