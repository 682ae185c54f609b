// The behaviour every WindowSink (src/aggregate/sink.ts) must have, as one suite that each sink's test
// file runs against the real thing: the JSON Lines sink with a real file and a stream
// (sink-contract.test.ts), the MQTT sink through a real Mosquitto and through the embedded aedes broker
// (test/mqtt/sink-contract.test.ts), the health page's history (test/health/history-contract.test.ts).
// Like MQTT.js's store contract tests: a new sink passes this before the Agent writes to it.
//
// What the interface and the Agent rely on (the pipeline writes every closed window to every sink in
// order; Agent.stop() calls flush() then stop() on each):
// - `name` is a non-empty string that does not change;
// - start() is idempotent: a second call, concurrent or later, waits for the first;
// - a window written is readable from the sink's real destination (the file, the broker, the memory
//   the page reads), equal to what was written (withheld ones too), per camera in write order, also
//   when the caller does not await each write before the next;
// - flush() resolves, with nothing written too; when it resolves what was written is durable as far as
//   the sink can tell (in the file, or in the outbox), and, for a sink whose destination is not behind
//   a network, already readable there;
// - stop() flushes: what was written before it reaches the destination, when that is reachable (a
//   sink behind a network keeps the rest durable for its next start: test/mqtt/sink.test.ts);
// - stop() is idempotent (concurrent and repeated calls resolve), also on a sink never started;
// - sinks that own a resource (a file, a connection) refuse write() before start() and after stop(),
//   and start() after stop(), with a rejected promise; in-memory sinks accept them. Either way a call
//   returns a promise that settles and never throws synchronously (the pipeline awaits it in a try).
import { afterEach, describe, expect, it } from 'vitest';
import type { WindowSink } from '../../src/aggregate/sink.js';
import type { AggregateWindow } from '../../src/aggregate/window.js';
import { waitFor } from '../helpers/async.js';
import { testWindow } from '../helpers/windows.js';

/** One sink under test, with a way to read its real destination. */
export interface SinkUnderTest {
  sink: WindowSink;
  /** The windows at the destination now, as written (without what the sink adds, e.g. MQTT's seq and deviceId). */
  read(): AggregateWindow[] | Promise<AggregateWindow[]>;
  /**
   * How many written windows are durable now, where that is not the destination itself (the MQTT sink:
   * stored in the outbox or delivered); absent when reading the destination says it.
   */
  durable?(): number;
  /**
   * Whether the destination can be reached now (the MQTT sink: connected to the broker; it starts
   * without waiting for it and keeps what it cannot deliver in its outbox); absent = always.
   */
  reachable?(): boolean;
  /** Releases what the factory made (subscribers, temp files); the suite has stopped the sink before. */
  cleanup?(): Promise<void>;
}

export interface SinkContractOptions {
  /** The destination is reached behind flush(), over a network (MQTT: the broker gets the outbox's rows): reads are polled. */
  eventual: boolean;
  /** The sink owns a resource and refuses write() outside start()..stop() and start() after stop(). */
  strictLifecycle: boolean;
}

/** Two cameras interleaved, with a withheld window (fewer people than aggregate.minPeople) among them. */
function windows(n: number): AggregateWindow[] {
  return Array.from({ length: n }, (_, i) => {
    const w = testWindow(i, i % 2 ? 'door' : 'desk');
    return i % 3 === 2 ? { ...w, people: 1, emotions: null, meanProbabilities: null, withheld: true, dwell: null } : w;
  });
}

const byCamera = (ws: readonly AggregateWindow[]): Record<string, AggregateWindow[]> => {
  const out: Record<string, AggregateWindow[]> = {};
  for (const w of ws) (out[w.cameraId] ??= []).push(w);
  return out;
};

