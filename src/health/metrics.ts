// /metrics in the Prometheus text format: the /api/status figures under conventional names and
// units (seconds, bytes, _total for counters). A registry per server, not prom-client's global one,
// so two agents in one process (the tests) do not share or clash.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { ApiStatus } from './status.js';

type Labels = Record<string, string>;

export class AgentMetrics {
  readonly registry = new Registry();

  /** `snapshot` is called once per scrape; every metric reads from that one snapshot. */
  constructor(snapshot: () => ApiStatus, mqttEnabled: boolean) {
    collectDefaultMetrics({ register: this.registry, prefix: 'emotion_agent_' });
    let current: ApiStatus | undefined;
    const reg = [this.registry];
    const take = (): ApiStatus => (current ??= snapshot());
    const gauge = (
      name: string,
      help: string,
      labelNames: string[],
      fill: (s: ApiStatus, set: (l: Labels, v: number) => void) => void,
    ): void => {
      new Gauge({
        name,
        help,
        labelNames,
        registers: reg,
        collect() {
          this.reset();
          fill(take(), (l, v) => this.set(l, v));
        },
      });
    };
    const counter = (
      name: string,
      help: string,
      labelNames: string[],
      fill: (s: ApiStatus, set: (l: Labels, v: number) => void) => void,
    ): void => {
      // Counters mirror the agent's own monotonic counters: reset and re-add on each scrape.
      new Counter({
        name,
        help,
        labelNames,
        registers: reg,
        collect() {
          this.reset();
          fill(take(), (l, v) => this.inc(l, v));
        },
      });
    };
    // The first metric collected takes the snapshot; registry.metrics() below clears it afterwards.
    this.clear = () => {
      current = undefined;
    };

    gauge('emotion_agent_info', 'Agent version and device id (value 1).', ['version', 'device_id'], (s, set) =>
      set({ version: s.version, device_id: s.deviceId }, 1),
    );
    gauge('emotion_agent_ready', '1 when /readyz would answer 200.', [], (s, set) => set({}, s.ready ? 1 : 0));
    gauge('emotion_agent_uptime_seconds', 'Seconds since the process started.', [], (s, set) => set({}, s.uptimeS));
    gauge('emotion_agent_model_info', 'Loaded model per task (value 1).', ['task', 'version'], (s, set) =>
      s.models.forEach((m) => set({ task: m.task, version: m.version }, 1)),
    );
    gauge(
      'emotion_agent_inference_latency_seconds',
      'Per-frame inference latency over the last 512 frames.',
      ['task', 'quantile'],
      (s, set) =>
        s.models.forEach((m) => {
          if (m.p50Ms !== null) set({ task: m.task, quantile: '0.5' }, m.p50Ms / 1000);
          if (m.p95Ms !== null) set({ task: m.task, quantile: '0.95' }, m.p95Ms / 1000);
        }),
    );

    gauge(
      'emotion_agent_model_update_state',
      'Remote model update state per task (value 1 on the current state).',
      ['task', 'state'],
      (s, set) => {
        if (!s.modelUpdates) return;
        for (const task of ['face-detector', 'emotion-classifier'] as const)
          set({ task, state: s.modelUpdates[task].state }, 1);
      },
    );

    const cams =
      (f: (c: ApiStatus['cameras'][number]) => number) =>
      (s: ApiStatus, set: (l: Labels, v: number) => void): void =>
        s.cameras.forEach((c) => set({ camera: c.id }, f(c)));
    gauge(
      'emotion_agent_camera_up',
      '1 while the camera streams.',
      ['camera'],
      cams((c) => (c.state === 'streaming' ? 1 : 0)),
    );
    gauge(
      'emotion_agent_camera_fps',
      'Frames per second delivered by the decoder.',
      ['camera'],
      cams((c) => c.fpsIn),
    );
    gauge(
      'emotion_agent_camera_analysed_fps',
      'Frames per second analysed.',
      ['camera'],
      cams((c) => c.fpsAnalysed),
    );
    gauge(
      'emotion_agent_camera_faces_per_second',
      'Faces detected per second.',
      ['camera'],
      cams((c) => c.facesPerS),
    );
    gauge(
      'emotion_agent_camera_last_frame_age_seconds',
      'Seconds since the last decoded frame (absent before the first).',
      ['camera'],
      (s, set) =>
        s.cameras.forEach((c) => {
          if (c.lastFrameAgeMs !== null) set({ camera: c.id }, c.lastFrameAgeMs / 1000);
        }),
    );
    gauge(
      'emotion_agent_camera_people_in_window',
      'People counted so far in the open window.',
      ['camera'],
      cams((c) => c.peopleInWindow),
    );
    // Audience figures of the last closed window; absent until one closed (0 would read as "nobody looked").
    const last =
      (f: (w: NonNullable<ApiStatus['cameras'][number]['lastWindow']>) => number | null) =>
      (s: ApiStatus, set: (l: Labels, v: number) => void): void =>
        s.cameras.forEach((c) => {
          const v = c.lastWindow ? f(c.lastWindow) : null;
          if (v !== null) set({ camera: c.id }, v);
        });
    gauge(
      'emotion_agent_camera_viewers',
      'Viewers (looked at the kiosk for at least attention.minLookS) in the last closed window.',
      ['camera'],
      last((w) => w.viewers),
    );
    gauge(
      'emotion_agent_camera_passers_by',
      'People who did not look long enough, last closed window.',
      ['camera'],
      last((w) => w.passersBy),
    );
    gauge(
      'emotion_agent_camera_not_classified',
      'People the quality gate kept from the classifier, last closed window.',
      ['camera'],
      last((w) => w.notClassified),
    );
    gauge(
      'emotion_agent_camera_look_time_mean_seconds',
      'Mean looking time per viewer, last closed window (absent without viewers).',
      ['camera'],
      last((w) => w.lookTime?.meanS ?? null),
    );
    counter(
      'emotion_agent_camera_frames_total',
      'Frames delivered by the decoder.',
      ['camera'],
      cams((c) => c.framesIn),
    );
    counter(
      'emotion_agent_camera_frames_analysed_total',
      'Frames analysed.',
      ['camera'],
      cams((c) => c.framesAnalysed),
    );
    counter(
      'emotion_agent_camera_frames_discarded_total',
      'Frames discarded because the model outputs were not finite (NaN, Infinity).',
      ['camera'],
      cams((c) => c.framesDiscarded),
    );
    counter(
      'emotion_agent_camera_frames_dropped_total',
      'Frames replaced by a newer one before analysis.',
      ['camera'],
      cams((c) => c.dropped),
    );
    counter(
      'emotion_agent_camera_reconnects_total',
      'Capture restarts after the first start.',
      ['camera'],
      cams((c) => c.reconnects),
    );

    // Registered only with MQTT on: a labelless metric always exposes a value, and 0 would read as "down".
    if (mqttEnabled) {
      gauge('emotion_agent_mqtt_connected', '1 while connected to the broker.', [], (s, set) =>
        set({}, s.mqtt.connected ? 1 : 0),
      );
      gauge('emotion_agent_mqtt_outbox_pending', 'Messages waiting in the outbox for the broker.', [], (s, set) =>
        set({}, s.mqtt.outboxPending),
      );
      counter('emotion_agent_mqtt_published_total', 'Messages acknowledged by the broker.', [], (s, set) =>
        set({}, s.mqtt.published),
      );
      counter(
        'emotion_agent_mqtt_outbox_dropped_total',
        'Messages dropped: by the outbox (full or too old) or before they could be stored (disk full).',
        [],
        (s, set) => set({}, s.mqtt.dropped),
      );
      gauge(
        'emotion_agent_mqtt_outbox_unstored',
        'Windows waiting in memory because the outbox cannot write.',
        [],
        (s, set) => set({}, s.mqtt.unstored),
      );
      gauge(
        'emotion_agent_mqtt_outbox_writable',
        '0 while the outbox cannot write (disk full, I/O error).',
        [],
        (s, set) => set({}, s.mqtt.outboxWritable ? 1 : 0),
      );
    }

    gauge('emotion_agent_host_load1_per_cpu', '1-minute load average per CPU.', [], (s, set) =>
      set({}, s.host.load1PerCpu),
    );
    gauge('emotion_agent_host_memory_available_bytes', 'Available memory.', [], (s, set) =>
      set({}, s.host.memAvailableBytes),
    );
    gauge('emotion_agent_host_memory_total_bytes', 'Total memory.', [], (s, set) => set({}, s.host.memTotalBytes));
    // Labelled so that they can be absent: where the board reports no temperature or has no GPU.
    gauge(
      'emotion_agent_host_temperature_celsius',
      'CPU temperature (absent where not reported).',
      ['sensor'],
      (s, set) => {
        if (s.host.temperatureC !== null) set({ sensor: 'cpu' }, s.host.temperatureC);
      },
    );
    gauge(
      'emotion_agent_state_disk_free_bytes',
      'Free bytes on the file system of the state directory.',
      ['path'],
      (s, set) => {
        if (s.host.disk) set({ path: s.host.disk.path }, s.host.disk.freeBytes);
      },
    );
    gauge('emotion_agent_gpu_utilization_ratio', 'GPU utilisation 0..1 (absent without a GPU).', ['gpu'], (s, set) => {
      if (s.host.gpu?.utilizationPct != null) set({ gpu: s.host.gpu.name }, s.host.gpu.utilizationPct / 100);
    });
  }

  private readonly clear: () => void;

  async text(): Promise<string> {
    try {
      return await this.registry.metrics();
    } finally {
      this.clear();
    }
  }
}
