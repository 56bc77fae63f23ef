"""Job bodies: the computation of one shard of a job, one module per job kind.

They load models and import torch, numba and the compute packages, so only the job runner
imports them (:data:`explanations.services.jobs.SHARD_BODIES`, by dotted path, when a
shard runs in a Celery worker or in the process of the command that runs the job), never
the web tier. A body reads its inputs and computes with no transaction open, and returns
the write of its results, which the runner performs in one short transaction.
"""
