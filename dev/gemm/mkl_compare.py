"""Side-by-side SGEMM GFLOP/s: rk_sgemm (.build-gemm/librk.so, built by build.sh) vs
MKL through PyTorch's torch.mm, interleaved size by size in one process so that
both see the same machine load.

    .venv-bench/bin/python dev/gemm/mkl_compare.py [threads] [reps]
"""
import ctypes, os, sys, time
import torch

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 7
torch.set_num_threads(threads)
lib = ctypes.CDLL(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".build-gemm", "librk.so"))
lib.rk_set_threads(threads)
lib.rk_sgemm.argtypes = [ctypes.c_int] * 5 + [ctypes.c_float, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p,
                                               ctypes.c_int, ctypes.c_float, ctypes.c_void_p, ctypes.c_int]
lib.rk_isa_name.restype = ctypes.c_char_p
isa = lib.rk_isa_name(lib.rk_active_isa()).decode()


def best_times(fns, flop, rounds=3):
    """Best seconds per call of each fn. Each library runs its repetitions back
    to back (its steady state: MKL's OpenMP threads spin ~200 ms after a call,
    ours 0.2 ms, and each would steal the other's core if interleaved call by
    call), after a pause that lets the other's threads go to sleep; the blocks
    alternate for `rounds` rounds so that load from other processes hits both."""
    iters = max(1, int(5e9 / flop))  # ~25 ms per rep at 200 GFLOP/s
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            time.sleep(0.3)
            fn()
            for _ in range(reps):
                t = time.perf_counter()
                for _ in range(iters):
                    fn()
                best[i] = min(best[i], (time.perf_counter() - t) / iters)
    return best


shapes = [(n, n, n, 0, 0) for n in (128, 256, 512, 1024, 2048)] + [
    (50, 2048, 512, 0, 0), (50, 2048, 512, 0, 1), (50, 512, 128, 0, 0), (32, 2048, 512, 0, 0)]
print(f"threads={threads} rk isa={isa}; GFLOP/s, best of {reps}")
print(f"{'M x N x K (tA,tB)':24} {'MKL':>8} {'rk':>8} {'rk/MKL':>7}")
for m, n, k, ta, tb in shapes:
    a = torch.randn(k, m) if ta else torch.randn(m, k)
    b = torch.randn(n, k) if tb else torch.randn(k, n)
    c = torch.empty(m, n)
    at, bt = (a.t() if ta else a), (b.t() if tb else b)
    flop = 2.0 * m * n * k
    args = (ta, tb, m, n, k, 1.0, a.data_ptr(), a.shape[1], b.data_ptr(), b.shape[1], 0.0, c.data_ptr(), n)
    t_mkl, t_rk = best_times([lambda: torch.mm(at, bt, out=c), lambda: lib.rk_sgemm(*args)], flop)
    g_mkl, g_rk = flop / t_mkl * 1e-9, flop / t_rk * 1e-9
    ref = at @ bt
    err = (c - ref).abs().max().item() / max(1e-30, ref.abs().max().item())
    assert err < 1e-4, f"mismatch {err}"
    print(f"{f'{m}x{n}x{k} ({ta},{tb})':24} {g_mkl:8.1f} {g_rk:8.1f} {g_rk / g_mkl:7.2f}", flush=True)
