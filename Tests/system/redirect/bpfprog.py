"""A small ctypes wrapper around libbpf.so.1 (libbpf 1.x API), enough to load an
eBPF object, find its programs and maps by name, read and write map entries
(per-CPU values summed over CPUs) and run a program with BPF_PROG_TEST_RUN.

Errors raise OSError with the errno libbpf reports.
"""

import ctypes
import os
import struct

_lib = ctypes.CDLL("libbpf.so.1", use_errno=True)

_c_ptr = ctypes.c_void_p


def _sig(name, restype, *argtypes):
    fn = getattr(_lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


_open_file = _sig("bpf_object__open_file", _c_ptr, ctypes.c_char_p, _c_ptr)
_load = _sig("bpf_object__load", ctypes.c_int, _c_ptr)
_close = _sig("bpf_object__close", None, _c_ptr)
_find_prog = _sig("bpf_object__find_program_by_name", _c_ptr, _c_ptr, ctypes.c_char_p)
_prog_fd = _sig("bpf_program__fd", ctypes.c_int, _c_ptr)
_find_map = _sig("bpf_object__find_map_by_name", _c_ptr, _c_ptr, ctypes.c_char_p)
_map_fd = _sig("bpf_map__fd", ctypes.c_int, _c_ptr)
_map_type = _sig("bpf_map__type", ctypes.c_int, _c_ptr)
_map_key_size = _sig("bpf_map__key_size", ctypes.c_uint32, _c_ptr)
_map_value_size = _sig("bpf_map__value_size", ctypes.c_uint32, _c_ptr)
_map_max_entries = _sig("bpf_map__max_entries", ctypes.c_uint32, _c_ptr)
_update_elem = _sig("bpf_map_update_elem", ctypes.c_int, ctypes.c_int, _c_ptr, _c_ptr, ctypes.c_uint64)
_lookup_elem = _sig("bpf_map_lookup_elem", ctypes.c_int, ctypes.c_int, _c_ptr, _c_ptr)
_num_possible_cpus = _sig("libbpf_num_possible_cpus", ctypes.c_int)
_test_run_opts = _sig("bpf_prog_test_run_opts", ctypes.c_int, ctypes.c_int, _c_ptr)

# enum bpf_map_type values for per-CPU maps
_PERCPU_TYPES = {5, 6, 10}  # PERCPU_HASH, PERCPU_ARRAY, LRU_PERCPU_HASH


class _TestRunOpts(ctypes.Structure):
    """struct bpf_test_run_opts of libbpf 1.1 (bpf/bpf.h)."""

    _fields_ = [
        ("sz", ctypes.c_size_t),
        ("data_in", _c_ptr),
        ("data_out", _c_ptr),
        ("data_size_in", ctypes.c_uint32),
        ("data_size_out", ctypes.c_uint32),
        ("ctx_in", _c_ptr),
        ("ctx_out", _c_ptr),
        ("ctx_size_in", ctypes.c_uint32),
        ("ctx_size_out", ctypes.c_uint32),
        ("retval", ctypes.c_uint32),
        ("repeat", ctypes.c_int),
        ("duration", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("cpu", ctypes.c_uint32),
        ("batch_size", ctypes.c_uint32),
    ]


def _check(rc, what):
    """libbpf 1.x returns a negative errno (and sets errno) on failure."""
    if rc < 0:
        err = -rc
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return rc


def num_possible_cpus():
    return _check(_num_possible_cpus(), "libbpf_num_possible_cpus")


# Offset of __sk_buff.ifindex and the size of struct __sk_buff (UAPI, stable).
SKB_CTX_SIZE = 192
SKB_CTX_IFINDEX_OFFSET = 40


def skb_ctx(ifindex=0):
    """A struct __sk_buff for BPF_PROG_TEST_RUN: all zero except ifindex."""
    ctx = bytearray(SKB_CTX_SIZE)
    struct.pack_into("<I", ctx, SKB_CTX_IFINDEX_OFFSET, ifindex)
    return bytes(ctx)


class Program:
    def __init__(self, name, fd):
        self.name = name
        self.fd = fd

    def test_run(self, data, ctx=None, out_size=None):
        """Run once on `data` (a whole frame). Returns (retval, output frame)."""
        data = bytes(data)
        in_buf = ctypes.create_string_buffer(data, len(data))
        out_len = out_size if out_size is not None else len(data) + 512
        out_buf = ctypes.create_string_buffer(out_len)
        opts = _TestRunOpts()
        opts.sz = ctypes.sizeof(_TestRunOpts)
        opts.data_in = ctypes.cast(in_buf, _c_ptr)
        opts.data_size_in = len(data)
        opts.data_out = ctypes.cast(out_buf, _c_ptr)
        opts.data_size_out = out_len
        opts.repeat = 1
        if ctx is not None:
            ctx = bytes(ctx)
            ctx_buf = ctypes.create_string_buffer(ctx, len(ctx))
            opts.ctx_in = ctypes.cast(ctx_buf, _c_ptr)
            opts.ctx_size_in = len(ctx)
        _check(_test_run_opts(self.fd, ctypes.byref(opts)), f"test run of {self.name}")
        return opts.retval, out_buf.raw[: opts.data_size_out]


class Map:
    def __init__(self, name, handle):
        self.name = name
        self.fd = _map_fd(handle)
        self.type = _map_type(handle)
        self.key_size = _map_key_size(handle)
        self.value_size = _map_value_size(handle)
        self.max_entries = _map_max_entries(handle)
        self.percpu = self.type in _PERCPU_TYPES
        self.ncpus = num_possible_cpus() if self.percpu else 1
        # per-CPU values are laid out one 8-byte-aligned slot per possible CPU
        self._slot = (self.value_size + 7) // 8 * 8 if self.percpu else self.value_size

    def _key(self, key):
        if isinstance(key, int):
            key = key.to_bytes(self.key_size, "little")
        assert len(key) == self.key_size
        return ctypes.create_string_buffer(key, len(key))

    def lookup(self, key):
        """Raw value bytes (for per-CPU maps: all CPUs' slots, concatenated)."""
        k = self._key(key)
        v = ctypes.create_string_buffer(self._slot * self.ncpus)
        _check(_lookup_elem(self.fd, k, v), f"lookup in {self.name}")
        return v.raw

    def update(self, key, value, flags=0):
        """Write raw value bytes (for per-CPU maps: one slot per CPU, or one
        value that is then written to every CPU)."""
        value = bytes(value)
        if self.percpu and len(value) == self.value_size:
            value = value.ljust(self._slot, b"\0") * self.ncpus
        k = self._key(key)
        v = ctypes.create_string_buffer(value, len(value))
        _check(_update_elem(self.fd, k, v, flags), f"update of {self.name}")

    def percpu_u64_sum(self, key):
        """A per-CPU u64 entry summed over all CPUs."""
        raw = self.lookup(key)
        return sum(struct.unpack_from("<Q", raw, i * self._slot)[0] for i in range(self.ncpus))

    def reset_percpu_u64(self):
        """Set every entry of a per-CPU u64 array to 0 on every CPU."""
        zero = bytes(self._slot * self.ncpus)
        for key in range(self.max_entries):
            self.update(key, zero)


class BpfObject:
    """An eBPF object file, opened and loaded into the kernel."""

    def __init__(self, path):
        self._obj = _open_file(os.fsencode(path), None)
        if not self._obj:
            err = ctypes.get_errno() or 1
            raise OSError(err, f"bpf_object__open_file({path}): {os.strerror(err)}")
        try:
            _check(_load(self._obj), f"bpf_object__load({path})")
        except Exception:
            _close(self._obj)
            self._obj = None
            raise

    def program(self, name):
        prog = _find_prog(self._obj, name.encode())
        if not prog:
            raise KeyError(f"no program {name!r}")
        return Program(name, _check(_prog_fd(prog), f"fd of {name}"))

    def map(self, name):
        handle = _find_map(self._obj, name.encode())
        if not handle:
            raise KeyError(f"no map {name!r}")
        return Map(name, handle)

    def close(self):
        if self._obj:
            _close(self._obj)
            self._obj = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
