// Which bundle versions a device accepts over MQTT. A trusted signature proves who made a bundle, not
// that it is the newest: anyone who can publish to cmd/model/update could replay an old, signed,
// known-bad bundle and roll a fleet back. So a lower version than the one serving is refused unless
// BOTH the signed manifest carries `allowDowngrade: true` (the ML team meant this bundle to be usable as
// a downgrade) and the command asks for it (the operator means it now). The `model/rollback` command
// is unaffected: it returns to a version this device already ran, kept in its own store.

const SEMVER = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** Semantic version order (build metadata ignored); null when either is not a version. */
export function compareVersions(a: string, b: string): number | null {
  const x = SEMVER.exec(a);
  const y = SEMVER.exec(b);
  if (!x || !y) return null;
  for (let i = 1; i <= 3; i++) {
    const d = Number(x[i]) - Number(y[i]);
    if (d !== 0) return Math.sign(d);
  }
  const [px, py] = [x[4], y[4]];
  if (px === py) return 0;
  if (px === undefined) return 1; // 1.0.0 > 1.0.0-rc.1
  if (py === undefined) return -1;
  const ax = px.split('.');
  const ay = py.split('.');
  for (let i = 0; i < Math.max(ax.length, ay.length); i++) {
    const [u, v] = [ax[i], ay[i]];
    if (u === undefined) return -1;
    if (v === undefined) return 1;
    if (u === v) continue;
    const nu = /^\d+$/.test(u);
    const nv = /^\d+$/.test(v);
    if (nu && nv) return Math.sign(Number(u) - Number(v));
    if (nu !== nv) return nu ? -1 : 1;
    return u < v ? -1 : 1;
  }
  return 0;
}

/** Why `target` may not replace `serving`, or null when it may. */
export function downgradeRefusal(
  target: string,
  serving: string,
  signedPermission: boolean,
  requested: boolean,
): string | null {
  const order = compareVersions(target, serving);
  if (order === null || order >= 0) return null;
  if (signedPermission && requested) return null;
  const missing = [
    requested ? '' : 'the command does not say args.allowDowngrade: true',
    signedPermission ? '' : 'the signed manifest does not carry allowDowngrade: true',
  ]
    .filter(Boolean)
    .join(' and ');
  return `version ${target} is lower than the serving ${serving}: refused as a downgrade or replay (${missing}); use model/rollback to return to a version this device ran before`;
}
