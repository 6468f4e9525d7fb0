/**
 * What changed in the repositories, told to whoever listens (the webhooks issue turns these into
 * GitLab's Push Hooks and Tag Push Hooks): every accepted git push and every API write that moves
 * a ref publishes one event. Listeners run after the change is durable and cannot fail it: a
 * listener that throws is logged by the bus's owner, never the writer's problem.
 */

import { NULL_SHA, type RefChange } from '../git/index.js';

export { NULL_SHA, type RefChange };

export interface PushEvent {
  type: 'push';
  project: { id: number; path: string };
  /** Who pushed or wrote (null: nobody signed in, which a write never is today). */
  actor: { id: number; username: string; name: string; email: string } | null;
  /** In the order they were applied; one event per push or API write. */
  changes: RefChange[];
  via: 'git' | 'api';
  /** When the change became durable (ISO 8601). */
  at: string;
}

export type FakelabEvent = PushEvent;
export type Listener = (event: FakelabEvent) => void;

export class EventBus {
  private readonly listeners = new Set<Listener>();

  constructor(private readonly onListenerError: (err: unknown, event: FakelabEvent) => void = () => undefined) {}

  /** Calls `listener` with every event from now on; returns the function that stops it. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(event: FakelabEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (err) {
        this.onListenerError(err, event);
      }
    }
  }
}
