#!/usr/bin/env bash
# Builds the ROS 2 package face_recognition (and, where vision_msgs is not installed, the
# vision_msgs stand-in in compat/vision_msgs) with colcon into <workspace>/{build,install,log}.
#
# Works two ways:
# - a sourced system ROS 2 (apt: `source /opt/ros/<distro>/setup.bash` first): builds with
#   the system colcon and CMake packages;
# - ROS 2 Jazzy from pip wheels (the project venv, see scripts/setup_env.sh and
#   ../shared/ROS2_FROM_PIP.md): fixes the wheels' CMake export files, points
#   AMENT_PREFIX_PATH at the venv and builds with BUILD_TESTING=OFF; on top of the upstream
#   tools built from ../shared/ros2_src when present (scripts/build_ros_underlay.sh).
# Safe and fast to run again: when no input changed since the last successful build it
# returns at once; otherwise colcon rebuilds incrementally.
#
# Usage: scripts/build_ros.sh [extra colcon build arguments]
# Env:   FR_WS=dir              workspace holding build/ install/ log/ (default: the repo)
#        FR_VENV=path           venv with pip ROS 2 (default: <repo>/.venv)
#        FR_SYMLINK_INSTALL=0   copy files into install/ instead of symlinking them (with
#                               symlinks, edits to Python files need no rebuild)
#        FR_FORCE=1             run colcon even when nothing changed
#        FR_BUILD_TESTING=1     configure with BUILD_TESTING=ON, so that `colcon test` runs
#                               the package's tests (the launch_testing test of the launch file)
# Afterwards: `source scripts/ros_env.sh` puts the package on the path.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ws=${FR_WS:-$repo}
mkdir -p "$ws"
ws=$(cd "$ws" && pwd)
start_s=$SECONDS

die() { echo "build_ros.sh: $*" >&2; exit 1; }

# --- Which ROS 2 ------------------------------------------------------------------------
mode=pip
if [ -n "${ROS_DISTRO:-}" ] && [ -d "/opt/ros/${ROS_DISTRO}" ] \
    && python3 -c 'import rclpy' 2>/dev/null; then
  mode=system
fi

cmake_args=("-DBUILD_TESTING=$([ "${FR_BUILD_TESTING:-0}" = 1 ] && echo ON || echo OFF)")
if [ "$mode" = pip ]; then
  venv=${FR_VENV:-$repo/.venv}
  [ -x "$venv/bin/python" ] || die "no ROS 2 found: source /opt/ros/<distro>/setup.bash, \
or create the pip environment first with scripts/setup_env.sh (expected $venv)"
  # shellcheck disable=SC1091
  . "$venv/bin/activate"
  python -c 'import rclpy' 2>/dev/null \
    || die "$venv has no rclpy: run scripts/setup_env.sh (it installs requirements/ros_pip.txt)"
  command -v colcon >/dev/null || die "$venv has no colcon: run scripts/setup_env.sh"
  # The wheels' CMake export files name the wheel build machine's Python and numpy include
  # folders; CMake refuses targets whose include folders do not exist. Point them here.
  py_include=$(python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  np_include=$(python -c 'import numpy; print(numpy.get_include())')
  mapfile -t stale < <(grep -rl --include='*.cmake' '/opt/python/cp3' "$venv/share" || true)
  if [ "${#stale[@]}" -gt 0 ]; then
    echo "Fixing include paths in ${#stale[@]} CMake export files of the ROS wheels" >&2
    wheel_py='/opt/python/cp3[0-9]+-cp3[0-9]+'
    sed -i -E \
      -e "s#${wheel_py}/lib/python3\.[0-9]+/site-packages/numpy/_core/include#${np_include}#g" \
      -e "s#${wheel_py}/include/python3\.[0-9]+#${py_include}#g" \
      "${stale[@]}"
  fi
  # Without the venv on AMENT_PREFIX_PATH rosidl finds no typesupport packages.
  case ":${AMENT_PREFIX_PATH:-}:" in
    *":$VIRTUAL_ENV:"*) ;;
    *) export AMENT_PREFIX_PATH="$VIRTUAL_ENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}" ;;
  esac
  cmake_args+=("-DPython3_EXECUTABLE=$venv/bin/python")
  # CMake refuses to export a target whose include folder lies inside the package's source
  # folder, and the project venv lives in the repository (<repo>/.venv). /proc/self/root/...
  # names the same folder by a path CMake does not see as inside the sources.
  case "$np_include/" in
    "$repo/"*) cmake_args+=("-DPython3_NumPy_INCLUDE_DIR=/proc/self/root$np_include") ;;
  esac
