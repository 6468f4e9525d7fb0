/**
 * The one lock between the API's requests and a reset: requests hold it shared for as long as
 * they run (a streamed archive until its last byte), a reset holds it alone. A reset waits for
 * the requests in flight to finish and holds new ones back until it is done, so every request
 * sees the whole world before the reset or the whole world after it. A waiting reset goes before
 * requests that arrive after it, so a busy server cannot starve it.
 */
export class WorldGate {
  private readers = 0;
  private writer = false;
  private readonly waitingWriters: (() => void)[] = [];
  private readonly waitingReaders: (() => void)[] = [];

  /** Waits until no reset runs or waits, then holds the gate shared; call the returned function once, when done. */
  async enter(): Promise<() => void> {
    if (this.writer || this.waitingWriters.length > 0) await new Promise<void>((resolve) => this.waitingReaders.push(resolve));
    else this.readers++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.readers--;
      this.wake();
    };
  }

  /** Runs `work` with the gate held alone: after the requests in flight, before those waiting. */
  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.writer || this.readers > 0 || this.waitingWriters.length > 0) await new Promise<void>((resolve) => this.waitingWriters.push(resolve));
    else this.writer = true;
    try {
      return await work();
    } finally {
      this.writer = false;
      this.wake();
    }
  }

  /** Runs `work` holding the gate shared. */
  async shared<T>(work: () => Promise<T>): Promise<T> {
    const leave = await this.enter();
    try {
      return await work();
    } finally {
      leave();
    }
  }

  /** Hands the gate on: to the next reset once it is free, else to every waiting request. */
  private wake(): void {
    if (this.writer || this.readers > 0) return;
    const writer = this.waitingWriters.shift();
    if (writer) {
      this.writer = true;
      writer();
      return;
    }
    const readers = this.waitingReaders.splice(0);
    this.readers += readers.length;
    for (const reader of readers) reader();
  }
}
