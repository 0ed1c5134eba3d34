#!/usr/bin/env python3
"""Write the seed corpus of fuzz_ops (test/fuzz/corpus/): small hand-made op sequences, one file
per kind of operation plus a few mixes. The byte format is described at the top of fuzz_ops.c.

    python3 test/fuzz/mkcorpus.py test/fuzz/corpus
"""
import os
import sys

(MALLOC, CALLOC, REALLOC, FREE, POSIX_MEMALIGN, ALIGNED_ALLOC, MEMALIGN, USABLE, REMOTE_FREE,
 REMOTE_MALLOC, FORK, REALLOC_NULL, REALLOC_ZERO, INVALID, HELPER_RESTART, CHECK_ALL) = range(16)

BOUNDARIES = [
    0, 1, 8, 9, 16, 17, 24, 32, 48, 64, 80, 96, 112, 128, 256, 512, 576, 1024, 1025, 1152,
    2048, 3072, 4096, 8192, 8193, 9472, 10240, 12288, 13568, 16384, 18432, 24576, 27264, 28672,
    32768, 32769, 40960, 65536, 65537, 131072, 262144, 1048576, 1048577, 2097152,
]


def size(n):
    """The shortest SIZE encoding of exactly n bytes."""
    if n < 256:
        return bytes([0, n])
    if n < 4096:
        return bytes([3, n & 0xff, n >> 8])
    if n < 32770:
        return bytes([4, n & 0xff, n >> 8])
    if n in BOUNDARIES:
        v = BOUNDARIES.index(n) | (2 << 13)  # delta 0
        return bytes([5, v & 0xff, v >> 8])
    if n % 64 == 0 and n // 64 < 65536:
        v = n // 64
        return bytes([7, v & 0xff, v >> 8])
    raise ValueError(n)


def align(a):
    """ALIGN byte for a power of two up to 2^20, or a multiple of 8 from 24 (non-power of two)."""
    if a & (a - 1) == 0:
        k = a.bit_length() - 1
        return bytes([k]) if k < 14 else bytes([14 | (k - 13) << 4])
    assert a >= 24 and a % 8 == 0 and (a - 24) // 8 < 16
    return bytes([15 | ((a - 24) // 8) << 4])


def op(code, slot, *args):
    return bytes([code, slot]) + b"".join(args)


SEEDS = {
    "malloc_small": b"".join(op(MALLOC, i, size(n)) for i, n in enumerate(
        [0, 1, 7, 8, 9, 15, 16, 17, 24, 100, 255])) + op(FREE, 3) + op(FREE, 0),
    "malloc_boundaries": b"".join(op(MALLOC, i, size(n)) for i, n in enumerate(
        [1024, 1025, 8192, 8193, 32768, 32769, 65536, 3 * 8192, 1048576])),
    "calloc": op(CALLOC, 1, size(100), bytes([3])) + op(CALLOC, 2, size(40000), bytes([0]))
    + op(CALLOC, 3, size(1048576), bytes([7])) + op(FREE, 2) + op(CALLOC, 2, size(32768), bytes([1])),
    "realloc_grow_shrink": op(MALLOC, 5, size(10)) + op(REALLOC, 5, size(100))
    + op(REALLOC, 5, size(5000)) + op(REALLOC, 5, size(40000)) + op(REALLOC, 5, size(1048576))
    + op(REALLOC, 5, size(2097152)) + op(REALLOC, 5, size(65536)) + op(REALLOC, 5, size(1000))
    + op(REALLOC, 5, size(8)) + op(REALLOC, 5, size(0)),
    "realloc_null_zero": op(REALLOC_NULL, 9, size(48)) + op(REALLOC_NULL, 10, size(65537))
    + op(REALLOC_ZERO, 9) + op(REALLOC_ZERO, 10) + op(REALLOC_NULL, 11, size(0)),
    "posix_memalign": b"".join(op(POSIX_MEMALIGN, i, align(a), size(n)) for i, (a, n) in enumerate(
        [(8, 1), (16, 24), (64, 100), (4096, 10), (8192, 9000), (1 << 16, 100), (1 << 20, 40000),
         (2, 8), (24, 8), (4, 0), (32, 0)])),
    "aligned_alloc": b"".join(op(ALIGNED_ALLOC, i, align(a), size(n)) for i, (a, n) in enumerate(
        [(1, 1), (32, 33), (256, 1025), (2048, 32768), (8192, 32769), (1 << 17, 1), (24, 100),
         (40, 1000)])),
    "memalign": b"".join(op(MEMALIGN, i, align(a), size(n)) for i, (a, n) in enumerate(
        [(16, 16), (128, 129), (4096, 4096), (512, 0), (48, 7)])),
    "usable": op(MALLOC, 0, size(17)) + op(USABLE, 0) + op(MALLOC, 1, size(32769))
    + op(USABLE, 1) + op(REALLOC, 1, size(100032)) + op(USABLE, 1),
    "remote": op(MALLOC, 0, size(64)) + op(MALLOC, 1, size(40000)) + op(REMOTE_FREE, 0)
    + op(REMOTE_FREE, 1) + op(REMOTE_MALLOC, 2, size(64)) + op(REMOTE_MALLOC, 3, size(100032))
    + op(FREE, 2) + op(HELPER_RESTART, 0) + op(FREE, 3) + op(REMOTE_MALLOC, 4, size(8)),
    "fork": op(MALLOC, 0, size(64)) + op(MALLOC, 1, size(1048576)) + op(REMOTE_MALLOC, 2, size(9))
    + op(FORK, 0, bytes([3]), size(16), size(40000), size(8193), size(0))
    + op(FREE, 0) + op(FORK, 1, bytes([0]), size(100)),
    "invalid": b"".join(op(INVALID, 0, bytes([k])) for k in range(8))
    + op(MALLOC, 0, size(50)) + op(INVALID, 0, bytes([5])) + op(INVALID, 0, bytes([2 | 5 << 3])),
    "check_all": op(MALLOC, 0, size(3)) + op(CALLOC, 1, size(5000), bytes([1]))
    + op(POSIX_MEMALIGN, 2, align(4096), size(4096)) + op(CHECK_ALL, 0)
    + op(FREE, 1) + op(CHECK_ALL, 0),
}

# A mix of everything over many slots, growing and shrinking blocks across the class table.
mix = bytearray()
sizes = [8, 16, 1024, 1025, 32768, 32769, 8192, 24576, 100, 3000, 300032, 0, 1, 4096]
for r in range(40):
    s = (r * 37) % 200
    n = sizes[r % len(sizes)]
    mix += op([MALLOC, CALLOC, POSIX_MEMALIGN, REMOTE_MALLOC][r % 4], s, *(
        [size(n)] if r % 4 in (0, 3) else
        [size(n), bytes([r % 8])] if r % 4 == 1 else [align(1 << (r % 14)), size(n)]))
    if r % 3 == 0:
        mix += op(REALLOC, s, size(sizes[(r + 5) % len(sizes)]))
    if r % 5 == 0:
        mix += op(REMOTE_FREE, (s + 11) % 200)
    if r % 7 == 0:
        mix += op(FREE, (s * 3) % 200)
mix += op(FORK, 17, bytes([1]), size(32769), size(8)) + op(CHECK_ALL, 0)
SEEDS["mix"] = bytes(mix)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
