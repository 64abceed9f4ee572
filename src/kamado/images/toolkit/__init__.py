"""Script mode: kamado's counterpart of SageMaker's training toolkit
(``sagemaker-training-toolkit``), which framework images use to run a user's script.

A framework image's ``train`` program calls :func:`run_user_script`. It puts the user's code in
``code/`` (:mod:`.code`), installs its ``requirements.txt`` into a cached environment
(:mod:`.requirements`), exports the ``SM_*`` variables (:mod:`.variables`), runs the entry point
with the hyperparameters as its command line (:mod:`.hyperparameters`, :mod:`.entry_point`,
:mod:`.process`) and reports the outcome the way the toolkit does: ``output/success``, or a
failure file such as ``ExecuteUserScriptError`` (:mod:`.failure`).
"""

from kamado.images.toolkit.trainer import run_user_script
from kamado.images.toolkit.variables import build_sm_environment

__all__ = ["build_sm_environment", "run_user_script"]
