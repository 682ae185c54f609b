// The device id in topics and payloads: the configured device.id, or derived from the machine id.
// Hashed and truncated so the published id does not reveal /etc/machine-id (which some software uses
// as a secret-ish seed) yet stays stable across reboots and reinstalls of the agent. Never a MAC
// address: that identifies the hardware to anyone on the network and is personal data in some readings.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

const MACHINE_ID_FILES = ['/etc/machine-id', '/var/lib/dbus/machine-id'];

export function resolveDeviceId(configured: string | null, files: readonly string[] = MACHINE_ID_FILES): string {
  if (configured !== null) return configured;
  for (const f of files) {
    let id: string;
    try {
      id = readFileSync(f, 'utf8').trim();
    } catch {
      continue;
    }
    if (id !== '') return `ea-${createHash('sha256').update(`emotion-agent:${id}`).digest('hex').slice(0, 16)}`;
  }
  throw new Error(`device.id is not set and no machine id was found (${files.join(', ')}): set device.id`);
}
