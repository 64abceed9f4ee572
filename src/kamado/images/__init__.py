"""What runs inside a job: built-in algorithms, framework script mode, and users' own images.

Each image is a program with a ``train`` (and later ``serve``) command that reads its job
directory the way a SageMaker container reads ``/opt/ml`` (see :mod:`.environment`).
"""