else
  command -v colcon >/dev/null \
    || die "colcon not found: sudo apt install python3-colcon-common-extensions"
fi

# --- The real upstream tools (launch, ros2cli, message_filters, cv_bridge, vision_msgs) ---------
# A system ROS 2 has them; with the pip wheels they are built once from ../shared/ros2_src
# into a cached underlay (scripts/build_ros_underlay.sh), when those sources are present.
underlay=''
if [ "$mode" = pip ]; then
  underlay=$(FR_VENV="$venv" "$repo/scripts/build_ros_underlay.sh" | tail -n 1)
  if [ -n "$underlay" ]; then
    set +u  # colcon's setup scripts read unset variables
    # shellcheck disable=SC1091
    . "$underlay/setup.bash"
    set -u
    case ":${AMENT_PREFIX_PATH:-}:" in
      *":$VIRTUAL_ENV:"*) ;;
      *) export AMENT_PREFIX_PATH="${AMENT_PREFIX_PATH:+$AMENT_PREFIX_PATH:}$VIRTUAL_ENV" ;;
    esac
  fi
fi

# --- Is vision_msgs already installed (not by us)? -----------------------------------------
has_vision_msgs=0
IFS=: read -r -a prefixes <<< "${AMENT_PREFIX_PATH:-}"
for prefix in "${prefixes[@]}"; do
  [ -n "$prefix" ] || continue
  case "$prefix" in "$ws/install"*) continue ;; esac
  if [ -e "$prefix/share/ament_index/resource_index/packages/vision_msgs" ]; then
    has_vision_msgs=1
  fi
done
base_paths=("$repo")
if [ "$has_vision_msgs" = 1 ]; then
  # A stand-in built earlier would shadow the real package: the workspace is sourced last.
  rm -rf "$ws/install/vision_msgs" "$ws/build/vision_msgs"
else
  # colcon stops descending at the repository's own package.xml: name the stand-in here.
  base_paths+=("$repo/compat/vision_msgs")
fi

symlink_args=()
[ "${FR_SYMLINK_INSTALL:-1}" = 0 ] || symlink_args=(--symlink-install)

# --- Nothing changed since the last build? --------------------------------------------------
# With symlinks, Python edits reach install/ by themselves: only their names count then.
fingerprint() {
  cd "$repo"
  {
    echo "$mode ${ROS_DISTRO:-} ${VIRTUAL_ENV:-} ${has_vision_msgs} ${symlink_args[*]:-} $*"
    echo "${cmake_args[*]}"
    echo "underlay: $underlay"
    find package.xml CMakeLists.txt msg srv compat scripts/nodes launch config \
        face_recognition_ros -name __pycache__ -prune -o -type f -print 2>/dev/null \
      | LC_ALL=C sort | while IFS= read -r f; do
          if [ "${#symlink_args[@]}" -gt 0 ] && [[ "$f" == *.py ]]; then
            echo "$f"
          else
            echo "$f $(stat -c '%s %Y' "$f")"
          fi
        done
  } | sha256sum | cut -c1-32
}
stamp_file=$ws/install/.face_recognition_build_stamp
want=$(fingerprint "$@")
if [ "${FR_FORCE:-0}" != 1 ] && [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$want" ] \
    && [ -d "$ws/install/face_recognition" ]; then
  echo "face_recognition is up to date in $ws/install (FR_FORCE=1 rebuilds)" >&2
  exit 0
fi

vision_from=$([ "$has_vision_msgs" = 1 ] && echo installed || echo 'from compat/')
echo "Building face_recognition ($mode ROS 2${ROS_DISTRO:+ $ROS_DISTRO}; vision_msgs" \
  "$vision_from${underlay:+; upstream tools from $underlay}) in $ws" >&2
cd "$ws"
rm -f "$stamp_file"
colcon --log-base "$ws/log" build \
  --base-paths "${base_paths[@]}" \
  --build-base "$ws/build" --install-base "$ws/install" \
  "${symlink_args[@]}" \
  "$@" \
  --cmake-args "${cmake_args[@]}" >&2
echo "$want" > "$stamp_file"
# ros_env.sh sources the same underlay before the workspace.
echo "$underlay" > "$ws/install/.face_recognition_underlay"
echo "Built in $((SECONDS - start_s)) s. Use it: source $repo/scripts/ros_env.sh" >&2
