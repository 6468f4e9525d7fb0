/**
 * What fakelab's launchers (`npm start`, the bench's servers) add to node's environment on Linux.
 *
 * glibc's malloc serves a block of 128 KiB or more with a mapping of its own, returned to the
 * system when freed; but freeing one raises that threshold to the block's size (up to 32 MiB).
 * After one large buffer dies (a 3 MB compare body, a big blob), every buffer below that size
 * comes from the main heap, whose freed holes stay resident. Pinning the threshold keeps it at
 * 128 KiB: after the bench's mixed run on git/git, RSS 177-178 MiB with it against 207-233 without
 * (same questions, same answers, the same time). Other C libraries ignore the variable. Node
 * cannot set it once running (mallopt is out of reach), so it is the launcher's to give.
 */
export const MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };
