#!/usr/bin/env bash
# mariadb.sh start|stop|env — a private MariaDB server for the metadata tests.
#
#   start  install mariadb-server if missing, initialise a datadir, start mariadbd
#          on 127.0.0.1:${MOGFS_MARIADB_PORT:-3307}, create user mogile/mogpass and
#          database mogilefs_test. A no-op when the server already answers.
#   stop   kill the server by its pid file (never by name) and wait for it to exit.
#   env    print the export lines tests read through internal/testenv.MariaDBDSN:
#            eval "$(scripts/mariadb.sh env)"
#
# State lives under ${MOGFS_MARIADB_DIR:-/tmp/mogfs-mariadb}; nothing system-wide is
# touched apart from the apt package install.
set -euo pipefail

DIR=${MOGFS_MARIADB_DIR:-/tmp/mogfs-mariadb}
PORT=${MOGFS_MARIADB_PORT:-3307}
DATA=$DIR/data
SOCK=$DIR/mysqld.sock
PIDFILE=$DIR/mysqld.pid
LOG=$DIR/mysqld.log
DB_USER=mogile
DB_PASS=mogpass
DB_NAME=mogilefs_test

find_bin() { # first of the given names on PATH or in the usual sbin dirs
	local n
	for n in "$@"; do
		if command -v "$n" >/dev/null 2>&1; then command -v "$n"; return 0; fi
		for d in /usr/sbin /usr/local/sbin /usr/bin; do
			if [[ -x $d/$n ]]; then echo "$d/$n"; return 0; fi
		done
	done
	return 1
}

client() { # run SQL as root over our private socket
	local c
	c=$(find_bin mariadb mysql)
	"$c" --no-defaults --protocol=socket --socket="$SOCK" -uroot "$@"
}

running() {
	[[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null &&
		client -e 'SELECT 1' >/dev/null 2>&1
}

install() {
	if find_bin mariadbd mysqld >/dev/null && find_bin mariadb-install-db mysql_install_db >/dev/null; then
		return 0
	fi
	echo "mariadb.sh: installing mariadb-server" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# --no-install-recommends: we only need the server and client, not the extras.
	apt-get install -y -qq --no-install-recommends mariadb-server mariadb-client >/dev/null
	# The package's postinst may start the system service; we run our own private
	# server, so leave the system one alone (it listens on 3306, not our port).
}

start() {
	mkdir -p "$DIR"
	if running; then
		return 0
	fi
	install
	local mysqld installdb
	mysqld=$(find_bin mariadbd mysqld)
	installdb=$(find_bin mariadb-install-db mysql_install_db)
	if [[ ! -d $DATA/mysql ]]; then
		rm -rf "$DATA"
		# --auth-root-authentication-method=normal: root gets a password-less
		# login over our socket instead of unix_socket auth tied to the OS user.
		# --skip-test-db: we create our own databases.
		"$installdb" --no-defaults --user=root --datadir="$DATA" \
			--auth-root-authentication-method=normal --skip-test-db >"$DIR/install.log" 2>&1 || {
			cat "$DIR/install.log" >&2
			exit 1
		}
	fi
	# --no-defaults: ignore /etc/mysql so the system config cannot move our
	# port, socket or datadir. --user=root: we are root and own the datadir.
	# --skip-name-resolve: no DNS lookups for loopback clients.
	# innodb-flush-log-at-trx-commit=2 and sync-binlog off: a test server does
	# not need durability across power loss, and fsync per commit slows tests.
	nohup "$mysqld" --no-defaults --user=root --datadir="$DATA" \
		--bind-address=127.0.0.1 --port="$PORT" --socket="$SOCK" --pid-file="$PIDFILE" \
		--log-error="$LOG" --skip-name-resolve --character-set-server=utf8mb4 \
		--collation-server=utf8mb4_general_ci --max-connections=500 \
		--innodb-flush-log-at-trx-commit=2 --innodb-buffer-pool-size=128M \
		--skip-log-bin >/dev/null 2>&1 &
	local i
	for i in $(seq 1 150); do
		if running; then
			break
		fi
		sleep 0.2
	done
	if ! running; then
		echo "mariadb.sh: server did not come up; log follows" >&2
		tail -n 50 "$LOG" >&2 || true
		exit 1
	fi
	client <<-SQL
		CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
		CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
		GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'127.0.0.1' WITH GRANT OPTION;
		GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'localhost' WITH GRANT OPTION;
		CREATE DATABASE IF NOT EXISTS $DB_NAME CHARACTER SET utf8mb4;
		FLUSH PRIVILEGES;
	SQL
	echo "mariadb.sh: MariaDB on 127.0.0.1:$PORT (datadir $DATA)" >&2
}

stop() {
	[[ -f $PIDFILE ]] || return 0
	local pid i
	pid=$(cat "$PIDFILE")
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		for i in $(seq 1 150); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
	fi
	rm -f "$PIDFILE"
}

env_lines() {
	echo "export MOGFS_TEST_MYSQL_DSN='DBI:mysql:$DB_NAME:host=127.0.0.1;port=$PORT'"
	echo "export MOGFS_TEST_MYSQL_USER='$DB_USER'"
	echo "export MOGFS_TEST_MYSQL_PASS='$DB_PASS'"
}

case ${1:-} in
start) start ;;
stop) stop ;;
env) env_lines ;;
*)
	echo "usage: $0 start|stop|env" >&2
	exit 2
	;;
esac
