# Sourced by the scripts that build Swift code or measure: /tmp/swiftglb-build.lock, when the
# file exists, keeps Swift builds apart (two at once overload a small machine) and keeps builds
# away from measurements. Whoever holds it is found through /proc/locks, so a script started
# under `flock /tmp/swiftglb-build.lock`, or by one that holds the lock, never waits for its
# own caller.

SWIFTGLB_BUILD_LOCK=/tmp/swiftglb-build.lock

# True when this process or one it descends from holds a flock on the lock file.
build_lock_held() {
  local inode pid ancestors=" "
  inode=$(stat -c %i "$SWIFTGLB_BUILD_LOCK" 2>/dev/null) || return 1
  pid=$$
  while [ -n "$pid" ] && [ "$pid" -gt 1 ]; do
    ancestors+="$pid "
    pid=$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
  done
  # /proc/locks: "N: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE 0 EOF"; waiters have "->" there.
  awk -v inode="$inode" '$2 == "FLOCK" { split($6, id, ":"); if (id[3] == inode) print $5 }' /proc/locks |
    { while read -r holder; do case "$ancestors" in *" $holder "*) exit 0 ;; esac; done; exit 1; }
}

# Runs the command holding the lock, unless there is no lock file or the lock is ours already.
with_build_lock() {
  if [ -e "$SWIFTGLB_BUILD_LOCK" ] && ! build_lock_held; then
    flock "$SWIFTGLB_BUILD_LOCK" "$@"
  else
    "$@"
  fi
}

# For a script that holds the lock from start to end: `hold_build_lock "$0" "$@"` at its top
# starts the script again under the lock, unless it holds it already.
hold_build_lock() {
  if [ -e "$SWIFTGLB_BUILD_LOCK" ] && ! build_lock_held; then
    exec flock "$SWIFTGLB_BUILD_LOCK" "$@"
  fi
}
