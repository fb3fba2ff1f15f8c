# Sourced by ./nibble: finds a JDK >= 25 and exports JAVA_HOME to it.
# Order: $JAVA_HOME if it is >= 25; then the usual install folders on Linux and macOS (Debian/Ubuntu/Fedora
# /usr/lib/jvm, /usr/java, /opt, SDKMAN, IntelliJ's ~/.jdks, macOS JavaVirtualMachines, Homebrew); then `java` on PATH.
# The newest JDK found wins among the folders.

nibble_jdk_major() { # prints the feature version of the JDK at $1, or nothing
  local home="$1" v=""
  [ -x "$home/bin/java" ] || return 0
  if [ -f "$home/release" ]; then
    v=$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$home/release" | head -n 1)
  fi
  if [ -z "$v" ]; then
    v=$("$home/bin/java" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)
  fi
  v=${v#1.}
  echo "${v%%[.+-]*}"
}

nibble_find_jdk() {
  local min=25 best="" best_v=0 home v
  if [ -n "${JAVA_HOME:-}" ]; then
    v=$(nibble_jdk_major "$JAVA_HOME")
    if [ -n "$v" ] && [ "$v" -ge "$min" ] 2>/dev/null; then
      echo "$JAVA_HOME"
      return 0
    fi
  fi
  for home in /usr/lib/jvm/* /usr/java/* /opt/java/* /opt/jdk* /opt/*jdk* \
      "$HOME"/.sdkman/candidates/java/* "$HOME"/.jdks/* \
      /Library/Java/JavaVirtualMachines/*/Contents/Home "$HOME"/Library/Java/JavaVirtualMachines/*/Contents/Home \
      /opt/homebrew/opt/openjdk*/libexec/openjdk.jdk/Contents/Home /usr/local/opt/openjdk*/libexec/openjdk.jdk/Contents/Home; do
    [ -d "$home" ] || continue
    [ -L "$home" ] && [ "$(basename "$home")" = current ] && continue
    v=$(nibble_jdk_major "$home")
    if [ -n "$v" ] && [ "$v" -ge "$min" ] 2>/dev/null && [ "$v" -gt "$best_v" ]; then
      best="$home"
      best_v="$v"
    fi
  done
  if [ -z "$best" ] && command -v java >/dev/null 2>&1; then
    home=$(cd "$(dirname "$(readlink -f "$(command -v java)")")/.." && pwd)
    v=$(nibble_jdk_major "$home")
    if [ -n "$v" ] && [ "$v" -ge "$min" ] 2>/dev/null; then best="$home"; fi
  fi
  if [ -z "$best" ]; then
    cat >&2 <<MSG
nibble: no JDK 25 or newer found.
  Looked at JAVA_HOME (${JAVA_HOME:-unset}), /usr/lib/jvm, /usr/java, /opt, SDKMAN, ~/.jdks,
  /Library/Java/JavaVirtualMachines and the java on PATH.
  Install one, e.g. Temurin 25:  apt-get install temurin-25-jdk  (Adoptium repository),
  brew install --cask temurin@25,  or  sdk install java 25-tem  -- then run this command again
  (or point JAVA_HOME at it).
MSG
    return 1
  fi
  echo "$best"
}
