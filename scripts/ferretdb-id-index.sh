#!/usr/bin/env bash
# Gives FerretDB 1.24 on SQLite the index its own lookups by _id need (docs/production.md, "FerretDB").
#
# FerretDB stores each collection as a SQLite table of JSON documents. It finds, updates and deletes a document by
# _id with `WHERE _ferretdb_sjson->'$._id' = ?`, but the unique index it creates for _id is on
# `_ferretdb_sjson->"_id"`, and SQLite uses an expression index only for the very expression it was built on: every
# read, update or delete by _id reads the whole table (1.3 s per updateOne at 100,000 documents). This adds to every
# collection's table a second index, on the expression FerretDB's queries use (4.9 ms at the same size). FerretDB
# does not know of it and needs not: SQLite keeps it up to date and drops it with the table.
#
#   ferretdb-id-index.sh DIR                once, for every database file in DIR (FerretDB's --sqlite-url folder)
#   ferretdb-id-index.sh --watch PID DIR    every 2 s while process PID (FerretDB) runs; services.sh starts it
#
# Needs the sqlite3 shell (Debian: sqlite3). Safe while FerretDB runs: SQLite's locks order the writes, and
# building the index on an existing table of a million documents holds FerretDB's writes for a few seconds.
set -euo pipefail

suffix="_trackmate_id"

# The tables of FerretDB's collections in database file $1 that lack the index, one per line.
missing() {
  sqlite3 -batch -cmd ".timeout 10000" "$1" \
    "SELECT table_name FROM _ferretdb_collections
      WHERE table_name NOT IN (SELECT tbl_name FROM sqlite_master WHERE type = 'index' AND name = tbl_name || '$suffix')" \
    2>/dev/null || true
}

index_file() {
  local file="$1" table sql=""
  while IFS= read -r table; do
    [[ "$table" =~ ^[A-Za-z0-9_]+$ ]] || continue # FerretDB names its tables <collection>_<hash>
    sql+="CREATE INDEX IF NOT EXISTS \"$table$suffix\" ON \"$table\" (_ferretdb_sjson->'\$._id');"
  done < <(missing "$file")
  [[ -n "$sql" ]] || return 0
  sqlite3 -batch -cmd ".timeout 10000" "$file" "$sql" ||
    printf 'ferretdb-id-index: could not index %s (retried on its next change)\n' "$file" >&2
}

index_dir() {
  local file
  for file in "$1"/*.sqlite; do [[ -f "$file" ]] && index_file "$file"; done
  return 0
}

command -v sqlite3 >/dev/null || { echo "ferretdb-id-index: no sqlite3 shell (apt-get install sqlite3)" >&2; exit 1; }

if [[ "${1:-}" != --watch ]]; then
  [[ -d "${1:-}" ]] || { echo "usage: ferretdb-id-index.sh DIR | --watch PID DIR" >&2; exit 2; }
  index_dir "$1"
  exit 0
fi

pid="$2" dir="$3"
declare -A seen=()
while kill -0 "$pid" 2>/dev/null; do
  for file in "$dir"/*.sqlite; do
    [[ -f "$file" ]] || continue
    # A file is looked at again only when it or its write-ahead log changed (a collection is created by a write).
    mark=$(stat -c '%s.%Y' "$file" "$file-wal" 2>/dev/null | tr '\n' ' ' || true)
    [[ "${seen[$file]:-}" == "$mark" ]] && continue
    index_file "$file"
    seen[$file]="$mark"
  done
  sleep 2
done
