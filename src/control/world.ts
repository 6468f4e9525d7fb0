import { DurableFs } from '../git/index.js';
import { checkFixture, writeFixture } from '../fixtures/builder.js';
import type { Project, ProjectRegistry } from '../projects/registry.js';
import type { Baseline } from './baseline.js';
import type { FaultStore } from './faults.js';
import type { WorldGate } from './gate.js';
import type { RequestJournal } from './journal.js';
import type { NumberedRing } from './ring.js';
import type { FakelabEvent } from '../events/bus.js';

/**
 * The control plane's writes to the whole server: reset (back to the state at start) and seed
 * (a project built from a fixture). The API's requests run inside the server's gate, so a reset
 * is seen whole or not at all.
 */
export class World {
  constructor(
    readonly gate: WorldGate,
    private readonly registry: ProjectRegistry,
    private readonly baseline: Baseline,
    private readonly journal: RequestJournal,
    private readonly faults: FaultStore,
    private readonly events: NumberedRing<FakelabEvent>,
    /** More state a reset brings back (the hooks) or empties (their deliveries). */
    private readonly others: { reset(): Promise<void> | void }[] = [],
  ) {}

  /**
   * Projects, refs, statuses, comments and id counters go back to what they were when the
   * server finished starting; the request journal, the faults and the event list are emptied.
   * Resolves once all of that is durable. It moves refs, but it is not a push: it publishes no
   * event (the ref files are rewritten directly, not through a write batch).
   */
  reset(): Promise<void> {
    return this.gate.exclusive(async () => {
      await this.baseline.restore();
      this.journal.clear();
      this.faults.clear();
      this.events.clear();
      for (const other of this.others) await other.reset();
    });
  }

  /**
   * Builds the project a fixture describes (checked first: FixtureError names what is wrong, and
   * nothing is written) and registers it; PathTakenError when its path is a project already.
   * Its branches and tags are not pushed: no event is published (the fixture is written
   * directly, not through a write batch).
   */
  seed(input: unknown): Promise<Project> {
    const fixture = checkFixture(input);
    return this.gate.shared(() =>
      this.registry.create(
        fixture.path,
        {
          defaultBranch: fixture.default_branch ?? 'main',
          description: fixture.description,
          fill: async (repo) => {
            // Objects and refs are fsynced before the repository is renamed into place.
            const durable = new DurableFs();
            await writeFixture(fixture, repo.gitdir, durable);
            await durable.flush();
          },
        },
        { visibility: fixture.visibility },
      ),
    );
  }
}
