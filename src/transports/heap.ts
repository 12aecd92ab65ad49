/**
 * Keep the C heap's freed memory mapped, so that owned read regions come
 * back from warm, already-faulted pages.
 *
 * A `Protocol` gets bytes it owns, so every large read goes into memory
 * never read into before; on Node that memory is `malloc`ed and only the
 * garbage collector `free`s it, some tens of MiB later. glibc's malloc
 * returns the free top of its heap to the kernel (`brk`) whenever it exceeds
 * the trim threshold, which starts at 128 KiB and is raised only to twice
 * the largest `mmap`ed block freed so far, so with 256 KiB regions it sits
 * at about 512 KiB. Each collection then frees far more than that, glibc
 * gives it back, and the next reads fault every page in again: measured on
 * a 100 KiB echo, 20-40 thousand page faults a second (each a kernel entry
 * and a 4 KiB page clear), against a few hundred for a server that reuses
 * one buffer. That, not cache misses, was most of the cost of owned bytes.
 *
 * glibc documents the rule (mallopt(3), M_MMAP_THRESHOLD): freeing an
 * `mmap`ed block larger than the threshold, and at most 32 MiB on 64-bit
 * systems, raises the mmap threshold to that block's size and the trim
 * threshold to twice it. {@link warmHeap} does exactly that once per
 * process, with a block of 31 MiB allocated uninitialised (never touched, so
 * it costs one `mmap` and one `munmap` and no page) and dropped at once; the
 * collector frees it soon after. From then on, glibc keeps up to about 62 MiB
 * of free heap mapped instead of trimming it at 512 KiB, and serves blocks
 * under 31 MiB from the heap instead of fresh `mmap`s: what it does by
 * itself in any process that once frees a buffer of that size.
 *
 * Skipped where it cannot apply or the user decides: off Linux, and when
 * `GLIBC_TUNABLES` sets a `glibc.malloc.*` tunable (glibc then disables the
 * dynamic thresholds anyway; `GLIBC_TUNABLES=glibc.malloc.trim_threshold=131072`
 * restores the default trimming). On a C library without these rules (musl)
 * the block is an ordinary allocation and freeing it changes nothing.
 */

import { Buffer } from 'node:buffer';
import process from 'node:process';

/** Just under glibc's DEFAULT_MMAP_THRESHOLD_MAX (32 MiB on 64-bit), header and page rounding included. */
export const WARM_HEAP_BLOCK = 31 * 1024 * 1024;

let state: 'not yet' | 'done' | 'skipped' = 'not yet';

/** Raise glibc's dynamic malloc thresholds once per process (see the module comment). */
export function warmHeap(): void {
  if (state !== 'not yet') return;
  if (
    process.platform !== 'linux' ||
    /(^|:)glibc\.malloc\./.test(process.env.GLIBC_TUNABLES ?? '')
  ) {
    state = 'skipped';
    return;
  }
  state = 'done';
  // Allocated and dropped: the next collection frees it, and glibc's free()
  // raises its thresholds to this block's size.
  Buffer.allocUnsafeSlow(WARM_HEAP_BLOCK);
}

/** @internal For tests: whether {@link warmHeap} ran in this process, was skipped, or is still to come. */
export function warmHeapState(): 'not yet' | 'done' | 'skipped' {
  return state;
}
