/**
 * A policy reload (SIGHUP) of a running trace: plan again from the same request, re-reading the policy files
 * and the signature directories, then switch the kernel and the pipeline over without losing a record and
 * without a gap in the sequence numbers (the same BPF object and seq_map stay):
 *
 *   1. planTrace: an invalid new set throws here and nothing has changed (the caller reports it);
 *   2. Capture.updatePlan relaxes the kernel maps so that every event of both sets passes;
 *   3. a heartbeat barrier: when the first heartbeat made after the relaxation reaches the pipeline, every
 *      record made under the old maps has been processed with the old policies; the pipeline switches to the
 *      new ones right there (Pipeline.reconfigure from onHeartbeat);
 *   4. Capture.updatePlan writes the new maps.
 *
 * Records of events only the new set prints that were made before the switch are counted as `unprinted`,
 * those the new policies filter as `filtered`: with the kernel's losses they account for every gap.
 */
import type { Capture } from '../capture/session.js';
import type { Heartbeat } from '../server/heartbeat.js';
import { followRemap, type Pipeline } from './pipeline.js';
import type { TracePlan } from './plan.js';

export interface ReloadTargets {
  readonly capture: Pick<Capture, 'updatePlan'>;
  readonly pipeline: Pick<Pipeline, 'reconfigure'>;
  readonly heartbeat: Pick<Heartbeat, 'barrier' | 'numbered'>;
}

/**
 * Switches a running trace from `current` to `next` (steps 2-4 above). Rejects when the kernel maps cannot
 * be written or the heartbeat stops before the barrier (the trace is stopping); the kernel then passes every
 * event of both sets, which userspace filters exactly.
 */
export async function applyPlan(t: ReloadTargets, current: TracePlan, next: TracePlan): Promise<void> {
  await t.capture.updatePlan(
    {
      events: next.traced,
      kernelPlan: next.compiled.kernel,
      scopeOnlyEvents: [...next.ruleEventIds],
      followRemap: followRemap(current.compiled, next.compiled),
    },
    () =>
      t.heartbeat.barrier(() => {
        t.pipeline.reconfigure({
          policies: next.compiled,
          printed: new Set(next.printed.map((e) => e.id)),
          rules: next.rules,
          enabled: next.enabled,
        });
        t.heartbeat.numbered = next.heartbeatPrinted;
      }),
  );
}