export function describeSinkContract(
  name: string,
  factory: () => Promise<SinkUnderTest>,
  opts: SinkContractOptions,
): void {
  describe(`WindowSink contract: ${name}`, () => {
    const made: SinkUnderTest[] = [];
    const make = async (): Promise<SinkUnderTest> => {
      const s = await factory();
      made.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of made.splice(0)) {
        await s.sink.stop().catch(() => undefined);
        await s.cleanup?.();
      }
    });

    /** The destination once it holds `count` windows (at once for a local destination, polled behind a network). */
    const readAll = async (s: SinkUnderTest, count: number): Promise<AggregateWindow[]> => {
      if (opts.eventual)
        await waitFor(
          async () => (await s.read()).length >= count,
          15_000,
          `${count} windows at the destination of ${name}`,
          20,
        );
      return s.read();
    };

    /** A fresh sink, started, with `n` windows written one after the other. */
    const writtenTo = async (n: number): Promise<{ s: SinkUnderTest; written: AggregateWindow[] }> => {
      const s = await make();
      const written = windows(n);
      await s.sink.start();
      if (s.reachable) await waitFor(() => s.reachable!(), 15_000, `${name} reaches its destination`, 20);
      for (const w of written) await s.sink.write(w);
      return { s, written };
    };

    /** Same windows per camera, in write order (interleaving across cameras is the sink's business). */
    const expectSame = (got: readonly AggregateWindow[], written: readonly AggregateWindow[]): void => {
      expect(got).toHaveLength(written.length);
      expect(byCamera(got)).toEqual(byCamera(written));
    };

    it('has a stable, non-empty name', async () => {
      const { sink } = await make();
      const before = sink.name;
      expect(typeof before).toBe('string');
      expect(before.length).toBeGreaterThan(0);
      await sink.start();
      await sink.stop();
      expect(sink.name).toBe(before);
    });

    it('start() is idempotent: concurrent and later calls resolve', async () => {
      const { sink } = await make();
      await Promise.all([sink.start(), sink.start()]);
      await sink.start();
      await sink.stop();
    });

    it('windows written then flushed are at the destination, equal and per camera in order (withheld ones too)', async () => {
      const { s, written } = await writtenTo(7);
      await s.sink.flush();
      expectSame(await readAll(s, written.length), written);
      await s.sink.stop();
    });

    it('writes not awaited one by one keep their order', async () => {
      const s = await make();
      const written = windows(20);
      await s.sink.start();
      await Promise.all(written.map((w) => s.sink.write(w)));
      await s.sink.flush();
      expectSame(await readAll(s, written.length), written);
      await s.sink.stop();
    });

    it('flush() resolves with nothing written, and when it resolves the writes are durable', async () => {
      const s = await make();
      await s.sink.start();
      await s.sink.flush();
      const written = windows(3);
      for (const w of written) await s.sink.write(w);
      await s.sink.flush();
      if (s.durable) expect(s.durable()).toBe(written.length);
      // Not polled: a local destination has them when flush() resolves.
      if (!opts.eventual) expectSame(await s.read(), written);
      await s.sink.stop();
    });

    it('stop() flushes: windows written before it reach the (reachable) destination', async () => {
      const { s, written } = await writtenTo(4);
      await s.sink.stop();
      expectSame(await readAll(s, written.length), written);
    });

    it('stop() is idempotent, concurrent calls included, and resolves on a sink never started', async () => {
      const started = await make();
      await started.sink.start();
      await started.sink.write(windows(1)[0]!);
      await Promise.all([started.sink.stop(), started.sink.stop()]);
      await started.sink.stop();
      const fresh = await make();
      await fresh.sink.stop();
      await fresh.sink.stop();
    });

    it(
      opts.strictLifecycle
        ? 'refuses write() before start() and after stop(), and start() after stop(), by rejecting'
        : 'accepts write() outside start()..stop() (nothing to open or close), by resolving',
      async () => {
        const s = await make();
        const [w] = windows(1);
        // Each outcome is taken at once: a rejection must not wait unhandled while the next call runs.
        const outcome = (p: Promise<void>): Promise<unknown> =>
          p.then(
            () => 'resolved',
            (err: unknown) => err,
          );
        const early = outcome(s.sink.write(w!));
        await s.sink.start();
        await s.sink.stop();
        const late = outcome(s.sink.write(w!));
        const restart = outcome(s.sink.start());
        for (const got of await Promise.all([early, late, restart])) {
          if (opts.strictLifecycle) expect(got).toBeInstanceOf(Error);
          else expect(got).toBe('resolved');
        }
      },
    );
  });
}
