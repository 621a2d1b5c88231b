# shellcheck shell=bash
# Sourced by scripts/test.sh and scripts/demo.sh: create or reuse insarflow's virtualenv and
# install the package into it, on a machine that has nothing but Python >= 3.11.
#
#   INSARFLOW_VENV    the virtualenv (default: .venv in the repository); reused when present
#   INSARFLOW_PYTHON  interpreter for a new virtualenv (default: the first python3.X >= 3.11)
#
# After `insarflow_venv [EXTRAS]`, $INSARFLOW_VENV/bin is first on PATH. The install is
# skipped when pyproject.toml and the extras are unchanged since the last one.

INSARFLOW_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
INSARFLOW_VENV=${INSARFLOW_VENV:-$INSARFLOW_REPO/.venv}

_venv_say() { printf '[venv] %s\n' "$*"; }

_find_python() {
  local candidate
  for candidate in ${INSARFLOW_PYTHON:-} python3 python3.13 python3.12 python3.11 python; do
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

_create_venv() {
  local python
  python=$(_find_python) || {
    echo "insarflow: no Python >= 3.11 found (set INSARFLOW_PYTHON to one)" >&2
    return 1
  }
  _venv_say "creating $INSARFLOW_VENV with $python ($("$python" --version 2>&1))"
  if ! "$python" -m venv "$INSARFLOW_VENV" 2>/dev/null; then
    # Debian's own python3 ships venv without ensurepip: install python3.X-venv once.
    local version
    version=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
      _venv_say "installing python$version-venv with apt-get"
      rm -rf "$INSARFLOW_VENV"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python$version-venv" >/dev/null
      "$python" -m venv "$INSARFLOW_VENV"
    else
      echo "insarflow: '$python -m venv' failed; install python$version-venv (Debian) or set INSARFLOW_PYTHON" >&2
      return 1
    fi
  fi
}

# What a complete install can import (MintPy reads GeoTIFFs through osgeo.gdal / gdal_array).
_INSARFLOW_IMPORTS='import insarflow, mintpy; from osgeo import gdal, gdal_array'

# The GDAL Python bindings for the time-series stage (MintPy). PyPI has them as an sdist only,
# which must be built against the system libgdal of the same version, with numpy already
# installed (else gdal_array is left out) and without build isolation. Idempotent: nothing
# happens when `from osgeo import gdal_array` already works.
_ensure_gdal_bindings() {
  local python=$INSARFLOW_VENV/bin/python log=$INSARFLOW_VENV/gdal-install.log version
  "$python" -c 'from osgeo import gdal, gdal_array' 2>/dev/null && return 0
  if ! command -v gdal-config >/dev/null || ! command -v g++ >/dev/null; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
      _venv_say "installing libgdal-dev gdal-bin g++ with apt-get (for the GDAL Python bindings)"
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        libgdal-dev gdal-bin g++; } >"$log" 2>&1 || {
        tail -n 20 "$log" >&2
        echo "insarflow: apt-get install libgdal-dev gdal-bin g++ failed; see $log" >&2
        return 1
      }
    else
      echo "insarflow: the GDAL Python bindings need gdal-config and g++: install libgdal-dev" \
        "gdal-bin g++ (Debian/Ubuntu, as root), or use --sdm conda with envs/mintpy.yaml" >&2
      return 1
    fi
  fi
  version=$(gdal-config --version)
  _venv_say "building the GDAL $version Python bindings against the system libgdal (log: $log)"
  if ! { "$python" -m pip install --disable-pip-version-check --no-input "setuptools>=68" wheel numpy &&
    "$python" -m pip install --disable-pip-version-check --no-input --no-build-isolation \
      "gdal==$version"; } >>"$log" 2>&1 ||
    ! "$python" -c 'from osgeo import gdal, gdal_array' 2>>"$log"; then
    tail -n 40 "$log" >&2
    echo "insarflow: pip install gdal==$version failed; see $log" >&2
    return 1
  fi
}

# insarflow_venv [EXTRAS]: e.g. `insarflow_venv test` installs ".[test]".
insarflow_venv() {
  local extras=${1:-} spec="." stamp stamp_file candidate installed="" candidates
  [[ -n $extras ]] && spec=".[$extras]"
  [[ -x $INSARFLOW_VENV/bin/python ]] || _create_venv
  stamp="$(sha256sum "$INSARFLOW_REPO/pyproject.toml" | cut -d' ' -f1) $INSARFLOW_REPO"
  stamp_file=$INSARFLOW_VENV/.insarflow-install-${extras:-base}
  # An install with extras also satisfies a plain one.
  candidates=("$stamp_file")
  [[ -n $extras ]] || candidates+=("$INSARFLOW_VENV"/.insarflow-install-*)
  for candidate in "${candidates[@]}"; do
    [[ -f $candidate && $(<"$candidate") == "$stamp" ]] && installed=yes
  done
  if [[ -z $installed ]] || ! "$INSARFLOW_VENV/bin/python" -c "$_INSARFLOW_IMPORTS" 2>/dev/null; then
    _venv_say "pip install -e '$spec' into $INSARFLOW_VENV (log: $INSARFLOW_VENV/pip-install.log)"
    if ! (cd "$INSARFLOW_REPO" &&
      "$INSARFLOW_VENV/bin/python" -m pip install --disable-pip-version-check --no-input \
        -e "$spec") >"$INSARFLOW_VENV/pip-install.log" 2>&1; then
      tail -n 40 "$INSARFLOW_VENV/pip-install.log" >&2
      echo "insarflow: pip install -e '$spec' failed; see $INSARFLOW_VENV/pip-install.log" >&2
      return 1
    fi
    _ensure_gdal_bindings || return 1
    echo "$stamp" >"$stamp_file"
  else
    _venv_say "reusing $INSARFLOW_VENV (pyproject.toml unchanged since its install)"
  fi
  export PATH="$INSARFLOW_VENV/bin:$PATH" VIRTUAL_ENV=$INSARFLOW_VENV
}
