"""MQTT plumbing: connections, the Mosquitto credential files, the bridge and
the simulated devices. Payload rules live in `assets.domain.payloads`."""
