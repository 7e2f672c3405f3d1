"""From a scheduled model to a compiled, cached numba kernel: code generation, the
kernel cache, the calling convention and the time grid the kernel steps on.
"""
