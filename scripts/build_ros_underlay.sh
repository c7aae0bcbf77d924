#!/usr/bin/env bash
# Builds the real upstream ROS 2 Jazzy tools (launch, launch_testing, ros2cli, message_filters,
# cv_bridge, vision_msgs, ...) from ../shared/ros2_src into a cached underlay workspace, for
# machines whose ROS 2 comes from pip wheels: the wheels have none of them, while every apt
# install of ROS 2 has them all. See ../shared/ros2_src/README.md for what is built and why.
#
# Prints the underlay's install folder on its last line, or nothing when there is none to
# use: a system ROS 2 is sourced (its own packages are the real ones), or the sources are
# absent (a user's fresh clone without ../shared: the package then works as before, with
# compat/vision_msgs and the built-in fallbacks for message_filters and cv_bridge).
#
# Cached in $FR_UNDERLAY_CACHE (default ~/.cache/face_recognition/ros_underlay/<key>); the
# key covers the source archive, this script, the venv, its Python and its ROS wheels'
# versions, so an unchanged setup costs a second or two and a changed one builds afresh
# (6 min 39 s measured on 2 cores; delete the folder to reclaim its 40 MB). Concurrent runs wait for each other (flock); a half-built underlay (a killed
# build) is never used: only a finished one carries the `.complete` mark.
#
# The C++ packages (rclcpp, message_filters, cv_bridge) need Debian's libboost-python-dev and
# libopencv-dev: installed with apt-get when missing and running as root; otherwise only
# the Python tools are built (set FR_UNDERLAY_CPP=0 to skip the C++ side on purpose).
#
# Usage: scripts/build_ros_underlay.sh    (called by scripts/build_ros.sh)
# Env:   FR_ROS_SRC=archive   the sources (default ../shared/ros2_src/ros2-jazzy-src.tar.gz)
#        FR_VENV=path          the pip ROS 2 venv (default <repo>/.venv)
#        FR_NO_UNDERLAY=1      use none
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
archive=${FR_ROS_SRC:-$repo/../shared/ros2_src/ros2-jazzy-src.tar.gz}
say() { echo "build_ros_underlay.sh: $*" >&2; }

[ "${FR_NO_UNDERLAY:-0}" != 1 ] || exit 0
[ -f "$archive" ] || exit 0
if [ -n "${ROS_DISTRO:-}" ] && [ -d "/opt/ros/${ROS_DISTRO}" ]; then
  exit 0  # a system ROS 2 has the real packages
fi
venv=${FR_VENV:-$repo/.venv}
[ -x "$venv/bin/python" ] || { say "no venv at $venv: run scripts/setup_env.sh"; exit 1; }
archive=$(cd "$(dirname "$archive")" && pwd)/$(basename "$archive")

python_packages=(launch launch_xml launch_yaml launch_testing launch_ros ros2launch
  launch_testing_ros ros2cli ros2topic ros2service ros2param ros2node ros2pkg ros2run
  ros2interface rosidl_runtime_py vision_msgs)
cpp_packages=(message_filters cv_bridge)

# --- Can the C++ side be built? --------------------------------------------------------------
cpp=${FR_UNDERLAY_CPP:-1}
apt_packages=(libboost-python-dev libopencv-dev)
if [ "$cpp" = 1 ]; then
  missing=()
  for package in "${apt_packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      say "installing ${missing[*]} (for message_filters and cv_bridge) ..."
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
          --no-install-recommends "${missing[@]}"; } >&2 \
        || { say "apt-get failed: building the Python tools only"; cpp=0; }
    else
      say "${missing[*]} missing (sudo apt install ${missing[*]}): building the Python" \
        "tools only, without message_filters and cv_bridge"
      cpp=0
    fi
  fi
fi

# The underlay links against the wheels it was built with: their versions are in the key.
# The linters' wheels (ament_flake8, ament_pep257) are not built against: left out.
key=$(cat "$archive" "${BASH_SOURCE[0]}" \
        <(echo "$venv cpp=$cpp"; "$venv/bin/python" -VV
          "$venv/bin/python" -m pip freeze --all 2>/dev/null | grep -i '^ros-jazzy-' \
            | grep -viE '^ros-jazzy-ament-(cmake-)?(flake8|pep257|lint)[=]' | sort) \
      | sha256sum | cut -c1-16)
cache=${FR_UNDERLAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/face_recognition/ros_underlay}
dir=$cache/$key
if [ -f "$dir/install/.complete" ]; then
  echo "$dir/install"
  exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/$key.lock"
flock 9
if [ -f "$dir/install/.complete" ]; then  # built by another run while this one waited
  echo "$dir/install"
  exit 0
fi
rm -rf "$dir"
mkdir -p "$dir"
start_s=$SECONDS
say "building the upstream ROS 2 tools into $dir (once per setup; several minutes) ..."

# shellcheck disable=SC1091
. "$venv/bin/activate"
# A build must see the wheels only: another workspace on these paths would be used silently.
unset COLCON_PREFIX_PATH CMAKE_PREFIX_PATH PYTHONPATH
export AMENT_PREFIX_PATH=$VIRTUAL_ENV

if [ "$cpp" = 1 ]; then
  # The wheels' CMake export files name libraries of the machine that built them, which
  # packages linking rcl/rclcpp then cannot find: the wheels' own libraries carry them.
  mapfile -t tinyxml < <(grep -rl --include='*.cmake' '/usr/lib64/libtinyxml2.so' \
                           "$venv/share" 2>/dev/null || true)
  if [ "${#tinyxml[@]}" -gt 0 ]; then
    sed -i -e 's#/usr/lib64/libtinyxml2\.so;##g' -e 's#;/usr/lib64/libtinyxml2\.so##g' \
      "${tinyxml[@]}"
  fi
  mapfile -t lttng < <(grep -rl --include='*.cmake' 'lttng-ust' "$venv/share/tracetools" \
                         2>/dev/null || true)
  if [ "${#lttng[@]}" -gt 0 ]; then
    sed -i -e 's#lttng-ust;##g' -e 's#;lttng-ust##g' -e 's#"lttng-ust"#""#g' "${lttng[@]}"
  fi
  packages=("${python_packages[@]}" "${cpp_packages[@]}")
else
  packages=("${python_packages[@]}")
fi

mkdir -p "$dir/src"
tar -xzf "$archive" -C "$dir/src"
# rcl_interfaces' other packages would shadow the wheels' messages: keep only what is needed.
if [ -d "$dir/src/rcl_interfaces" ]; then
  find "$dir/src/rcl_interfaces" -mindepth 1 -maxdepth 1 -type d \
    ! -name composition_interfaces ! -name statistics_msgs -exec rm -rf {} +
fi
(
  cd "$dir"
  colcon --log-base "$dir/log" build --base-paths "$dir/src" \
    --build-base "$dir/build" --install-base "$dir/install" --merge-install \
    --packages-up-to "${packages[@]}" \
    --cmake-args -DBUILD_TESTING=OFF "-DPython3_EXECUTABLE=$venv/bin/python" \
      -DCMAKE_BUILD_TYPE=Release
) >&2 || { say "the build failed; its log is in $dir/log"; exit 1; }
rm -rf "$dir/build" "$dir/src"  # 64 MB of objects that nothing needs afterwards
printf '%s\n' "${packages[@]}" > "$dir/install/.complete"
say "built in $((SECONDS - start_s)) s"
echo "$dir/install"
