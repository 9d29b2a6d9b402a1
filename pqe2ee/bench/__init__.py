"""Measurements: what each KEM (and later each handshake and stream) costs here.

Needs the ``bench`` extra (numpy).  Timings are interleaved across the things compared
and repeated, and reported as medians with their spread, because the machines this
runs on are shared and noisy: compare figures from one run, not across runs.
"""
