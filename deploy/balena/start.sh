#!/bin/sh
# Container entry point. balena gives each device a UUID; it becomes the MQTT device id unless the fleet
# or device sets EMOTION_AGENT_DEVICE_ID (an image has no machine id of its own, and one baked into the
# image would be the same on every device).
set -eu
if [ -z "${EMOTION_AGENT_DEVICE_ID:-}" ] && [ -n "${BALENA_DEVICE_UUID:-}" ]; then
  EMOTION_AGENT_DEVICE_ID="$BALENA_DEVICE_UUID"
  export EMOTION_AGENT_DEVICE_ID
fi
exec node /opt/emotion-agent/bin/emotion-agent.js run "$@"
