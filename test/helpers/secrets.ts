// Planted secrets and a scanner for them: the secrets test and the chaos suite put known passwords into
// every place a secret can be configured (URL userinfo, ?password=, GStreamer user-pw=, camera and MQTT
// password fields, the HTTP token), then look for each of them, raw or percent-encoded, in every output
// channel they collected (logs, windows, MQTT messages, HTTP answers).

/** Distinct, greppable, at least 4 characters (shorter ones are not masked: see redactString). */
export const PLANTED = {
  urlUserinfo: 'PlantUserinfo41',
  queryParam: 'PlantQuery42',
  gstUserPw: 'PlantGstPw43',
  cameraField: 'PlantCamField44',
  mqttPassword: 'PlantMqtt45',
  httpToken: 'PlantToken46',
} as const;

export interface SecretHit {
  channel: string;
  secret: string;
  context: string;
}

/** Every occurrence of a planted secret in the collected channels (channel name → text). */
export function findSecrets(
  channels: Record<string, string>,
  secrets: readonly string[] = Object.values(PLANTED),
): SecretHit[] {
  const hits: SecretHit[] = [];
  for (const [channel, text] of Object.entries(channels)) {
    for (const secret of secrets) {
      for (const form of new Set([secret, encodeURIComponent(secret)])) {
        let at = text.indexOf(form);
        while (at >= 0) {
          hits.push({ channel, secret, context: text.slice(Math.max(0, at - 80), at + form.length + 20) });
          at = text.indexOf(form, at + form.length);
        }
      }
    }
  }
  return hits;
}
