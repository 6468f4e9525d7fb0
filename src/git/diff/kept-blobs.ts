import type { ObjectStore } from '../object-store.js';

/** Where the patches of a diff read their blobs. */
export type BlobSource = Pick<ObjectStore, 'readBlob'>;

/**
 * The blobs one diff would read twice. Rename detection reads every added and deleted file, and
 * the patches read those again: 162 of 614 blob reads of a compare of the generated bench. They
 * are kept from the first read to the second (as git's diffcore keeps a file's data loaded
 * between the two), each handed out once and then dropped, within `budgetBytes`; a blob not
 * kept is read again. Lives for one diff.
 */
export class KeptBlobs implements BlobSource {
  private readonly kept = new Map<string, Buffer>();
  private bytes = 0;

  constructor(
    private readonly objects: ObjectStore,
    private readonly budgetBytes: number,
  ) {}

  /** For diffTrees' onBlobRead: keeps `data` while the budget allows. */
  readonly keep = (oid: string, data: Buffer): void => {
    if (this.kept.has(oid) || this.bytes + data.length > this.budgetBytes) return;
    this.kept.set(oid, data);
    this.bytes += data.length;
  };

  async readBlob(oid: string): Promise<Buffer> {
    const data = this.kept.get(oid);
    if (data === undefined) return this.objects.readBlob(oid);
    this.kept.delete(oid);
    this.bytes -= data.length;
    return data;
  }
}
