-- A MogileFS 2.73 database as Store/SQLite.pm creates it (schema version 17;
-- SQLite wants table constraints after the columns), with a few rows. Statements are separated by ";" at the end of a line.
CREATE TABLE domain (
   dmid         SMALLINT UNSIGNED NOT NULL PRIMARY KEY,
   namespace    VARCHAR(255),
   UNIQUE (namespace));
CREATE TABLE class (
      dmid          SMALLINT UNSIGNED NOT NULL,
      classid       TINYINT UNSIGNED NOT NULL,
      classname     VARCHAR(50),
      mindevcount   TINYINT UNSIGNED NOT NULL,
      hashtype  TINYINT UNSIGNED,
      replpolicy VARCHAR(255),
      UNIQUE      (dmid,classname),
      UNIQUE (dmid,classid));
CREATE TABLE file (
   fid          INT UNSIGNED NOT NULL,
   dmid          SMALLINT UNSIGNED NOT NULL,
   dkey           VARCHAR(255),
   length        INT UNSIGNED,
   classid       TINYINT UNSIGNED NOT NULL,
   devcount      TINYINT UNSIGNED NOT NULL,
   PRIMARY KEY  (fid),
   UNIQUE (dmid, dkey));
CREATE TABLE tempfile (
   fid          INTEGER PRIMARY KEY AUTOINCREMENT,
   createtime   INT UNSIGNED NOT NULL,
   classid      TINYINT UNSIGNED NOT NULL,
   dmid          SMALLINT UNSIGNED NOT NULL,
   dkey           VARCHAR(255),
   devids       VARCHAR(60));
CREATE TABLE file_on (
   fid          INT UNSIGNED NOT NULL,
   devid        MEDIUMINT UNSIGNED NOT NULL,
   PRIMARY KEY (fid, devid));
CREATE INDEX devid ON file_on (devid);
CREATE TABLE file_on_corrupt (
   fid          INT UNSIGNED NOT NULL,
   devid        MEDIUMINT UNSIGNED NOT NULL,
   PRIMARY KEY (fid, devid));
CREATE TABLE host (
   hostid     MEDIUMINT UNSIGNED NOT NULL PRIMARY KEY,
   status     TEXT,
   http_port  MEDIUMINT UNSIGNED DEFAULT 7500,
   http_get_port MEDIUMINT UNSIGNED,
   hostname   VARCHAR(40),
   hostip     VARCHAR(15),
   altip      VARCHAR(15),
   altmask    VARCHAR(18),
   UNIQUE     (hostname),
   UNIQUE     (hostip),
   UNIQUE     (altip));
CREATE TABLE device (
   devid   MEDIUMINT UNSIGNED NOT NULL,
   hostid     MEDIUMINT UNSIGNED NOT NULL,
   status  TEXT,
   weight  MEDIUMINT DEFAULT 100,
   mb_total   INT UNSIGNED,
   mb_used    INT UNSIGNED,
   mb_asof    INT UNSIGNED,
   PRIMARY KEY (devid));
CREATE INDEX status ON device (status);
CREATE TABLE server_settings (
   field   VARCHAR(50) PRIMARY KEY,
   value   TEXT);
CREATE TABLE file_to_replicate (
   fid        INT UNSIGNED NOT NULL PRIMARY KEY,
   nexttry    INT UNSIGNED NOT NULL,
   fromdevid  INT UNSIGNED,
   failcount  TINYINT UNSIGNED NOT NULL DEFAULT 0,
   flags      SMALLINT UNSIGNED NOT NULL DEFAULT 0);
CREATE INDEX nexttry ON file_to_replicate (nexttry);
CREATE TABLE file_to_delete (
   fid  INT UNSIGNED NOT NULL,
   PRIMARY KEY (fid));
CREATE TABLE unreachable_fids (
   fid        INT UNSIGNED NOT NULL,
   lastupdate INT UNSIGNED NOT NULL,
   PRIMARY KEY (fid));
CREATE INDEX lastupdate ON unreachable_fids (lastupdate);
CREATE TABLE file_to_delete_later (
   fid  INT UNSIGNED NOT NULL,
   delafter INT UNSIGNED NOT NULL,
   PRIMARY KEY (fid));
CREATE INDEX delafter ON file_to_delete_later (delafter);
CREATE TABLE fsck_log (
   logid  INTEGER PRIMARY KEY AUTOINCREMENT,
   utime  INT UNSIGNED NOT NULL,
   fid    INT UNSIGNED NULL,
   evcode CHAR(4),
   devid  MEDIUMINT UNSIGNED);
CREATE INDEX utime ON fsck_log (utime);
CREATE TABLE file_to_queue (
   fid       INT UNSIGNED NOT NULL,
   devid     INT UNSIGNED,
   type      TINYINT UNSIGNED NOT NULL,
   nexttry   INT UNSIGNED NOT NULL,
   failcount TINYINT UNSIGNED NOT NULL default '0',
   flags     SMALLINT UNSIGNED NOT NULL default '0',
   arg       TEXT,
   PRIMARY KEY (fid, type));
CREATE INDEX type_nexttry ON file_to_queue (type,nexttry);
CREATE TABLE file_to_delete2 (
   fid INT UNSIGNED NOT NULL PRIMARY KEY,
   nexttry INT UNSIGNED NOT NULL,
   failcount TINYINT UNSIGNED NOT NULL default '0');
CREATE INDEX file_to_delete2_nexttry ON file_to_delete2 (nexttry);
CREATE TABLE checksum (
   fid INT UNSIGNED NOT NULL PRIMARY KEY,
   hashtype TINYINT UNSIGNED NOT NULL,
   checksum VARBINARY(64) NOT NULL);
CREATE TABLE lock (
   lockid     INT UNSIGNED NOT NULL PRIMARY KEY,
   hostname   VARCHAR(255) NOT NULL,
   pid        INT UNSIGNED NOT NULL,
   acquiredat INT UNSIGNED NOT NULL);
INSERT INTO server_settings (field, value) VALUES ('schema_version', '17');
INSERT INTO domain (dmid, namespace) VALUES (1, 'photos');
INSERT INTO class (dmid, classid, classname, mindevcount, hashtype, replpolicy) VALUES (1, 1, 'thumbs', 3, 1, 'MultipleHosts(3)');
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
