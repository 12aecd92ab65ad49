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
import { setFlagsFromString } from 'node:v8';

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

/**
 * What {@link tuneExternalGc} sets: the maximum young-generation capacity
 * V8 had before 13.6 (8, Node 22's), for the one decision that still reads
 * the flag after startup.
 * Set at run time, it leaves the young generation as it was sized at
 * startup (measured: new space still grows to 64 MiB; given on the command
 * line, the flag would cap it at 32 MiB) and moves only the scavenge
 * trigger for young ArrayBuffers back from 128 MiB to 32 MiB.
 */
const EXTERNAL_GC_FLAG = '--scavenger-max-new-space-capacity-mb=8';

/** Flags by which the user already decided how young buffers are collected. */
const EXTERNAL_GC_USER_FLAGS =
  /^--(no-)?(external[-_]memory[-_]accounted[-_]in[-_]global[-_]limit|scavenger[-_]max[-_]new[-_]space[-_]capacity[-_]mb)\b/;

/**
 * Whether this V8 has the young-buffer regression {@link tuneExternalGc}
 * works around: V8 13.6 to 13.x, which is Node 24. Node 20 and 22 (V8 11
 * and 12) collect young buffers with scavenges at 32 MiB; Node 26 (V8 14)
 * scavenges them again and has no such flag. It may add a few small
 * mark-compacts for external memory pressure, which
 * `--external-memory-accounted-in-global-limit` removes without any gain
 * (100 KiB `Protocol` echo: 20,164 req/s without and 19,509 with, 3
 * interleaved rounds; on a later machine 45,948 and 46,448, 4 rounds).
 */
export function hasExternalGcRegression(v8Version: string = process.versions.v8): boolean {
  const m = /^(\d+)\.(\d+)\./.exec(v8Version);
  return m !== null && Number(m[1]) === 13 && Number(m[2]) >= 6;
}

let gcState: 'not yet' | 'done' | 'skipped' | 'not needed' = 'not yet';

/**
 * Make Node 24 collect short-lived read buffers with cheap scavenges again.
 *
 * V8 runs a scavenge when the young generation's ArrayBuffers reach twice
 * its maximum semi-space size. V8 13.6 (Node 24) raised the maximum young
 * generation (`scavenger_max_new_space_capacity_mb` 8 to 32), which moved
 * that trigger from 32 MiB to 128 MiB, above the fixed 64 MiB
 * external-memory soft limit that starts a full mark-compact instead
 * (nodejs/node#61967, #63863). Every owned read region is such a buffer, so
 * on Node 24 a `Protocol` reading 100 KiB messages ran a mark-compact every
 * ~40 ms and spent 25-29 µs of user CPU per message instead of 7. With
 * {@link EXTERNAL_GC_FLAG} set at run time the trigger is Node 22's again:
 * scavenges, no mark-compacts, and a lower peak RSS than V8's other remedy
 * (`--external-memory-accounted-in-global-limit`, which lets young buffers
 * reach 128 MiB: 100 KiB echo peak RSS 114 MB against 199 MB, same req/s).
 *
 * Runs once per process, at the first large read (as {@link warmHeap}), and
 * only on the V8 lines that need it. Skipped when the node command line
 * already decides (`--scavenger-max-new-space-capacity-mb=N` or
 * `--[no-]external-memory-accounted-in-global-limit`); pass
 * `--scavenger-max-new-space-capacity-mb=32` to keep V8 13.6's default.
 */
export function tuneExternalGc(): void {
  if (gcState !== 'not yet') return;
  if (!hasExternalGcRegression()) {
    gcState = 'not needed';
    return;
  }
  if (process.execArgv.some((a) => EXTERNAL_GC_USER_FLAGS.test(a))) {
    gcState = 'skipped';
    return;
  }
  gcState = 'done';
  setFlagsFromString(EXTERNAL_GC_FLAG);
}

/** @internal For tests: what {@link tuneExternalGc} did in this process. */
export function externalGcState(): 'not yet' | 'done' | 'skipped' | 'not needed' {
  return gcState;
}

let largeReadsSeen = false;

/**
 * The first large read of this process (a read region, or a `'data'` chunk
 * over COPY_MAX): {@link warmHeap} and {@link tuneExternalGc}, once. Every
 * later call is one flag check.
 */
export function prepareForLargeReads(): void {
  if (largeReadsSeen) return;
  largeReadsSeen = true;
  warmHeap();
  tuneExternalGc();
}
