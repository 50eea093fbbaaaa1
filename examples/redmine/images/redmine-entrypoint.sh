#!/bin/sh
# Redmine from Debian's packages, configured as the official redmine image
# is: REDMINE_DB_POSTGRES (the database's host), REDMINE_DB_PORT,
# REDMINE_DB_USERNAME, REDMINE_DB_PASSWORD, REDMINE_DB_DATABASE. It waits
# for the database, migrates it, loads Redmine's default data into a new
# one and serves on port 3000.
set -eu
: "${REDMINE_DB_POSTGRES:?set REDMINE_DB_POSTGRES to the PostgreSQL host}"
etc=/etc/redmine/default
as_www() { setpriv --reuid=www-data --regid=www-data --init-groups "$@"; }

# Values reach YAML through Ruby's own writer, never through the shell.
ruby -ryaml -e '
  user = ENV.fetch("REDMINE_DB_USERNAME", "postgres")
  db = { "adapter" => "postgresql", "host" => ENV["REDMINE_DB_POSTGRES"],
         "port" => Integer(ENV.fetch("REDMINE_DB_PORT", "5432")), "username" => user,
         "password" => ENV.fetch("REDMINE_DB_PASSWORD", ""),
         "database" => ENV.fetch("REDMINE_DB_DATABASE", user), "encoding" => "utf8" }
  File.write(ARGV[0], { "production" => db }.to_yaml)' "$etc/database.yml"
# Each container its own session secret; the image carries none.
[ -s "$etc/secret_key.txt" ] || ruby -rsecurerandom -e 'puts SecureRandom.hex(32)' > "$etc/secret_key.txt"
chown root:www-data "$etc/database.yml" "$etc/secret_key.txt"
chmod 0640 "$etc/database.yml" "$etc/secret_key.txt"

cd /usr/share/redmine
# SCHEMA=/dev/null: as Debian's own setup does, no schema dump into the
# read-only application tree.
tries=0
until as_www env SCHEMA=/dev/null bundle exec rake db:migrate >/tmp/migrate.log 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 90 ] || ! grep -q 'PG::ConnectionBad' /tmp/migrate.log; then
    cat /tmp/migrate.log >&2
    exit 1
  fi
  echo "lab-redmine: waiting for PostgreSQL at $REDMINE_DB_POSTGRES ($tries)"
  sleep 2
done
# Loads once: on a database that has it, Redmine says so and changes nothing.
as_www env REDMINE_LANG=en bundle exec rake redmine:load_default_data 2>&1 || true
# Puma itself, not `rails server`, which wants to write into the application tree.
exec setpriv --reuid=www-data --regid=www-data --init-groups \
  bundle exec puma --bind tcp://0.0.0.0:3000 --environment production config.ru
