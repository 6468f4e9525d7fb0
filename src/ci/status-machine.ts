import type { StatusRow } from '../store/sidecar.js';

export type State = StatusRow['status'];
export type PostedState = 'pending' | 'running' | 'success' | 'failed' | 'canceled' | 'skipped';
type Event = 'enqueue' | 'run' | 'success' | 'drop' | 'cancel' | 'skip';

/** Which states each event may leave (GitLab's CommitStatus state machine, API-reachable states). */
const LEGAL_FROM: Record<Event, readonly State[]> = {
  enqueue: ['created', 'skipped'],
  run: ['pending'],
  success: ['created', 'pending', 'running'],
  drop: ['created', 'pending', 'running'],
  cancel: ['created', 'pending', 'running'],
  skip: ['created', 'pending'],
};

const TARGET: Record<Event, State> = {
  enqueue: 'pending',
  run: 'running',
  success: 'success',
  drop: 'failed',
  cancel: 'canceled',
  skip: 'skipped',
};

export class TransitionError extends Error {
  constructor(event: Event, from: State) {
    // Clients match the prefix "Cannot transition status via"; the suffix is GitLab's too.
    super(`Cannot transition status via :${event} from :${from} (Reason(s): Status cannot transition via "${event}")`);
  }
}

/**
 * Applies a posted state to a status row, firing the events GitLab fires. Throws a
 * TransitionError (and changes nothing) when the transition is not allowed.
 */
export function applyPostedState(row: StatusRow, posted: PostedState, now: string): void {
  let state = row.status;
  const fire = (event: Event, silent = false): boolean => {
    if (!LEGAL_FROM[event].includes(state)) {
      if (silent) return false;
      throw new TransitionError(event, state);
    }
    state = TARGET[event];
    return true;
  };
  switch (posted) {
    case 'pending':
      fire('enqueue');
      break;
    case 'running':
      fire('enqueue', true); // GitLab's `enqueue` then `run!`: only the second may fail
      fire('run');
      break;
    case 'success':
      fire('success');
      break;
    case 'failed':
      fire('drop');
      break;
    case 'canceled':
      fire('cancel');
      break;
    case 'skipped':
      fire('skip');
      break;
  }
  if (state === 'running' && row.status !== 'running') row.startedAt = now;
  if ((state === 'success' || state === 'failed' || state === 'canceled') && !row.finishedAt) row.finishedAt = now;
  row.status = state;
  row.updatedAt = now;
}

/** A pipeline's status from its latest statuses (GitLab's composite status, first matching rule). */
export function compositeStatus(states: State[]): State {
  if (states.length === 0) return 'created';
  const only = (...allowed: State[]) => states.every((s) => allowed.includes(s));
  const any = (...wanted: State[]) => states.some((s) => wanted.includes(s));
  if (only('skipped')) return 'skipped';
  if (only('success', 'skipped')) return 'success';
  if (only('created')) return 'created';
  if (only('canceled', 'success', 'skipped')) return 'canceled';
  if (only('pending', 'created', 'skipped')) return 'pending';
  if (any('running', 'pending')) return 'running';
  if (any('created')) return 'running';
  return 'failed';
}
