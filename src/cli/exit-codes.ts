// The command line's exit codes, in one place. sysexits.h values where one fits, so a script or a
// supervisor (systemd, balena) can tell a usage mistake from bad data, a bad configuration or a crash.
import { EX_CONFIG } from '../config/index.js';

export const EXIT = {
  ok: 0,
  /** Anything else: a crash, a failed start, a push that not every device took. */
  failure: 1,
  /** EX_USAGE: unknown, missing or conflicting options. */
  usage: 64,
  /** EX_DATAERR: an input (a model bundle, a manifest) that is malformed or invalid. */
  dataErr: 65,
  /** EX_NOINPUT: an input file or folder that does not exist. */
  noInput: 66,
  /** EX_CANTCREAT: an output that exists and may not be overwritten. */
  cantCreate: 73,
  /** EX_CONFIG: a bad configuration; defined by src/config/, which must not import the command line. */
  config: EX_CONFIG,
} as const;
