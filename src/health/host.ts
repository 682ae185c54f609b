// Host health for the status page and /metrics: CPU load, memory, temperature, free disk where the
// state lives, GPU where there is one. Sampled in the background every `intervalMs` and cached, so a
// poll of /api/status costs nothing (systeminformation spawns tools and reads /sys, tens of ms).
import { statfs } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import type { Logger } from 'pino';
import si from 'systeminformation';

export interface HostStats {
  /** 1-minute load average divided by the number of CPUs (1 = every core busy). */
  load1PerCpu: number;
  loadAvg: [number, number, number];
  cpus: number;
  memTotalBytes: number;
  memAvailableBytes: number;
  /** Main CPU temperature in °C; null where the board does not report one. */
  temperatureC: number | null;
  /** The file system holding the state directory (outbox, model store). */
  disk: { path: string; totalBytes: number; freeBytes: number } | null;
  /** First GPU: utilisation % and memory, where present (nvidia-smi, or the Jetson's /sys load). */
  gpu: {
    name: string;
    utilizationPct: number | null;
    memoryUsedMB: number | null;
    memoryTotalMB: number | null;
  } | null;
  sampledAt: string | null;
}

/** Jetson boards expose GPU load in per-mille here; no nvidia-smi on L4T. */
const JETSON_GPU_LOAD = '/sys/devices/gpu.0/load';

export class HostMonitor {
  private stats: HostStats;
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;
  /** Fixed for the process's life: os.cpus() reads /proc and builds an object per core. */
  private readonly cpuCount = Math.max(1, cpus().length);
  /** Whether a GPU was found at the first sample: without one, graphics() (which spawns tools) is not asked again. */
  private gpuPresent: boolean | undefined;

  constructor(
    private readonly stateDir: string,
    private readonly log: Logger,
    private readonly intervalMs = 10_000,
  ) {
    this.stats = { ...this.quick(), temperatureC: null, disk: null, gpu: null, sampledAt: null };
  }

  /** Takes the first sample (awaited, so the first status is complete), then refreshes in the background. */
  async start(): Promise<void> {
    if (this.timer) return;
    await this.sample();
    this.timer = setInterval(() => {
      void this.sample();
    }, this.intervalMs).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sampling;
  }

  /** Load and memory are cheap (no syscalls beyond sysinfo), so they are always current. */
  current(): HostStats {
    return { ...this.stats, ...this.quick() };
  }

  private quick(): Pick<HostStats, 'load1PerCpu' | 'loadAvg' | 'cpus' | 'memTotalBytes' | 'memAvailableBytes'> {
    const [l1, l5, l15] = loadavg() as [number, number, number];
    const n = this.cpuCount;
    return {
      load1PerCpu: l1 / n,
      loadAvg: [l1, l5, l15],
      cpus: n,
      memTotalBytes: totalmem(),
      memAvailableBytes: freemem(),
    };
  }

  private sample(): Promise<void> {
    this.sampling ??= this.doSample().finally(() => {
      this.sampling = undefined;
    });
    return this.sampling;
  }

  private async doSample(): Promise<void> {
    const [temperatureC, disk, gpu] = await Promise.all([this.temperature(), this.disk(), this.gpu()]);
    this.stats = { ...this.stats, temperatureC, disk, gpu, sampledAt: new Date().toISOString() };
  }

  private async temperature(): Promise<number | null> {
    try {
      const t = await si.cpuTemperature();
      return typeof t.main === 'number' && Number.isFinite(t.main) ? t.main : null;
    } catch (err) {
      this.log.debug({ err }, 'cpu temperature unavailable');
      return null;
    }
  }

  private async disk(): Promise<HostStats['disk']> {
    // The state directory may not exist yet (first boot): its nearest existing parent tells the same.
    let path = this.stateDir;
    while (!existsSync(path) && path !== '/') path = path.slice(0, path.lastIndexOf('/')) || '/';
    try {
      const s = await statfs(path);
      return { path: this.stateDir, totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize };
    } catch {
      return null;
    }
  }

  private async gpu(): Promise<HostStats['gpu']> {
    if (this.gpuPresent === false) return null;
    const g = await this.probeGpu();
    this.gpuPresent ??= g !== null;
    return g;
  }

  private async probeGpu(): Promise<HostStats['gpu']> {
    if (existsSync(JETSON_GPU_LOAD)) {
      const perMille = Number((await readFile(JETSON_GPU_LOAD, 'utf8').catch(() => '')).trim());
      return {
        name: 'Jetson GPU',
        utilizationPct: Number.isFinite(perMille) ? perMille / 10 : null,
        memoryUsedMB: null,
        memoryTotalMB: null,
      };
    }
    try {
      const c = (await si.graphics()).controllers.find(
        (g) => g.utilizationGpu !== undefined || /nvidia/i.test(g.vendor),
      );
      if (!c) return null;
      return {
        name: c.model,
        utilizationPct: c.utilizationGpu ?? null,
        memoryUsedMB: c.memoryUsed ?? null,
        memoryTotalMB: c.memoryTotal ?? c.vram ?? null,
      };
    } catch {
      return null;
    }
  }
}
