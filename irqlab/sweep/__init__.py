"""Sweeps: one scenario run over a grid of ``--set`` values and seeds, one
results row per (point, seed), on local processes or a Dask cluster.

``spec`` reads the grid (``--set``, ``--seeds``, a scenario's ``[sweep]``),
``driver`` plans the runs and skips those already done, ``backend`` picks the
executor, ``point`` runs a batch of points in a worker, ``flatten`` turns a
report into a row, ``journal`` keeps finished rows durably, ``table`` writes
Parquet/CSV and the per-point aggregate (``confidence``: Student's t), and
``plot`` draws metrics against each axis.
"""
